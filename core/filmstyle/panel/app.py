"""Starting the panel: the Qt application, the window, and ``--screenshot``.

:func:`run_panel` is what ``filmstyle panel`` runs. The job file is read before any window opens,
so a bad job is one line and exit status 1. With ``screenshot`` the job is first checked as
``filmstyle validate`` checks it and the PNG path as a render's outputs are; the window opens, waits until the
frame, its preview and the thumbnails are shown (:attr:`PanelWindow.settled`), writes the window's
pixels as PNG (through a temp file; a file the job reads or writes is refused) and exits; on an
X11 display that is the window as the screen shows it, elsewhere Qt renders the window offscreen.
Without a display, ``screenshot`` uses Qt's offscreen platform; without either there is a clear
error instead of Qt's abort.
"""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path

from filmstyle.errors import FilmStyleError, OutputError

__all__ = ["run_panel", "grab_window"]

#: ``--timeout`` bounds (seconds): above an hour a screenshot is stuck, not slow.
TIMEOUT_RANGE = (1.0, 3600.0)


def _no_display() -> bool:
    if os.environ.get("QT_QPA_PLATFORM") or sys.platform in ("win32", "darwin"):
        return False
    return not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _application():
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        app = QApplication([sys.argv[0] if sys.argv else "filmstyle"])
        app.setApplicationName("filmstyle panel")
        app.setStyle("Fusion")
    return app


def grab_window(window):
    """The window's pixels: the screen's copy on X11 (what a user sees), else Qt's own rendering."""
    from PySide6.QtGui import QGuiApplication

    if QGuiApplication.platformName() == "xcb" and window.screen() is not None:
        pix = window.screen().grabWindow(window.winId())
        if not pix.isNull() and pix.width() > 1:
            return pix
    return window.grab()


def _write_png(pix, dest: Path) -> None:
    from filmstyle.io.targets import atomic_target, check_output_paths

    # Checked again here: the path was fine at start-up, but the window ran for minutes since.
    check_output_paths([dest])
    with atomic_target(dest) as tmp:
        if not pix.save(str(tmp), "PNG", 0):  # quality 0: the strongest zlib compression
            raise OutputError(f"{dest}: cannot write the screenshot")


def _check_timeout(timeout: float) -> None:
    low, high = TIMEOUT_RANGE
    # ``not (low <= t <= high)`` rather than ``t < low or t > high``: NaN fails every comparison.
    if not (isinstance(timeout, (int, float)) and math.isfinite(timeout) and low <= timeout <= high):
        raise FilmStyleError(f"--timeout: expected seconds from {low:g} to {high:g}, got {timeout!r}")


def _check_screenshot_job(doc) -> None:
    """Refuse, before any window opens, a job that ``filmstyle validate`` refuses.

    The preview renders into a temp folder, so the worker never sees the job's own output and
    would happily preview a job whose render must fail (its output is its input); and a missing
    input leaves the window nothing to wait for. A screenshot stands for a job that can render.
    """
    from filmstyle.job import build_plan

    if doc.job is None:
        raise FilmStyleError(doc.error or f"{doc.name}: the job is invalid")
    build_plan(doc.job)


def run_panel(job: str | Path | None = None, *, frame: int | None = None, screenshot: str | Path | None = None,
              proxy: str = "auto", thumbnails: bool = True, timeout: float = 300.0,
              size: tuple[int, int] | None = None) -> int:
    """Open the panel (on ``job`` at ``frame`` when given, the window ``size`` pixels); returns the exit status.

    Raises:
        FilmStyleError: a bad job file, frame, timeout (1 to 3600 s) or screenshot path, no display,
            or (with ``screenshot``) a job ``filmstyle validate`` refuses, a preview that failed or
            did not arrive within ``timeout`` seconds.
    """
    from filmstyle.panel.document import JobDocument, job_file_named
    from filmstyle.panel.preview import PROXY_CHOICES

    _check_timeout(timeout)
    if proxy not in PROXY_CHOICES:
        raise FilmStyleError(f"--proxy: expected one of {', '.join(PROXY_CHOICES)}, got {proxy!r}")
    doc = JobDocument.open(job) if job is not None else None
    dest = None
    if screenshot is not None:
        dest = Path(screenshot).expanduser().absolute()
        if dest.suffix.lower() != ".png":
            raise FilmStyleError(f"--screenshot: {dest.name}: expected a .png file")
        if not dest.parent.is_dir():
            raise FilmStyleError(f"--screenshot: folder {dest.parent} does not exist")
        if doc is not None and doc.job is not None and job_file_named(doc.job, dest):
            raise FilmStyleError(f"--screenshot: {dest.name} is the job's {job_file_named(doc.job, dest)}")
        from filmstyle.io.targets import check_output_paths

        try:
            check_output_paths([dest])
        except OutputError as exc:
            raise OutputError(f"--screenshot: {exc}") from None
        if doc is not None:
            _check_screenshot_job(doc)
    if doc is not None and frame is not None:
        frames = doc.frames()
        if frame not in frames:
            raise FilmStyleError(f"--frame: {frame} is not a frame of the job ({frames[0]}-{frames[-1]})")
    if _no_display():
        if dest is None:
            raise FilmStyleError("panel: no display (DISPLAY is not set); run it on a desktop, or with "
                                 "--screenshot, which renders offscreen")
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from PySide6.QtCore import QTimer

    from filmstyle.panel.window import PanelWindow

    app = _application()
    window = PanelWindow(proxy=proxy, thumbnails=thumbnails, confirm_close=dest is None)
    if size is not None:
        window.resize(*size)
    if doc is not None:
        window.set_document(doc)
        if frame is not None:
            window.set_frame(frame)
    window.show()
    if dest is None:
        return app.exec()
    outcome: dict[str, str | None] = {}

    def shoot() -> None:
        if outcome or window.busy:
            return
        try:
            if window.doc is not None and not window.viewer.has_after:
                why = window.preview_error or getattr(window, "last_message", None) or "unknown error"
                outcome["error"] = f"--screenshot: no preview: {why}"
            else:
                pix = grab_window(window)
                _write_png(pix, dest)
                outcome["error"] = None
                outcome["info"] = f"{pix.width()}x{pix.height()}, {app.platformName()}"
        except FilmStyleError as exc:
            outcome["error"] = f"--screenshot: {exc}"
        finally:
            # Whatever went wrong, never leave the command waiting for the timeout.
            outcome.setdefault("error", f"--screenshot: {dest}: cannot write the screenshot")
            app.quit()

    def settle() -> None:
        QTimer.singleShot(400, window, shoot)  # let the last repaint reach the screen

    def give_up() -> None:
        if not outcome:
            outcome["error"] = f"--screenshot: the preview did not arrive within {timeout:g} s"
            app.quit()

    window.settled.connect(settle)
    deadline = QTimer(singleShot=True, interval=int(timeout * 1000))
    deadline.timeout.connect(give_up)
    deadline.start()
    # Nothing on its way (no job, or a job whose frames cannot be read): settled never comes.
    if not window.busy:
        settle()
    # Closing the last window after exec() returned would post a quit that stays pending and makes
    # every later event loop of this process return at once (a caller's own Qt loop, a test's).
    quit_on_close = app.quitOnLastWindowClosed()
    app.setQuitOnLastWindowClosed(False)
    try:
        app.exec()
    finally:
        deadline.stop()
        window.close()
        app.setQuitOnLastWindowClosed(quit_on_close)
    if outcome.get("error"):
        raise FilmStyleError(outcome["error"])
    print(f"wrote {dest} ({outcome['info']})", file=sys.stderr)
    return 0
