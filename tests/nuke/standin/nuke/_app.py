"""The session: GUI or terminal mode, the main thread, callbacks, execute, scripts and menus.

Strict behaviours and where they come from:

* ``executeInMainThread`` / ``executeInMainThreadWithResult`` from the main thread: "Do not run
  the above functions from within the main thread or NUKE will hang" (learn.foundry.com/nuke/
  developers/16.0/pythondevguide/threading.html). The stand-in raises instead of hanging. From
  another thread in the GUI the call is queued for the main thread's event loop, which the test
  pumps (:func:`_pump`); in terminal mode there is no event loop to run it, so it raises too.
* Writing knobs, creating nodes, ``message`` and ``execute`` from a non-main thread in the GUI
  raise (threading.html: other threads talk to the session through executeInMainThread).
* ``ProgressTask``: its loop "mustn't run in NUKE's main thread ... that hangs NUKE"
  (pythondevguide/basics.html, Creating Progress Bar Dialogs): creating one on the main thread
  in the GUI raises. The dialog closes when the object is deleted.
* ``execute`` inside another execute (a render callback calling ``nuke.execute``) fails with
  Nuke's "I'm already executing something else" (reported by plugin authors in public code; the
  Python reference does not document it, so the stand-in takes the strict side).
* ``beforeRender`` / ``beforeFrameRender`` / ``afterFrameRender`` / ``afterRender``: knob code
  first, then ``nuke.add…`` callbacks; "If they throw an exception, the render aborts"
  (pythondevguide/callbacks.html); ``addBeforeFrameRender`` defaults to ``nodeClass='Write'``
  (pythondevguide/_autosummary/nuke.addBeforeFrameRender.html, 16.0).
* ``onCreate`` runs for created, pasted and loaded nodes; "When a group ... is created with a
  number of inner nodes, onCreate is called first on the inner nodes, then on the group itself"
  (callbacks.html). ``knobChanged`` runs only while the node's panel is open (callbacks.html).
* ``pluginAddPath`` prepends, moves an existing entry to the front, runs the folder's init.py
  when called from an init.py and extends ``sys.path`` (pythondevguide/_autosummary/
  nuke.pluginAddPath.html, 16.0).
* ``nuke.message`` pops a modal dialog in the GUI; in terminal mode it prints.

Saving, loading, copying and pasting scripts is in :mod:`._script`.
"""

from __future__ import annotations

import os
import queue
import re
import sys
import threading

state = None  # set by _Session() below


class _Session:
    def __init__(self) -> None:
        from ._nodes import Root

        self.gui = False
        self.main_thread = threading.main_thread()
        self.events = queue.Queue()
        self.callbacks = {}
        self.messages = []
        self.progress = []
        self.executing = False
        self.this = []
        self.plugin_paths = []
        self.in_init = 0
        self.menus = {}
        self.filenames = []
        self.clipboard = None
        self.root = Root()
        self.root._name = "root"
        self.root["name"]._value = ""
        self.root["first_frame"]._value = 1
        self.root["last_frame"]._value = 100
        self.root["frame"]._value = 1
        self.context = [self.root]


def _module():
    return sys.modules[__package__]


def _on_main_thread() -> bool:
    return threading.current_thread() is state.main_thread


def check_write(what: str) -> None:
    if state.gui and not _on_main_thread():
        raise RuntimeError("%s from a background thread: use nuke.executeInMainThread "
                           "(pythondevguide/threading.html)" % what)


def frame(f=None) -> int:
    if f is not None:
        state.root["frame"]._value = int(f)
    return int(state.root["frame"]._value)


def root():
    return state.root


def root_format():
    w, h = state.root["format"].getText().split()[:2]
    return int(w), int(h)


def _this_push(node):
    state.this.append(node)


def _this_pop():
    state.this.pop()


def thisNode():
    return state.this[-1] if state.this else state.context[-1]


def thisGroup():
    return state.context[-1]


def thisParent():
    node = thisNode()
    return node.parent() if node.parent() is not None else state.root


_this_knob = []


def thisKnob():
    return _this_knob[-1] if _this_knob else None


def _module_globals(node):
    return {"nuke": _module(), "__builtins__": __builtins__}


def python_in_knob(code: str, node, exec_mode: bool) -> str:
    _this_push(node)
    try:
        scope = _module_globals(node)
        if exec_mode:
            exec(code, scope)
            return str(scope.get("ret", ""))
        return str(eval(code, scope))
    finally:
        _this_pop()


def run_knob_script(code: str, node) -> None:
    if not code:
        return
    _this_push(node)
    try:
        exec(code, _module_globals(node))
    finally:
        _this_pop()


