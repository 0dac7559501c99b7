"""The FilmStyle node: a Group whose knobs come from ``filmstyle_plugin/schema.json``.

Inside: ``Source`` and ``Mask`` inputs, a Write that renders the Source to a temporary EXR
sequence, a Read of the worker's result, a Keymix that limits the look to the Mask's channel and a
Switch choosing what the node outputs (the Source until a first render).

Render (the button) runs :func:`render`: write the Source over the frame range with
``nuke.execute``; bake every animatable knob with ``getValueAt(frame)``; hash each frame's baked
values with its source file; send only frames whose hash changed (or whose output is missing) to
the worker with a ``nuke.ProgressTask`` that can cancel; then point the Read at the result.
Errors end in ``nuke.message``, never an exception in the UI.
"""

import hashlib
import json
import os
import tempfile
import threading
import uuid

import nuke

from filmstyle_plugin import protocol
from filmstyle_plugin.client import WorkerClient, WorkerError
from filmstyle_plugin.schema import load_schema

__all__ = ["create_node", "build_knobs", "bake", "render", "RENDER_COMMAND"]

RENDER_COMMAND = "import filmstyle_nuke.node; filmstyle_nuke.node.render(nuke.thisNode())"
_HIDDEN = ("fs_hashes", "fs_cache")
_SWITCH_SOURCE, _SWITCH_RESULT, _SWITCH_MASKED = 0, 1, 2


def _knob_for(param):
    if param.type == "float":
        knob = nuke.Double_Knob(param.name, param.label)
        if param.range:
            knob.setRange(*param.range)
    elif param.type == "int":
        knob = nuke.Int_Knob(param.name, param.label)
    elif param.type == "bool":
        knob = nuke.Boolean_Knob(param.name, param.label)
    elif param.type == "enum":
        knob = nuke.Enumeration_Knob(param.name, param.label, param.choices)
    elif param.type == "file":
        knob = nuke.File_Knob(param.name, param.label)
    else:
        knob = nuke.String_Knob(param.name, param.label)
    if param.default is not None:
        knob.setValue(param.default)
    knob.setTooltip(param.help)
    return knob


def build_knobs(node):
    """Add the schema's knobs, the frame range, the Render button and the hidden state knobs."""
    node.addKnob(nuke.Tab_Knob("filmstyle", "FilmStyle"))
    for param in load_schema():
        node.addKnob(_knob_for(param))
    first, last = nuke.Int_Knob("first", "frame range"), nuke.Int_Knob("last", "")
    first.setValue(int(nuke.root()["first_frame"].value()))
    last.setValue(int(nuke.root()["last_frame"].value()))
    node.addKnob(first)
    node.addKnob(last)
    node.addKnob(nuke.PyScript_Knob("fs_render", "Render", RENDER_COMMAND))
    node.addKnob(nuke.Text_Knob("fs_status", "", "not rendered"))
    for name in _HIDDEN:
        knob = nuke.String_Knob(name, name)
        knob.setFlag(nuke.INVISIBLE)
        node.addKnob(knob)


def create_node():
    """Create a FilmStyle node in the current graph and return it."""
    group = nuke.createNode("Group", inpanel=False)
    group.setName("FilmStyle")
    build_knobs(group)
    group.begin()
    try:
        source = nuke.nodes.Input(name="Source")
        mask = nuke.nodes.Input(name="Mask")
        write = nuke.nodes.Write(name="fs_write", inputs=[source])
        write["file_type"].setValue("exr")
        write["channels"].setValue("rgba")
        write["datatype"].setValue("32 bit float")
        write["metadata"].setValue("no metadata")  # so unchanged pixels give byte-identical files
        write["create_directories"].setValue(True)
        read = nuke.nodes.Read(name="fs_read")
        read["on_error"].setValue("black")
        keymix = nuke.nodes.Keymix(name="fs_keymix", inputs=[source, read, mask])
        switch = nuke.nodes.Switch(name="fs_switch", inputs=[source, read, keymix])
        nuke.nodes.Output(name="Output", inputs=[switch])
    finally:
        group.end()
    return group


def bake(node, frames):
    """Every schema parameter's value: animated knobs as ``{frame: getValueAt(frame)}``."""
    values = {}
    for param in load_schema():
        knob = node[param.name]
        if param.animatable and knob.isAnimated():
            values[param.name] = {f: float(knob.getValueAt(f)) for f in frames}
        else:
            values[param.name] = knob.value()
    return values


# Header attributes that change on every write although the pixels do not.
_VOLATILE_EXR_ATTRIBUTES = {b"DateTime", b"capDate", b"utcOffset"}


def _file_stamp(path):
    """Hash of a written frame, ignoring the write time EXR writers put in the header.

    Single-part EXR headers are parsed (name, type, size, value until an empty name) and
    the time attributes skipped; anything else is hashed whole.
    """
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        data = fh.read()
    pos = 8
    if data[:4] == b"\x76\x2f\x31\x01" and not data[5] & 0x10:  # EXR magic, not multi-part
        try:
            while data[pos] != 0:
                name_end = data.index(b"\0", pos)
                type_end = data.index(b"\0", name_end + 1)
                size = int.from_bytes(data[type_end + 1 : type_end + 5], "little")
                end = type_end + 5 + size
                if data[pos:name_end] not in _VOLATILE_EXR_ATTRIBUTES:
                    digest.update(data[pos:end])
                pos = end
            data = data[pos:]
        except (ValueError, IndexError):
            pass
    digest.update(data)
    return digest.hexdigest()


