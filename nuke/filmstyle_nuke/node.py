"""The FilmStyle node: a Group whose knobs come from ``filmstyle_plugin/schema.json``.

Inside: ``Source`` and ``Mask`` inputs; ``fs_read``, a Read of the node's rendered frames in its
cache folder (its path is an expression of the node's knobs, so it follows a copied node or a
moved cache folder without Python); ``fs_keymix``, B = Source, A = the result, through the Mask
(its mask channel is the node's ``mask channel`` knob, linked); and ``fs_switch``, which shows the
Keymix exactly while the Mask input is connected (``[exists parent.input1]``, evaluated by Nuke
on every frame, panel open or not).

A frame that is not rendered is never shown as black: ``fs_read`` errors on a missing file, and
renders fill or refuse such frames first (:mod:`filmstyle_nuke.farm`). The Render button is
:func:`filmstyle_nuke.bake.render`.
"""

import os
import uuid

import nuke

from filmstyle_nuke.cache import CacheError
from filmstyle_nuke.knobs import MASK_PARAM, add_param_knobs, knob_path, path_for_knob

__all__ = ["create_node", "is_filmstyle", "ensure_unique_id", "cache_dir", "all_filmstyle_nodes",
           "RENDER_COMMAND", "DEFAULT_CACHE_ROOT"]

RENDER_COMMAND = "import filmstyle_nuke.bake; filmstyle_nuke.bake.render(nuke.thisNode())"
DEFAULT_CACHE_ROOT = "[file dirname [value root.name]]/filmstyle_cache"
_READ_FILE = "[value parent.fs_cache_root]/[value parent.fs_id]/out.####.exr"
_FRAME_LIMITS = (-1000000, 10000000)  # the Read covers any frame; a missing file is an error


def is_filmstyle(node):
    return node is not None and node.Class() == "Group" and node.knob("fs_id") is not None


def all_filmstyle_nodes():
    return [n for n in nuke.allNodes(group=nuke.root(), recurseGroups=True) if is_filmstyle(n)]


def ensure_unique_id(node):
    """Give ``node`` an id no other FilmStyle node in the script has (onCreate: paste, load)."""
    if not is_filmstyle(node):
        return
    ident = node["fs_id"].value()
    if ident and not any(o is not node and o["fs_id"].value() == ident for o in all_filmstyle_nodes()):
        return
    node["fs_id"].setValue(uuid.uuid4().hex[:12])
    node["fs_status"].setValue("not rendered")


def cache_dir(node, *, fix_slashes=False):
    """The node's own frame folder, ``<cache folder>/<node id>``, as an absolute path.

    Raises :class:`CacheError` for an unsaved script (the default folder is beside it) or a
    relative folder. With ``fix_slashes`` (the Render button, on the main thread) a folder typed
    with Windows backslashes is rewritten with forward slashes, so the internal Read, which
    evaluates it as TCL, names the same folder.
    """
    knob = node["fs_cache_root"]
    text = knob.getText()
    if "\\" in text and "[" not in text:
        if not fix_slashes:
            raise CacheError(f"cache folder {text!r} uses backslashes, which Nuke reads "
                             "as escapes: use forward slashes")
        knob.setValue(path_for_knob(text, windows=True))
    folder = knob_path(knob)
    if not os.path.isabs(folder):
        if text == DEFAULT_CACHE_ROOT:
            raise CacheError("save the script first: rendered frames are kept in a "
                             "folder beside it (or set 'cache folder' to an absolute path)")
        raise CacheError(f"cache folder {folder!r} is not an absolute path")
    return os.path.join(folder, node["fs_id"].value())


def _add_knobs(node):
    node.addKnob(nuke.Tab_Knob("filmstyle", "FilmStyle"))
    add_param_knobs(node, "fs_keymix.maskChannel")
    first, last = nuke.Int_Knob("first", "frame range"), nuke.Int_Knob("last", "")
    for knob in (first, last):
        knob.setFlag(nuke.NO_ANIMATION)
    first.setValue(int(nuke.root()["first_frame"].value()))
    last.setValue(int(nuke.root()["last_frame"].value()))
    node.addKnob(first)
    node.addKnob(last)
    cache = nuke.File_Knob("fs_cache_root", "cache folder")
    cache.setTooltip("Rendered frames go to <this folder>/<node id>. Default: filmstyle_cache beside the script.")
    node.addKnob(cache)
    cache.setValue(DEFAULT_CACHE_ROOT)
    node.addKnob(nuke.PyScript_Knob("fs_render", "Render", RENDER_COMMAND))
    node.addKnob(nuke.Text_Knob("fs_status", "", "not rendered"))
    ident = nuke.String_Knob("fs_id", "node id")
    ident.setFlag(nuke.INVISIBLE)
    node.addKnob(ident)


def _build_inside(node, mask_default):
    node.begin()
    try:
        source = nuke.nodes.Input(name="Source")
        mask = nuke.nodes.Input(name="Mask")
        read = nuke.nodes.Read(name="fs_read")
        read["file"].setValue(_READ_FILE)
        read["first"].setValue(_FRAME_LIMITS[0])
        read["last"].setValue(_FRAME_LIMITS[1])
        read["on_error"].setValue("error")
        read["raw"].setValue(True)  # the worker's output is in the working space already
        keymix = nuke.nodes.Keymix(name="fs_keymix", inputs=[source, read, mask])  # B, A, mask
        keymix["maskChannel"].setValue(mask_default)
        switch = nuke.nodes.Switch(name="fs_switch", inputs=[read, keymix])
        switch["which"].setExpression("[exists parent.input1]")
        nuke.nodes.Output(name="Output", inputs=[switch])
    finally:
        node.end()


def create_node():
    """Create a FilmStyle node in the current graph and return it."""
    from filmstyle_plugin.schema import load_schema

    mask_default = next((p.default for p in load_schema() if p.name == MASK_PARAM), "rgba.alpha")
    group = nuke.createNode("Group", inpanel=False)
    group.setName("FilmStyle1")
    _build_inside(group, mask_default)
    _add_knobs(group)
    ensure_unique_id(group)
    return group
