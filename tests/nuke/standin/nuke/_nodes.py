"""Nodes: the graph, groups, and the few image operations the FilmStyle node builds on.

Sources for the strict parts:

* Read, missing frame: the ``on_error`` knob ("missing frames": error, black, checkerboard,
  nearest frame; default error); outside ``first``-``last`` the ``before``/``after`` knobs apply
  (default hold) (learn.foundry.com/nuke/content/reference_guide/image_nodes/read.html).
* Keymix: "copies input A to input B where the mask is non-black ... Aa + B(1-a)", knob
  ``maskChannel`` (learn.foundry.com/nuke/content/reference_guide/merge_nodes/keymix.html); the
  inputs are numbered like the other merge nodes, B = 0, A = 1 (pythondevguide/basics.html:
  "the over node's A and B inputs (numbers 1 and 0)"), mask = 2. Keymix with no mask connected
  is not documented, so the stand-in refuses to guess (raises).
* A group input with nothing connected is not documented either: the stand-in raises, so a node
  that would pull it is caught.
* A disabled node passes its input 0 through.
"""

from __future__ import annotations

import os

from . import _app
from ._exr import Image, read_exr, write_exr
from ._knobs import (Boolean_Knob, Channel_Knob, Enumeration_Knob, File_Knob, Int_Knob, Knob,
                     PyScript_Knob, String_Knob, KNOB_CLASSES)


def frame_path(pattern: str, f: int) -> str:
    """``%04d``/``%d`` (File_Knob.value() gives printf notation) filled with frame ``f``."""
    try:
        return pattern % f if "%" in pattern else pattern
    except (TypeError, ValueError):
        raise RuntimeError("%s: bad frame pattern" % pattern) from None


class Node:
    CLASS = "Node"
    KNOBS: tuple = ()

    def __init__(self) -> None:
        self._knobs = {}
        self._user = []          # knobs added with addKnob: saved with the script
        self._inputs = []
        self._name = self.CLASS
        self._parent = None
        self._selected = False
        builtins = (String_Knob("name"), Boolean_Knob("disable"), String_Knob("label"),
                    String_Knob("knobChanged"), String_Knob("onCreate"), *[k() for k in self.KNOBS])
        for knob in builtins:
            knob._node = self
            self._knobs[knob.name()] = knob

    def Class(self) -> str:
        return self.CLASS

    def name(self) -> str:
        return self._name

    def setName(self, name: str, uncollide: bool = True) -> None:
        siblings = {n.name() for n in (self._parent._children if self._parent else []) if n is not self}
        base, i = name.rstrip("0123456789") or name, 1
        while uncollide and name in siblings:
            name, i = "%s%d" % (base, i), i + 1
        self._name = name
        self._knobs["name"]._value = name

    def fullName(self) -> str:
        if self._parent is None or isinstance(self._parent, Root):
            return self._name
        return self._parent.fullName() + "." + self._name

    def parent(self):
        return self._parent

    def addKnob(self, knob: Knob) -> None:
        _app.check_write("%s.addKnob" % self.fullName())
        knob._node = self
        self._knobs[knob.name()] = knob
        self._user.append(knob)

    def removeKnob(self, knob: Knob) -> None:
        self._knobs.pop(knob.name(), None)
        self._user = [k for k in self._user if k is not knob]

    def knob(self, name):
        return self._knobs.get(name)

    def knobs(self):
        return dict(self._knobs)

    def __getitem__(self, name: str) -> Knob:
        return self._knobs[name]

    def input(self, i: int):
        return self._inputs[i] if i < len(self._inputs) else None

    def inputs(self) -> int:
        return len(self._inputs)

    def setInput(self, i: int, node) -> bool:
        _app.check_write("%s.setInput" % self.fullName())
        while len(self._inputs) <= i:
            self._inputs.append(None)
        self._inputs[i] = node
        while self._inputs and self._inputs[-1] is None:
            self._inputs.pop()
        return True

    def dependencies(self, what=None):
        return [n for n in self._inputs if n is not None]

    def setSelected(self, selected: bool) -> None:
        self._selected = bool(selected)

    def isSelected(self) -> bool:
        return self._selected

    def image(self, f: int) -> Image:
        if self["disable"].value():
            return self._pull(0, f)
        return self._compute(f)

    def _pull(self, i: int, f: int) -> Image:
        node = self.input(i)
        if node is None:
            raise RuntimeError("%s: input %d is not connected" % (self.fullName(), i))
        return node.image(f)

    def _compute(self, f: int) -> Image:
        raise RuntimeError("%s: %s produces no image in the stand-in" % (self.fullName(), self.CLASS))


