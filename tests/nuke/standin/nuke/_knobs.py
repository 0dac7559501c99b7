"""Knobs as Nuke documents them, with the behaviours the FilmStyle node depends on.

Strict where Nuke is strict:

* String and file knobs: ``value()`` is TCL-evaluated, ``getText()`` is not (see :mod:`._tcl`);
  ``File_Knob.value()`` "returns the string on this knob, will be normalized to technical
  notation if sequence (%4d)" (learn.foundry.com/nuke/developers/70/pythonreference/
  nuke.File_Knob-class.html): ``####`` comes back as ``%04d``.
* Animation: a key's interpolation is SMOOTH unless changed, "same as CATMULL_ROM but the slopes
  are clamped so that the convex-hull property is preserved ... This is the default"
  (learn.foundry.com/nuke/developers/latest/pythondevguide/_autosummary/nuke.AnimationKey.html).
  The exact clamp is not documented; this one keeps the documented property (no overshoot).
  ``isAnimated()`` is true for expressions too (pythondevguide/animation.html).
* A knob flagged ``NO_ANIMATION`` refuses ``setAnimated``/``setValueAt`` (returns False), as its
  animation menu is disabled in Nuke.
* In the GUI, writing a knob from another thread than the main one raises: the Python API is to
  be used from the main thread, other threads go through ``executeInMainThread``
  (learn.foundry.com/nuke/developers/16.0/pythondevguide/threading.html).
"""

from __future__ import annotations

import re

from . import _app
from ._tcl import substitute

INVISIBLE = 0x00000400
NO_ANIMATION = 0x00000100
STARTLINE = 0x00001000
DISABLED = 0x00000080
CONSTANT, LINEAR, SMOOTH = 0x0001, 0x0002, 0x0003


class Knob:
    _serial = ("value",)

    def __init__(self, name: str, label: str = None, *args) -> None:
        self._name, self._label = name, label if label is not None else name
        self._value = None
        self._flags, self._tooltip, self._node, self._enabled = 0, "", None, True

    def name(self) -> str:
        return self._name

    def label(self) -> str:
        return self._label

    def node(self):
        return self._node

    def Class(self) -> str:
        return type(self).__name__

    def value(self):
        return self._value

    def getValue(self):
        return self.value()

    def setValue(self, value) -> bool:
        _app.check_write("%s.%s.setValue" % (self._owner(), self._name))
        self._value = value
        _app.knob_changed(self)
        return True

    def _owner(self) -> str:
        return self._node.fullName() if self._node is not None else "?"

    def setFlag(self, flag: int) -> None:
        self._flags |= flag

    def clearFlag(self, flag: int) -> None:
        self._flags &= ~flag

    def getFlag(self, flag: int) -> bool:
        return bool(self._flags & flag)

    def setVisible(self, visible: bool) -> None:
        self.clearFlag(INVISIBLE) if visible else self.setFlag(INVISIBLE)

    def visible(self) -> bool:
        return not self.getFlag(INVISIBLE)

    def setTooltip(self, text: str) -> None:
        self._tooltip = text

    def tooltip(self) -> str:
        return self._tooltip

    def setEnabled(self, enabled: bool) -> None:
        self._enabled = bool(enabled)

    def enabled(self) -> bool:
        return self._enabled

    def isAnimated(self, *args) -> bool:
        return False

    def hasExpression(self, *args) -> bool:
        return False

    # -- stand-in script serialization (a real .nk stores the same state as TCL) ----------------
    def _state(self):
        return self._value

    def _restore(self, state) -> None:
        self._value = state


class AnimationKey:
    def __init__(self, x: float, y: float, interpolation: int = SMOOTH) -> None:
        self.x, self.y, self.interpolation = x, y, interpolation


class AnimationCurve:
    def __init__(self, knob: "Array_Knob") -> None:
        self._knob = knob

    def keys(self):
        return [AnimationKey(x, y, i) for x, (y, i) in sorted(self._knob._keys.items())]

    def evaluate(self, t: float) -> float:
        return self._knob._curve_at(float(t))

    def changeInterpolation(self, keys, type: int) -> None:
        for k in keys:
            y, _ = self._knob._keys[float(k.x)]
            self._knob._keys[float(k.x)] = (y, type)

    def clear(self) -> None:
        self._knob._keys.clear()


