"""Stand-ins of Fusion's scripting side as Resolve scripts see it: UIManager windows and comps.

UIManager [UIM: the Workflow Integrations README's "UIManager Introduction"]: elements are made by
``ui.<Kind>(props[, children])``; ``disp.AddWindow(props, layout)``; handlers are assigned as
``win.On.<ID>.<Event> = fn`` and called with an event dict; ``disp.RunLoop()`` blocks until
``disp.ExitLoop()``; ``ui.QueueEvent(element, event, info)`` queues an element's event (from any
thread here). Buttons that are not Enabled ignore clicks, as Qt's do.

Comps [F8: Fusion 8 Scripting Guide]: ``comp.AddTool(id, x, y)``; ``tool.SetInput(id, v)``;
``tool.<Input>`` is the Input handle, not a value; animating needs a spline
(``tool.AddModifier(id, "BezierSpline")``), whose ``SetKeyFrames({t: {1: v, LH = {x, y}, RH = {x, y}}})``
takes absolute handles and returns nothing.
"""

from __future__ import annotations

import queue
import threading
from typing import Any, Callable

KINDS = ("VGroup", "HGroup", "Label", "Button", "LineEdit", "ComboBox", "SpinBox", "TextEdit", "CheckBox",
         "VGap", "HGap", "Slider")


