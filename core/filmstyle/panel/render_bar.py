"""The render controls in the status bar: Render, Cancel and a progress bar (frames and fps).

A render is the job as edited (saved or not) sent whole to the worker by
:meth:`filmstyle.panel.service.WorkerLink.start_render`; Cancel asks the worker to stop after the
frame it is on, so every frame written is complete, and rendering again skips them (the job's
``overwrite`` redoes them). The outcome is one line in the status bar and :attr:`RenderBar.last`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtWidgets import QProgressBar, QPushButton, QStatusBar

from filmstyle.panel.service import WorkerLink

__all__ = ["RenderBar"]


class RenderBar:
    """Adds its widgets to ``status_bar``; ``say(text, error)`` shows a line."""

    def __init__(self, status_bar: QStatusBar, link: WorkerLink, say: Callable[..., None]) -> None:
        self.link, self.say = link, say
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.progress.setMaximumWidth(260)
        self.render_button = QPushButton("Render")
        self.render_button.setToolTip("Render every frame of the job as it is now, through the worker (Ctrl+R)")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        for w in (self.progress, self.render_button, self.cancel_button):
            status_bar.addPermanentWidget(w)
        self.cancel_button.clicked.connect(self.cancel)
        link.renderProgress.connect(self._progress)
        link.renderDone.connect(self._done)
        self.last: dict[str, Any] | None = None

    def start(self, data: dict[str, Any]) -> bool:
        """Render ``data`` (every path absolute); False when a render is already running."""
        if self.link.rendering:
            return False
        self.last = None
        self.link.start_render(data)
        self.progress.setRange(0, 0)
        self.progress.setVisible(True)
        self.render_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.say("render: sent to the worker")
        return True

    def cancel(self) -> None:
        self.link.cancel_render()
        self.cancel_button.setEnabled(False)
        self.say("render: cancelling after the current frame…")

    def _progress(self, status: dict) -> None:
        total = max(int(status.get("total") or 0), 1)
        self.progress.setRange(0, total)
        self.progress.setValue(int(status.get("done") or 0))
        self.progress.setFormat(f"%v/%m frames  {status.get('fps') or 0:.2f} fps")
        if self.cancel_button.isEnabled():
            self.say(f"render: {status.get('state')} {status.get('done')}/{status.get('total')} frames")

    def _done(self, status: dict) -> None:
        self.progress.setVisible(False)
        self.render_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        state = status.get("state")
        if state == "done":
            self.say(f"render done: {status.get('written')} written, {status.get('skipped')} skipped "
                     f"→ {status.get('output')}")
        elif state == "cancelled":
            self.say(f"render cancelled after {status.get('done')} of {status.get('total')} frames "
                     f"(the frames written are complete)")
        else:
            self.say(f"render failed: {status.get('error')}", error=True)
        self.last = status
