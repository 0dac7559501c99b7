"""The curve editor: the job's keyed curves over the shot, edited with the mouse.

The lanes (strength, every blend weight, the other keyable settings; see
:meth:`filmstyle.panel.document.JobDocument.lanes`) are listed on the left; the active one is
drawn with its keys, the others faintly. On the plot:

* **double-click** adds a key there (whole frames; the value where you clicked);
* **drag a key** to move it (it stops one frame short of its neighbours; values stay within the
  setting's range); a drag is one undo step;
* **right-click a key** for its interpolation (``linear``, ``smooth``, ``hold``: the segment
  leaving the key) or to delete it; **Delete** removes the selected key;
* **click or drag in the ruler** along the top to change the current frame.

The bar above the plot sets the selected key's interpolation, keys the current frame, or deletes
the selected key. The editor never edits the job itself: it emits :attr:`CurveEditor.curveEdited`
with the new curve, and the window writes it through the document.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPen, QPolygonF
from PySide6.QtWidgets import (QComboBox, QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QMenu, QPushButton,
                               QSizePolicy, QSplitter, QVBoxLayout, QWidget)

from filmstyle.job.curves import INTERPS, Curve
from filmstyle.panel.document import Lane
from filmstyle.panel.keys import add_key, delete_key, move_key, number_text, set_interp

__all__ = ["CurveEditor", "CurvePanel"]

_RULER = 18.0
_MARGIN = 10.0
_HIT = 7.0
_drags = itertools.count(1)


class CurveEditor(QWidget):
    """The plot of the active lane's curve; emits edits, never applies them."""

    curveEdited = Signal(object, object, str)  # lane, curve, merge tag ("" = its own undo step)
    keySelected = Signal(int)  # index of the selected key, -1 for none
    frameRequested = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumSize(360, 150)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.lanes: list[Lane] = []
        self.curves: dict[str, Curve] = {}
        self.active: Lane | None = None
        self.shot: tuple[float, float] = (1.0, 100.0)
        self.frame = 1.0
        self.selected = -1
        self._drag: str | None = None
        self._ruler_drag = False

    # -- content ---------------------------------------------------------------------------------
    def set_content(self, lanes: list[Lane], curves: dict[str, Curve], active: Lane | None,
                    shot: tuple[float, float]) -> None:
        same_lane = self.active is not None and active is not None and self.active.path == active.path
        self.lanes, self.curves, self.active = lanes, curves, active
        self.shot = (float(shot[0]), float(max(shot[1], shot[0] + 1)))
        if not same_lane or self.selected >= len(self.curve.keys if self.curve else ()):
            self._select(-1)
        self.update()

    def set_frame(self, frame: float) -> None:
        self.frame = float(frame)
        self.update()

    @property
    def curve(self) -> Curve | None:
        return None if self.active is None else self.curves.get(self.active.id)

    def _select(self, index: int) -> None:
        if index != self.selected:
            self.selected = index
            self.keySelected.emit(index)
            self.update()

    # -- mapping ---------------------------------------------------------------------------------
    def plot_rect(self) -> QRectF:
        return QRectF(_MARGIN + 34, _RULER + 4, self.width() - 2 * _MARGIN - 34, self.height() - _RULER - 4 - 18)

    def value_range(self) -> tuple[float, float]:
        lo, hi = self.active.view if self.active is not None else (0.0, 1.0)
        curve = self.curve
        if curve is not None:
            values = [k.value for k in curve.keys]
            lo, hi = min(lo, *values), max(hi, *values)
        if hi - lo < 1e-6:
            hi = lo + 1.0
        pad = (hi - lo) * 0.06
        return lo - pad, hi + pad

    def frame_to_x(self, frame: float) -> float:
        r, (a, b) = self.plot_rect(), self.shot
        span = (b - a) * 1.06
        return r.left() + (frame - (a - (b - a) * 0.03)) / span * r.width()

    def x_to_frame(self, x: float) -> float:
        r, (a, b) = self.plot_rect(), self.shot
        span = (b - a) * 1.06
        return (a - (b - a) * 0.03) + (x - r.left()) / r.width() * span

    def value_to_y(self, value: float) -> float:
        r, (lo, hi) = self.plot_rect(), self.value_range()
        return r.bottom() - (value - lo) / (hi - lo) * r.height()

    def y_to_value(self, y: float) -> float:
        r, (lo, hi) = self.plot_rect(), self.value_range()
        return lo + (r.bottom() - y) / r.height() * (hi - lo)

    def key_pos(self, index: int) -> QPointF:
        """Where key ``index`` of the active curve is drawn (for tests and hit testing)."""
        assert self.curve is not None
        k = self.curve.keys[index]
        return QPointF(self.frame_to_x(k.frame), self.value_to_y(k.value))

    def key_at(self, pos: QPointF) -> int:
        curve = self.curve
        if curve is None:
            return -1
        best, index = _HIT, -1
        for i in range(len(curve.keys)):
            kp = self.key_pos(i)
            d = math.hypot(kp.x() - pos.x(), kp.y() - pos.y())
            if d <= best:
                best, index = d, i
        return index

    def _value_at(self, y: float) -> float:
        value = round(self.y_to_value(y), 3)
        if self.active is not None:
            if self.active.minimum is not None:
                value = max(value, self.active.minimum)
            if self.active.maximum is not None:
                value = min(value, self.active.maximum)
        return value

    # -- edits -----------------------------------------------------------------------------------
    def _emit(self, curve: Curve, merge: str = "") -> None:
        assert self.active is not None
        self.curves[self.active.id] = curve
        self.curveEdited.emit(self.active, curve, merge)
        self.update()

    def add_key_at(self, frame: float, value: float) -> None:
        if self.curve is None:
            return
        curve, index = add_key(self.curve, float(round(frame)), value, shot=self.shot)
        self._emit(curve)
        self._select(index)

    def set_selected_interp(self, interp: str) -> None:
        if self.curve is not None and 0 <= self.selected < len(self.curve.keys):
            if self.curve.keys[self.selected].interp != interp:
                self._emit(set_interp(self.curve, self.selected, interp))

    def delete_selected(self) -> None:
        if self.curve is not None and 0 <= self.selected < len(self.curve.keys):
            self._emit(delete_key(self.curve, self.selected))
            self._select(-1)

    # -- events ----------------------------------------------------------------------------------
    def mousePressEvent(self, event) -> None:  # noqa: N802 - Qt's name
        pos = event.position()
        if pos.y() < _RULER:
            self._ruler_drag = True
            self.frameRequested.emit(int(round(self.x_to_frame(pos.x()))))
            return
        index = self.key_at(pos)
        if event.button() == Qt.MouseButton.RightButton:
            if index >= 0:
                self._select(index)
                self._key_menu(event.globalPosition().toPoint())
            return
        self._select(index)
        self._drag = f"drag-{next(_drags)}" if index >= 0 else None

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        pos = event.position()
        if self._ruler_drag:
            self.frameRequested.emit(int(round(self.x_to_frame(pos.x()))))
            return
        curve = self.curve
        if self._drag is None or curve is None or not 0 <= self.selected < len(curve.keys):
            return
        lane = self.active
        assert lane is not None
        moved, _ = move_key(curve, self.selected, float(round(self.x_to_frame(pos.x()))), self._value_at(pos.y()),
                            minimum=lane.minimum, maximum=lane.maximum)
        if moved != curve:
            self._emit(moved, self._drag)

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802
        self._drag, self._ruler_drag = None, False

    def mouseDoubleClickEvent(self, event) -> None:  # noqa: N802
        pos = event.position()
        if pos.y() < _RULER or self.curve is None or self.key_at(pos) >= 0:
            return
        self.add_key_at(self.x_to_frame(pos.x()), self._value_at(pos.y()))

    def keyPressEvent(self, event) -> None:  # noqa: N802
        if event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            self.delete_selected()
        else:
            super().keyPressEvent(event)

    def _key_menu(self, where) -> None:
        menu = QMenu(self)
        current = self.curve.keys[self.selected].interp if self.curve is not None else None
        for interp in INTERPS:
            action = menu.addAction(interp)
            action.setCheckable(True)
            action.setChecked(interp == current)
            action.triggered.connect(lambda _=False, i=interp: self.set_selected_interp(i))
        menu.addSeparator()
        menu.addAction("delete key").triggered.connect(self.delete_selected)
        menu.popup(where)

    # -- drawing ---------------------------------------------------------------------------------
    def paintEvent(self, event) -> None:  # noqa: N802
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        p.fillRect(self.rect(), QColor(36, 36, 40))
        r = self.plot_rect()
        p.fillRect(QRectF(0, 0, self.width(), _RULER), QColor(48, 48, 54))
        self._grid(p, r)
        for lane in self.lanes:
            if self.active is None or lane.path != self.active.path:
                curve = self.curves.get(lane.id)
                if curve is not None:
                    self._draw_curve(p, r, curve, QColor(120, 120, 130, 110), 1.0, step=5)
        curve = self.curve
        if curve is not None:
            self._draw_curve(p, r, curve, QColor(255, 170, 60), 2.0)
            for i, k in enumerate(curve.keys):
                self._draw_key(p, self.key_pos(i), k.interp, i == self.selected)
        x = self.frame_to_x(self.frame)
        p.setPen(QPen(QColor(80, 200, 255), 1.5))
        p.drawLine(QPointF(x, 0), QPointF(x, r.bottom()))
        p.drawText(QPointF(x + 3, 13), str(int(self.frame)))
        if self.active is None:
            p.setPen(QColor(170, 170, 170))
            p.drawText(r, Qt.AlignmentFlag.AlignCenter, "no curve")
        p.end()

    def _grid(self, p: QPainter, r: QRectF) -> None:
        p.setPen(QPen(QColor(60, 60, 66), 1))
        a, b = self.shot
        step = max(1, int(10 ** math.floor(math.log10(max(b - a, 1)))))
        if (b - a) / step < 4:
            step = max(1, step // 2)
        for f in np.arange(math.ceil(a / step) * step, b + 1, step):
            x = self.frame_to_x(float(f))
            p.setPen(QPen(QColor(60, 60, 66), 1))
            p.drawLine(QPointF(x, r.top()), QPointF(x, r.bottom()))
            p.setPen(QColor(150, 150, 160))
            p.drawText(QPointF(x + 2, self.height() - 4), str(int(f)))
        lo, hi = self.value_range()
        for v in np.linspace(lo, hi, 5):
            y = self.value_to_y(float(v))
            p.setPen(QPen(QColor(60, 60, 66), 1))
            p.drawLine(QPointF(r.left(), y), QPointF(r.right(), y))
            p.setPen(QColor(150, 150, 160))
            p.drawText(QPointF(2, y + 4), f"{v:.2f}")
        for edge in (a, b):
            p.setPen(QPen(QColor(90, 90, 100), 1, Qt.PenStyle.DashLine))
            p.drawLine(QPointF(self.frame_to_x(edge), r.top()), QPointF(self.frame_to_x(edge), r.bottom()))

    def _draw_curve(self, p: QPainter, r: QRectF, curve: Curve, colour: QColor, width: float, step: int = 2) -> None:
        # A sample every ``step`` pixels, mapped with arrays: a paint must stay cheap on the UI thread
        # (building the points is most of its cost).
        xs = np.linspace(r.left(), r.right(), max(2, int(r.width() / step)))
        a, b = self.shot
        frames = (a - (b - a) * 0.03) + (xs - r.left()) / r.width() * (b - a) * 1.06
        lo, hi = self.value_range()
        ys = r.bottom() - (curve.sample(frames) - lo) / (hi - lo) * r.height()
        p.setPen(QPen(colour, width))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawPolyline(QPolygonF([QPointF(float(x), float(y)) for x, y in zip(xs, ys)]))

    def _draw_key(self, p: QPainter, at: QPointF, interp: str, selected: bool) -> None:
        s = 6.0 if selected else 4.5
        colour = QColor(255, 255, 255) if selected else QColor(255, 200, 120)
        p.setPen(QPen(QColor(20, 20, 20), 1))
        p.setBrush(colour)
        if interp == "hold":
            p.drawRect(QRectF(at.x() - s, at.y() - s, 2 * s, 2 * s))
        elif interp == "smooth":
            p.drawEllipse(at, s, s)
        else:
            p.drawPolygon(QPolygonF([QPointF(at.x(), at.y() - s), QPointF(at.x() + s, at.y()),
                                     QPointF(at.x(), at.y() + s), QPointF(at.x() - s, at.y())]))


class CurvePanel(QWidget):
    """The lane list, the key bar (interpolation, key the current frame, delete) and the plot."""

    laneChanged = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.editor = CurveEditor()
        self.list = QListWidget()
        self.list.setMinimumWidth(170)
        self.interp = QComboBox()
        self.interp.addItems(list(INTERPS))
        self.interp.setEnabled(False)
        self.interp.setToolTip("Interpolation of the segment leaving the selected key")
        self.key_button = QPushButton("Key at frame")
        self.key_button.setToolTip("Add a key on the current frame with the curve's value there")
        self.delete_button = QPushButton("Delete key")
        self.delete_button.setEnabled(False)
        bar = QHBoxLayout()
        bar.addWidget(QLabel("key:"))
        bar.addWidget(self.interp)
        bar.addWidget(self.key_button)
        bar.addWidget(self.delete_button)
        bar.addStretch(1)
        self.hint = QLabel("double-click: add key · drag: move · right-click: interpolation")
        self.hint.setStyleSheet("color: #999")
        bar.addWidget(self.hint)
        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.addLayout(bar)
        rl.addWidget(self.editor, 1)
        split = QSplitter()
        split.addWidget(self.list)
        split.addWidget(right)
        split.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(split)
        self._lanes: list[Lane] = []
        self.list.currentRowChanged.connect(self._row_changed)
        self.editor.keySelected.connect(self._key_selected)
        self.interp.currentTextChanged.connect(self._interp_chosen)
        self.key_button.clicked.connect(self.key_current_frame)
        self.delete_button.clicked.connect(self.editor.delete_selected)

    def set_content(self, lanes: list[Lane], curves: dict[str, Curve], shot: tuple[float, float], frame: float) -> None:
        """Show ``lanes`` (keeping the active one when it still exists) with their values at ``frame``."""
        current = self.active_lane()
        self._lanes = lanes
        self.list.blockSignals(True)
        self.list.clear()
        row = 0
        for i, lane in enumerate(lanes):
            curve = curves[lane.id]
            keys = "" if len(curve.keys) == 1 and curve.keys[0].frame == 0 else f"  ({len(curve.keys)} keys)"
            item = QListWidgetItem(f"{lane.label}: {number_text(round(curve.value_at(frame), 3))}{keys}")
            item.setData(Qt.ItemDataRole.UserRole, lane.id)
            self.list.addItem(item)
            if current is not None and lane.path == current.path:
                row = i
        self.list.setCurrentRow(row if lanes else -1)
        self.list.blockSignals(False)
        self.editor.set_content(lanes, curves, lanes[row] if lanes else None, shot)
        self.editor.set_frame(frame)
        self._key_selected(self.editor.selected)

    def active_lane(self) -> Lane | None:
        return self.editor.active

    def select_lane(self, lane_id: str) -> None:
        for i, lane in enumerate(self._lanes):
            if lane.id == lane_id:
                self.list.setCurrentRow(i)
                return
        raise KeyError(lane_id)

    def key_current_frame(self) -> None:
        curve = self.editor.curve
        if curve is not None:
            self.editor.add_key_at(self.editor.frame, curve.value_at(self.editor.frame))

    def _row_changed(self, row: int) -> None:
        if 0 <= row < len(self._lanes):
            self.editor.set_content(self._lanes, self.editor.curves, self._lanes[row], self.editor.shot)
            self.laneChanged.emit(self._lanes[row])

    def _key_selected(self, index: int) -> None:
        curve = self.editor.curve
        valid = curve is not None and 0 <= index < len(curve.keys)
        self.interp.setEnabled(valid)
        self.delete_button.setEnabled(valid)
        if valid:
            self.interp.blockSignals(True)
            self.interp.setCurrentText(curve.keys[index].interp)  # type: ignore[union-attr]
            self.interp.blockSignals(False)

    def _interp_chosen(self, interp: str) -> None:
        self.editor.set_selected_interp(interp)