class Dot(Node):
    CLASS = "Dot"

    def _compute(self, f: int) -> Image:
        return self._pull(0, f)


def _checkerboard(w: int, h: int) -> Image:
    img = Image(w, h)
    for y in range(h):
        for x in range(w):
            v = 0.5 if ((x // 8) + (y // 8)) % 2 else 0.1
            for c in range(3):
                img.planes[c][y * w + x] = v
            img.planes[3][y * w + x] = 1.0
    return img


class Read(Node):
    CLASS = "Read"
    KNOBS = (lambda: File_Knob("file"), lambda: Int_Knob("first"), lambda: Int_Knob("last"),
             lambda: Enumeration_Knob("before", "before", ["hold", "loop", "bounce", "black"]),
             lambda: Enumeration_Knob("after", "after", ["hold", "loop", "bounce", "black"]),
             lambda: Enumeration_Knob("on_error", "missing frames",
                                      ["error", "black", "checkerboard", "nearest frame"]),
             lambda: Boolean_Knob("raw", "raw data"),
             lambda: String_Knob("colorspace", "colorspace", "default"),
             lambda: String_Knob("frame", "frame"),
             lambda: PyScript_Knob("reload", "Reload", ""))

    def _frame_file(self, f: int) -> str:
        return frame_path(self["file"].value(), f)

    def _compute(self, f: int) -> Image:
        _app.check_colour(self)
        first, last = int(self["first"].value()), int(self["last"].value())
        w, h = _app.root_format()
        if f < first or f > last:
            mode = self["before" if f < first else "after"].value()
            if mode == "black":
                return Image.black(w, h)
            if mode != "hold":
                raise RuntimeError("%s: before/after %s is not modelled by the stand-in" % (self.fullName(), mode))
            f = first if f < first else last
        path = self._frame_file(f)
        if os.path.isfile(path):
            return read_exr(path)
        mode = self["on_error"].value()
        if mode == "black":
            return Image.black(w, h)
        if mode == "checkerboard":
            return _checkerboard(w, h)
        if mode == "nearest frame":
            for d in range(1, last - first + 1):
                for g in (f - d, f + d):
                    if first <= g <= last and os.path.isfile(self._frame_file(g)):
                        return read_exr(self._frame_file(g))
        raise RuntimeError("%s: Read error: %s: No such file or directory" % (self.fullName(), path))


class Write(Node):
    CLASS = "Write"
    KNOBS = (lambda: File_Knob("file"),
             lambda: Enumeration_Knob("file_type", "file type", ["", "exr", "dpx", "tiff", "png", "jpeg"]),
             lambda: Enumeration_Knob("channels", "channels", ["rgb", "rgba", "all"]),
             lambda: Enumeration_Knob("datatype", "datatype", ["16 bit half", "32 bit float"]),
             lambda: Enumeration_Knob("compression", "compression", ["Zip (1 scanline)", "Zip (16 scanlines)", "none"]),
             lambda: Enumeration_Knob("metadata", "metadata", ["default metadata", "no metadata", "all metadata"]),
             lambda: Boolean_Knob("create_directories", "create directories"),
             lambda: Boolean_Knob("raw", "raw data"),
             lambda: String_Knob("colorspace", "colorspace", "default"),
             lambda: Int_Knob("render_order", "render order"),
             lambda: Boolean_Knob("use_limit", "limit to range"),
             lambda: Int_Knob("first"), lambda: Int_Knob("last"),
             lambda: String_Knob("beforeRender"), lambda: String_Knob("beforeFrameRender"),
             lambda: String_Knob("afterFrameRender"), lambda: String_Knob("afterRender"))

    def __init__(self) -> None:
        super().__init__()
        self["render_order"]._value = 1
        self["compression"]._value = "Zip (1 scanline)"

    def _compute(self, f: int) -> Image:
        return self._pull(0, f)

    def render(self, f: int) -> None:
        if self["file_type"].value() not in ("", "exr"):
            raise RuntimeError("%s: the stand-in writes EXR only" % self.fullName())
        _app.check_colour(self)
        pixels = self._pull(0, f)
        path = frame_path(self["file"].value(), f)
        folder = os.path.dirname(path)
        if folder and not os.path.isdir(folder):
            if not self["create_directories"].value():
                raise RuntimeError("%s: Can't write %s: No such file or directory" % (self.fullName(), path))
            os.makedirs(folder, exist_ok=True)
        codecs = {"Zip (1 scanline)": "zips", "Zip (16 scanlines)": "zip", "none": "none"}
        compression = codecs[self["compression"].value()]
        write_exr(path, pixels, channels="rgb" if self["channels"].value() == "rgb" else "rgba",
                  pixel_type="float" if self["datatype"].value() == "32 bit float" else "half",
                  compression=compression)


class Input(Node):
    CLASS = "Input"
    KNOBS = (lambda: Int_Knob("number"),)

    def _compute(self, f: int) -> Image:
        group = self._parent
        source = group.input(int(self["number"].value())) if group is not None else None
        if source is None:
            raise RuntimeError("%s: input %d of %s is not connected" % (self.fullName(), self["number"].value(),
                                                                      group.fullName() if group else "?"))
        return source.image(f)


class Output(Node):
    CLASS = "Output"

    def _compute(self, f: int) -> Image:
        return self._pull(0, f)


class Switch(Node):
    CLASS = "Switch"
    KNOBS = (lambda: Int_Knob("which"),)

    def _compute(self, f: int) -> Image:
        which = int(self["which"].getValueAt(f))
        which = max(0, min(which, self.inputs() - 1))
        return self._pull(which, f)


class Keymix(Node):
    CLASS = "Keymix"
    KNOBS = (lambda: Channel_Knob("maskChannel", "mask channel"), lambda: Boolean_Knob("invertMask", "invert"),
             lambda: Enumeration_Knob("channels", "channels", ["all", "rgb", "rgba"]))

    def _compute(self, f: int) -> Image:
        if self.input(2) is None:
            raise RuntimeError("%s: Keymix without a mask input is not modelled by the stand-in" % self.fullName())
        b, a, m = self._pull(0, f), self._pull(1, f), self._pull(2, f)
        channel = self["maskChannel"].value()
        if channel == "none":
            return a
        index = ["rgba.red", "rgba.green", "rgba.blue", "rgba.alpha"].index(channel)
        out = b.copy()
        mask = m.planes[index]
        invert = self["invertMask"].value()
        for c in range(4):
            pa, pb, po = a.planes[c], b.planes[c], out.planes[c]
            for i in range(len(po)):
                k = min(max(mask[i], 0.0), 1.0)
                k = 1.0 - k if invert else k
                po[i] = pa[i] * k + pb[i] * (1.0 - k)
        return out


class Group(Node):
    CLASS = "Group"

    def __init__(self) -> None:
        super().__init__()
        self._children = []

    def begin(self):
        _app.state.context.append(self)
        return self

    def end(self) -> None:
        if _app.state.context[-1] is not self:
            raise RuntimeError("%s.end() without begin()" % self.fullName())
        _app.state.context.pop()

    def __enter__(self):
        return self.begin()

    def __exit__(self, *exc) -> None:
        self.end()

    def nodes(self):
        return list(self._children)

    def node(self, name: str):
        head, _, rest = name.partition(".")
        child = next((n for n in self._children if n.name() == head), None)
        if rest and child is not None:
            return child.node(rest) if isinstance(child, Group) else None
        return child

    def _compute(self, f: int) -> Image:
        out = next((n for n in self._children if n.CLASS == "Output"), None)
        if out is None:
            raise RuntimeError("%s: group has no Output node" % self.fullName())
        return out.image(f)


class Root(Group):
    CLASS = "Root"
    KNOBS = (lambda: Int_Knob("first_frame"), lambda: Int_Knob("last_frame"), lambda: Int_Knob("frame"),
             lambda: String_Knob("format", "format", "64 48"),
             lambda: Enumeration_Knob("colorManagement", "color management", ["Nuke", "OCIO"]),
             lambda: Enumeration_Knob("OCIO_config", "OCIO config",
                                      ["fn-nuke_cg-config-v1.0.0_aces-v1.3_ocio-v2.1", "nuke-default", "custom"]),
             lambda: File_Knob("customOCIOConfigPath"), lambda: File_Knob("OCIOConfigPath"),
             lambda: String_Knob("workingSpaceLUT", "working space", "scene_linear"))

    def fullName(self) -> str:
        return "root"


NODE_CLASSES = {c.CLASS: c for c in (Read, Write, Input, Output, Switch, Keymix, Group, Dot)}
__all__ = ["Node", "Read", "Write", "Input", "Output", "Switch", "Keymix", "Group", "Root", "Dot",
           "NODE_CLASSES", "KNOB_CLASSES", "frame_path"]
