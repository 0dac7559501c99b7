"""Setting controls built from the parameter table, one per entry with a ``panel`` widget kind.

:data:`WIDGET_KINDS` maps the table's panel widget kinds to control classes:

==============  ====================================================================================
``combo``       a drop-down of the entry's ``choices``
``file``        a path field with a browse button ("" removes the field)
``colorspace``  an editable drop-down of the job's OCIO config colourspaces ("" = the format's default)
``slider``      a slider over ``soft_range`` with a number box; the entry's ``host["none"]`` is "off"
``curve``       the value at the current frame (typing it keys an animated curve, as in Nuke), a key
                button, and the curve in the curve editor
==============  ====================================================================================

So a new table entry with one of these kinds gets its control, its tooltip (``help``), its range
and its place in the job file without changes here; an unknown kind gets a YAML text field.
Entries whose value lands inside ``styles[...]`` (the two-style picker, style image and blend that
Nuke and the Fuse show) are shown by the look editor instead, which edits the whole blend; entries
with a ``role`` belong to hosts with image inputs (the Nuke node's Mask input).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QComboBox, QDoubleSpinBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel, QLineEdit,
                               QSlider, QToolButton, QWidget)

from filmstyle.errors import FilmStyleError
from filmstyle.job.curves import Curve, parse_curve
from filmstyle.job.params import Parameter, host_parameters
from filmstyle.panel.document import JobDocument, field_path
from filmstyle.panel.keys import add_key, delete_key, key_index_at, set_value_at

__all__ = ["panel_parameters", "Control", "WIDGET_KINDS", "ParamForm"]


def panel_parameters() -> list[Parameter]:
    """The table entries the settings form shows, in table order."""
    out = []
    for p in host_parameters("panel"):
        if p.host.get("role"):
            continue
        job = p.path or p.host.get("job")
        if not isinstance(job, str) or "[" in job:
            continue  # styles[0].style and friends: the look editor
        out.append(p)
    return out


class Control:
    """One setting's widget. ``changed(param, value, merge)`` writes it through the document."""

    def __init__(self, param: Parameter, changed: Callable[[Parameter, Any, str | None], None]) -> None:
        self.param, self.changed = param, changed
        self.widget = self.build()
        self.widget.setToolTip(param.help)
        self.frame = 0.0
        self.shot: tuple[float, float] | None = None

    def build(self) -> QWidget:
        raise NotImplementedError

    def refresh(self, doc: JobDocument, frame: float, shot: tuple[float, float] | None) -> None:
        self.frame, self.shot = frame, shot
        self.widget.blockSignals(True)
        try:
            self.show(doc.param_value(self.param), doc)
        finally:
            self.widget.blockSignals(False)

    def show(self, value: Any, doc: JobDocument) -> None:
        raise NotImplementedError


class ComboControl(Control):
    def build(self) -> QWidget:
        self.combo = QComboBox()
        for choice in self.param.choices:
            self.combo.addItem(str(choice), choice)
        self.combo.activated.connect(lambda i: self.changed(self.param, self.combo.itemData(i), None))
        return self.combo

    def show(self, value: Any, doc: JobDocument) -> None:
        i = self.combo.findData(value)
        self.combo.setCurrentIndex(i if i >= 0 else 0)


class FileControl(Control):
    def build(self) -> QWidget:
        box = QWidget()
        row = QHBoxLayout(box)
        row.setContentsMargins(0, 0, 0, 0)
        self.edit = QLineEdit()
        self.edit.setPlaceholderText("(not set)")
        browse = QToolButton()
        browse.setText("…")
        row.addWidget(self.edit, 1)
        row.addWidget(browse)
        self.edit.editingFinished.connect(lambda: self.changed(self.param, self.edit.text().strip() or None, None))
        browse.clicked.connect(self._browse)
        return box

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.widget, self.param.label or self.param.name)
        if path:
            self.edit.setText(path)
            self.changed(self.param, path, None)

    def show(self, value: Any, doc: JobDocument) -> None:
        self.edit.setText("" if value in (None, "") else str(value))


class ColorspaceControl(Control):
    """The names come from the job's OCIO config, read off the UI thread with the frame."""

    def build(self) -> QWidget:
        self.combo = QComboBox()
        self.combo.setEditable(True)
        self.combo.lineEdit().setPlaceholderText("(the format's default)")
        self.combo.activated.connect(lambda i: self._commit())
        self.combo.lineEdit().editingFinished.connect(self._commit)
        self.names: tuple[str, ...] = ()
        return self.combo

    def _commit(self) -> None:
        text = self.combo.currentText().strip()
        self.changed(self.param, text or None, None)

    def set_names(self, names: tuple[str, ...]) -> None:
        if names != self.names:
            text = self.combo.currentText()
            self.names = names
            self.combo.blockSignals(True)
            self.combo.clear()
            self.combo.addItems(["", *names])
            self.combo.setEditText(text)
            self.combo.blockSignals(False)

    def show(self, value: Any, doc: JobDocument) -> None:
        given = doc.value(field_path(self.param))
        self.combo.setEditText("" if given is None else str(given))


