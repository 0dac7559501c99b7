"""The Render button: render the node's frame range into its cache folder through the worker.

On the main thread: check the node, write the Source over the range (a temporary Write inside the
node, deleted afterwards, so no Write of ours is left for ``nuke -x`` or a farm to run), sample
every knob per frame (``getValueAt``), and pick the frames whose record no longer matches.

Then, in the GUI, a background thread starts or finds the worker, submits and follows the job
with a cancellable ``ProgressTask``, closes it, and hands the outcome to the main thread with
``executeInMainThread`` (the only call it makes into Nuke besides the progress task). In terminal
mode (``nuke -t``) all of it runs on the calling thread, without ``executeInMainThread``. Every
error ends as one message naming the node; a second press while a render of the node runs is
refused, so the source frames the worker reads are never rewritten under it.
"""

import threading

import nuke

from filmstyle_plugin import protocol
from filmstyle_plugin.client import WorkerClient, WorkerError
from filmstyle_nuke import cache
from filmstyle_nuke.colour import colour_fields, colour_settings
from filmstyle_nuke.knobs import sample_values
from filmstyle_nuke.node import cache_dir

__all__ = ["render", "running", "last_result", "job_values", "final_values", "PREVIEW_PARAM"]

#: The schema parameter that makes a render a preview (``proxy``: full, 1/2, 1/4). The Render
#: button renders at the knob's value (1/2 by default: interactive previews); renders for a Write,
#: ``nuke -x`` or a farm are always final (:func:`final_values`).
PREVIEW_PARAM = "proxy"

_RUNNING = set()     # node ids with a render in flight
_RESULTS = {}        # node id -> summary of its last render (read by tests and tools)
_WORKER_WAIT = 120.0


def running(node):
    return node["fs_id"].value() in _RUNNING


def last_result(node):
    return _RESULTS.get(node["fs_id"].value())


def job_values(values, colour):
    """Parameter values with the colour settings the job should carry."""
    _, ocio_knob, space_knob = colour_fields()
    out = dict(values)
    out[space_knob] = colour["input_colorspace"]
    out[ocio_knob] = colour.get("ocio", "")
    return out


def final_values(values):
    """``values`` for a final render: the preview proxy set to full quality."""
    out = dict(values)
    if PREVIEW_PARAM in out:
        out[PREVIEW_PARAM] = "full"
    return out


def _one_line(exc):
    """One line for the artist: our own errors as they are, anything else with its type."""
    lines = str(exc).strip().splitlines()
    text = lines[0] if lines else ""
    if isinstance(exc, (WorkerError, cache.CacheError, ValueError, RuntimeError)) and text:
        return text
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def render(node=None, client=None):
    """The Render button. Returns a summary dict (``state``: running, done, up to date, failed...)."""
    node = node or nuke.thisNode()
    ident = node["fs_id"].value()
    if ident in _RUNNING:
        nuke.message(f"{node.name()}: already rendering; wait for it or cancel it")
        return {"submitted": [], "state": "busy"}
    try:
        ctx = _prepare(node)
    except Exception as exc:  # never a traceback in the artist's face
        return _fail(node, _one_line(exc))
    if not ctx["todo"]:
        node["fs_status"].setValue(f"up to date ({len(ctx['frames'])} frames)")
        return _remember(ident, {"submitted": [], "state": "up to date"})
    _RUNNING.add(ident)
    ctx["client"] = client
    if nuke.GUI:
        threading.Thread(target=_in_background, args=(ctx,), name=f"FilmStyle {node.name()}", daemon=True).start()
        node["fs_status"].setValue(f"rendering {len(ctx['todo'])} frames")
        return {"submitted": ctx["todo"], "state": "running"}
    try:
        outcome = _run_job(ctx)
    except Exception as exc:
        return _fail(node, _one_line(exc))
    return _finish(ctx, *outcome)


def _remember(ident, summary):
    _RESULTS[ident] = summary
    return summary


def _fail(node, text):
    _RUNNING.discard(node["fs_id"].value())
    node["fs_status"].setValue(f"error: {text}")
    nuke.message(f"{node.name()}: {text}")
    return _remember(node["fs_id"].value(), {"submitted": [], "state": "failed", "error": text})