def _cache_dir(node):
    folder = node["fs_cache"].value()
    if not folder:
        folder = os.path.join(tempfile.gettempdir(), "filmstyle", f"{node.name()}-{uuid.uuid4().hex[:8]}")
        node["fs_cache"].setValue(folder)
    return folder


def _frame_path(pattern, frame):
    return pattern.replace("####", f"{frame:04d}")


def render(node=None, client=None):
    """The Render button. Returns ``{"submitted": [frames], "state": ...}`` (also for tests)."""
    node = node or nuke.thisNode()
    try:
        return _render(node, client)
    except WorkerError as exc:
        return _fail(node, str(exc))
    except Exception as exc:  # never leave the artist with a traceback and a half-set node
        return _fail(node, f"{type(exc).__name__}: {exc}")


def _fail(node, text):
    node["fs_status"].setValue(f"error: {text}")
    nuke.message(f"FilmStyle: {text}")
    return {"submitted": [], "state": "failed", "error": text}


def _render(node, client):
    first, last = int(node["first"].value()), int(node["last"].value())
    if last < first:
        raise WorkerError(f"frame range: last ({last}) is before first ({first})")
    if node.input(0) is None:
        raise WorkerError("connect a Source input first")
    frames = list(range(first, last + 1))
    folder = _cache_dir(node)
    src_pattern = os.path.join(folder, "src.####.exr")
    out_pattern = os.path.join(folder, "out.####.exr")
    node.begin()
    try:
        write = nuke.toNode("fs_write")
        write["file"].setValue(src_pattern)
    finally:
        node.end()
    nuke.execute(write, first, last, 1)
    values = bake(node, frames)
    stamps = {f: _file_stamp(_frame_path(src_pattern, f)) for f in frames}
    hashes = protocol.frame_hashes(values, frames, stamps=stamps, context={"output": out_pattern})
    stored = json.loads(node["fs_hashes"].value() or "{}")
    todo = [f for f in frames
            if stored.get(str(f)) != hashes[f] or not os.path.exists(_frame_path(out_pattern, f))]
    if not todo:
        _show_result(node, out_pattern, first, last)
        node["fs_status"].setValue(f"up to date ({len(frames)} frames)")
        return {"submitted": [], "state": "up to date"}
    job = protocol.build_job(values, input=src_pattern, output=out_pattern,
                             frames=protocol.frame_list(todo), overwrite=True)
    client = client or WorkerClient.connect()
    submitted = client.submit(job)
    context = {"node": node, "client": client, "id": submitted["id"], "hashes": hashes, "stored": stored,
               "out": out_pattern, "first": first, "last": last, "todo": todo}
    if getattr(nuke, "GUI", False):
        # Poll off the main thread so the UI stays live; finish on the main thread.
        threading.Thread(target=_wait_then_finish, args=(context,), daemon=True).start()
        return {"submitted": todo, "state": "running", "id": submitted["id"]}
    return _wait_then_finish(context)


def _wait_then_finish(ctx):
    task = nuke.ProgressTask(f"FilmStyle {ctx['node'].name()}")

    def on_progress(status):
        total = max(int(status.get("total") or 0), 1)
        task.setProgress(int(100 * int(status.get("done") or 0) / total))
        task.setMessage(f"{status.get('done', 0)}/{status.get('total', 0)} frames, {status.get('fps', 0)} fps")
        return not task.isCancelled()

    try:
        final = ctx["client"].wait(ctx["id"], on_progress)
        result = ctx["client"].result(ctx["id"])
    except WorkerError as exc:
        return nuke.executeInMainThreadWithResult(_fail, (ctx["node"], str(exc)))
    finally:
        task = None  # Nuke closes a ProgressTask when it is released
    return nuke.executeInMainThreadWithResult(_finish, (ctx, final, result))


def _finish(ctx, final, result):
    node, stored = ctx["node"], ctx["stored"]
    done = [f["frame"] for f in result.get("frames", []) if f.get("status") in ("written", "skipped")]
    for frame in done:
        stored[str(frame)] = ctx["hashes"][frame]
    node["fs_hashes"].setValue(json.dumps(stored, sort_keys=True))
    _show_result(node, ctx["out"], ctx["first"], ctx["last"])
    state = final["state"]
    summary = {"submitted": ctx["todo"], "state": state, "written": sorted(done), "id": ctx["id"]}
    if state == "done":
        node["fs_status"].setValue(f"rendered {len(done)} of {ctx['last'] - ctx['first'] + 1} frames")
    elif state == "cancelled":
        node["fs_status"].setValue(f"cancelled after {len(done)} frames")
        nuke.message(f"FilmStyle: cancelled; {len(done)} frames were rendered and are kept")
    else:
        summary["error"] = final.get("error")
        _fail(node, final.get("error") or "render failed")
        summary["state"] = "failed"
    return summary


def _show_result(node, out_pattern, first, last):
    node.begin()
    try:
        read, switch = nuke.toNode("fs_read"), nuke.toNode("fs_switch")
        read["file"].setValue(out_pattern)
        read["first"].setValue(first)
        read["last"].setValue(last)
        read["reload"].execute()
        masked = node.input(1) is not None
        nuke.toNode("fs_keymix")["maskChannel"].setValue(node["mask_channel"].value())
        switch["which"].setValue(_SWITCH_MASKED if masked else _SWITCH_RESULT)
    finally:
        node.end()
