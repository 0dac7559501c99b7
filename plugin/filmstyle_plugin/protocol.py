"""Job dicts from parameter values a host has baked, and per-frame hashes for partial re-renders.

A host reads every parameter of :func:`~filmstyle_plugin.schema.load_schema` and hands
:func:`build_job` a value per name: a constant, or for animated parameters a ``{frame: value}``
dict baked with the host's own evaluation (Nuke: ``knob.getValueAt(frame)``). Baked curves go to
the worker as explicit per-frame keys ``[[frame, value, "linear"], ...]``, so every rendered frame
gets exactly the host's value whatever interpolation the host used between keys.
"""

import hashlib
import json
import re
from typing import Any, Dict, Iterable, List, Mapping, Optional

from filmstyle_plugin.schema import Param, job_version, load_schema

__all__ = ["JOB_VERSION", "build_job", "curve_keys", "value_at", "frame_hashes", "frame_list", "set_field"]

JOB_VERSION = job_version()
_STEP = re.compile(r"^([A-Za-z_]\w*)(?:\[(\d+)\])?$")


def curve_keys(baked: Mapping[int, float]) -> Any:
    """A baked ``{frame: value}`` as job data: a number when constant, else exact per-frame keys."""
    if not baked:
        raise ValueError("curve: no frames baked")
    values = {float(v) for v in baked.values()}
    if len(values) == 1:
        return values.pop()
    return [[int(f), float(baked[f]), "linear"] for f in sorted(baked)]


def value_at(value: Any, frame: int) -> Any:
    """A parameter value on one frame (constants are the same on every frame)."""
    if isinstance(value, Mapping):
        return value[frame] if frame in value else value[int(frame)]
    return value


def set_field(job: Dict[str, Any], path: str, value: Any) -> None:
    """Set ``job[path]`` for a schema path such as ``strength``, ``colour.ocio`` or ``styles[1].weight``."""
    node: Any = job
    steps = path.split(".")
    for i, step in enumerate(steps):
        m = _STEP.match(step)
        if m is None:
            raise ValueError(f"schema: bad job path {path!r}")
        key, index = m.group(1), m.group(2)
        last = i == len(steps) - 1
        if index is None:
            if last:
                node[key] = value
            else:
                node = node.setdefault(key, {})
            continue
        items = node.setdefault(key, [])
        idx = int(index)
        while len(items) <= idx:
            items.append({})
        if last:
            items[idx] = value
        else:
            node = items[idx]


def _present(param: Param, value: Any) -> bool:
    if value is None or value == "":
        return False
    return not (param.none_value is not None and value == param.none_value)


def build_job(
    values: Mapping[str, Any],
    *,
    input: str,
    output: str,
    frames: Optional[str] = None,
    overwrite: bool = True,
    schema: Optional[List[Param]] = None,
) -> Dict[str, Any]:
    """The job dict (the same model as a YAML job file) for baked parameter ``values``.

    Parameters missing from ``values`` take the schema default; host-only parameters
    (``job: null``) are skipped; an override (``style_image``) replaces the field it shares.
    """
    params = schema if schema is not None else load_schema()
    by_name = {p.name: p for p in params}
    job: Dict[str, Any] = {"filmstyle": JOB_VERSION, "input": input, "output": output, "overwrite": overwrite}
    if frames:
        job["frames"] = frames
    chosen = {p.name: values.get(p.name, p.default) for p in params}
    for p in params:
        value = chosen[p.name]
        if p.job is None or not _present(p, value):
            continue
        if p.requires is not None and not _present(by_name[p.requires], chosen[p.requires]):
            continue
        if any(o.overrides == p.name and _present(o, chosen[o.name]) for o in params):
            continue  # e.g. a style image given: the built-in style field is taken by it
        if isinstance(value, Mapping):
            set_field(job, p.job, curve_keys(value))
            if p.complement:
                set_field(job, p.complement, curve_keys({f: 1.0 - float(v) for f, v in value.items()}))
        else:
            set_field(job, p.job, value)
            if p.complement:
                set_field(job, p.complement, 1.0 - float(value))
    # Style entries are written field by field; make each a full {style, weight} entry.
    job["styles"] = [
        {"style": s["style"], "weight": s.get("weight", 1.0)} for s in job.get("styles", []) if "style" in s
    ]
    return job


def frame_hashes(
    values: Mapping[str, Any],
    frames: Iterable[int],
    *,
    stamps: Optional[Mapping[int, str]] = None,
    context: Any = None,
) -> Dict[int, str]:
    """One hash per frame of everything that decides that frame's pixels.

    Args:
        values: as for :func:`build_job` (constants and ``{frame: value}`` curves).
        stamps: per-frame stamp of the input (e.g. a hash of the frame file the host wrote).
        context: anything else that changes every frame's result (output path, worker version).
    """
    out: Dict[int, str] = {}
    for frame in frames:
        state = {
            "values": {name: value_at(v, frame) for name, v in sorted(values.items())},
            "stamp": (stamps or {}).get(frame),
            "context": context,
        }
        blob = json.dumps(state, sort_keys=True, default=str).encode()
        out[int(frame)] = hashlib.sha256(blob).hexdigest()[:32]
    return out


def frame_list(frames: Iterable[int]) -> str:
    """Frames as a compact range string the job model reads: ``1001-1003,1007``."""
    ordered = sorted(set(int(f) for f in frames))
    parts: List[str] = []
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        parts.append(str(ordered[i]) if i == j else f"{ordered[i]}-{ordered[j]}")
        i = j + 1
    return ",".join(parts)
