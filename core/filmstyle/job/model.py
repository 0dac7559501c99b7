"""The job: one render described in plain, validated, immutable values.

``stylize`` flags, job files and worker requests all arrive as plain data and go through
:func:`job_from_data`, the one boundary where values are checked (against the parameter table,
:mod:`filmstyle.job.params`) and compiled: curves parsed, styles resolved, masks parsed and every
look built, once. :func:`filmstyle.job.plan.build_plan` then adds what the file system says.

A job file (format version 2; see ``filmstyle job init`` for a commented template)::

    filmstyle: 2
    input: plates/shot.####.exr
    output: render/shot_styled.####.exr
    styles: [pale-wash, starry-blue]
    strength: "1001:0, 1040:1 smooth, 1100:0.3 hold"

Old formats keep loading: :data:`UPGRADES` turns version N data into N + 1 (version 1 spelled
``colour:`` and ``preserve_colour``).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from filmstyle.choices import canonical_device, precision_problem
from filmstyle.errors import FilmStyleError, JobError, PathRefused, StyleError, clip
from filmstyle.job.curves import Curve, Key
from filmstyle.job.fields import (
    Where,
    check_bounds,
    check_curve,
    check_keys,
    check_value,
    curve_param,
    describe,
    mapping,
)
from filmstyle.job.limits import MAX_BLEND_STYLES, MAX_REGIONS, PathCheck, absolute_path, check_shape
from filmstyle.job.look import MAX_STRENGTH, Look, StyleLayer, StyleWeight, blend_model
from filmstyle.job.masks import FileMask, MaskSpec, OpMask, parse_mask
from filmstyle.job.params import BY_NAME, JOB_VERSION, Parameter, job_parameters
from filmstyle.job.regions import Region, resolve_mask_paths
from filmstyle.job.styles import StyleRef
from filmstyle.job.user_styles import CustomStyleRef, resolve_any_style, style_path

__all__ = [
    "JOB_VERSION",
    "SUPPORTED_VERSIONS",
    "UPGRADES",
    "StyleEntry",
    "RegionEntry",
    "LookEntry",
    "Compiled",
    "Job",
    "job_from_data",
]


def _upgrade_1(data: dict[str, Any]) -> dict[str, Any]:
    """Version 1 spelled colour the British way in two field names."""
    renames = {"colour": "color", "preserve_colour": "preserve_color"}
    return {renames.get(k, k): v for k, v in data.items()}


#: ``version -> function turning that version's data into the next version's``.
UPGRADES: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {1: _upgrade_1}
SUPPORTED_VERSIONS: tuple[int, ...] = tuple(sorted({JOB_VERSION, *UPGRADES}))

_WEIGHT = Parameter("weight", "curve", "A style's blend weight (normalised per frame).", minimum=0.0, maximum=1e6)
_STYLE_KEYS = ("style", "weight")
_REGION_KEYS = ("name", "mask", "styles", "strength")
_LOOK_KEYS = ("styles", "strength")


@dataclass(frozen=True)
class StyleEntry:
    """One style of a blend as written, its weight curve and what it resolved to."""

    style: str
    weight: Curve = field(default_factory=lambda: Curve.constant(1.0))
    ref: StyleRef | CustomStyleRef | None = field(default=None, compare=False)

    def to_data(self) -> dict[str, Any]:
        return {"style": self.style, "weight": self.weight.to_data()}


@dataclass(frozen=True)
class RegionEntry:
    """One region as written (``mask_data``) with its parsed mask and optional look overrides."""

    mask_data: Mapping[str, Any]
    mask: MaskSpec = field(compare=False)
    styles: tuple[StyleEntry, ...] | None = None
    strength: Curve | None = None
    name: str | None = None


@dataclass(frozen=True)
class LookEntry:
    """The look outside all regions; a field left None takes the top-level one."""

    styles: tuple[StyleEntry, ...] | None = None
    strength: Curve | None = None


@dataclass(frozen=True)
class Compiled:
    """What a job compiles to, once: every look, the regions (pointing at looks by index), and the
    per-frame parameters by name (curves set to None when off on every frame)."""

    looks: tuple[Look, ...]
    regions: tuple[Region, ...]
    default: int | None
    params: Mapping[str, Any]


@dataclass(frozen=True, eq=False)
class Job:
    """A validated job: ``values`` holds every field by parameter name, the table's default where
    the job left it out (curves as :class:`~filmstyle.job.curves.Curve`, style and region entries
    as tuples). Read any field as an attribute (``job.strength``, ``job.ocio``).

    ``base_dir`` is where relative paths resolve from; ``source`` names the job in messages and
    ``lines`` maps field paths to YAML lines (neither takes part in comparisons).
    """

    values: Mapping[str, Any]
    compiled: Compiled
    base_dir: Path
    source: str = "<command line>"
    lines: Mapping[str, int] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Any:
        values = object.__getattribute__(self, "values")
        if name not in values:
            raise AttributeError(name)
        return values[name]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Job):
            return NotImplemented
        return dict(self.values) == dict(other.values) and self.base_dir == other.base_dir

    def __hash__(self) -> int:
        return hash((tuple(sorted(self.values)), self.base_dir))

    def with_values(self, **changes: Any) -> Job:
        """The same job with plain fields replaced (checked like the rest; e.g. ``frames`` from
        ``render --frames``). Only fields that do not change the looks may be replaced."""
        w = Where(self.source, self.lines)
        values = dict(self.values)
        for name, value in changes.items():
            param = BY_NAME[name]
            if param.kind in ("curve", "styles", "regions", "look"):
                raise JobError(f"{name}: cannot be replaced after the job is compiled")
            checked = check_value(w, param, value, param.flag or name)
            values[name] = _default(param) if checked is None else checked
        return replace(self, values=MappingProxyType(values))

    def to_data(self) -> dict[str, Any]:
        """Plain data (YAML/JSON-able) that :func:`job_from_data` reads back to an equal job."""
        data: dict[str, Any] = {"filmstyle": JOB_VERSION}
        for param in job_parameters():
            value = _plain(param, self.values[param.name])
            if not param.required and value == _plain(param, _default(param)):
                continue
            node = data
            if param.group is not None:
                node = data.setdefault(param.group, {})
            node[param.key] = value
        return data


def _default(param: Parameter) -> Any:
    if param.kind == "curve" and param.default is not None:
        return Curve.constant(param.default)
    if param.kind in ("styles", "regions", "frame_files"):
        return ()
    return param.default


def _plain(param: Parameter, value: Any) -> Any:
    if isinstance(value, Curve):
        return value.to_data()
    if param.kind == "frame_files":
        return {frame: path for frame, path in value}
    if param.kind == "styles":
        return [e.to_data() for e in value]
    if param.kind == "regions":
        out = []
        for r in value:
            item: dict[str, Any] = {} if r.name is None else {"name": r.name}
            item["mask"] = copy.deepcopy(dict(r.mask_data))
            if r.styles is not None:
                item["styles"] = [e.to_data() for e in r.styles]
            if r.strength is not None:
                item["strength"] = r.strength.to_data()
            out.append(item)
        return out
    if param.kind == "look":
        if value is None:
            return None
        look: dict[str, Any] = {}
        if value.styles is not None:
            look["styles"] = [e.to_data() for e in value.styles]
        if value.strength is not None:
            look["strength"] = value.strength.to_data()
        return look
    return copy.deepcopy(value)


# ------------------------------------------------------------------------------------------ parsing


def _upgrade(w: Where, data: dict[str, Any]) -> dict[str, Any]:
    if "filmstyle" not in data:
        raise w.error("filmstyle", f"missing the job format version; add `filmstyle: {JOB_VERSION}` at the top")
    version = data["filmstyle"]
    supported = ", ".join(map(str, SUPPORTED_VERSIONS))
    if isinstance(version, bool) or not isinstance(version, int) or version not in SUPPORTED_VERSIONS:
        raise w.error("filmstyle", f"job format version {describe(version).split(' ', 1)[1]} is not supported "
                                   f"by this filmstyle, supported: {supported}")
    while version < JOB_VERSION:
        data = UPGRADES[version](data)
        version += 1
        data["filmstyle"] = version
    return data


def _confine(w: Where, check: PathCheck | None, field: str, path: Path) -> None:
    """Ask the caller's allow-list about ``path`` before anything on disk is looked at."""
    if check is None:
        return
    refusal = check(w.label(field), path)
    if refusal:
        raise PathRefused(f"{w.prefix}{clip(refusal, 300)}")


