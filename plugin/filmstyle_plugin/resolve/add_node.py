""""FilmStyle: Add node": the FilmStyle Fuse in the current comp, keyed from a job file.

The job (read by ``filmstyle job json``) gives the node's settings: one or two built-in looks (or
one style image), and every curve (strength, the blend between the two looks, temporal, preserve
color) becomes a BezierSpline on the matching input with one Fusion key per curve key:

* ``linear`` segments: handles a third of the way along the straight line;
* ``smooth`` segments: handles along the curve's own tangents (filmstyle's monotone cubic), which
  makes the Bezier segment that very cubic, so Fusion's values match the render's at every frame;
* ``hold`` segments: an extra key one frame before the next key, holding the value (exact at every
  whole frame, without Fusion's step flags).

A blend whose two weights do not add up to a constant is keyed at every frame between its first
and last key (the node's Blend is the second look's share, ``w2 / (w1 + w2)``). Job frames land on
comp frames shifted by ``offset`` (the window proposes: the job's first frame on the comp's render
start). What the node cannot express (regions, three or more looks, mixed looks and images) is
refused with a message rather than approximated.
"""

import re
from typing import Any, Dict, List, Optional, Tuple

from filmstyle_plugin.fuse_gen import FUSE_ID, RESOLVE_COLOURSPACES, fuse_inputs

__all__ = ["NodeError", "Keys", "curve_keys", "smooth_tangents", "bezier_keyframes", "node_settings",
           "add_node", "job_first_frame", "summarise", "FUSE_REG_ID", "AUTO_POSITION"]

FUSE_REG_ID = f"Fuse.{FUSE_ID}"
#: x = y = -32768: Fusion places the tool and connects it to the selected one [F8 p.62].
AUTO_POSITION = -32768

Keys = List[Tuple[float, float, str]]  # (frame, value, interp)


class NodeError(Exception):
    """The job cannot be put on the node; one line."""


def curve_keys(value: Any, field: str) -> Keys:
    """A job curve (a number or ``{"keys": [[frame, value, interp], ...]}``) as sorted keys."""
    if isinstance(value, bool):
        raise NodeError(f"{field}: expected a number or keys, got {value!r}")
    if isinstance(value, (int, float)):
        return [(0.0, float(value), "linear")]
    if isinstance(value, dict) and isinstance(value.get("keys"), list):
        keys = []
        for item in value["keys"]:
            frame, v = float(item[0]), float(item[1])
            interp = str(item[2]) if len(item) > 2 else "linear"
            keys.append((frame, v, interp))
        return sorted(keys)
    raise NodeError(f"{field}: expected a number or keys, got {value!r}")


def smooth_tangents(keys: Keys) -> List[float]:
    """Per-key slopes of filmstyle's smooth segments: the weighted harmonic mean of the two
    neighbouring secants when both segments are continuous and slope the same way, else flat."""
    n = len(keys)
    m = [0.0] * n
    for k in range(1, n - 1):
        if keys[k - 1][2] == "hold" or keys[k][2] == "hold":
            continue
        h0, h1 = keys[k][0] - keys[k - 1][0], keys[k + 1][0] - keys[k][0]
        d0, d1 = (keys[k][1] - keys[k - 1][1]) / h0, (keys[k + 1][1] - keys[k][1]) / h1
        if d0 * d1 <= 0:
            continue
        w1, w2 = 2 * h1 + h0, h1 + 2 * h0
        m[k] = (w1 + w2) / (w1 / d0 + w2 / d1)
    return m