class SliderControl(Control):
    _STEPS = 1000

    def build(self) -> QWidget:
        p = self.param
        lo, hi = p.soft_range or (p.minimum or 0.0, p.maximum if p.maximum is not None else 1.0)
        self.lo, self.hi = float(lo), float(hi)
        box = QWidget()
        row = QHBoxLayout(box)
        row.setContentsMargins(0, 0, 0, 0)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, self._STEPS)
        self.spin = QDoubleSpinBox()
        self.spin.setDecimals(3)
        self.spin.setSingleStep((self.hi - self.lo) / 100)
        self.spin.setRange(p.minimum if p.minimum is not None else -1e9, p.maximum if p.maximum is not None else 1e9)
        none = p.host.get("none")
        if none is not None:
            self.spin.setSpecialValueText("off")
            self.spin.setMinimum(float(none))
        row.addWidget(self.slider, 1)
        row.addWidget(self.spin)
        self.slider.valueChanged.connect(self._slid)
        self.spin.editingFinished.connect(lambda: self.changed(self.param, self._value(self.spin.value()), None))
        return box

    def _value(self, v: float) -> Any:
        none = self.param.host.get("none")
        if none is not None and v <= float(none):
            return None
        return int(round(v)) if self.param.kind == "integer" else round(v, 4)

    def _slid(self, step: int) -> None:
        v = self.lo + (self.hi - self.lo) * step / self._STEPS
        self.spin.blockSignals(True)
        self.spin.setValue(v)
        self.spin.blockSignals(False)
        self.changed(self.param, self._value(v), f"slider-{self.param.name}")

    def show(self, value: Any, doc: JobDocument) -> None:
        v = float(value) if isinstance(value, (int, float)) else float(self.param.host.get("none", self.lo) or self.lo)
        self.spin.blockSignals(True)
        self.slider.blockSignals(True)
        self.spin.setValue(v)
        self.slider.setValue(round((min(max(v, self.lo), self.hi) - self.lo) / (self.hi - self.lo) * self._STEPS))
        self.spin.blockSignals(False)
        self.slider.blockSignals(False)


class CurveControl(Control):
    def build(self) -> QWidget:
        p = self.param
        box = QWidget()
        row = QHBoxLayout(box)
        row.setContentsMargins(0, 0, 0, 0)
        self.spin = QDoubleSpinBox()
        self.spin.setDecimals(3)
        self.spin.setRange(p.minimum if p.minimum is not None else -1e9, p.maximum if p.maximum is not None else 1e9)
        lo, hi = p.soft_range or (0.0, 1.0)
        self.spin.setSingleStep((hi - lo) / 100)
        self.key = QToolButton()
        self.key.setText("◆")
        self.key.setCheckable(True)
        self.key.setToolTip("Key this setting on the current frame (checked: a key is here; click again to remove it)")
        self.state = QLabel()
        self.state.setStyleSheet("color: #999")
        row.addWidget(self.spin, 1)
        row.addWidget(self.key)
        row.addWidget(self.state)
        self.spin.editingFinished.connect(self._typed)
        self.key.clicked.connect(self._toggle_key)
        self.curve = Curve.constant(float(p.default or 0.0))
        return box

    def _typed(self) -> None:
        self.changed(self.param, set_value_at(self.curve, self.frame, self.spin.value(), shot=self.shot), None)

    def _toggle_key(self) -> None:
        at = key_index_at(self.curve, self.frame)
        if at is None:
            curve = add_key(self.curve, self.frame, self.spin.value(), shot=self.shot)[0]
        else:
            curve = delete_key(self.curve, at)
        self.changed(self.param, curve, None)

    def show(self, value: Any, doc: JobDocument) -> None:
        try:
            self.curve = parse_curve(value, field=self.param.name)
        except FilmStyleError:
            self.curve = Curve.constant(float(self.param.default or 0.0))
        self.spin.setValue(self.curve.value_at(self.frame))
        keyed = key_index_at(self.curve, self.frame) is not None
        self.key.setChecked(keyed)
        n = len(self.curve.keys)
        animated = not (n == 1 and self.curve.keys[0].frame == 0.0)
        self.state.setText(f"{n} keys" if animated else "")


class TextControl(Control):
    """Any other kind: the job value as YAML text."""

    def build(self) -> QWidget:
        self.edit = QLineEdit()
        self.edit.editingFinished.connect(self._commit)
        return self.edit

    def _commit(self) -> None:
        import yaml

        text = self.edit.text().strip()
        try:
            value = yaml.safe_load(text) if text else None
        except yaml.YAMLError:
            value = text
        self.changed(self.param, value, None)

    def show(self, value: Any, doc: JobDocument) -> None:
        import yaml

        self.edit.setText("" if value is None else yaml.safe_dump(value, default_flow_style=True).strip().rstrip("."))


WIDGET_KINDS: dict[str, type[Control]] = {
    "combo": ComboControl,
    "file": FileControl,
    "colorspace": ColorspaceControl,
    "slider": SliderControl,
    "curve": CurveControl,
}


class ParamForm(QWidget):
    """The settings form: one labelled control per :func:`panel_parameters` entry."""

    def __init__(self, changed: Callable[[Parameter, Any, str | None], None], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        form = QFormLayout(self)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        self.controls: dict[str, Control] = {}
        for param in panel_parameters():
            cls = WIDGET_KINDS.get(param.hosts["panel"], TextControl)
            control = cls(param, changed)
            label = QLabel(param.label or param.name.replace("_", " "))
            label.setToolTip(param.help)
            form.addRow(label, control.widget)
            self.controls[param.name] = control

    def refresh(self, doc: JobDocument, frame: float, shot: tuple[float, float] | None) -> None:
        for control in self.controls.values():
            control.refresh(doc, frame, shot)

    def set_colorspaces(self, names: tuple[str, ...]) -> None:
        """The colourspaces of the job's OCIO config, for the colourspace controls."""
        for control in self.controls.values():
            if isinstance(control, ColorspaceControl):
                control.set_names(names)