def _mask_files(spec: MaskSpec) -> list[FileMask]:
    if isinstance(spec, FileMask):
        return [spec]
    if isinstance(spec, OpMask):
        return [f for inner in spec.masks for f in _mask_files(inner)]
    return []


def _style_entries(w: Where, value: Any, path: str, base_dir: Path, check: PathCheck | None) -> tuple[StyleEntry, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value:
        raise w.error(path, f"expected a list of styles (names, image paths or {{style, weight}}), got {describe(value)}")
    if len(value) > MAX_BLEND_STYLES:
        raise w.error(path, f"{len(value)} styles in one blend, at most {MAX_BLEND_STYLES}")
    entries = []
    for i, item in enumerate(value):
        where = f"{path}[{i}]"
        if isinstance(item, str):
            item = {"style": item}
        if not isinstance(item, dict):
            raise w.error(where, f"expected a style name, an image path or {{style, weight}}, got {describe(item)}")
        check_keys(w, item, where, _STYLE_KEYS)
        if "style" not in item:
            raise w.error(where, "missing 'style'")
        text = check_value(w, BY_NAME["input"], item["style"], f"{where}.style")
        try:
            named = style_path(text, base_dir=base_dir, field=f"{where}.style")
        except FilmStyleError as exc:
            raise w.wrap(exc, f"{where}.style") from None
        if named is not None:
            _confine(w, check, f"{where}.style", named)
        try:
            ref = resolve_any_style(text, base_dir=base_dir, field=f"{where}.style")
        except FilmStyleError as exc:
            raise w.wrap(exc, f"{where}.style") from None
        weight = check_curve(w, _WEIGHT, item.get("weight", 1.0), f"{where}.weight")
        entries.append(StyleEntry(text, weight, ref))
    return tuple(entries)


def _look_entry(w: Where, raw: Any, path: str, allowed: tuple[str, ...], base_dir: Path,
                check: PathCheck | None) -> dict[str, Any]:
    d = mapping(w, raw, path, allowed)
    return {
        "styles": _style_entries(w, d["styles"], f"{path}.styles", base_dir, check) if "styles" in d else None,
        "strength": check_curve(w, BY_NAME["strength"], d["strength"], f"{path}.strength") if "strength" in d else None,
    }


def _regions(w: Where, raw: Any, base_dir: Path, check: PathCheck | None) -> tuple[RegionEntry, ...]:
    if not isinstance(raw, list):
        raise w.error("regions", f"expected a list of regions ({{mask, styles, strength}}), got {describe(raw)}")
    if len(raw) > MAX_REGIONS:
        raise w.error("regions", f"{len(raw)} regions, at most {MAX_REGIONS}")
    out = []
    for i, item in enumerate(raw):
        where = f"regions[{i}]"
        r = mapping(w, item, where, _REGION_KEYS)
        if "mask" not in r:
            raise w.error(where, "missing 'mask'")
        try:
            mask = resolve_mask_paths(parse_mask(r["mask"], field=f"{where}.mask"), base_dir)
        except FilmStyleError as exc:
            raise w.wrap(exc, f"{where}.mask") from None
        for matte in _mask_files(mask):
            _confine(w, check, f"{matte.field}.file", Path(matte.path))
        look = _look_entry(w, {k: v for k, v in r.items() if k in _LOOK_KEYS}, where, _LOOK_KEYS, base_dir, check)
        name = check_value(w, BY_NAME["layer"], r.get("name"), f"{where}.name")
        out.append(RegionEntry(copy.deepcopy(r["mask"]), mask, look["styles"], look["strength"], name))
    return tuple(out)


def _field(w: Where, data: Mapping[str, Any], param: Parameter) -> tuple[bool, Any]:
    """``(given, raw value)`` of a field, looking into its group mapping for nested paths."""
    if param.group is None:
        return param.key in data, data.get(param.key)
    group = data.get(param.group)
    return isinstance(group, dict) and param.key in group, (group or {}).get(param.key)


def job_from_data(
    data: Mapping[str, Any],
    *,
    base_dir: Path,
    source: str = "<request>",
    lines: Mapping[str, int] | None = None,
    check_path: PathCheck | None = None,
) -> Job:
    """Validate and compile plain job data (a parsed YAML document or a JSON request body).

    Args:
        data: the job format (see the module docstring); ``filmstyle: N`` is required.
        base_dir: where relative input, output, style-image and matte paths resolve from.
        source: names the job in messages (a file name; ``"<...>"`` names are not printed).
        lines: field path → line number, for messages.
        check_path: an allow-list (the worker's): called with ``(field, absolute path)`` for every
            file the job names (input, output, style images, ``custom:`` models, mattes, the OCIO
            config) before anything looks at that file, so a refusal says nothing about what
            exists; returns a one-line refusal or None.

    Raises:
        JobError: one line naming the field path (and line): unknown keys with close matches,
            wrong types, values out of range, bad curves, masks or styles, unsupported versions,
            data nested too deep or too large (:mod:`filmstyle.job.limits`).
        PathRefused: ``check_path`` refused a path.
    """
    w = Where(source, lines or {})
    check_shape(data, where=lambda path: f"{w.prefix}{w.label(path)}")
    if not isinstance(data, Mapping):
        raise w.error("job", f"expected a mapping of fields, got {describe(data)}")
    d = _upgrade(w, dict(data))
    params = job_parameters()
    top = ("filmstyle", *dict.fromkeys(p.group or p.key for p in params))
    check_keys(w, d, "", top)
    for group in dict.fromkeys(p.group for p in params if p.group):
        mapping(w, d.get(group), group, tuple(p.key for p in params if p.group == group))
    base_dir = Path(base_dir)
    values: dict[str, Any] = {}
    for param in params:
        given, raw = _field(w, d, param)
        if not given and not param.required:
            values[param.name] = _default(param)
            continue
        if param.kind == "styles":
            value: Any = _style_entries(w, raw, param.path, base_dir, check_path)  # type: ignore[arg-type]
        elif param.kind == "regions":
            value = None if raw is None else _regions(w, raw, base_dir, check_path)
        elif param.kind == "look":
            value = LookEntry(**_look_entry(w, {} if raw is None else raw, param.path, _LOOK_KEYS, base_dir,  # type: ignore[arg-type]
                                            check_path))
        elif param.kind == "curve" and raw is None:
            raise w.error(param.path, f"expected a number or a curve, got {describe(raw)}")  # type: ignore[arg-type]
        else:
            value = check_value(w, param, raw, param.path)
            if param.kind == "path" and value is not None and not value.startswith("ocio://"):
                # input and output keep their own name checks (where frames are found and written)
                try:
                    where = absolute_path(value, base_dir, param.path, names=param.name == "ocio")  # type: ignore[arg-type]
                except FilmStyleError as exc:
                    raise w.wrap(exc, param.path) from None  # type: ignore[arg-type]
                _confine(w, check_path, param.path, where)  # type: ignore[arg-type]
            if param.kind == "frame_files" and value is not None:
                for frame, file in value:
                    field = f"{param.path}[{frame}]"
                    try:
                        where = absolute_path(file, base_dir, field)
                    except FilmStyleError as exc:
                        raise w.wrap(exc, field) from None
                    _confine(w, check_path, field, where)
        values[param.name] = _default(param) if value is None else value
    frozen = MappingProxyType(values)
    return Job(frozen, _compile(w, frozen, base_dir), base_dir, source, MappingProxyType(dict(lines or {})))


# ---------------------------------------------------------------------------------------- compiling


def _look(w: Where, styles: tuple[StyleEntry, ...], strength: Curve, styles_path: str, strength_path: str,
          name: str) -> Look:
    try:
        model = blend_model([StyleWeight(e.ref, 1.0) for e in styles], field=styles_path)  # type: ignore[arg-type]
    except StyleError as exc:
        raise w.wrap(exc, styles_path) from None
    if all(k.value == 0 for e in styles for k in e.weight.keys):
        raise w.error(styles_path, "every style weight is 0 on every frame")
    check_bounds(w, BY_NAME["strength"], strength, strength_path, maximum=MAX_STRENGTH[model])
    return Look(tuple(StyleLayer(e.ref, e.weight.value_at) for e in styles), strength.value_at, field=name)  # type: ignore[arg-type]


def _keyframe_look(w: Where, keyframes: tuple[tuple[int, str], ...], strength: Curve, base_dir: Path) -> Look:
    """The keyframes as image styles, each weighted 1 at its frame and 0 at its neighbours' (linear
    in between, held before the first and after the last): the style follows the nearest keyframes."""
    frames = [f for f, _ in keyframes]
    entries = []
    for i, (frame, path) in enumerate(keyframes):
        keys = [Key(frame, 1.0)]
        if i > 0:
            keys.append(Key(frames[i - 1], 0.0))
        if i + 1 < len(frames):
            keys.append(Key(frames[i + 1], 0.0))
        where = f"keyframes[{frame}]"
        try:
            ref = resolve_any_style(path, base_dir=base_dir, field=where)
        except FilmStyleError as exc:
            raise w.wrap(exc, where) from None
        if ref.model != "arbitrary":
            raise w.error(where, f"{path!r} is not an image file")
        entries.append(StyleEntry(path, Curve(keys), ref))
    return _look(w, tuple(entries), strength, "keyframes", "strength", "keyframes")


def _compile(w: Where, values: Mapping[str, Any], base_dir: Path) -> Compiled:
    """Build every look and region once; check the rules that span several fields."""
    get = values.__getitem__
    styles, strength, regions_in, default_in = get("styles"), get("strength"), get("regions"), get("default")
    problem = precision_problem(canonical_device(get("device")) or "", get("precision"))
    if problem is not None:
        raise w.error("precision", problem)
    looks: list[Look] = []
    keyframes = get("keyframes")
    if keyframes and regions_in:
        raise w.error("keyframes", "painted keyframes need a whole-frame job (no regions)")
    if styles:
        looks.append(_look(w, styles, strength, "styles", "strength", "styles"))
    elif keyframes:
        looks.append(_keyframe_look(w, keyframes, strength, base_dir))
    elif not regions_in:
        raise w.error("styles", "at least one style is required (or painted keyframes)")
    regions = []
    for i, entry in enumerate(regions_in):
        where = f"regions[{i}]"
        r_styles = entry.styles if entry.styles is not None else styles
        if not r_styles:
            raise w.error(f"{where}.styles", "no styles here and none at the top level")
        own = entry.strength is not None
        looks.append(_look(w, r_styles, entry.strength if own else strength,
                           f"{where}.styles" if entry.styles is not None else "styles",
                           f"{where}.strength" if own else "strength", where))
        regions.append(Region(entry.mask, len(looks) - 1, entry.name))
    default = None
    if default_in is not None:
        if not regions_in:
            raise w.error("default", "a look for outside the regions needs at least one region")
        d_styles = default_in.styles if default_in.styles is not None else styles
        if not d_styles:
            raise w.error("default.styles", "no styles here and none at the top level")
        own = default_in.strength is not None
        looks.append(_look(w, d_styles, default_in.strength if own else strength,
                           "default.styles" if default_in.styles is not None else "styles",
                           "default.strength" if own else "strength", "default"))
        default = len(looks) - 1
    if any(lk.model == "custom" for lk in looks) and (get("tiling") == "on" or get("shot_stats")):
        raise w.error("tiling" if get("tiling") == "on" else "shot_stats",
                      "tiling on and shot_stats need the built-in networks (frozen statistics); custom models run whole-frame")
    params = {}
    for param in job_parameters():
        if param.kind in ("styles", "regions", "look") or param.name == "strength":
            continue
        value = get(param.name)
        params[param.name] = curve_param(param, value) if isinstance(value, Curve) else value
    return Compiled(tuple(looks), tuple(regions), default, MappingProxyType(params))
