"""A stand-in for Nuke's ``nuke`` module, built from Foundry's documented Python API.

Covers what the FilmStyle node uses: knobs (Array/Double/Int/Boolean/Enumeration/String/File/
Text/PyScript/Tab), animation (``setAnimated``, ``setValueAt``, ``getValueAt``, ``isAnimated``,
``animation().keys()``; linear interpolation between keys, constant outside — real Nuke's default
key type is smooth, which the node never relies on because it bakes every frame), node creation
(``createNode``, ``nodes.<Class>``, ``toNode``, Group ``begin``/``end``/``node``), ``execute`` (Write
really writes EXR frames of its input with OpenImageIO; Read reads them), ``ProgressTask``,
``message``, ``executeInMainThread``, callbacks, menus and ``pluginAddPath``.

Images flow through ``Node.image(frame)`` as float32 ``(H, W, 4)`` RGBA, enough for Read, Write,
Input/Output, Group, Switch and Keymix. Install with :func:`install` (puts it in ``sys.modules``).
"""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path

import numpy as np
import OpenImageIO as oiio

GUI = False
INVISIBLE = 0x400
STARTLINE = 0x1000
messages: list[str] = []
plugin_paths: list[str] = []
callbacks: dict[str, list] = {"onCreate": [], "knobChanged": []}
_this: list = []


# ---------------------------------------------------------------------------------------- knobs
class Knob:
    def __init__(self, name: str, label: str | None = None, *args) -> None:
        self._name, self._label, self._value = name, label or name, None
        self._flags, self._tooltip, self._node = 0, "", None

    def name(self) -> str:
        return self._name

    def label(self) -> str:
        return self._label

    def node(self):
        return self._node

    def value(self):
        return self._value

    getValue = value

    def setValue(self, value) -> bool:
        self._value = value
        return True

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
        self._enabled = enabled


class AnimationKey:
    def __init__(self, x: float, y: float) -> None:
        self.x, self.y = x, y


class AnimationCurve:
    def __init__(self, knob: Array_Knob) -> None:
        self._knob = knob

    def keys(self) -> list[AnimationKey]:
        return [AnimationKey(x, y) for x, y in sorted(self._knob._keys.items())]

    def evaluate(self, t: float) -> float:
        return self._knob.getValueAt(t)


class Array_Knob(Knob):
    """One-channel numeric knob (index arguments are accepted and must be 0 or -1)."""

    _cast = float

    def __init__(self, name: str, label: str | None = None, *args) -> None:
        super().__init__(name, label)
        self._value = self._cast(0)
        self._keys: dict[float, float] = {}
        self._animated = False
        self._range = (0.0, 1.0)

    def setRange(self, lo: float, hi: float) -> None:
        self._range = (lo, hi)

    def min(self) -> float:
        return self._range[0]

    def max(self) -> float:
        return self._range[1]

    def setAnimated(self, index: int = -1, view=None) -> bool:
        if not self._animated:
            self._animated = True
            self._keys = {float(frame()): float(self._value)}
        return True

    def clearAnimated(self, index: int = -1, view=None) -> bool:
        self._animated, self._keys = False, {}
        return True

    def isAnimated(self, index: int = -1, view=None) -> bool:
        return self._animated

    def setValueAt(self, value: float, time: float, index: int = -1, view=None) -> bool:
        if not self._animated:
            self._animated, self._keys = True, {}
        self._keys[float(time)] = float(value)
        return True

    setKeyAt = None  # not used; real Nuke's setKeyAt(time) keys the current value

    def removeKeyAt(self, time: float, index: int = -1, view=None) -> None:
        self._keys.pop(float(time), None)

    def animation(self, index: int = 0, view=None) -> AnimationCurve | None:
        return AnimationCurve(self) if self._animated else None

    def getValueAt(self, time: float, index: int = -1, view=None):
        if not self._animated or not self._keys:
            return self._value
        xs = sorted(self._keys)
        t = float(time)
        if t <= xs[0]:
            return self._cast(self._keys[xs[0]])
        if t >= xs[-1]:
            return self._cast(self._keys[xs[-1]])
        for a, b in zip(xs, xs[1:]):
            if a <= t <= b:
                ya, yb = self._keys[a], self._keys[b]
                return self._cast(ya + (yb - ya) * (t - a) / (b - a))
        raise AssertionError("unreachable")

    valueAt = getValueAt

    def value(self, index: int = 0, view=None):
        return self.getValueAt(frame()) if self._animated else self._value

    getValue = value

    def setValue(self, value, index: int = -1, view=None) -> bool:
        if self._animated:
            self._keys[float(frame())] = float(value)
        else:
            self._value = self._cast(value)
        return True