def _slopes(xs, ys, kinds):
    """Per-key slopes: LINEAR keys take the secant, SMOOTH keys a clamped Catmull-Rom slope."""
    n = len(xs)
    sec = [(ys[i + 1] - ys[i]) / (xs[i + 1] - xs[i]) for i in range(n - 1)]
    out = []
    for i in range(n):
        if n == 1:
            out.append((0.0, 0.0))
            continue
        left = sec[i - 1] if i > 0 else sec[0]
        right = sec[i] if i < n - 1 else sec[-1]
        if kinds[i] == LINEAR:
            out.append((left, right))
            continue
        if 0 < i < n - 1:
            m = (ys[i + 1] - ys[i - 1]) / (xs[i + 1] - xs[i - 1])
            if (ys[i] - ys[i - 1]) * (ys[i + 1] - ys[i]) <= 0:
                m = 0.0  # a local extremum: flat, so the curve stays inside its keys
            else:
                cap = 3.0 * min(abs(left), abs(right))
                m = max(-cap, min(cap, m))
        else:
            m = right if i == 0 else left  # an end key has one neighbour
        out.append((m, m))
    return out


class Array_Knob(Knob):
    """One-channel numeric knob (index arguments are accepted and must be 0 or -1)."""

    _cast = float

    def __init__(self, name: str, label: str = None, *args) -> None:
        super().__init__(name, label)
        self._value = self._cast(0)
        self._keys = {}
        self._animated = False
        self._expression = None
        self._range = (0.0, 1.0)

    def setRange(self, lo: float, hi: float) -> None:
        self._range = (lo, hi)

    def min(self) -> float:
        return self._range[0]

    def max(self) -> float:
        return self._range[1]

    def setAnimated(self, index: int = -1, view=None) -> bool:
        if self.getFlag(NO_ANIMATION):
            return False
        _app.check_write("%s.%s.setAnimated" % (self._owner(), self._name))
        if not self._animated:
            self._animated = True
            self._keys = {float(_app.frame()): (float(self._value), SMOOTH)}
        return True

    def clearAnimated(self, index: int = -1, view=None) -> bool:
        self._animated, self._keys, self._expression = False, {}, None
        return True

    def isAnimated(self, index: int = -1, view=None) -> bool:
        return self._animated or self._expression is not None

    def hasExpression(self, index: int = -1, view=None) -> bool:
        return self._expression is not None

    def setExpression(self, expression: str, channel: int = -1, view=None) -> bool:
        if self.getFlag(NO_ANIMATION):
            return False
        self._expression = expression
        return True

    def expression(self, *args):
        return self._expression

    def setValueAt(self, value: float, time: float, index: int = -1, view=None) -> bool:
        if self.getFlag(NO_ANIMATION):
            return False
        _app.check_write("%s.%s.setValueAt" % (self._owner(), self._name))
        if not self._animated:
            self._animated, self._keys = True, {}
        self._keys[float(time)] = (float(value), SMOOTH)
        _app.knob_changed(self)
        return True

    def setKeyAt(self, time: float, index: int = -1, view=None) -> bool:
        return self.setValueAt(self.getValueAt(time), time)

    def removeKeyAt(self, time: float, index: int = -1, view=None) -> None:
        self._keys.pop(float(time), None)

    def animation(self, index: int = 0, view=None):
        return AnimationCurve(self) if self._animated else None

    def _curve_at(self, t: float) -> float:
        xs = sorted(self._keys)
        ys = [self._keys[x][0] for x in xs]
        kinds = [self._keys[x][1] for x in xs]
        if t <= xs[0]:
            return ys[0]
        if t >= xs[-1]:
            return ys[-1]
        slopes = _slopes(xs, ys, kinds)
        for i in range(len(xs) - 1):
            x0, x1 = xs[i], xs[i + 1]
            if x0 <= t <= x1:
                if kinds[i] == CONSTANT:
                    return ys[i]
                h = x1 - x0
                s = (t - x0) / h
                m0, m1 = slopes[i][1], slopes[i + 1][0]
                return ((2 * s ** 3 - 3 * s ** 2 + 1) * ys[i] + (s ** 3 - 2 * s ** 2 + s) * h * m0
                        + (-2 * s ** 3 + 3 * s ** 2) * ys[i + 1] + (s ** 3 - s ** 2) * h * m1)
        raise AssertionError("unreachable")

    def getValueAt(self, time: float, index: int = -1, view=None):
        if self._expression is not None:
            return self._cast(_app.expression_value(self._expression, self._node, time))
        if not self._animated or not self._keys:
            return self._value
        return self._cast(self._curve_at(float(time)))

    valueAt = getValueAt

    def value(self, index: int = 0, view=None):
        return self.getValueAt(_app.frame())

    getValue = value

    def setValue(self, value, index: int = -1, view=None) -> bool:
        _app.check_write("%s.%s.setValue" % (self._owner(), self._name))
        if self._animated:
            self._keys[float(_app.frame())] = (float(value), SMOOTH)
        else:
            self._value = self._cast(value)
        _app.knob_changed(self)
        return True

    def _state(self):
        return {"value": self._value, "keys": [[x, y, i] for x, (y, i) in sorted(self._keys.items())],
                "animated": self._animated, "expression": self._expression}

    def _restore(self, state) -> None:
        self._value = self._cast(state["value"])
        self._keys = {float(x): (float(y), int(i)) for x, y, i in state["keys"]}
        self._animated, self._expression = state["animated"], state["expression"]


