"""Nuke's menu entry for the filmstyle panel: a job file to open, then the panel as its own process.

The panel is not built inside Nuke: it runs in the filmstyle environment (see
``filmstyle_plugin.panel``), the same in Nuke 14, 15 and 16, whatever PySide Nuke bundles, and a
busy panel never stalls Nuke. If it stops with an error (a bad job file, no display), Nuke shows
the panel's last line.
"""

import threading

import nuke

from filmstyle_plugin.client import WorkerError
from filmstyle_plugin.panel import launch_panel

__all__ = ["open_panel"]

#: Seconds after start during which an exit with an error is reported in Nuke.
WATCH_SECONDS = 30.0


def open_panel(job=None, ask=True):
    """Ask for a job file (Cancel: none) unless ``job`` is given, and start the panel on it."""
    if job is None and ask:
        job = nuke.getFilename("FilmStyle panel: open a job file (Cancel: an empty panel)", "*.yaml *.yml")
    try:
        launch = launch_panel(job or None, host_executable=getattr(nuke, "EXE_PATH", None))
    except WorkerError as exc:
        nuke.message("FilmStyle: %s" % exc)
        return None
    threading.Thread(target=_watch, args=(launch,), name="filmstyle-panel-watch", daemon=True).start()
    return launch


def _watch(launch):
    error = launch.failure(timeout=WATCH_SECONDS)
    if error:
        # nuke.message belongs to the main thread; this is the watching thread.
        nuke.executeInMainThread(nuke.message, ("FilmStyle: %s" % error,))