class Double_Knob(Array_Knob):
    pass


class Int_Knob(Array_Knob):
    _cast = int


class Boolean_Knob(Array_Knob):
    _cast = bool


class Enumeration_Knob(Knob):
    def __init__(self, name: str, label: str, values: list[str]) -> None:
        super().__init__(name, label)
        self._values = list(values)
        self._value = self._values[0] if self._values else ""

    def values(self) -> list[str]:
        return list(self._values)

    def setValues(self, values: list[str]) -> None:
        self._values = list(values)

    def setValue(self, value) -> bool:
        if isinstance(value, int) and not isinstance(value, bool):
            value = self._values[value]
        if value not in self._values:
            raise ValueError(f"{self._name}: {value!r} is not one of the menu items")
        self._value = value
        return True

    def getValue(self) -> float:
        return float(self._values.index(self._value))


class String_Knob(Knob):
    def __init__(self, name: str, label: str | None = None, text: str = "") -> None:
        super().__init__(name, label)
        self._value = text


class File_Knob(String_Knob):
    pass


class Multiline_Eval_String_Knob(String_Knob):
    pass


class Text_Knob(String_Knob):
    pass


class Tab_Knob(Knob):
    pass


class PyScript_Knob(Knob):
    def __init__(self, name: str, label: str | None = None, command: str = "") -> None:
        super().__init__(name, label)
        self._value = command

    def execute(self) -> None:
        _this.append(self._node)
        try:
            exec(self._value, {"nuke": sys.modules["nuke"]})
        finally:
            _this.pop()


# ---------------------------------------------------------------------------------------- nodes
def _frame_path(pattern: str, f: int) -> str:
    return re.sub(r"#+", lambda m: f"{f:0{len(m.group(0))}d}", pattern.replace("%04d", "####"))


class Node:
    CLASS = "Node"
    KNOBS: tuple = ()

    def __init__(self) -> None:
        self._knobs: dict[str, Knob] = {}
        self._inputs: list = []
        self._name = self.CLASS
        self._parent = None
        for knob in (String_Knob("name"), Boolean_Knob("disable"), *[k() for k in self.KNOBS]):
            self.addKnob(knob)

    def Class(self) -> str:
        return self.CLASS

    def name(self) -> str:
        return self._name

    def setName(self, name: str, uncollide: bool = True) -> None:
        siblings = {n.name() for n in (self._parent._children if self._parent else []) if n is not self}
        base, i = name, 1
        while uncollide and name in siblings:
            name, i = f"{base}{i}", i + 1
        self._name = name
        self._knobs["name"]._value = name

    def fullName(self) -> str:
        return self._name

    def addKnob(self, knob: Knob) -> None:
        knob._node = self
        self._knobs[knob.name()] = knob

    def removeKnob(self, knob: Knob) -> None:
        self._knobs.pop(knob.name(), None)

    def knob(self, name: str) -> Knob | None:
        return self._knobs.get(name)

    def knobs(self) -> dict[str, Knob]:
        return dict(self._knobs)

    def __getitem__(self, name: str) -> Knob:
        return self._knobs[name]

    def input(self, i: int):
        return self._inputs[i] if i < len(self._inputs) else None

    def inputs(self) -> int:
        return len(self._inputs)

    def setInput(self, i: int, node) -> bool:
        while len(self._inputs) <= i:
            self._inputs.append(None)
        self._inputs[i] = node
        return True

    def parent(self):
        return self._parent

    def image(self, f: int) -> np.ndarray:
        raise NotImplementedError(f"{self.CLASS} produces no image in the stand-in")


class Read(Node):
    CLASS = "Read"
    KNOBS = (lambda: File_Knob("file"), lambda: Int_Knob("first"), lambda: Int_Knob("last"),
             lambda: Enumeration_Knob("on_error", "missing frames", ["error", "black", "checkerboard", "nearest frame"]),
             lambda: PyScript_Knob("reload", "Reload", ""))

    def image(self, f: int) -> np.ndarray:
        first, last = self["first"].value(), self["last"].value()
        f = min(max(f, first), last) if last >= first else f
        path = _frame_path(self["file"].value(), f)
        inp = oiio.ImageInput.open(path)
        if inp is None:
            raise RuntimeError(f"{self.name()}: cannot read {path}: {oiio.geterror()}")
        spec = inp.spec()
        px = np.asarray(inp.read_image(0, 0, 0, min(spec.nchannels, 4), "float"), dtype=np.float32)
        inp.close()
        if px.shape[2] == 3:
            px = np.dstack([px, np.ones(px.shape[:2], np.float32)])
        return px