class Double_Knob(Array_Knob):
    pass


class Int_Knob(Array_Knob):
    _cast = int


class Boolean_Knob(Array_Knob):
    _cast = bool


class Enumeration_Knob(Knob):
    def __init__(self, name: str, label: str, values) -> None:
        super().__init__(name, label)
        self._values = list(values)
        self._value = self._values[0] if self._values else ""

    def values(self):
        return list(self._values)

    def setValues(self, values) -> None:
        self._values = list(values)

    def setValue(self, value) -> bool:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = self._values[int(value)]
        if value not in self._values:
            raise ValueError("%s: %r is not one of the menu items" % (self._name, value))
        return super().setValue(value)

    def getValue(self) -> float:
        return float(self._values.index(self._value))

    def isAnimated(self, *args) -> bool:
        return False


class Channel_Knob(Enumeration_Knob):
    """A channel chooser (Keymix ``maskChannel``); values are ``layer.channel`` names."""

    def __init__(self, name: str, label: str = None, default: str = "rgba.alpha") -> None:
        super().__init__(name, label, ["none", "rgba.red", "rgba.green", "rgba.blue", "rgba.alpha"])
        self._value = default


class String_Knob(Knob):
    def __init__(self, name: str, label: str = None, text: str = "") -> None:
        super().__init__(name, label)
        self._value = text

    def getText(self, oc=None) -> str:
        return self._value

    def setText(self, text: str, view="default") -> None:
        self.setValue(text)

    def value(self, oc=None) -> str:
        return substitute(self._value, self._node)

    getValue = value

    def evaluate(self) -> str:
        return self.value()


class EvalString_Knob(String_Knob):
    pass


class File_Knob(EvalString_Knob):
    def value(self, oc=None) -> str:
        text = substitute(self._value, self._node)
        return re.sub(r"#+", lambda m: "%%0%dd" % len(m.group(0)), text)

    getValue = value
    getEvaluatedValue = value

    def fromUserText(self, text: str) -> None:
        self.setValue(text)


class Multiline_Eval_String_Knob(EvalString_Knob):
    pass


class Text_Knob(Knob):
    """A label: its text is shown, not evaluated."""

    def __init__(self, name: str, label: str = None, text: str = "") -> None:
        super().__init__(name, label)
        self._value = text


class Tab_Knob(Knob):
    pass


class PyScript_Knob(Knob):
    def __init__(self, name: str, label: str = None, command: str = "") -> None:
        super().__init__(name, label)
        self._value = command

    def execute(self) -> None:
        _app.run_knob_script(self._value, self._node)


class Link_Knob(Knob):
    """Exposes another node's knob on a group (``setLink('inner.knob')``); reads and writes go there."""

    def __init__(self, name: str, label: str = None) -> None:
        super().__init__(name, label)
        self._value = ""

    def setLink(self, path: str) -> None:
        self._value = path

    makeLink = None  # not used: setLink covers it

    def getLink(self) -> str:
        return self._value

    def getLinkedKnob(self):
        return _app.knob_by_path(self._value, self._node, inside=True)

    def value(self):
        return self.getLinkedKnob().value()

    getValue = value

    def setValue(self, value) -> bool:
        return self.getLinkedKnob().setValue(value)


KNOB_CLASSES = {c.__name__: c for c in (
    Array_Knob, Double_Knob, Int_Knob, Boolean_Knob, Enumeration_Knob, Channel_Knob, String_Knob,
    EvalString_Knob, File_Knob, Multiline_Eval_String_Knob, Text_Knob, Tab_Knob, PyScript_Knob, Link_Knob)}

