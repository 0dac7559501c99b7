"""FilmStyle: Panel — open the filmstyle panel (looks, keys, previews, render) beside Resolve.

The panel is its own window in the filmstyle environment (host.json's python), started the way
the worker is: Resolve's Python needs only the standard library. Every page (Utility)."""

# -- bootstrap (identical in every FilmStyle script) ------------------------------------------
import json
import os
import sys


def _filmstyle_plugin_path() -> "str | None":
    """The folder holding filmstyle_plugin: host.json's "plugin_path" (written by the installer).

    The same config folder as filmstyle_plugin.paths.config_dir, which cannot be imported yet.
    """
    override = os.environ.get("FILMSTYLE_CONFIG_DIR")
    if override:
        folder = os.path.expanduser(override)
    elif sys.platform == "win32":
        folder = os.path.join(os.environ.get("LOCALAPPDATA") or os.path.expanduser("~/AppData/Local"), "filmstyle")
    elif sys.platform == "darwin":
        folder = os.path.expanduser("~/Library/Application Support/filmstyle")
    else:
        folder = os.path.join(os.environ.get("XDG_CONFIG_HOME", "").strip() or os.path.expanduser("~/.config"),
                              "filmstyle")
    host_file = os.path.join(folder, "host.json")
    try:
        with open(host_file, encoding="utf-8") as fh:
            path = json.load(fh).get("plugin_path")
    except (OSError, ValueError, AttributeError):
        path = None
    if not path or not os.path.isdir(os.path.join(path, "filmstyle_plugin")):
        print(f"FilmStyle: no filmstyle_plugin found; run the FilmStyle installer (it writes {host_file})")
        return None
    return str(path)


_path = _filmstyle_plugin_path()
if _path is not None and _path not in sys.path:
    sys.path.insert(0, _path)
# -- end of bootstrap ---------------------------------------------------------------------------


def _open_panel() -> None:
    from filmstyle_plugin.client import WorkerError
    from filmstyle_plugin.panel import launch_panel

    try:
        launch = launch_panel()
    except WorkerError as exc:
        print(f"FilmStyle: {exc}")
        return
    # A panel that cannot start (no display, a broken environment) exits at once: say why here.
    error = launch.failure(timeout=8.0)
    print(f"FilmStyle: {error}" if error else f"FilmStyle: the panel is open (process {launch.process.pid})")


if _path is not None:
    _open_panel()
