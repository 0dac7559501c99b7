"""A stand-in for Nuke's ``nuke`` module, as strict as Nuke where the FilmStyle node depends on it.

Runs in a bare Python 3.9+ (standard library only), so host code can be imported and run the way
Nuke runs it: ``launch.py`` beside this package plays the ``nuke`` executable (``-t``, ``-x``, GUI),
reading ``NUKE_PATH`` and ``~/.nuke`` like Nuke. Each strict behaviour cites its Foundry reference
in the module that implements it: :mod:`._app` (threads, callbacks, execute), :mod:`._script` (save, load, paste),
:mod:`._knobs` (TCL-evaluated values, animation), :mod:`._nodes` (Read, Keymix, groups),
:mod:`._tcl` (TCL substitution) and :mod:`._exr` (pixels on disk).

Stand-in controls, not part of Nuke's API, start with ``_standin``.
"""

from __future__ import annotations

from . import _app
from ._app import (Menu, ProgressTask, allNodes, createNode, delete, execute, executeInMainThread,
                   executeInMainThreadWithResult, executing, frame, getFilename, menu, message, nodes,
                   pluginAddPath, pluginPath, root, selectedNodes, thisGroup, thisKnob, thisNode, thisParent,
                   toNode)
from ._script import nodeCopy, nodePaste, scriptClear, scriptName, scriptOpen, scriptSave, scriptSaveAs
from ._knobs import (CONSTANT, DISABLED, INVISIBLE, LINEAR, NO_ANIMATION, SMOOTH, STARTLINE,
                     AnimationCurve, AnimationKey, Array_Knob, Boolean_Knob, Channel_Knob, Double_Knob,
                     Enumeration_Knob, EvalString_Knob, File_Knob, Int_Knob, Knob, Link_Knob,
                     Multiline_Eval_String_Knob, PyScript_Knob, String_Knob, Tab_Knob, Text_Knob)
from ._nodes import Group, Node, Root

GUI = False
NUKE_VERSION_MAJOR, NUKE_VERSION_MINOR = 15, 1
env = {"gui": False, "NukeVersionMajor": 15}


def addOnCreate(call, args=(), kwargs=None, nodeClass="*"):
    _app._add("onCreate", call, args, kwargs, nodeClass)


def addOnScriptLoad(call, args=(), kwargs=None, nodeClass="Root"):
    _app._add("onScriptLoad", call, args, kwargs, nodeClass)


def addKnobChanged(call, args=(), kwargs=None, nodeClass="*", node=None):
    _app._add("knobChanged", call, args, kwargs, nodeClass)


def addBeforeRender(call, args=(), kwargs=None, nodeClass="Write"):
    _app._add("beforeRender", call, args, kwargs, nodeClass)


def addBeforeFrameRender(call, args=(), kwargs=None, nodeClass="Write"):
    _app._add("beforeFrameRender", call, args, kwargs, nodeClass)


def addAfterFrameRender(call, args=(), kwargs=None, nodeClass="Write"):
    _app._add("afterFrameRender", call, args, kwargs, nodeClass)


def addAfterRender(call, args=(), kwargs=None, nodeClass="Write"):
    _app._add("afterRender", call, args, kwargs, nodeClass)


def removeOnCreate(call, args=(), kwargs=None, nodeClass="*"):
    _app._remove("onCreate", call)


def removeBeforeFrameRender(call, args=(), kwargs=None, nodeClass="Write"):
    _app._remove("beforeFrameRender", call)


def removeKnobChanged(call, args=(), kwargs=None, nodeClass="*", node=None):
    _app._remove("knobChanged", call)


def value(path: str, default=None):
    try:
        return str(_app.knob_by_path(path, thisNode()).value())
    except RuntimeError:
        if default is None:
            raise
        return default


# ---- stand-in controls ------------------------------------------------------------------------
def _standin_set_gui(gui: bool) -> None:
    global GUI
    GUI = bool(gui)
    env["gui"] = GUI
    _app.state.gui = GUI


def _standin_reset(gui: bool = False) -> None:
    """A fresh session: empty script, no callbacks, no messages, no plugin paths."""
    _app.state = _app._Session()
    _standin_set_gui(gui)


def _standin_pump(until=None, timeout: float = 120.0) -> None:
    _app._pump(until, timeout)


def _standin_answer_filename(path) -> None:
    """Queue the artist's answer to the next ``nuke.getFilename`` (None: Cancel)."""
    _app.state.filenames.append(path)


def _standin_messages():
    return _app.state.messages


def _standin_progress():
    return _app.state.progress


def _standin_open_panel(node, open_: bool = True) -> None:
    node._panel_open = open_


def _standin_render_all(first: int, last: int):
    return _app.render_all_writes(first, last)


def _standin_run_plugin_file(path: str) -> None:
    _app.run_plugin_file(path)