def bezier_keyframes(keys: Keys, offset: float = 0.0) -> Dict[float, Dict[Any, Any]]:
    """A BezierSpline ``SetKeyFrames`` table: ``{frame: {1: value, "LH": {1: f, 2: v}, "RH": {...}}}``.

    Handles are absolute (frame, value) points, as Fusion stores them [resolve-standin notes 2].
    """
    if not keys:
        return {}
    slopes = smooth_tangents(keys)
    out: Dict[float, Dict[Any, Any]] = {}
    for i, (frame, value, interp) in enumerate(keys):
        out.setdefault(frame + offset, {1: value})
        if i + 1 == len(keys):
            break
        nframe, nvalue = keys[i + 1][0], keys[i + 1][1]
        start, end = frame + offset, nframe + offset
        if interp == "hold" and nframe - frame > 1:
            # Flat to the frame before the next key, then the step over that last frame.
            _handles(out, start, value, end - 1, value, 0.0, 0.0)
            _handles(out, end - 1, value, end, nvalue, None, None)
        elif interp == "smooth":
            _handles(out, start, value, end, nvalue, slopes[i], slopes[i + 1])
        else:
            _handles(out, start, value, end, nvalue, None, None)
    return out


def _handles(out: Dict[float, Dict[Any, Any]], f0: float, v0: float, f1: float, v1: float,
             m0: Optional[float], m1: Optional[float]) -> None:
    """Handles of the segment f0 → f1 at a third of its length; slopes None = the straight line."""
    third = (f1 - f0) / 3.0
    line = (v1 - v0) / (f1 - f0)
    s0 = line if m0 is None else m0
    s1 = line if m1 is None else m1
    out.setdefault(f0, {1: v0})["RH"] = {1: f0 + third, 2: v0 + s0 * third}
    out.setdefault(f1, {1: v1})["LH"] = {1: f1 - third, 2: v1 - s1 * third}


def _value_at(keys: Keys, frame: float) -> float:
    """A curve's value (linear between keys; only for the blend's per-frame sampling, whose keys
    the caller takes from curves that are then sampled densely)."""
    if frame <= keys[0][0]:
        return keys[0][1]
    if frame >= keys[-1][0]:
        return keys[-1][1]
    for (f0, v0, interp), (f1, v1, _) in zip(keys, keys[1:]):
        if f0 <= frame <= f1:
            if interp == "hold":
                return v0 if frame < f1 else v1
            t = (frame - f0) / (f1 - f0)
            if interp == "smooth":
                m = smooth_tangents(keys)
                i = keys.index((f0, v0, interp))
                h = f1 - f0
                t2, t3 = t * t, t * t * t
                y = ((2 * t3 - 3 * t2 + 1) * v0 + (t3 - 2 * t2 + t) * h * m[i]
                     + (-2 * t3 + 3 * t2) * v1 + (t3 - t2) * h * m[i + 1])
                return min(max(y, min(v0, v1)), max(v0, v1))
            return v0 + (v1 - v0) * t
    return keys[-1][1]


def _blend_keys(w1: Keys, w2: Keys) -> Keys:
    """The second look's share ``w2 / (w1 + w2)`` as keys (exact per whole frame)."""
    # A constant weight is one key at frame 0: its frame means nothing.
    frames = sorted({k[0] for k in w1 if len(w1) > 1} | {k[0] for k in w2 if len(w2) > 1}) or [w2[0][0]]
    totals = {f: _value_at(w1, f) + _value_at(w2, f) for f in frames}
    constant_total = len({round(t, 12) for t in totals.values()}) == 1 and next(iter(totals.values())) > 0
    if constant_total and [k[0] for k in w2] == frames:
        total = next(iter(totals.values()))
        return [(f, v / total, interp) for f, v, interp in w2]
    first, last = int(frames[0]), int(frames[-1])
    out: Keys = []
    for f in range(first, last + 1) if last > first else [first]:
        a, b = _value_at(w1, f), _value_at(w2, f)
        if a + b <= 0:
            raise NodeError(f"styles: both weights are 0 at frame {f}")
        out.append((float(f), b / (a + b), "linear"))
    return out