class Write(Node):
    CLASS = "Write"
    KNOBS = (lambda: File_Knob("file"),
             lambda: Enumeration_Knob("file_type", "file type", ["", "exr", "dpx", "tiff", "png", "jpeg"]),
             lambda: Enumeration_Knob("channels", "channels", ["rgb", "rgba", "all"]),
             lambda: Enumeration_Knob("datatype", "datatype", ["16 bit half", "32 bit float"]),
             lambda: Enumeration_Knob("metadata", "metadata", ["default metadata", "no metadata", "all metadata"]),
             lambda: Boolean_Knob("create_directories", "create directories"),
             lambda: String_Knob("colorspace", "colorspace", "scene_linear"))

    def render(self, f: int) -> None:
        pixels = self.input(0).image(f)
        nch = 4 if self["channels"].value() != "rgb" else 3
        path = Path(_frame_path(self["file"].value(), f))
        if self["create_directories"].value():
            path.parent.mkdir(parents=True, exist_ok=True)
        fmt = "float" if self["datatype"].value() == "32 bit float" else "half"
        spec = oiio.ImageSpec(pixels.shape[1], pixels.shape[0], nch, fmt)
        spec.attribute("compression", "zip")
        out = oiio.ImageOutput.create(str(path))
        if out is None or not out.open(str(path), spec):
            raise RuntimeError(f"{self.name()}: cannot write {path}: {oiio.geterror()}")
        out.write_image(np.ascontiguousarray(pixels[..., :nch]))
        out.close()


class Input(Node):
    CLASS = "Input"
    KNOBS = (lambda: Int_Knob("number"),)

    def image(self, f: int) -> np.ndarray:
        source = self._parent.input(self["number"].value())
        if source is None:
            raise RuntimeError(f"{self._parent.name()}: input {self['number'].value()} is not connected")
        return source.image(f)


class Output(Node):
    CLASS = "Output"

    def image(self, f: int) -> np.ndarray:
        return self.input(0).image(f)


class Switch(Node):
    CLASS = "Switch"
    KNOBS = (lambda: Int_Knob("which"),)

    def image(self, f: int) -> np.ndarray:
        return self.input(int(self["which"].getValueAt(f))).image(f)


class Keymix(Node):
    """Keymix: input 0 = B, 1 = A, 2 = mask; A over B where the mask channel is 1."""

    CLASS = "Keymix"
    KNOBS = (lambda: Enumeration_Knob("maskChannel", "mask channel",
                                      ["rgba.alpha", "rgba.red", "rgba.green", "rgba.blue"]),)

    def image(self, f: int) -> np.ndarray:
        b, a = self.input(0).image(f), self.input(1).image(f)
        if self.input(2) is None:
            return a
        index = {"rgba.red": 0, "rgba.green": 1, "rgba.blue": 2, "rgba.alpha": 3}[self["maskChannel"].value()]
        m = np.clip(self.input(2).image(f)[..., index : index + 1], 0.0, 1.0)
        return b + (a - b) * m


class Group(Node):
    CLASS = "Group"

    def __init__(self) -> None:
        super().__init__()
        self._children: list[Node] = []

    def begin(self):
        _context.append(self)
        return self

    def end(self) -> None:
        assert _context[-1] is self, "Group.end() without begin()"
        _context.pop()

    def __enter__(self):
        return self.begin()

    def __exit__(self, *exc) -> None:
        self.end()

    def nodes(self) -> list[Node]:
        return list(self._children)

    def node(self, name: str):
        return next((n for n in self._children if n.name() == name), None)

    def image(self, f: int) -> np.ndarray:
        out = next((n for n in self._children if n.CLASS == "Output"), None)
        if out is None:
            raise RuntimeError(f"{self.name()}: group has no Output node")
        return out.image(f)


class Root(Group):
    CLASS = "Root"
    KNOBS = (lambda: Int_Knob("first_frame"), lambda: Int_Knob("last_frame"), lambda: Int_Knob("frame"),
             lambda: File_Knob("customOCIOConfigPath"))