class Element:
    def __init__(self, kind: str, props: dict, children: list | None = None) -> None:
        object.__setattr__(self, "_kind", kind)
        object.__setattr__(self, "_props", dict(props or {}))
        object.__setattr__(self, "_children", list(children or []))
        object.__setattr__(self, "_items", [])
        if kind == "ComboBox":
            self._props.setdefault("CurrentIndex", 0)
        if kind == "Button":
            self._props.setdefault("Enabled", True)

    def __getattr__(self, name: str) -> Any:
        if name == "CurrentText" and self._kind == "ComboBox":
            i = self._props.get("CurrentIndex", 0)
            return self._items[i] if 0 <= i < len(self._items) else ""
        return self._props.get(name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "CurrentIndex" and self._kind == "ComboBox" and not 0 <= int(value) < max(1, len(self._items)):
            value = -1  # Qt: an index out of range selects nothing
        self._props[name] = value

    def AddItem(self, text: str) -> None:
        self._items.append(str(text))

    def AddItems(self, texts: list[str]) -> None:
        self._items.extend(str(t) for t in texts)

    def walk(self):
        yield self
        for child in self._children:
            yield from child.walk()


class _Handlers:
    def __init__(self) -> None:
        object.__setattr__(self, "_events", {})

    def __setattr__(self, event: str, fn: Callable) -> None:
        self._events[event] = fn

    def __getattr__(self, event: str) -> Any:
        return self._events.get(event)


class _On:
    def __init__(self) -> None:
        object.__setattr__(self, "_ids", {})

    def __getattr__(self, element_id: str) -> _Handlers:
        return self._ids.setdefault(element_id, _Handlers())

    def __getitem__(self, element_id: str) -> _Handlers:
        return self.__getattr__(element_id)


class Window:
    def __init__(self, dispatcher: "Dispatcher", props: dict, layout: Element) -> None:
        self.props, self.layout, self.disp = dict(props), layout, dispatcher
        self.On = _On()
        self.visible = False
        self._by_id: dict[str, Element] = {}
        for element in layout.walk():
            element_id = element._props.get("ID")
            if element_id:
                if element_id in self._by_id:
                    raise ValueError(f"two elements with ID {element_id!r}")
                self._by_id[element_id] = element

    def Find(self, element_id: str) -> Element | None:
        return self._by_id.get(element_id)

    def GetItems(self) -> dict[str, Element]:
        return dict(self._by_id)

    def Show(self) -> None:
        self.visible = True

    def Hide(self) -> None:
        self.visible = False


class Dispatcher:
    """``bmd.UIDispatcher(ui)``: one event loop; ``autopilot`` plays the user when the loop is idle."""

    def __init__(self, ui: "UIManager") -> None:
        self.ui = ui
        self.windows: list[Window] = []
        self._exit: int | None = None
        ui._dispatcher = self

    def AddWindow(self, props: dict, layout: Any) -> Window:
        if isinstance(layout, list):
            layout = Element("VGroup", {}, layout)
        win = Window(self, props, layout)
        self.windows.append(win)
        return win

    def RunLoop(self, timeout: float = 600.0) -> int:
        import time

        self._exit = None
        deadline = time.monotonic() + timeout
        while self._exit is None:
            if time.monotonic() > deadline:
                raise TimeoutError("RunLoop: the window was never closed (a real Resolve would hang here)")
            try:
                window, element_id, event, info = self.ui._events.get(timeout=0.02)
            except queue.Empty:
                if self.ui.autopilot is not None and self.windows:
                    self.ui.autopilot(self.windows[-1])
                continue
            self._dispatch(window, element_id, event, info)
        return self._exit

    def ExitLoop(self, code: int = 0) -> None:
        self._exit = code

    def _dispatch(self, window: Window, element_id: str, event: str, info: dict) -> None:
        element = window.Find(element_id) if element_id != window.props.get("ID") else None
        if element is not None and element._kind == "Button" and event == "Clicked" and not element.Enabled:
            return
        handler = getattr(window.On, element_id)._events.get(event)
        if handler is not None:
            handler(dict(info, who=element_id, what=event))


class UIManager:
    """``fusion.UIManager``."""

    def __init__(self) -> None:
        self._events: queue.Queue = queue.Queue()
        self._dispatcher: Dispatcher | None = None
        self.autopilot: Callable[[Window], None] | None = None
        self.queued_from: set[str] = set()

    def __getattr__(self, kind: str) -> Callable[..., Element]:
        if kind not in KINDS:
            raise AttributeError(f"UIManager has no element {kind!r}")

        def make(props: Any = None, children: Any = None) -> Element:
            if isinstance(props, list):
                props, children = {}, props
            if isinstance(children, Element):
                children = [children]
            return Element(kind, props or {}, children)

        return make

    def QueueEvent(self, element: Element, event: str, info: dict) -> None:
        assert self._dispatcher is not None, "QueueEvent before a dispatcher exists"
        window = next(w for w in self._dispatcher.windows if element in w._by_id.values())
        self.queued_from.add(threading.current_thread().name)
        self._events.put((window, element._props["ID"], event, dict(info or {})))

    # -- the user (tests) ----------------------------------------------------------------------
    def click(self, window: Window, element_id: str) -> None:
        self._events.put((window, element_id, "Clicked", {}))

    def close(self, window: Window) -> None:
        self._events.put((window, window.props["ID"], "Close", {}))


class BMD:
    """The ``bmd`` module as far as the scripts use it."""

    def __init__(self, resolve: Any = None) -> None:
        self._resolve = resolve

    def UIDispatcher(self, ui: UIManager) -> Dispatcher:
        return Dispatcher(ui)

    def scriptapp(self, name: str) -> Any:
        return self._resolve if name == "Resolve" else None


# ------------------------------------------------------------------------------------------- comps


class BezierSpline:
    def __init__(self) -> None:
        self.keys: dict[float, dict] = {}

    def SetKeyFrames(self, keyframes: dict, replace: bool = False) -> None:
        if replace:
            self.keys = {}
        for t, key in keyframes.items():
            if not isinstance(t, (int, float)) or 1 not in key:
                raise TypeError(f"SetKeyFrames: bad key {t!r}: {key!r}")
            for handle in ("LH", "RH"):
                if handle in key and set(key[handle]) != {1, 2}:
                    raise TypeError(f"SetKeyFrames: {handle} of key {t} must be {{1: frame, 2: value}}")
            self.keys[float(t)] = {k: (dict(v) if isinstance(v, dict) else float(v)) for k, v in key.items()}
        return None

    def GetKeyFrames(self) -> dict:
        return {t: dict(k) for t, k in self.keys.items()}

    def value_at(self, t: float) -> float:
        """Fusion's Bezier evaluation: the segment's x(s) = t solved by bisection, then y(s)."""
        frames = sorted(self.keys)
        if t <= frames[0]:
            return self.keys[frames[0]][1]
        if t >= frames[-1]:
            return self.keys[frames[-1]][1]
        for a, b in zip(frames, frames[1:]):
            if a <= t <= b:
                ka, kb = self.keys[a], self.keys[b]
                p0, p3 = (a, ka[1]), (b, kb[1])
                p1 = (ka["RH"][1], ka["RH"][2]) if "RH" in ka else (a + (b - a) / 3, ka[1])
                p2 = (kb["LH"][1], kb["LH"][2]) if "LH" in kb else (b - (b - a) / 3, kb[1])

                def bez(s: float, i: int) -> float:
                    u = 1 - s
                    return u ** 3 * p0[i] + 3 * u * u * s * p1[i] + 3 * u * s * s * p2[i] + s ** 3 * p3[i]

                lo, hi = 0.0, 1.0
                for _ in range(80):
                    mid = (lo + hi) / 2
                    if bez(mid, 0) < t:
                        lo = mid
                    else:
                        hi = mid
                return bez((lo + hi) / 2, 1)
        raise AssertionError("unreachable")


class _Output:
    def __init__(self, tool: Any) -> None:
        self._tool = tool

    def GetTool(self) -> Any:
        return self._tool


class _Input:
    def __init__(self, tool: "Tool", input_id: str) -> None:
        self._tool, self._id = tool, input_id

    def GetConnectedOutput(self) -> _Output | None:
        spline = self._tool.splines.get(self._id)
        return _Output(spline) if spline is not None else None


class Tool:
    def __init__(self, comp: "Comp", reg_id: str, inputs: dict[str, Any]) -> None:
        self.comp, self.reg_id = comp, reg_id
        self.values = dict(inputs)
        self.splines: dict[str, BezierSpline] = {}
        self.attrs: dict[str, Any] = {"TOOLS_RegID": reg_id, "TOOLS_Name": reg_id.split(".")[-1] + "1"}
        self.ignored: list[str] = []

    def __getattr__(self, name: str) -> Any:
        if name in self.__dict__.get("values", {}):
            return _Input(self, name)  # the Input handle, not its value [F8 p.35]
        raise AttributeError(name)

    def SetInput(self, input_id: str, value: Any, time: float | None = None) -> None:
        if input_id not in self.values:
            self.ignored.append(input_id)  # Fusion ignores an unknown input
            return
        if input_id in self.splines:
            if time is None:
                raise AssertionError(f"SetInput({input_id}) without a time on an animated input")
            self.splines[input_id].SetKeyFrames({time: {1: value}})
            return
        self.values[input_id] = value

    def GetInput(self, input_id: str, time: float | None = None) -> Any:
        if input_id in self.splines:
            return self.splines[input_id].value_at(0.0 if time is None else time)
        return self.values.get(input_id)

    def AddModifier(self, input_id: str, kind: str) -> bool:
        if input_id not in self.values or kind != "BezierSpline":
            return False
        self.splines[input_id] = BezierSpline()
        return True

    def SetAttrs(self, attrs: dict) -> None:
        self.attrs.update(attrs)

    def GetAttrs(self) -> dict:
        return dict(self.attrs)


class Comp:
    """A composition whose tool registry holds the Fuses installed (reg id → {input id: default})."""

    def __init__(self, registry: dict[str, dict[str, Any]], attrs: dict | None = None) -> None:
        self.registry = registry
        self.attrs = {"COMPN_GlobalStart": 0.0, "COMPN_GlobalEnd": 100.0, "COMPN_RenderStart": 0.0,
                      "COMPN_RenderEnd": 100.0, **(attrs or {})}
        self.tools: list[Tool] = []
        self.undo: list[tuple[str, Any]] = []

    def AddTool(self, reg_id: str, x: float = -32768, y: float = -32768) -> Tool | None:
        if reg_id not in self.registry:
            return None
        tool = Tool(self, reg_id, self.registry[reg_id])
        self.tools.append(tool)
        return tool

    def StartUndo(self, name: str) -> None:
        self.undo.append(("start", name))

    def EndUndo(self, keep: bool) -> None:
        self.undo.append(("end", keep))

    def GetAttrs(self) -> dict:
        return dict(self.attrs)


class FusionApp:
    """``resolve.Fusion()`` / ``fusion``: the UIManager, the current comp and path maps."""

    def __init__(self, comp: Comp | None = None, paths: dict[str, str] | None = None) -> None:
        self.UIManager = UIManager()
        self._comp = comp
        self._paths = paths or {}

    def GetCurrentComp(self) -> Comp | None:
        return self._comp

    def MapPath(self, path: str) -> str:
        for prefix, folder in self._paths.items():
            if path.startswith(prefix):
                return folder.rstrip("/") + "/" + path[len(prefix):]
        return path