def _resolve_node(name: str, ctx):
    group = ctx.parent() if ctx is not None and ctx.parent() is not None else state.root
    if name == "root":
        return state.root
    if name == "parent":
        return group
    if name == "this":
        return ctx
    return group.node(name)


def knob_by_path(path: str, ctx, inside: bool = False):
    """``root.name``, ``parent.knob``, ``this.knob``, ``Node.knob`` or ``knob`` (TCL ``value``)."""
    if "." not in path:
        node, knob = ctx, path
    elif inside:
        head, _, knob = path.rpartition(".")
        node = ctx.node(head)
    else:
        head, _, knob = path.partition(".")
        node = _resolve_node(head, ctx)
        if node is not None and "." in knob and hasattr(node, "node"):
            inner, _, knob = knob.rpartition(".")
            node = node.node(inner)
    if node is None or node.knob(knob) is None:
        raise RuntimeError("%s: no such knob" % path)
    return node.knob(knob)


def path_exists(path: str, ctx) -> bool:
    head, _, rest = path.partition(".")
    node = _resolve_node(head, ctx)
    if node is None:
        return False
    if not rest:
        return True
    m = re.match(r"^input(\d+)$", rest)
    if m:
        return node.input(int(m.group(1))) is not None
    return node.knob(rest) is not None


def expression_value(expr: str, node, t: float) -> float:
    """Nuke's expression language, the part gizmos use: TCL substitution, ``!``, ``?:``, arithmetic."""
    saved = state.root["frame"]._value
    state.root["frame"]._value = int(t)
    try:
        from ._tcl import substitute

        text = substitute(expr, node).strip()
    finally:
        state.root["frame"]._value = saved
    return _arith(text, t)


def _arith(text: str, t: float) -> float:
    m = re.match(r"^(.*?)\?(.*):(.*)$", text)
    if m:
        return _arith(m.group(2), t) if _arith(m.group(1), t) else _arith(m.group(3), t)
    py = re.sub(r"!(?!=)", " not ", text)
    if not re.match(r"^[\d\s.+\-*/()<>=!a-z]*$", py):
        raise RuntimeError("expression %r is not modelled by the stand-in" % text)
    return float(eval(py, {"__builtins__": {}}, {"frame": t, "not": None}))


def check_colour(node) -> None:
    """The stand-in does no colour conversion: refuse a Read/Write that Nuke would convert."""
    if node["raw"].value():
        return
    cs = node["colorspace"].getText()
    working = state.root["workingSpaceLUT"].getText()
    if cs in ("default", working, "default (%s)" % working) or cs == "scene_linear" and working == "scene_linear":
        return
    raise RuntimeError("%s: colorspace %r would be converted to %r; the stand-in converts no colour"
                       % (node.fullName(), cs, working))


# ------------------------------------------------------------------------------------ callbacks
_DEFAULT_CLASS = {"beforeRender": "Write", "beforeFrameRender": "Write", "afterFrameRender": "Write",
                  "afterRender": "Write"}


def _add(kind: str, call, args=(), kwargs=None, nodeClass=None) -> None:
    cls = nodeClass if nodeClass is not None else _DEFAULT_CLASS.get(kind, "*")
    state.callbacks.setdefault(kind, []).append((call, tuple(args), dict(kwargs or {}), cls))


def _remove(kind: str, call, args=(), kwargs=None, nodeClass=None) -> None:
    state.callbacks[kind] = [c for c in state.callbacks.get(kind, []) if c[0] is not call]


def _fire(kind: str, node) -> None:
    """Knob code first, then class-matched callbacks in order, then '*' ones (callbacks.html)."""
    knob = node.knob(kind)
    if knob is not None and knob.getText():
        run_knob_script(knob.getText(), node)
    entries = state.callbacks.get(kind, [])
    ordered = [e for e in entries if e[3] == node.Class()] + [e for e in entries if e[3] == "*"]
    for call, args, kwargs, _ in ordered:
        _this_push(node)
        try:
            call(*args, **kwargs)
        finally:
            _this_pop()


def knob_changed(knob) -> None:
    node = knob.node()
    if node is None or not getattr(node, "_panel_open", False) or _this_knob:
        return
    _this_knob.append(knob)
    try:
        _fire("knobChanged", node)
    finally:
        _this_knob.pop()


# ---------------------------------------------------------------------------------- main thread
def executeInMainThread(call, args=(), kwargs=None) -> None:
    if _on_main_thread():
        raise RuntimeError("executeInMainThread called from the main thread: Nuke hangs here "
                           "(pythondevguide/threading.html)")
    if not state.gui:
        raise RuntimeError("executeInMainThread in terminal mode: no event loop runs it")
    if not isinstance(args, tuple):
        args = (args,)
    state.events.put((call, args, kwargs or {}, None))


