"""The viewer: before and after with a wipe, and the regions' masks as a tinted overlay.

The before image is on the left of the wipe line, the preview on the right; dragging anywhere
in the picture moves the line (``wipe``, 0 = all after, 1 = all before). A preview that no
longer matches the job (an edit since it was asked for) is still shown, marked *updating*, until
the new one arrives, so the picture never blanks while the worker renders. Masks are drawn in
one colour per region at 45 % over both sides, with a legend.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

__all__ = ["WipeViewer", "to_qimage", "REGION_COLOURS"]

#: Overlay colours of regions 1, 2, 3 ... (repeating).
REGION_COLOURS = ((255, 64, 160), (64, 200, 255), (255, 200, 40), (120, 255, 90), (190, 120, 255))


def to_qimage(rgb: np.ndarray) -> QImage:
    """``(H, W, 3)`` uint8 → an RGB888 QImage that owns a copy of the pixels."""
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    h, w = rgb.shape[:2]
    return QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


def _mask_image(matte: np.ndarray, colour: tuple[int, int, int], opacity: float = 0.45) -> QImage:
    h, w = matte.shape
    rgba = np.empty((h, w, 4), np.uint8)
    rgba[..., :3] = colour
    rgba[..., 3] = np.clip(matte * (255 * opacity) + 0.5, 0, 255).astype(np.uint8)
    return QImage(rgba.data, w, h, 4 * w, QImage.Format.Format_RGBA8888).copy()


class WipeViewer(QWidget):
    """Before | after, split by a draggable wipe line."""

    wipeChanged = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumSize(320, 200)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMouseTracking(False)
        self._before: QImage | None = None
        self._after: QImage | None = None
        self._after_stale = False
        self._masks: list[tuple[str, QImage, tuple[int, int, int]]] = []
        self._overlay = True
        self._wipe = 0.5
        self._message = "Open a job (File ▸ Open) to start"
        self._caption = ""
        self._after_note = ""

    # -- content ---------------------------------------------------------------------------------
    def set_before(self, image: QImage | None) -> None:
        self._before = image
        self.update()

    def set_after(self, image: QImage | None, *, stale: bool = False) -> None:
        self._after, self._after_stale = image, stale
        self.update()

    def mark_after_stale(self) -> None:
        if self._after is not None and not self._after_stale:
            self._after_stale = True
            self.update()

    def set_masks(self, masks: list[tuple[str, np.ndarray]]) -> None:
        self._masks = [(name, _mask_image(m, REGION_COLOURS[i % len(REGION_COLOURS)]),
                        REGION_COLOURS[i % len(REGION_COLOURS)]) for i, (name, m) in enumerate(masks)]
        self.update()

    def set_overlay(self, on: bool) -> None:
        self._overlay = bool(on)
        self.update()

    def set_message(self, text: str) -> None:
        """Text shown instead of the picture when there is none (or under it as a caption)."""
        self._message = text
        self.update()

    def set_after_note(self, text: str) -> None:
        """A word on the preview's state under the after side ("rendering…", an error)."""
        self._after_note = text
        self.update()

    def set_caption(self, text: str) -> None:
        self._caption = text
        self.update()

    @property
    def overlay(self) -> bool:
        return self._overlay

    @property
    def has_after(self) -> bool:
        return self._after is not None and not self._after_stale

    @property
    def wipe(self) -> float:
        return self._wipe

    def set_wipe(self, value: float) -> None:
        value = min(max(float(value), 0.0), 1.0)
        if value != self._wipe:
            self._wipe = value
            self.wipeChanged.emit(value)
            self.update()

    # -- geometry --------------------------------------------------------------------------------
    def image_rect(self) -> QRectF:
        """Where the picture is drawn: the frame fitted into the widget, aspect kept."""
        ref = self._before or self._after
        if ref is None:
            return QRectF()
        margin = 8.0
        aw, ah = self.width() - 2 * margin, self.height() - 2 * margin - 18
        scale = min(aw / ref.width(), ah / ref.height())
        w, h = ref.width() * scale, ref.height() * scale
        return QRectF((self.width() - w) / 2, margin + (ah - h) / 2, w, h)

    def wipe_x(self) -> float:
        r = self.image_rect()
        return r.left() + r.width() * self._wipe

    # -- events ----------------------------------------------------------------------------------
    def mousePressEvent(self, event) -> None:  # noqa: N802 - Qt's name
        self._drag_to(event.position().x())

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        if event.buttons() & Qt.MouseButton.LeftButton:
            self._drag_to(event.position().x())

    def _drag_to(self, x: float) -> None:
        r = self.image_rect()
        if r.width() > 0:
            self.set_wipe((x - r.left()) / r.width())

    def paintEvent(self, event) -> None:  # noqa: N802
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(30, 30, 32))
        r = self.image_rect()
        if r.isEmpty():
            p.setPen(QColor(170, 170, 170))
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self._message)
            p.end()
            return
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        x = self.wipe_x()
        if self._before is not None:
            p.save()
            p.setClipRect(QRectF(r.left(), r.top(), x - r.left(), r.height()))
            p.drawImage(r, self._before)
            p.restore()
        right = QRectF(x, r.top(), r.right() - x, r.height())
        p.save()
        p.setClipRect(right)
        if self._after is not None:
            p.drawImage(r, self._after)
        else:
            p.fillRect(right, QColor(45, 45, 48))
        p.restore()
        if self._overlay:
            for _, img, _ in self._masks:
                p.drawImage(r, img)
        p.setPen(QPen(QColor(255, 255, 255), 1.5))
        p.drawLine(QPointF(x, r.top()), QPointF(x, r.bottom()))
        p.setBrush(QColor(255, 255, 255))
        p.drawEllipse(QPointF(x, r.center().y()), 5, 5)
        self._labels(p, r, x)
        p.end()

    def _labels(self, p: QPainter, r: QRectF, x: float) -> None:
        p.setPen(QColor(235, 235, 235))
        y = r.bottom() + 14
        p.drawText(QPointF(r.left(), y), "before")
        after = f"after: {self._after_note}" if self._after_note else "after"
        if self._after is not None and self._after_stale and not self._after_note:
            after = "after: updating…"
        width = p.fontMetrics().horizontalAdvance(after)
        p.drawText(QPointF(max(x + 4, r.right() - width), y), after)
        if self._caption:
            cw = p.fontMetrics().horizontalAdvance(self._caption)
            p.drawText(QPointF(r.center().x() - cw / 2, y), self._caption)
        if self._overlay and self._masks:
            lx, ly = r.left() + 6, r.top() + 6
            for name, _, colour in self._masks:
                p.fillRect(QRectF(lx, ly, 10, 10), QColor(*colour))
                p.setPen(QColor(255, 255, 255))
                p.drawText(QPointF(lx + 14, ly + 9), name)
                ly += 14
