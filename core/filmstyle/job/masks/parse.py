"""Reading mask descriptions from job data (plain dicts) into :class:`~filmstyle.job.masks.spec.MaskSpec`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from filmstyle.errors import JobError, clip
from filmstyle.job.curves import Curve, parse_curve
from filmstyle.job.masks.raster import REC709_LUMA
from filmstyle.job.masks.spec import (
    FIT_MODES,
    OPS,
    ChannelMask,
    EllipseMask,
    FileMask,
    HueMask,
    LumaMask,
    MaskSpec,
    OpMask,
    PolygonMask,
    RectangleMask,
)

__all__ = ["parse_mask", "MAX_COORD", "MAX_FEATHER", "MAX_BLUR", "MAX_GROW", "MAX_POINTS", "MAX_DEPTH", "MAX_MASKS"]

_KINDS = ("ellipse", "rectangle", "polygon", "channel", "file", "luma", "hue", "op")

# Bounds that keep every mask's cost within a frame's (and refuse values that are typos): a
# position, size, key threshold or angle beyond a million is no picture's.
MAX_COORD = 1e6
#: Feather width in pixels (wider than any frame is already a whole-frame ramp).
MAX_FEATHER = 1e4
#: Blur radius in pixels (a large blur costs what a small one does; see ``raster.blur``).
MAX_BLUR = 4096.0
#: Grow/shrink in pixels (cost grows with the distance: about 17 s a 2K frame at the bound).
MAX_GROW = 500.0
#: Points of one polygon (a detailed roto shape has a few hundred).
MAX_POINTS = 1000
#: Operations nested in one another, and masks combined by one operation.
MAX_DEPTH = 12
MAX_MASKS = 64
#: Characters of a channel name.
_MAX_CHANNEL = 255


def _r(value: Any) -> str:
    """A user's value for a message: its repr, cut short."""
    return clip(repr(value), 60)


def _keys(data: dict[str, Any]) -> str:
    return clip(", ".join(map(str, data)), 60)


def _mapping(data: Any, field: str, allowed: Sequence[str], required: Sequence[str] = ()) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise JobError(f"{field}: expected a mapping with {', '.join(allowed)}, got {type(data).__name__} {_r(data)}")
    for k in data:
        if k not in allowed:
            raise JobError(f"{field}: unknown key {_r(k)}, valid: {', '.join(allowed)}")
    for k in required:
        if k not in data:
            raise JobError(f"{field}: missing {_r(k)}")
    return data


def _curve_at(value: Any, where: str, minimum: float | None = None, maximum: float = MAX_COORD) -> Curve:
    c = parse_curve(value, field=where)
    low = min(k.value for k in c.keys)
    high = max(k.value for k in c.keys)
    floor = -MAX_COORD if minimum is None else minimum
    if low < floor:
        raise JobError(f"{where}: expected values >= {floor:g}, got {low:g}")
    if high > maximum:
        raise JobError(f"{where}: expected values <= {maximum:g}, got {high:g}")
    return c


def _curve(d: dict[str, Any], key: str, field: str, default: float = 0.0, minimum: float | None = None,
           maximum: float = MAX_COORD) -> Curve:
    return _curve_at(d.get(key, default), f"{field}.{key}", minimum, maximum)


def _feather(d: dict[str, Any], field: str) -> Curve:
    return _curve(d, "feather", field, 0.0, 0.0, MAX_FEATHER)


def _tuple(value: Any, n: int, field: str, minimum: float | None = None) -> tuple[Curve, ...]:
    if not isinstance(value, (list, tuple)) or len(value) != n:
        raise JobError(f"{field}: expected {n} numbers or curves, got {_r(value)}")
    return tuple(_curve_at(v, f"{field}[{i}]", minimum) for i, v in enumerate(value))