def executeInMainThreadWithResult(call, args=(), kwargs=None):
    if _on_main_thread():
        raise RuntimeError("executeInMainThreadWithResult called from the main thread: Nuke hangs "
                           "here (pythondevguide/threading.html)")
    if not state.gui:
        raise RuntimeError("executeInMainThreadWithResult in terminal mode: no event loop runs it")
    if not isinstance(args, tuple):
        args = (args,)
    done = {"event": threading.Event()}
    state.events.put((call, args, kwargs or {}, done))
    done["event"].wait()
    if "error" in done:
        raise done["error"]
    return done.get("result")


def _pump(until=None, timeout: float = 120.0) -> None:
    """Run what other threads queued for the main thread (Nuke's UI loop) until ``until()``."""
    import time

    if not _on_main_thread():
        raise RuntimeError("the event loop runs on the main thread")
    deadline = time.monotonic() + timeout
    while True:
        if until is not None and until():
            return
        try:
            call, args, kwargs, done = state.events.get(timeout=0.05)
        except queue.Empty:
            if until is None:
                return
            if time.monotonic() > deadline:
                raise TimeoutError("nothing finished within %g s" % timeout)
            continue
        try:
            result = call(*args, **kwargs)
            if done is not None:
                done["result"] = result
        except BaseException as exc:  # handed back to the waiting thread, as Nuke does
            if done is None:
                raise
            done["error"] = exc
        finally:
            if done is not None:
                done["event"].set()


def message(prompt: str) -> None:
    check_write("nuke.message")
    open_tasks = [t for t in state.progress if not t.closed]
    state.messages.append(prompt)
    state.messages_with_open_progress = getattr(state, "messages_with_open_progress", 0) + bool(open_tasks)
    if not state.gui:
        print(prompt)


def getFilename(message, pattern=None, default=None, favorites=None, type=None, multiple=False):
    """Nuke's file browser: the chosen path, or None when the artist cancels (Python API reference,
    nuke.getFilename: "Returns: None if cancelled"). A modal dialog, so main thread and GUI only;
    the stand-in answers with what ``_standin_answer_filename`` queued (nothing queued: Cancel)."""
    check_write("nuke.getFilename")
    if not state.gui:
        raise RuntimeError("nuke.getFilename: no file browser in terminal mode")
    return state.filenames.pop(0) if state.filenames else None


class _TaskRecord:
    def __init__(self, title: str, on_main: bool) -> None:
        self.title, self.progress, self.messages, self.closed = title, 0, [], False
        self.on_main_thread = on_main


class ProgressTask:
    """Records progress; set ``cancel_at_percent`` (class attribute) to press Cancel at that point."""

    cancel_at_percent = None

    def __init__(self, title: str) -> None:
        on_main = _on_main_thread()
        if state.gui and on_main:
            raise RuntimeError("ProgressTask on the main thread in the GUI: its loop hangs Nuke "
                               "(pythondevguide/basics.html)")
        self._record = _TaskRecord(title, on_main)
        state.progress.append(self._record)

    def setProgress(self, percent: int) -> None:
        self._record.progress = int(percent)

    def setMessage(self, text: str) -> None:
        self._record.messages.append(text)

    def isCancelled(self) -> bool:
        limit = ProgressTask.cancel_at_percent
        return limit is not None and self._record.progress >= limit

    def __del__(self) -> None:
        record = getattr(self, "_record", None)
        if record is not None:
            record.closed = True


# -------------------------------------------------------------------------------------- execute
def executing() -> bool:
    return state.executing


def execute(nameOrNode, start=None, end=None, incr: int = 1, views=None, continueOnError: bool = False) -> None:
    check_write("nuke.execute")
    node = toNode(nameOrNode) if isinstance(nameOrNode, str) else nameOrNode
    if node is None or not hasattr(node, "render"):
        raise RuntimeError("%s: not an executable node" % nameOrNode)
    if state.executing:
        raise RuntimeError("I'm already executing something else")
    if node["disable"].value():
        raise RuntimeError("%s: node is disabled" % node.fullName())
    first = int(start if start is not None else state.root["first_frame"].value())
    last = int(end if end is not None else state.root["last_frame"].value())
    saved = frame()
    state.executing = True
    try:
        _guarded(_fire, "beforeRender", node)
        for f in range(first, last + 1, int(incr)):
            frame(f)
            _guarded(_fire, "beforeFrameRender", node)
            node.render(f)
            _guarded(_fire, "afterFrameRender", node)
        _guarded(_fire, "afterRender", node)
    finally:
        state.executing = False
        frame(saved)


