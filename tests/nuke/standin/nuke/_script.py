"""Scripts: save, open, copy and paste.

Saved as JSON (a real .nk is TCL); what matters is what survives, as in Nuke: knob values,
animation, inputs and user knobs, not Python objects. Loading and pasting run onCreate for every
node, inner nodes before their group (pythondevguide/callbacks.html), then onScriptLoad.
"""

from __future__ import annotations

import json

from . import _app

def _node_data(node) -> dict:
    from ._knobs import Enumeration_Knob

    user = []
    for k in node._user:
        entry = {"class": k.Class(), "name": k.name(), "label": k.label(), "flags": k._flags,
                 "tooltip": k._tooltip, "state": k._state()}
        if isinstance(k, Enumeration_Knob):
            entry["values"] = k.values()
        user.append(entry)
    user_names = {k.name() for k in node._user}
    data = {"class": node.Class(), "name": node.name(),
            "knobs": {n: k._state() for n, k in node._knobs.items() if n not in user_names},
            "user": user, "inputs": [i.name() if i is not None else None for i in node._inputs]}
    if hasattr(node, "_children") and node.Class() != "Root":
        data["children"] = [_node_data(c) for c in node._children]
    return data


def _rebuild(items, group, rename: bool):
    """Create nodes from saved data in ``group``; inner nodes get onCreate before their group."""
    from ._knobs import KNOB_CLASSES, Enumeration_Knob
    from ._nodes import NODE_CLASSES

    made, names = [], {}
    for data in items:
        node = NODE_CLASSES[data["class"]]()
        node._parent = group
        group._children.append(node)
        for name, st in data["knobs"].items():
            if node.knob(name) is not None:
                node.knob(name)._restore(st)
        for entry in data["user"]:
            cls = KNOB_CLASSES[entry["class"]]
            knob = cls(entry["name"], entry["label"], entry["values"]) if issubclass(cls, Enumeration_Knob) \
                and cls.__name__ == "Enumeration_Knob" else cls(entry["name"], entry["label"])
            knob._flags, knob._tooltip = entry["flags"], entry["tooltip"]
            knob._restore(entry["state"])
            knob._node = node
            node._knobs[knob.name()] = knob
            node._user.append(knob)
        node._name = data["name"]
        if rename:
            node.setName(data["name"])
        names[data["name"]] = node
        made.append((node, data))
    for node, data in made:
        node._inputs = [names.get(n) if n is not None else None for n in data["inputs"]]
        if "children" in data:
            _rebuild(data["children"], node, rename=False)
    for node, _ in made:
        _app._created(node)
    return [n for n, _ in made]


def scriptSaveAs(filename: str, overwrite: int = -1) -> None:
    _app.state.root["name"]._value = filename
    scriptSave(filename)


def scriptSave(filename: str = None) -> bool:
    path = filename or _app.state.root["name"].getText()
    if not path:
        raise RuntimeError("scriptSave: the script has no name")
    data = {"root": {n: k._state() for n, k in _app.state.root._knobs.items()},
            "nodes": [_node_data(n) for n in _app.state.root._children]}
    data["root"]["name"] = path
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=1)
    _app.state.root["name"]._value = path
    return True


def scriptClear() -> None:
    _app.state.root._children.clear()
    del _app.state.context[1:]
    _app.state.root["name"]._value = ""


def scriptOpen(filename: str) -> None:
    with open(filename, encoding="utf-8") as fh:
        data = json.load(fh)
    scriptClear()
    for name, st in data["root"].items():
        if _app.state.root.knob(name) is not None:
            _app.state.root.knob(name)._restore(st)
    _app.state.root["name"]._value = filename
    _rebuild(data["nodes"], _app.state.root, rename=False)
    _app._fire("onCreate", _app.state.root)
    _app._fire("onScriptLoad", _app.state.root)


def scriptName() -> str:
    name = _app.state.root["name"].getText()
    if not name:
        raise RuntimeError("no script name")
    return name


def nodeCopy(s: str = "%clipboard%") -> bool:
    _app.state.clipboard = [_node_data(n) for n in _app.state.context[-1]._children if n.isSelected()]
    return True


def nodePaste(s: str = "%clipboard%"):
    _app.check_write("nuke.nodePaste")
    pasted = _rebuild(_app.state.clipboard or [], _app.state.context[-1], rename=True)
    for n in _app.state.context[-1]._children:
        n.setSelected(n in pasted)
    return pasted[-1] if pasted else None