def _write_source(node, folder, first, last):
    """Write the Source over the range into ``folder`` with a Write that lives only for this."""
    node.begin()
    try:
        write = nuke.nodes.Write(name="fs_source_write", inputs=[nuke.toNode("Source")])
        write["file"].setValue(cache.pattern(folder, "src"))
        write["file_type"].setValue("exr")
        write["channels"].setValue("rgba")
        write["datatype"].setValue("32 bit float")
        write["metadata"].setValue("no metadata")  # unchanged pixels give identical files
        write["raw"].setValue(True)                # the working space as it is
        write["create_directories"].setValue(True)
    finally:
        node.end()
    try:
        nuke.execute(write, first, last, 1)
    finally:
        nuke.delete(write)


def _prepare(node):
    first, last = int(node["first"].value()), int(node["last"].value())
    if last < first:
        raise ValueError(f"frame range: last ({last}) is before first ({first})")
    if node.input(0) is None:
        raise ValueError("connect a Source input first")
    folder = cache_dir(node, fix_slashes=True)
    frames = list(range(first, last + 1))
    colour = colour_settings(node)
    values = job_values(sample_values(node, frames), colour)
    _write_source(node, folder, first, last)
    ident = node["fs_id"].value()
    keys, stamps, todo = {}, {}, []
    final = final_values(values)
    for f in frames:
        keys[f] = cache.frame_key({k: protocol.value_at(v, f) for k, v in sorted(values.items())}, colour, ident)
        src = cache.frame_file(folder, "src", f)
        stamps[f] = cache.file_stamp(src)
        record = cache.read_record(folder, f)
        # A frame already rendered at full quality (by a Write or a farm) serves a preview too.
        full_key = cache.frame_key({k: protocol.value_at(v, f) for k, v in sorted(final.items())}, colour, ident)
        current = [k for k in (keys[f], full_key) if cache.bake_current(record, folder, f, k, stamps[f])]
        if current:
            # Same pixels rewritten: the record follows the new source file.
            cache.write_record(folder, f, key=current[0], source_file=src, source_stamp=stamps[f])
        else:
            todo.append(f)
    job = protocol.build_job(values, input=cache.pattern(folder, "src"), output=cache.pattern(folder, "out"),
                             frames=protocol.frame_list(todo), overwrite=True) if todo else None
    return {"node": node, "name": node.name(), "ident": ident, "folder": folder, "frames": frames,
            "todo": todo, "job": job,
            "keys": keys, "stamps": stamps}


def _run_job(ctx):
    """Start or find the worker, run the job, follow it; returns ``(final status, result, id)``."""
    task = nuke.ProgressTask(f"FilmStyle {ctx['name']}")
    try:
        client = ctx.get("client") or WorkerClient.find()
        if client is None:
            task.setMessage("starting the filmstyle worker")
            client = WorkerClient.launch().wait(_WORKER_WAIT, should_continue=lambda: not task.isCancelled())
        submitted = client.submit(ctx["job"])

        def on_progress(status):
            total = max(int(status.get("total") or 0), 1)
            task.setProgress(int(100 * int(status.get("done") or 0) / total))
            task.setMessage(f"{status.get('done', 0)}/{status.get('total', 0)} frames, {status.get('fps', 0)} fps")
            return not task.isCancelled()

        final = client.wait(submitted["id"], on_progress)
        result = client.result(submitted["id"])
    finally:
        del task  # closes the progress dialog before any message shows
    return final, result, submitted["id"]


def _in_background(ctx):
    try:
        outcome = _run_job(ctx)
    except Exception as exc:  # every error reaches the artist, not only WorkerError
        nuke.executeInMainThread(_fail, (ctx["node"], _one_line(exc)))
        return
    nuke.executeInMainThread(_finish, (ctx,) + tuple(outcome))


def _finish(ctx, final, result, job_id):
    node, folder = ctx["node"], ctx["folder"]
    _RUNNING.discard(ctx["ident"])
    done = sorted(f["frame"] for f in result.get("frames", []) if f.get("status") in ("written", "skipped"))
    for f in done:
        cache.write_record(folder, f, key=ctx["keys"][f], source_file=cache.frame_file(folder, "src", f),
                           source_stamp=ctx["stamps"][f])
    summary = {"submitted": ctx["todo"], "state": final["state"], "written": done, "id": job_id}
    if final["state"] == "done":
        node["fs_status"].setValue(f"rendered {len(done)} of {len(ctx['frames'])} frames")
    elif final["state"] == "cancelled":
        node["fs_status"].setValue(f"cancelled after {len(done)} frames")
        nuke.message(f"{node.name()}: cancelled; {len(done)} frames were rendered and are kept")
    else:
        failed = _fail(node, final.get("error") or "render failed")
        summary.update(state="failed", error=failed["error"])
    return _remember(ctx["ident"], summary)
