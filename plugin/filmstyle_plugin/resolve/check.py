""""FilmStyle: Check setup": what the FilmStyle tools in Resolve will use, in one window.

Reports the Resolve edition and version (free 21.1+ no longer lists Python menu scripts; external
scripting needs Studio), the filmstyle Python from host.json / ``$FILMSTYLE_PYTHON``, whether a
worker answers (it is not started here), and whether the Fuse and the Edit-page template are
installed where Fusion looks for them (``Fuses:`` and ``Templates:`` path maps).
"""

import os
import sys
from typing import TYPE_CHECKING, Any, List, Mapping, Optional

from filmstyle_plugin import paths
from filmstyle_plugin.client import WorkerClient, WorkerError, read_host_config, worker_python
from filmstyle_plugin.resolve import app

if TYPE_CHECKING:
    from fusionscript import Resolve

__all__ = ["report", "run_check"]


def _version(resolve: "Resolve") -> str:
    try:
        return str(resolve.GetVersionString() or "?")
    except Exception:  # 18.x answers GetVersion only
        return ".".join(str(v) for v in (resolve.GetVersion() or [])) or "?"


def report(resolve: Optional["Resolve"], fusion: Any) -> List[str]:
    """One line per check, each starting with ``ok`` or ``problem``."""
    lines: List[str] = []
    if resolve is not None:
        edition = "Studio" if app.is_studio(resolve) else "free"
        lines.append(f"ok       {resolve.GetProductName()} {_version(resolve)} ({edition}); this script runs "
                     f"Python {sys.version.split()[0]}")
    try:
        host = read_host_config()
        python = worker_python()
        lines.append(f"ok       filmstyle python: {python}")
    except WorkerError as exc:
        host = {}
        lines.append(f"problem  {exc}")
    plugin_path = host.get("plugin_path")
    lines.append(f"{'ok     ' if plugin_path else 'problem'}  plugin_path in {paths.host_config_file()}: "
                 f"{plugin_path or 'missing (the Fuse then runs the bridge as a module)'}")
    client = WorkerClient.find()
    if client is None:
        lines.append("ok       no worker running now; the Fuse and scripts start one when needed")
    else:
        try:
            health = client.health()
        except WorkerError as exc:
            health = {"version": f"? ({exc})"}
        lines.append(f"ok       worker {health.get('version')} (pid {health.get('pid')}) at {client.base_url}, "
                     f"{health.get('pending', 0)} job(s) pending")
    if fusion is not None:
        for label, mapped in (("Fuse", "Fuses:/FilmStyle.fuse"),
                              ("Edit-page effect", "Templates:/Edit/Effects/FilmStyle.setting")):
            path = str(fusion.MapPath(mapped) or "")
            found = bool(path) and os.path.isfile(path)
            lines.append(f"{'ok     ' if found else 'problem'}  {label}: {path or mapped}"
                         f"{'' if found else ' not found (run the installer; restart Resolve after installing)'}")
    return lines


def run_check(namespace: Mapping[str, Any]) -> List[str]:
    """Entry point of "FilmStyle: Check setup": prints the report and shows it in a window."""
    resolve: Optional["Resolve"]
    try:
        resolve = app.find_resolve(namespace)
    except app.HostError as exc:
        resolve = None
        print(f"FilmStyle: {exc}")
    fusion = None
    try:
        fusion = app.find_fusion(namespace, resolve)
    except app.HostError:
        pass
    lines = report(resolve, fusion)
    for line in lines:
        print(f"FilmStyle: {line}")
    if fusion is None:
        return lines
    try:
        ui = fusion.UIManager
        disp = app.find_bmd(namespace).UIDispatcher(ui)
    except app.HostError:
        return lines
    win = disp.AddWindow({"ID": "FilmStyleCheck", "WindowTitle": "FilmStyle: Check setup",
                          "Geometry": [260, 260, 760, 300]},
                         ui.VGroup([ui.TextEdit({"ID": "Report", "ReadOnly": True, "PlainText": "\n".join(lines)}),
                                    ui.Button({"ID": "Close", "Text": "Close", "Weight": 0})]))

    def close(ev: Any) -> None:
        disp.ExitLoop()

    win.On.Close.Clicked = close
    win.On.FilmStyleCheck.Close = close
    win.Show()
    disp.RunLoop()
    win.Hide()
    return lines
