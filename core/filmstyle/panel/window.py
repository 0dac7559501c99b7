"""The panel's main window: viewer, frame slider, look editor, settings, curve editor, render bar.

Every edit goes through the :class:`~filmstyle.panel.document.JobDocument`; the window then
refreshes the widgets, marks the preview as updating and, a moment after the last edit (so a
drag does not queue a render per mouse move), asks the worker for a new one. The UI thread only
paints and edits: frames, masks, previews, thumbnails and renders run on
:class:`~filmstyle.panel.service.WorkerLink`'s threads.

:attr:`PanelWindow.settled` is emitted when the current frame, its preview and the thumbnails
have all arrived (or failed); ``--screenshot`` waits for it.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import yaml  # noqa: F401 - loaded with the window, not on the UI thread's first job
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFileDialog, QHBoxLayout, QLabel, QMainWindow, QMessageBox,
                               QScrollArea, QSlider, QSpinBox, QSplitter, QTabWidget, QVBoxLayout, QWidget)

from filmstyle.errors import FilmStyleError
from filmstyle.job.params import Parameter
from filmstyle.panel.controls import ParamForm
from filmstyle.panel.curve_editor import CurvePanel
from filmstyle.panel.display import SourceView
from filmstyle.panel.document import JobDocument, Lane
from filmstyle.panel.preview import PROXY_CHOICES
from filmstyle.panel.render_bar import RenderBar
from filmstyle.panel.service import PreviewRequest, ThumbnailRequest, WorkerLink
from filmstyle.panel.style_picker import LookEditor
from filmstyle.panel.viewer import WipeViewer, to_qimage

__all__ = ["PanelWindow"]

_DEBOUNCE_MS = 150


class PanelWindow(QMainWindow):
    """The panel. ``link`` is started here; ``confirm_close`` asks before discarding edits."""

    settled = Signal()

    def __init__(self, link: WorkerLink | None = None, *, proxy: str = "auto", thumbnails: bool = True,
                 confirm_close: bool = True) -> None:
        super().__init__()
        self.setWindowTitle("filmstyle")
        self.resize(1360, 860)
        self.doc: JobDocument | None = None
        self.link = link or WorkerLink(self)
        self.proxy_choice = proxy
        self.want_thumbnails = thumbnails
        self.confirm_close = confirm_close
        self.frame = 0
        self.frames: tuple[int, ...] = ()
        self.view: SourceView | None = None
        self.preview_seconds: float | None = None
        # Why the viewer has no preview: kept apart from the status line, which a later
        # thumbnail failure overwrites, so --screenshot names the real cause.
        self.preview_error: str | None = None
        self._serials = itertools.count(1)
        self._view_serial = 0
        self._shown_view_serial = -1
        self._view_key: str | None = None
        self._preview_serial = 0
        self._preview_key: str | None = None
        self._preview_pending = False
        self._thumb_key: str | None = None
        self._thumbs_pending: set[str] = set()
        self._build()
        self._preview_timer = QTimer(self, singleShot=True, interval=_DEBOUNCE_MS)
        self._preview_timer.timeout.connect(self._send_preview)
        self.link.status.connect(self._status)
        self.link.linkFailed.connect(self._link_failed)
        self.link.ready.connect(lambda url: self._status(f"worker ready at {url}"))
        self.link.ready.connect(lambda _url: self._maybe_thumbnails())
        self.link.viewLoaded.connect(self._view_loaded)
        self.link.viewFailed.connect(self._view_failed)
        self.link.previewDone.connect(self._preview_done)
        self.link.previewFailed.connect(self._preview_failed)
        self.link.thumbnailDone.connect(self._thumbnail_done)
        self.link.thumbnailFailed.connect(self._thumbnail_failed)
        self.link.start()
        self._refresh()

    # -- layout ------------------------------------------------------------------------------------
    def _build(self) -> None:
        self.viewer = WipeViewer()
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.frame_box = QSpinBox()
        self.frame_box.setKeyboardTracking(False)
        self.overlay_box = QCheckBox("masks")
        self.overlay_box.setChecked(True)
        self.overlay_box.setToolTip("Show the regions' masks over the picture")
        self.proxy_box = QComboBox()
        self.proxy_box.addItems(list(PROXY_CHOICES))
        self.proxy_box.setCurrentText(self.proxy_choice)
        self.proxy_box.setToolTip("Preview size: the frame divided by this (auto: about 540 rows)")
        row = QHBoxLayout()
        row.addWidget(QLabel("frame"))
        row.addWidget(self.slider, 1)
        row.addWidget(self.frame_box)
        row.addWidget(self.overlay_box)
        row.addWidget(QLabel("proxy"))
        row.addWidget(self.proxy_box)
        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addWidget(self.viewer, 1)
        ll.addLayout(row)
        self.looks = LookEditor(self._set_style, self._remove_style)
        self.form = ParamForm(self._param_changed)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.form)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.looks, "Look")
        self.tabs.addTab(scroll, "Settings")
        top = QSplitter()
        top.addWidget(left)
        top.addWidget(self.tabs)
        top.setStretchFactor(0, 3)
        top.setStretchFactor(1, 2)
        self.curves = CurvePanel()
        main = QSplitter(Qt.Orientation.Vertical)
        main.addWidget(top)
        main.addWidget(self.curves)
        main.setStretchFactor(0, 3)
        main.setStretchFactor(1, 1)
        self.setCentralWidget(main)
        self.message = QLabel()
        self.statusBar().addWidget(self.message, 1)
        self.renders = RenderBar(self.statusBar(), self.link, self._status)
        self.render_button, self.cancel_button = self.renders.render_button, self.renders.cancel_button
        self.progress = self.renders.progress
        self._menus()
        self.slider.valueChanged.connect(self.set_frame)
        self.frame_box.valueChanged.connect(self.set_frame)
        self.overlay_box.toggled.connect(self.viewer.set_overlay)
        self.proxy_box.currentTextChanged.connect(self._proxy_changed)
        self.curves.editor.curveEdited.connect(self._curve_edited)
        self.curves.editor.frameRequested.connect(self.set_frame)
        self.looks.thumbnailsWanted.connect(self._maybe_thumbnails)
        self.render_button.clicked.connect(self.render)

    def _menus(self) -> None:
        menu = self.menuBar().addMenu("&File")
        for text, key, slot in (("&Open…", QKeySequence.StandardKey.Open, self.open_dialog),
                                ("&Save", QKeySequence.StandardKey.Save, self.save),
                                ("Save &As…", QKeySequence.StandardKey.SaveAs, self.save_as),
                                ("&Render", QKeySequence("Ctrl+R"), self.render)):
            action = QAction(text, self)
            action.setShortcut(key)
            action.triggered.connect(lambda _=False, s=slot: s())
            menu.addAction(action)
        edit = self.menuBar().addMenu("&Edit")
        for text, key, name in (("&Undo", QKeySequence.StandardKey.Undo, "undo"),
                                ("&Redo", QKeySequence.StandardKey.Redo, "redo")):
            action = QAction(text, self)
            action.setShortcut(key)
            action.triggered.connect(lambda _=False, n=name: self.doc is not None and getattr(self.doc, n)())
            edit.addAction(action)

    # -- the job -----------------------------------------------------------------------------------
    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a job", "", "Job files (*.yaml *.yml)")
        if path and self._discard_ok():
            self.open_job(path)

    def open_job(self, path: str | Path) -> bool:
        """Load a job file; a bad file leaves the current one and shows the one-line error."""
        try:
            doc = JobDocument.open(path)
        except FilmStyleError as exc:
            self._status(str(exc), error=True)
            return False
        self.set_document(doc)
        return True

    def set_document(self, doc: JobDocument) -> None:
        self.doc = doc
        doc.on_change(lambda _d: self._refresh())
        self._view_key = self._preview_key = self._thumb_key = None
        self.view = None
        self.viewer.set_before(None)
        self.viewer.set_after(None)
        self.viewer.set_masks([])
        self.looks.imported.clear()
        self.preview_error = None
        try:
            self.frames = doc.frames()
        except FilmStyleError as exc:
            self.frames = ()
            self.preview_error = str(exc)
            self._status(str(exc), error=True)
            self.viewer.set_message(str(exc))
        self.frame = self.frames[0] if self.frames else 0
        self._refresh()

    def save(self) -> bool:
        if self.doc is None:
            return False
        if self.doc.path is None:
            return self.save_as()
        return self._save_to(None)

    def save_as(self, path: str | Path | None = None) -> bool:
        if self.doc is None:
            return False
        if path is None:
            start = str(self.doc.path or Path.cwd() / "job.yaml")
            path, _ = QFileDialog.getSaveFileName(self, "Save the job", start, "Job files (*.yaml *.yml)")
            if not path:
                return False
        return self._save_to(path)

    def _save_to(self, path: str | Path | None) -> bool:
        assert self.doc is not None
        try:
            dest = self.doc.save(path)
        except FilmStyleError as exc:
            self._status(str(exc), error=True)
            return False
        self._status(f"saved {dest}")
        return True

    def _discard_ok(self) -> bool:
        if not self.confirm_close or self.doc is None or not self.doc.dirty:
            return True
        answer = QMessageBox.question(self, "filmstyle", f"Save the changes to {self.doc.name}?",
                                      QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
                                      | QMessageBox.StandardButton.Cancel)
        if answer == QMessageBox.StandardButton.Save:
            return self.save()
        return answer == QMessageBox.StandardButton.Discard

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        if not self._discard_ok():
            event.ignore()
            return
        self.link.close()
        event.accept()

    # -- edits -------------------------------------------------------------------------------------
    def _param_changed(self, param: Parameter, value: Any, merge: str | None) -> None:
        if self.doc is not None:
            self.doc.set_param(param, value, merge=merge)

    def _curve_edited(self, lane: Lane, curve, merge: str) -> None:
        if self.doc is not None:
            self.doc.set_curve(lane, curve, merge=merge or None)

    def _set_style(self, index: int, style: str) -> None:
        if self.doc is not None:
            self.doc.set_style(index, style)

    def _remove_style(self, index: int) -> None:
        if self.doc is not None:
            self.doc.remove_style(index)

    def _proxy_changed(self, text: str) -> None:
        self.proxy_choice = text
        self._view_key = None
        self._refresh()

    def set_frame(self, frame: int) -> None:
        if not self.frames:
            return
        frame = min(self.frames, key=lambda f: abs(f - int(frame)))
        if frame != self.frame:
            self.frame = frame
            self._refresh()

    # -- refresh -----------------------------------------------------------------------------------
    def _refresh(self) -> None:
        doc = self.doc
        title = "filmstyle" if doc is None else f"filmstyle — {doc.name}{' *' if doc.dirty else ''}"
        self.setWindowTitle(title)
        has = doc is not None
        for w in (self.slider, self.frame_box, self.tabs, self.curves, self.render_button):
            w.setEnabled(has and (w is not self.render_button or not self.link.rendering))
        if doc is None:
            return
        first, last = (self.frames[0], self.frames[-1]) if self.frames else (1, 1)
        for w in (self.slider, self.frame_box):
            w.blockSignals(True)
            w.setRange(first, last)
            w.setValue(self.frame)
            w.blockSignals(False)
        shot = (float(first), float(last))
        lanes = doc.lanes()
        self.curves.set_content(lanes, {lane.id: doc.curve(lane) for lane in lanes}, shot, self.frame)
        entries = doc.styles()
        weights = [doc.curve(Lane(("styles", i, "weight"), "", 1.0)).value_at(self.frame) for i in range(len(entries))]
        self.looks.set_content(entries, weights, doc.base_dir)
        self.form.refresh(doc, float(self.frame), shot)
        if doc.error:
            self.preview_error = doc.error
            self._status(doc.error, error=True)
            self.viewer.set_after_note("the job has an error")
            self.viewer.mark_after_stale()
            self._preview_timer.stop()
            self._preview_pending = False  # nothing to wait for until the job is valid again
            self._preview_key = None
            self._check_settled()
        self._request_view()
        self._schedule_preview()

    def _factor(self) -> int:
        return self.view.factor if self.view is not None else 1

    def _request_view(self) -> None:
        doc = self.doc
        if doc is None or doc.job is None or not self.frames:
            return
        d = doc.data
        key = json.dumps([d.get("input"), d.get("layer"), d.get("part"), d.get("color"), d.get("regions"),
                          str(doc.base_dir), self.frame, self.proxy_choice], sort_keys=True, default=str)
        if key == self._view_key:
            return
        self._view_key = key
        self._view_serial = next(self._serials)
        self.link.load_view(self._view_serial, doc.job, self.frame, self.proxy_choice)

    def _view_loaded(self, serial: int, view: SourceView) -> None:
        if serial != self._view_serial:
            return
        self._shown_view_serial = serial
        self.view = view
        self.viewer.set_before(to_qimage(view.display))
        self.viewer.set_masks([(name, m) for name, m in view.masks])
        self.form.set_colorspaces(view.colorspaces)
        self.viewer.set_caption(f"{view.frame}  ·  {view.full_size[0]}×{view.full_size[1]} → "
                                f"{view.size[0]}×{view.size[1]}  ·  {view.colorspace}")
        if view.mask_error:
            self._status(f"masks: {view.mask_error}", error=True)
        self._preview_key = None
        self._schedule_preview()
        self._maybe_thumbnails()
        self._check_settled()

    def _view_failed(self, serial: int, error: str) -> None:
        if serial == self._view_serial:
            self._shown_view_serial = serial
            self.preview_error = error
            self.viewer.set_before(None)
            self.viewer.set_message(error)
            self._status(error, error=True)
            self._check_settled()

    # -- previews ----------------------------------------------------------------------------------
    def _schedule_preview(self) -> None:
        if self.doc is not None and self.doc.job is not None and self.view is not None \
                and self.view.frame == self.frame and self._shown_view_serial == self._view_serial:
            if self._preview_key != self._current_preview_key():
                self.viewer.mark_after_stale()
                self._preview_pending = True
                self._preview_timer.start()

    def _current_preview_key(self) -> str:
        assert self.doc is not None
        return json.dumps([self.doc.data, str(self.doc.base_dir), self.frame, self._factor()], sort_keys=True,
                          default=str)

    def _send_preview(self) -> None:
        doc, view = self.doc, self.view
        if doc is None or doc.job is None or view is None or view.frame != self.frame:
            return
        if self.link.link_error is not None:
            self._link_failed(self.link.link_error)
            return
        key = self._current_preview_key()
        if key == self._preview_key:
            return
        self._preview_key = key
        self._preview_serial = next(self._serials)
        self._preview_pending = True
        self.preview_error = None
        self.viewer.set_after_note("rendering…")
        self.link.request_preview(PreviewRequest(self._preview_serial, doc.absolute_data(), view, self._factor()))

    def _preview_done(self, serial: int, image, seconds: float) -> None:
        latest = serial == self._preview_serial
        self.viewer.set_after(to_qimage(image), stale=not latest)
        if latest:
            self.preview_seconds = seconds
            self._preview_pending = False
            self.viewer.set_after_note("")
            self._status(f"preview of frame {self.frame} in {seconds:.1f} s")
            self._check_settled()

    def _preview_failed(self, serial: int, error: str) -> None:
        if serial == self._preview_serial:
            self._preview_pending = False
            self.preview_error = error
            self.viewer.set_after(None)
            self.viewer.set_after_note("failed")
            self._status(f"preview: {error}", error=True)
            self._check_settled()

    # -- thumbnails --------------------------------------------------------------------------------
    def _maybe_thumbnails(self) -> None:
        doc, view = self.doc, self.view
        if not self.want_thumbnails or doc is None or view is None or self.link.client is None:
            return
        d = doc.absolute_data()
        key = json.dumps([d.get("input"), d.get("color"), d.get("layer"), d.get("part")], sort_keys=True)
        replace = key != self._thumb_key
        if replace:
            self._thumb_key = key
            self.looks.clear_thumbnails()
            self._thumbs_pending.clear()
        wanted = [c for c in self.looks.choices
                  if not self.looks.has_thumbnail(c.style) and c.style not in self._thumbs_pending]
        if wanted or replace:
            self._thumbs_pending |= {c.style for c in wanted}
            self.link.request_thumbnails([ThumbnailRequest(c.style, d, view, c.image, d.get("part")) for c in wanted],
                                         replace=replace)

    def _thumbnail_done(self, style: str, image) -> None:
        self._thumbs_pending.discard(style)
        self.looks.set_thumbnail(style, to_qimage(image))
        self._check_settled()

    def _thumbnail_failed(self, style: str, error: str) -> None:
        self._thumbs_pending.discard(style)
        self._status(f"thumbnail {style}: {error}", error=True)
        self._check_settled()

    # -- rendering ---------------------------------------------------------------------------------
    def render(self) -> bool:
        """Render the job as edited (saved or not) through the worker (see :mod:`.render_bar`)."""
        doc = self.doc
        if doc is None or doc.job is None:
            self._status(doc.error if doc is not None and doc.error else "open a job first", error=True)
            return False
        return self.renders.start(doc.absolute_data())

    def cancel_render(self) -> None:
        self.renders.cancel()

    @property
    def last_render(self) -> dict | None:
        """The final status of the last render (None while one runs or before the first)."""
        return self.renders.last

    def _link_failed(self, error: str) -> None:
        self._status(f"worker: {error}", error=True)
        self.preview_error = f"worker: {error}"
        self._preview_pending = False
        self._thumbs_pending.clear()
        self.viewer.set_after_note("no worker")
        self._check_settled()

    # -- state -------------------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        """True while the frame, its preview or thumbnails are still on their way."""
        view_waiting = self.doc is not None and self.doc.job is not None and bool(self.frames) and (
            self._shown_view_serial != self._view_serial)
        return view_waiting or self._preview_pending or bool(self._thumbs_pending) or self._preview_timer.isActive()

    def _check_settled(self) -> None:
        if not self.busy:
            self.settled.emit()

    def _status(self, text: str, *, error: bool = False) -> None:
        self.message.setText(text)
        self.message.setStyleSheet("color: #e66" if error else "")
        self.last_message = text