def node_settings(job: Dict[str, Any]) -> Tuple[Dict[str, Any], Dict[str, Keys]]:
    """A job (``filmstyle job json``) → (static input values, {input id: keys}) for the Fuse."""
    by_name = {inp.name: inp for inp in fuse_inputs()}
    static: Dict[str, Any] = {}
    curves: Dict[str, Keys] = {}
    if job.get("regions") or job.get("default"):
        raise NodeError("regions: the node has no regions; connect a mask to its Mask input instead")
    styles = job.get("styles") or []
    if not styles or len(styles) > 2:
        raise NodeError(f"styles: the node takes one or two looks, the job has {len(styles)}")
    builtins = by_name["style"].choices
    names = [str(s["style"]) for s in styles]
    looks = [n for n in names if n in builtins]
    if len(looks) == len(names):
        static[by_name["style"].id] = builtins.index(names[0])
        if len(names) == 2:
            static[by_name["style2"].id] = by_name["style2"].choices.index(names[1])
            curves[by_name["blend"].id] = _blend_keys(curve_keys(styles[0].get("weight", 1.0), "styles[0].weight"),
                                                      curve_keys(styles[1].get("weight", 1.0), "styles[1].weight"))
        else:
            static[by_name["style2"].id] = 0
    elif len(names) == 1:
        static[by_name["style_image"].id] = names[0]
        static[by_name["style2"].id] = 0
    else:
        raise NodeError("styles: the node blends two built-in looks, or uses one style image; "
                        f"the job has {', '.join(names)}")
    for name in ("strength", "temporal", "preserve_color"):
        if name in job and name in by_name:
            keys = curve_keys(job[name], name)
            if len(keys) == 1:
                static[by_name[name].id] = keys[0][1]
            else:
                curves[by_name[name].id] = keys
    if job.get("stroke_scale") is not None and "stroke_scale" in by_name:
        static[by_name["stroke_scale"].id] = float(job["stroke_scale"])
    color = job.get("color") or {}
    cs = by_name.get("input_colorspace")
    if cs is not None and color.get("input_colorspace"):
        wanted = str(color["input_colorspace"])
        names_by_index = [n for _, n in RESOLVE_COLOURSPACES]
        if wanted in names_by_index:
            static[cs.id] = names_by_index.index(wanted)
        else:
            static[cs.id] = names_by_index.index(None)
            static[str(cs.other_id)] = wanted
    if color.get("ocio") and "ocio" in by_name:
        static[by_name["ocio"].id] = str(color["ocio"])
    for name in ("device", "precision"):
        if job.get(name) and name in by_name:
            choices = by_name[name].choices
            if job[name] not in choices:
                raise NodeError(f"{name}: {job[name]!r} is not one of {', '.join(choices)}")
            static[by_name[name].id] = choices.index(job[name])
    return static, curves


def job_first_frame(job: Dict[str, Any]) -> Optional[int]:
    """The first frame of the job's ``frames`` (``1001-1100``, ``-5-10``, ``1001,1005``), or None."""
    m = re.match(r"\s*(-?\d+)", str(job.get("frames") or ""))
    return int(m.group(1)) if m else None


def add_node(comp: Any, job: Dict[str, Any], *, offset: float = 0.0, name: Optional[str] = None) -> Any:
    """Add the Fuse to ``comp`` keyed from ``job``; returns the tool. One undo step."""
    static, curves = node_settings(job)
    comp.StartUndo("Add FilmStyle")
    try:
        tool = comp.AddTool(FUSE_REG_ID, AUTO_POSITION, AUTO_POSITION)
        if not tool:
            raise NodeError(f"Fusion could not add {FUSE_REG_ID}: is FilmStyle.fuse installed in Fuses "
                            "(a new Fuse needs a restart of Resolve)?")
        if name:
            tool.SetAttrs({"TOOLS_Name": name})
        for input_id, value in static.items():
            tool.SetInput(input_id, value)
        for input_id, keys in curves.items():
            if not tool.AddModifier(input_id, "BezierSpline"):
                raise NodeError(f"{input_id}: Fusion could not animate the input")
            spline = getattr(tool, input_id).GetConnectedOutput().GetTool()
            spline.SetKeyFrames(bezier_keyframes(keys, offset), True)
    finally:
        comp.EndUndo(True)
    return tool


def summarise(static: Dict[str, Any], curves: Dict[str, Keys], offset: float) -> List[str]:
    lines = [f"{k} = {v!r}" for k, v in static.items()]
    for k, keys in curves.items():
        lines.append(f"{k}: {len(keys)} key(s), comp frames {keys[0][0] + offset:g}-{keys[-1][0] + offset:g}")
    return lines