def _name(value: Any, where: str, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise JobError(f"{where}: expected {what}, got {_r(value)}")
    if len(value) > _MAX_CHANNEL:
        raise JobError(f"{where}: {len(value)} characters, at most {_MAX_CHANNEL} ({_r(value)})")
    return value


def parse_mask(data: Any, *, field: str = "mask") -> MaskSpec:
    """Parse one mask description (a plain dict from a YAML job) into a :class:`MaskSpec`.

    Accepted forms (``C`` = a number or any curve :func:`filmstyle.job.curves.parse_curve` reads)::

        {ellipse: {center: [C, C], radius: [C, C] | C, rotation: C = 0, feather: C = 0}}
        {rectangle: {box: [C, C, C, C], feather: C = 0}}      # x0, y0, x1, y1
        {rectangle: {center: [C, C], size: [C, C], feather: C = 0}}
        {polygon: {points: [[C, C], ...], feather: C = 0}}     # at least 3 points
        {channel: "matte.R"}                                   # a channel of the input frame
        {file: "mattes/sky.####.exr", channel: "A", fit: error|stretch|center}
        {luma: {low: C, high: C = unbounded, softness: C = 0, coeffs: [wr, wg, wb] = Rec.709}}
        {hue: {hue: C, width: C, softness: C = 0, min_saturation: C = 0.05}}
        {op: invert, mask: M}    {op: multiply|max|subtract, masks: [M, M, ...]}
        {op: blur, radius: C, mask: M}    {op: grow, pixels: C, mask: M}   # pixels < 0 shrinks

    ``file`` patterns are handed to ``MaskContext.load_matte`` unchanged, with the frame as given.

    Every number is bounded (:data:`MAX_COORD`, :data:`MAX_FEATHER`, :data:`MAX_BLUR`,
    :data:`MAX_GROW`), as are polygon points (:data:`MAX_POINTS`), nesting (:data:`MAX_DEPTH`)
    and the masks one operation combines (:data:`MAX_MASKS`), so no description can make a frame
    take unbounded time or memory.

    Raises:
        JobError: unknown kinds, keys or ops, or bad values, naming the path, e.g.
            ``regions[1].mask.ellipse.radius: expected 2 numbers or curves, got [300]``.
    """
    return _parse(data, field, 0)


def _parse(data: Any, field: str, depth: int) -> MaskSpec:
    if depth > MAX_DEPTH:
        raise JobError(f"{field}: operations nested deeper than {MAX_DEPTH} levels")
    if not isinstance(data, dict):
        raise JobError(f"{field}: expected a mapping with one of {', '.join(_KINDS)}, got {_r(data)}")
    if "op" in data:
        return _parse_op(data, field, depth)
    if "file" in data:
        d = _mapping(data, field, ("file", "channel", "fit"))
        if not isinstance(d["file"], str) or not d["file"].strip():
            raise JobError(f"{field}.file: expected a path pattern, got {_r(d['file'])}")
        channel, fit = d.get("channel", "A"), d.get("fit", "error")
        _name(channel, f"{field}.channel", "a channel name")
        if fit not in FIT_MODES:
            raise JobError(f"{field}.fit: expected one of {', '.join(FIT_MODES)}, got {_r(fit)}")
        return FileMask(field, d["file"], channel, fit)
    kinds = [k for k in data if k in _KINDS]
    if len(data) != 1 or len(kinds) != 1:
        raise JobError(f"{field}: expected exactly one of {', '.join(_KINDS)}, got keys {_keys(data)}")
    kind = kinds[0]
    body, where = data[kind], f"{field}.{kind}"
    if kind == "channel":
        return ChannelMask(field, _name(body, where, "a channel name such as 'matte.R'").strip())
    if kind == "ellipse":
        d = _mapping(body, where, ("center", "radius", "rotation", "feather"), ("center", "radius"))
        radius = d["radius"]
        if isinstance(radius, (list, tuple)):
            rx, ry = _tuple(radius, 2, f"{where}.radius", minimum=0.0)
        else:
            rx = ry = _curve(d, "radius", where, minimum=0.0)
        cx, cy = _tuple(d["center"], 2, f"{where}.center")
        return EllipseMask(
            field, (cx, cy), (rx, ry), _curve(d, "rotation", where, 0.0), _feather(d, where)
        )
    if kind == "rectangle":
        d = _mapping(body, where, ("box", "center", "size", "feather"))
        feather = _feather(d, where)
        if "box" in d and not ("center" in d or "size" in d):
            return RectangleMask(field, feather, box=_tuple(d["box"], 4, f"{where}.box"))  # type: ignore[arg-type]
        if "center" in d and "size" in d and "box" not in d:
            center = _tuple(d["center"], 2, f"{where}.center")
            size = _tuple(d["size"], 2, f"{where}.size", minimum=0.0)
            return RectangleMask(field, feather, center=center, size=size)  # type: ignore[arg-type]
        raise JobError(f"{where}: expected either box: [x0, y0, x1, y1] or center + size, got keys {_keys(d)}")
    if kind == "polygon":
        d = _mapping(body, where, ("points", "feather"), ("points",))
        pts = d["points"]
        if not isinstance(pts, (list, tuple)) or len(pts) < 3:
            raise JobError(f"{where}.points: expected at least 3 [x, y] points, got {_r(pts)}")
        if len(pts) > MAX_POINTS:
            raise JobError(f"{where}.points: {len(pts)} points, at most {MAX_POINTS}")
        points = tuple(_tuple(p, 2, f"{where}.points[{i}]") for i, p in enumerate(pts))
        return PolygonMask(field, points, _feather(d, where))  # type: ignore[arg-type]
    if kind == "luma":
        d = _mapping(body, where, ("low", "high", "softness", "coeffs"), ("low",))
        coeffs = d.get("coeffs", list(REC709_LUMA))
        if (
            not isinstance(coeffs, (list, tuple))
            or len(coeffs) != 3
            or not all(isinstance(c, (int, float)) and not isinstance(c, bool) and abs(c) <= MAX_COORD for c in coeffs)
        ):
            raise JobError(f"{where}.coeffs: expected 3 numbers (R, G, B weights), got {_r(coeffs)}")
        high = _curve(d, "high", where) if "high" in d else None
        low = _curve(d, "low", where)
        if high is not None and low.is_constant and high.is_constant and low.value_at(0) > high.value_at(0):
            # keyed ends may cross for a while (the key is then empty); fixed ones never meet
            raise JobError(f"{where}: low {low.value_at(0):g} is above high {high.value_at(0):g}, so the key is "
                           "empty on every frame")
        return LumaMask(
            field, low, high, _curve(d, "softness", where, 0.0, 0.0),
            tuple(float(c) for c in coeffs),  # type: ignore[arg-type]
        )  # fmt: skip
    d = _mapping(body, where, ("hue", "width", "softness", "min_saturation"), ("hue", "width"))
    return HueMask(
        field, _curve(d, "hue", where), _curve(d, "width", where, minimum=0.0),
        _curve(d, "softness", where, 0.0, 0.0), _curve(d, "min_saturation", where, 0.05, 0.0),
    )  # fmt: skip


def _parse_op(data: dict[str, Any], field: str, depth: int) -> MaskSpec:
    op = data["op"]
    if op == "maximum":
        op = "max"
    if op not in OPS:
        raise JobError(f"{field}.op: expected one of {', '.join(OPS)}, got {_r(op)}")
    if op in ("multiply", "max", "subtract"):
        d = _mapping(data, field, ("op", "masks"), ("masks",))
        items = d["masks"]
        if not isinstance(items, (list, tuple)) or len(items) < 2:
            raise JobError(f"{field}.masks: expected a list of at least 2 masks, got {_r(items)}")
        if len(items) > MAX_MASKS:
            raise JobError(f"{field}.masks: {len(items)} masks, at most {MAX_MASKS}")
        return OpMask(field, op, tuple(_parse(m, f"{field}.masks[{i}]", depth + 1) for i, m in enumerate(items)))
    amount_key = {"invert": None, "blur": "radius", "grow": "pixels"}[op]
    allowed = ("op", "mask") + ((amount_key,) if amount_key else ())
    d = _mapping(data, field, allowed, allowed)
    inner = _parse(d["mask"], f"{field}.mask", depth + 1)
    amount = None
    if op == "blur":
        amount = _curve(d, "radius", field, minimum=0.0, maximum=MAX_BLUR)
    elif op == "grow":
        amount = _curve(d, "pixels", field, minimum=-MAX_GROW, maximum=MAX_GROW)
    return OpMask(field, op, (inner,), amount)
