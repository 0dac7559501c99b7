"""The node's knobs from the parameter schema, and reading them the way Nuke stores them.

* Knob classes come from each parameter's ``hosts["nuke"]`` entry when the schema has one (a
  parameter without a Nuke entry gets no knob), else from its type.
* Non-animatable parameters get ``NO_ANIMATION``: their value is one value for the whole shot.
* String and file knobs are TCL-evaluated by ``value()`` (backslashes dropped, ``[...]`` run), so
  a path typed with Windows backslashes is read with ``getText()`` unless it holds TCL, and every
  path the node writes into a knob uses forward slashes (Nuke accepts them on every OS).
"""

import os

import nuke

from filmstyle_plugin.schema import load_schema

__all__ = ["MASK_PARAM", "knob_params", "add_param_knobs", "sample_values", "knob_path",
           "path_for_knob", "KnobError"]

MASK_PARAM = "mask_channel"
_BY_TYPE = {"float": "Double_Knob", "int": "Int_Knob", "bool": "Boolean_Knob", "enum": "Enumeration_Knob",
            "file": "File_Knob", "string": "String_Knob"}


class KnobError(ValueError):
    """A knob holds something the node cannot use; the message names the node and the knob."""


def _nuke_class(param):
    hosts = getattr(param, "hosts", None)
    cls = hosts.get("nuke") if isinstance(hosts, dict) else _BY_TYPE[param.type]
    if cls and (param.name == MASK_PARAM or "mask" in (getattr(param, "role", None), getattr(param, "host", None))):
        return "Link_Knob"  # the mask channel is the inner Keymix's own knob, shown on the node
    return cls  # None: not exposed in Nuke


def knob_params():
    """``(param, knob class name)`` for every schema parameter the node exposes."""
    out = []
    for param in load_schema():
        cls = _nuke_class(param)
        if cls:
            out.append((param, cls))
    return out


def add_param_knobs(node, mask_link):
    """Add one knob per exposed parameter; the mask channel links to ``mask_link`` (inner knob)."""
    for param, cls_name in knob_params():
        if cls_name == "Link_Knob":
            knob = nuke.Link_Knob(param.name, param.label)
            knob.setLink(mask_link)
        elif cls_name in ("Enumeration_Knob", "Channel_Knob"):
            knob = getattr(nuke, cls_name)(param.name, param.label, list(param.choices))
        else:
            knob = getattr(nuke, cls_name)(param.name, param.label)
        if param.range and hasattr(knob, "setRange"):
            knob.setRange(*param.range)
        if not param.animatable:
            knob.setFlag(nuke.NO_ANIMATION)
        knob.setTooltip(param.help)
        node.addKnob(knob)
        if param.default is not None and cls_name != "Link_Knob":
            knob.setValue(param.default)


def knob_path(knob):
    """A path a user typed: raw text unless it holds TCL (``[...]``/``$``), then Nuke's evaluation."""
    text = knob.getText() if hasattr(knob, "getText") else knob.value()
    if "[" in text or "$" in text:
        return knob.value()
    return text


def path_for_knob(path, windows=None):
    """``path`` as knob text TCL leaves alone: forward slashes on Windows (backslashes are escapes)."""
    windows = os.name == "nt" if windows is None else windows
    return path.replace("\\", "/") if windows else path


def sample_values(node, frames):
    """Every job parameter's value: animated ones as ``{frame: getValueAt(frame)}``.

    A non-animatable knob that is animated anyway (an expression, or a script from elsewhere)
    is refused: the worker takes one value for it, and sampling it at one frame would be silent.
    """
    values = {}
    for param, cls_name in knob_params():
        if param.job is None:
            continue
        knob = node[param.name]
        animated = bool(getattr(knob, "isAnimated", lambda: False)())
        if animated and not param.animatable:
            raise KnobError(f"{node.fullName()}.{param.name}: cannot be animated (one value per shot); "
                            "remove its keys or expression")
        if animated:
            values[param.name] = {f: float(knob.getValueAt(f)) for f in frames}
        elif param.type == "file":
            values[param.name] = knob_path(knob)
        else:
            values[param.name] = knob.value()
    return values