def _guarded(fn, *args) -> None:
    try:
        fn(*args)
    except Exception as exc:  # a render callback that raises aborts the render
        raise RuntimeError(str(exc)) from exc


def render_all_writes(first: int, last: int) -> list:
    """``nuke -x``: every active Write (groups included: not documented either way, so the
    stand-in takes the case that would run a group's inner Write), in ``render_order``."""
    writes = [n for n in allNodes("Write", state.root, recurseGroups=True) if not n["disable"].value()]
    writes.sort(key=lambda w: int(w["render_order"].value()))
    for w in writes:
        lo, hi = first, last
        if w["use_limit"].value():
            lo, hi = int(w["first"].value()), int(w["last"].value())
        execute(w, lo, hi)
    return writes


# ----------------------------------------------------------------------------------------- nodes
def _make(cls_name: str, knobs=None, user=False):
    from ._nodes import NODE_CLASSES

    check_write("creating a %s" % cls_name)
    if cls_name not in NODE_CLASSES:
        raise RuntimeError("%s: unknown command" % cls_name)
    node = NODE_CLASSES[cls_name]()
    group = state.context[-1]
    node._parent = group
    if cls_name == "Input":
        node["number"]._value = sum(n.CLASS == "Input" for n in group._children)
    group._children.append(node)
    knobs = dict(knobs or {})
    node.setName(knobs.pop("name", cls_name + "1"))
    for i, inp in enumerate(knobs.pop("inputs", [])):
        node.setInput(i, inp)
    for key, value in knobs.items():
        node[key].setValue(value)
    return node


def _created(node) -> None:
    _fire("onCreate", node)


def createNode(node: str, knobs: str = "", inpanel: bool = True):
    selected = [n for n in state.context[-1]._children if n.isSelected()]
    new = _make(node)
    if selected:
        new.setInput(0, selected[-1])
    for n in state.context[-1]._children:
        n.setSelected(n is new)
    _created(new)
    return new


class _Nodes:
    def __getattr__(self, cls_name: str):
        def make(**kw):
            node = _make(cls_name, kw)
            _created(node)
            return node
        return make


nodes = _Nodes()


def toNode(name: str):
    if name == "root":
        return state.root
    return state.context[-1].node(name)


def allNodes(filter=None, group=None, recurseGroups: bool = False):
    g = group or state.context[-1]
    out = []
    for n in g._children:
        if filter is None or n.Class() == filter:
            out.append(n)
        if recurseGroups and hasattr(n, "_children"):
            out.extend(allNodes(filter, n, True))
    return out


def selectedNodes(filter=None):
    return [n for n in allNodes(filter) if n.isSelected()]


def delete(node) -> None:
    check_write("nuke.delete")
    parent = node.parent()
    parent._children.remove(node)
    for other in allNodes(None, parent):
        other._inputs = [None if i is node else i for i in other._inputs]


# ------------------------------------------------------------------------------- plugins, menus
def pluginAddPath(args, addToSysPath: bool = True) -> None:
    for path in ([args] if isinstance(args, str) else list(args)):
        if path in state.plugin_paths:
            state.plugin_paths.remove(path)
        state.plugin_paths.insert(0, path)
        if addToSysPath and path not in sys.path:
            sys.path.insert(0, path)
        if state.in_init:
            run_plugin_file(os.path.join(path, "init.py"))


def pluginPath():
    return list(state.plugin_paths)


def run_plugin_file(path: str) -> None:
    if not os.path.isfile(path):
        return
    is_init = os.path.basename(path) == "init.py"
    state.in_init += is_init
    try:
        with open(path, encoding="utf-8") as fh:
            code = compile(fh.read(), path, "exec")
        exec(code, {"__name__": "__main__", "__file__": path, "__builtins__": __builtins__})
    finally:
        state.in_init -= is_init


class Menu:
    def __init__(self, name: str) -> None:
        self._name, self.items = name, {}

    def name(self) -> str:
        return self._name

    def addMenu(self, name: str, icon=None, **kw):
        return self.items.setdefault(name, Menu(name))

    def addCommand(self, name: str, command=None, shortcut: str = "", icon=None, **kw):
        self.items[name] = (command, icon)

    def findItem(self, name: str):
        return self.items.get(name)


def menu(name: str):
    if not state.gui:
        raise RuntimeError("nuke.menu: no menus in terminal mode (menu.py is GUI only)")
    return state.menus.setdefault(name, Menu(name))


state = _Session()