_CLASSES = {c.CLASS: c for c in (Read, Write, Input, Output, Switch, Keymix, Group)}
_root = Root()
_root.setName("root")
_root["first_frame"].setValue(1)
_root["last_frame"].setValue(100)
_context: list[Group] = [_root]


def reset() -> None:
    """Empty script (tests call this between cases)."""
    _root._children.clear()
    del _context[1:]
    messages.clear()
    ProgressTask.instances.clear()


def root() -> Root:
    return _root


def frame(f: int | None = None) -> int:
    if f is not None:
        _root["frame"].setValue(f)
    return _root["frame"].value()


def _make(cls_name: str, **knobs) -> Node:
    if cls_name not in _CLASSES:
        raise RuntimeError(f"{cls_name}: unknown command")
    node = _CLASSES[cls_name]()
    group = _context[-1]
    node._parent = group
    if cls_name == "Input":
        node["number"].setValue(sum(n.CLASS == "Input" for n in group._children))
    group._children.append(node)
    node.setName(knobs.pop("name", cls_name + "1"))
    for i, inp in enumerate(knobs.pop("inputs", [])):
        node.setInput(i, inp)
    for key, value in knobs.items():
        node[key].setValue(value)
    for cb in callbacks["onCreate"]:
        if cb[1] in ("*", cls_name):
            _this.append(node)
            try:
                cb[0]()
            finally:
                _this.pop()
    return node


def createNode(node: str, knobs: str = "", inpanel: bool = True) -> Node:
    return _make(node)


nodes = types.SimpleNamespace(**{name: (lambda n: lambda **kw: _make(n, **kw))(name) for name in _CLASSES})


def toNode(name: str):
    return _context[-1].node(name)


def allNodes(filter: str | None = None, group=None) -> list[Node]:
    g = group or _context[-1]
    return [n for n in g._children if filter is None or n.CLASS == filter]


def thisNode():
    return _this[-1] if _this else _context[-1]


def thisGroup():
    return _context[-1]


def execute(nameOrNode, start: int, end: int, incr: int = 1, views=None, continueOnError: bool = False) -> None:
    node = toNode(nameOrNode) if isinstance(nameOrNode, str) else nameOrNode
    if node is None or node.CLASS != "Write":
        raise RuntimeError(f"{nameOrNode}: not an executable node")
    for f in range(int(start), int(end) + 1, int(incr)):
        node.render(f)


def message(text: str) -> None:
    messages.append(text)


def executeInMainThread(call, args=(), kwargs=None) -> None:
    call(*args, **(kwargs or {}))


def executeInMainThreadWithResult(call, args=(), kwargs=None):
    return call(*args, **(kwargs or {}))


class ProgressTask:
    """Records progress; set ``cancel_at_percent`` (class attribute) to press Cancel at that point."""

    instances: list = []
    cancel_at_percent: int | None = None

    def __init__(self, title: str) -> None:
        self.title, self.progress, self.messages = title, 0, []
        ProgressTask.instances.append(self)

    def setProgress(self, percent: int) -> None:
        self.progress = int(percent)

    def setMessage(self, text: str) -> None:
        self.messages.append(text)

    def isCancelled(self) -> bool:
        limit = ProgressTask.cancel_at_percent
        return limit is not None and self.progress >= limit


def addOnCreate(call, args=(), kwargs=None, nodeClass: str = "*") -> None:
    callbacks["onCreate"].append((lambda: call(*args, **(kwargs or {})), nodeClass))


def addKnobChanged(call, args=(), kwargs=None, nodeClass: str = "*", node=None) -> None:
    callbacks["knobChanged"].append((call, nodeClass))


def pluginAddPath(path: str, addToSysPath: bool = True) -> None:
    plugin_paths.insert(0, path)
    if addToSysPath and path not in sys.path:
        sys.path.insert(0, path)


class Menu:
    def __init__(self, name: str) -> None:
        self.name, self.items = name, {}

    def addMenu(self, name: str, icon: str | None = None):
        return self.items.setdefault(name, Menu(name))

    def addCommand(self, name: str, command=None, shortcut: str = "", icon: str | None = None, **kw) -> None:
        self.items[name] = (command, icon)

    def findItem(self, name: str):
        return self.items.get(name)


_menus: dict[str, Menu] = {}


def menu(name: str) -> Menu:
    return _menus.setdefault(name, Menu(name))


def install():
    """Put this module in ``sys.modules['nuke']`` and return it."""
    module = sys.modules[__name__]
    sys.modules["nuke"] = module
    return module
