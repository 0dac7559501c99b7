"""Starting the panel: the Qt application, the window, and ``--screenshot``.

:func:`run_panel` is what ``filmstyle panel`` runs. The job file is read before any window opens,
so a bad job is one line and exit status 1. With ``screenshot`` the window opens, waits until the
frame, its preview and the thumbnails are shown (:attr:`PanelWindow.settled`), writes the window's
pixels as PNG (through a temp file; a file the job reads or writes is refused) and exits; on an
X11 display that is the window as the screen shows it, elsewhere Qt renders the window offscreen.
Without a display, ``screenshot`` uses Qt's offscreen platform; without either there is a clear
error instead of Qt's abort.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from filmstyle.errors import FilmStyleError

__all__ = ["run_panel", "grab_window"]


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
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp.png")
    if not pix.save(str(tmp), "PNG", 0):  # quality 0: the strongest zlib compression
        tmp.unlink(missing_ok=True)
        raise FilmStyleError(f"{dest}: cannot write the screenshot")
    os.replace(tmp, dest)


def run_panel(job: str | Path | None = None, *, frame: int | None = None, screenshot: str | Path | None = None,
              proxy: str = "auto", thumbnails: bool = True, timeout: float = 300.0,
              size: tuple[int, int] | None = None) -> int:
    """Open the panel (on ``job`` at ``frame`` when given, the window ``size`` pixels); returns the exit status.

    Raises:
        FilmStyleError: a bad job file, frame or screenshot path, no display, or (with
            ``screenshot``) a preview that failed or did not arrive within ``timeout`` seconds.
    """
    from filmstyle.panel.document import JobDocument, job_file_named
    from filmstyle.panel.preview import PROXY_CHOICES

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
        if window.doc is not None and not window.viewer.has_after:
            outcome["error"] = f"--screenshot: no preview: {getattr(window, 'last_message', 'unknown error')}"
        else:
            try:
                pix = grab_window(window)
                _write_png(pix, dest)
                outcome["error"] = None
                outcome["info"] = f"{pix.width()}x{pix.height()}, {app.platformName()}"
            except FilmStyleError as exc:
                outcome["error"] = str(exc)
        app.quit()

    def settle() -> None:
        QTimer.singleShot(400, shoot)  # let the last repaint reach the screen

    def give_up() -> None:
        if not outcome:
            outcome["error"] = f"--screenshot: the preview did not arrive within {timeout:g} s"
            app.quit()

    window.settled.connect(settle)
    QTimer.singleShot(int(timeout * 1000), give_up)
    if not window.busy and doc is None:
        settle()
    app.exec()
    window.close()
    if outcome.get("error"):
        raise FilmStyleError(outcome["error"])
    print(f"wrote {dest} ({outcome['info']})", file=sys.stderr)
    return 0
