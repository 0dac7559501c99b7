"""Renders outside the Render button: a Write, ``nuke -x``, a farm.

Registered (by ``init.py``, which every Nuke mode runs) as a before-frame-render callback on every
executed node. For each FilmStyle node upstream of what is being rendered it makes sure the frame
is in the node's cache and still matches the node's knobs, and otherwise renders it now, through
the worker, synchronously on the render's own thread (no ``executeInMainThread``: on the main
thread that call hangs Nuke). Its source is the frame the node last wrote to its cache, or, when
there is none, the plate itself when the node's Source is a Read. If neither exists (a Source that
only Nuke can compute: a Python callback cannot run a nested ``nuke.execute``), the render fails
with a message naming the node and the frame, never a black frame.
"""

import os
import re

import nuke

from filmstyle_plugin import protocol
from filmstyle_plugin.client import WorkerClient, WorkerError
from filmstyle_nuke import cache
from filmstyle_nuke.bake import final_values, job_values
from filmstyle_nuke.colour import colour_fields, colour_settings, working_space
from filmstyle_nuke.knobs import sample_values
from filmstyle_nuke.node import cache_dir, is_filmstyle

__all__ = ["before_frame_render", "upstream_filmstyle_nodes", "ensure_frame", "RenderTimeError"]

_PASS_THROUGH = ("Dot",)


class RenderTimeError(RuntimeError):
    """A frame cannot be rendered now; the message names the node and the frame."""


def _parent(node):
    """The group holding ``node`` (root for top-level nodes), from its full name."""
    path = node.fullName().split(".")[:-1]
    if not path:
        return nuke.root()
    with nuke.root():
        return nuke.toNode(".".join(path))


def _inputs_of(node):
    """The nodes whose images ``node`` pulls (an Input inside a group pulls the group's input)."""
    if node.Class() == "Input":
        group = _parent(node)
        inp = group.input(int(node["number"].value())) if group is not None else None
        return [inp] if inp is not None else []
    if node.Class() == "Group" and not is_filmstyle(node):
        return [n for n in node.nodes() if n.Class() == "Output"]
    return [node.input(i) for i in range(node.inputs()) if node.input(i) is not None]


def upstream_filmstyle_nodes(node):
    """FilmStyle nodes whose output ``node`` pulls, nearest first."""
    found, seen, stack = [], set(), list(_inputs_of(node))
    while stack:
        n = stack.pop(0)
        if id(n) in seen:
            continue
        seen.add(id(n))
        if is_filmstyle(n):
            found.append(n)
            if n.input(1) is not None:  # masked: the Keymix pulls the Source (B) and the Mask
                stack.extend(x for x in (n.input(0), n.input(1)) if x is not None)
            continue
        stack.extend(_inputs_of(n))
    return found


def before_frame_render():
    rendering = nuke.thisNode()
    frame = int(nuke.frame())
    for node in upstream_filmstyle_nodes(rendering):
        ensure_frame(node, frame)


def _plate_read(node):
    """The Read feeding the node's Source directly (through Dots and disabled nodes), or None."""
    n = node.input(0)
    while n is not None and (n.Class() in _PASS_THROUGH or n["disable"].value()):
        n = n.input(0)
    return n if n is not None and n.Class() == "Read" else None


def _plate_source(node, read, frame):
    """``(input pattern, colour overrides)`` to render ``frame`` from the plate, or a reason not to."""
    first, last = int(read["first"].value()), int(read["last"].value())
    if not first <= frame <= last:
        return None, f"{read.name()} has no frame {frame} (its range is {first}-{last})"
    if read.knob("frame") is not None and read["frame"].getText().strip():
        return None, f"{read.name()} changes its frame numbers"
    path = read["file"].value()
    pattern = re.sub(r"%0?(\d*)d", lambda m: "#" * max(int(m.group(1) or 1), 1), path)
    if not os.path.isfile(_frame_file(pattern, frame)):
        return None, f"{read.name()}: {_frame_file(pattern, frame)} does not exist"
    working = working_space()
    is_exr = pattern.lower().endswith(".exr")
    if read["raw"].value():
        space = working
    else:
        space = read["colorspace"].value()
        m = re.match(r"^default \((.*)\)$", space)
        space = m.group(1) if m else space
        if space == "default":
            space = "scene_linear" if is_exr else ""
        if not space:
            return None, f"{read.name()}: set its colorspace (its default for this file type is not known here)"
    if is_exr and space != working:
        return None, (f"{read.name()} is in {space}, not the working space {working} (an EXR result keeps "
                      "its source's colourspace)")
    colour = {"input_colorspace": space}
    if not is_exr:
        colour["output_colorspace"] = working
    return (pattern, colour), ""


def _frame_file(pattern, frame):
    return re.sub(r"#+", lambda m: "%0*d" % (len(m.group(0)), frame), pattern)


def ensure_frame(node, frame):
    """Make ``frame`` of FilmStyle ``node`` current in its cache, or raise :class:`RenderTimeError`."""
    name = node.fullName()
    try:
        folder = cache_dir(node)
    except cache.CacheError as exc:
        raise RenderTimeError(f"{name}: frame {frame}: {exc}") from None
    colour = colour_settings(node)
    # A Write, `nuke -x` or a farm renders final frames: never the Render button's preview proxy.
    values = final_values(job_values(sample_values(node, [frame]), colour))
    key = cache.frame_key({k: protocol.value_at(v, frame) for k, v in sorted(values.items())}, colour,
                          node["fs_id"].value())
    if cache.render_current(cache.read_record(folder, frame), folder, frame, key):
        return
    src = cache.frame_file(folder, "src", frame)
    overrides = {}
    if os.path.isfile(src):
        source_pattern, source_file = cache.pattern(folder, "src"), src
        stamp = cache.file_stamp(src)
    else:
        read = _plate_read(node)
        if read is None:
            raise RenderTimeError(
                f"{name}: frame {frame} is not rendered and its Source is not a Read the worker "
                f"can open: press Render on {node.name()} in Nuke (frames are kept in {folder})")
        plate, reason = _plate_source(node, read, frame)
        if plate is None:
            raise RenderTimeError(f"{name}: frame {frame} is not rendered and cannot be rendered "
                                  f"from its plate: {reason}; press Render on {node.name()} in Nuke")
        source_pattern, overrides = plate
        source_file = _frame_file(source_pattern, frame)
        stamp = cache.file_stamp(source_file)
    os.makedirs(folder, exist_ok=True)
    job = protocol.build_job(values, input=source_pattern, output=cache.pattern(folder, "out"),
                             frames=str(frame), overwrite=True)
    job.setdefault(colour_fields()[0], {}).update(overrides)
    try:
        client = WorkerClient.connect()
        submitted = client.submit(job)
        final = client.wait(submitted["id"])
    except WorkerError as exc:
        raise RenderTimeError(f"{name}: frame {frame}: {exc}") from None
    if final.get("state") != "done" or not os.path.isfile(cache.frame_file(folder, "out", frame)):
        raise RenderTimeError(f"{name}: frame {frame}: {final.get('error') or final.get('state')}")
    cache.write_record(folder, frame, key=key, source_file=source_file, source_stamp=stamp)
