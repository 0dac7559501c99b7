"""The job model: one validated description of a render, from the CLI, a YAML file or a host.

``stylize`` flags, job files and worker requests all land in the same :class:`Job`, and
:func:`build_plan` is the one place a job becomes a :class:`~filmstyle.engine.render.RenderPlan`.

Job files (format version 1)::

    filmstyle: 1                       # required: the job format version
    input: plates/shot.####.exr        # relative paths resolve from the job file's folder
    output: render/shot_styled.####.exr
    frames: 1001-1100                  # optional; default every frame found on disk
    layer: diffuse                     # optional EXR layer;  part: optional part name or index
    colour: {ocio: ..., input_colorspace: ..., working_space: ..., output_colorspace: ...}
    device: cpu                        # model options: cpu or cuda; precision fp32, fp16, bf16
    precision: fp32
    styles:                            # a blend: weights are curves, normalised per frame
      - {style: pale-wash, weight: "1001:1, 1100:0"}
      - {style: paintings/monet.jpg, weight: "1001:0, 1100:1"}
    strength: "1001:0, 1040:1 smooth, 1100:0.3 hold"
    regions:                           # optional; later regions go over earlier ones
      - name: face
        mask: {ellipse: {center: [960, 400], radius: [220, 300], feather: 60}}
        styles: [stained-glass]        # optional: defaults to the top-level styles
        strength: 1                    # optional: defaults to the top-level strength
    default: {}                        # with regions: the look outside them ({} = top-level
                                       # styles/strength); omitted = untouched outside
    bit_depth: half                    # output options (default: the source's)
    compression: zip
    overwrite: false
    clean_nans: false
    temporal: 0.6                      # shot quality (all optional, off by default):
    temporal_cut_threshold: 0.35       #   flicker reduction 0..<1 (curve) and its cut test
    preserve_colour: 1                 #   keep the plate's colour (0..1, curve)
    histogram_match: 0                 #   match the plate's per-channel histograms (0..1, curve)
    stroke_scale: 1                    #   strokes as at 1080 rows x this, any resolution
    stroke_detail: 1                   #   plate detail added back above the processing size
    tiling: auto                       #   auto | on | off, with tile_size: 1024
    shot_stats: false                  #   freeze instance-norm statistics per shot

Shot-quality fields:

* ``temporal`` (number or curve, 0 <= a < 1; 0 = off): each look's stylized frame is blended with
  its previous result warped along the optical flow of the plate (DIS), where the flow is
  reliable: ``out = c (a warp(prev) + (1 - a) styled) + (1 - c) styled``. Cuts (a luma-histogram
  jump above ``temporal_cut_threshold``, 0..2, default 0.35) restart it. Resumed renders rebuild
  it from the previous frame on disk.
* ``preserve_colour`` (0..1, curve): the stylized lightness under the plate's Oklab chroma and hue.
  One spelling, as in ``colour:`` and the host plugins; ``preserve_color`` is an unknown key
  (the error suggests the right one). ``histogram_match`` (0..1, curve): per-channel histogram
  matching to the plate, applied before ``preserve_colour``.
* ``stroke_scale`` (number > 0; default none = the network at the plate's own resolution): the
  network runs at ``1080 / stroke_scale`` rows and is resized back, so a look has the same
  strokes at 2K, 4K and 8K; ``stroke_detail`` (0..1, default 1) adds the plate's finer detail back.
* ``tiling`` (``auto``: tile frames above 4096x2304 pixels; ``on``; ``off``), ``tile_size``
  (>= 64, default 1024): tiles share one set of instance-norm statistics, so they join without
  seams and an 8K frame fits in a few GB. ``shot_stats: true`` freezes those statistics at the
  first frame of each shot (no global pumping of tone), restarting on cuts.
* User models: ``style: custom:models/monet.pth`` (fast-neural-style or CycleGAN ``.pth``, or
  ``.onnx``), or a name from the user styles file (see :mod:`filmstyle.job.user_styles`).

Every number that can change over a shot (weights, strengths, mask shape parameters) takes a
curve in any form :func:`filmstyle.job.curves.parse_curve` reads. Errors are one line naming the field
path and, for files, the line: ``"job.yaml: strength (line 9): bad key '1040' (expected ...)"``.

A future format version adds an entry to ``_UPGRADES`` that turns version N data into N + 1;
:func:`job_from_data` applies them in turn, so old job files keep loading.
"""

from __future__ import annotations

import copy
import difflib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from filmstyle import io
from filmstyle.errors import FilmStyleError, JobError
from filmstyle.job.curves import Curve, parse_curve
from filmstyle.job.masks import parse_mask
from filmstyle.job.regions import Region, resolve_mask_paths
from filmstyle.job.look import MAX_STRENGTH, TILING_MODES, Look, NetworkOptions, Param, StyleLayer, constant
from filmstyle.job.plan import RenderPlan
from filmstyle.job.user_styles import resolve_any_style

__all__ = [
    "JOB_VERSION",
    "SUPPORTED_VERSIONS",
    "DEVICES",
    "PRECISIONS",
    "JOB_TEMPLATE",
    "StyleEntry",
    "RegionEntry",
    "LookEntry",
    "Job",
    "CompiledJob",
    "load_job",
    "job_from_data",
    "compile_job",
    "build_plan",
    "plan_from_cli",
    "blend_weights",
    "job_json_schema",
]

JOB_VERSION = 1
DEVICES = ("cpu", "cuda")
PRECISIONS = ("fp32", "fp16", "bf16")

#: ``version -> function turning that version's data into the next version's``.
_UPGRADES: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}
SUPPORTED_VERSIONS: tuple[int, ...] = tuple(sorted({JOB_VERSION, *_UPGRADES}))

TOP_KEYS = (
    "filmstyle", "input", "output", "frames", "layer", "part", "colour", "device", "precision",
    "styles", "strength", "regions", "default", "bit_depth", "compression", "overwrite", "clean_nans",
    "temporal", "temporal_cut_threshold", "preserve_colour", "histogram_match", "stroke_scale", "stroke_detail",
    "tiling", "tile_size", "shot_stats",
)  # fmt: skip
#: Shot-quality fields and their defaults (left out of :meth:`Job.to_data` when default).
QUALITY_DEFAULTS: dict[str, Any] = {
    "temporal": 0.0, "temporal_cut_threshold": None, "preserve_colour": 0.0, "histogram_match": 0.0,
    "stroke_scale": None, "stroke_detail": 1.0, "tiling": "auto", "tile_size": None, "shot_stats": False,
}  # fmt: skip
#: Tile side when ``tile_size`` is not given.
DEFAULT_TILE_SIZE = 1024
COLOUR_KEYS = ("ocio", "input_colorspace", "working_space", "output_colorspace")
STYLE_KEYS = ("style", "weight")
REGION_KEYS = ("name", "mask", "styles", "strength")
DEFAULT_KEYS = ("styles", "strength")


# ------------------------------------------------------------------------------------------- the model


@dataclass
class StyleEntry:
    """One style of a blend: a built-in name or an image path, and its weight (number or curve)."""

    style: str
    weight: Any = 1.0


@dataclass
class RegionEntry:
    """One region as written: a mask description and optional look overrides."""

    mask: dict[str, Any]
    styles: list[StyleEntry] | None = None
    strength: Any = None
    name: str | None = None


@dataclass
class LookEntry:
    """The look outside all regions; a field left None takes the top-level one."""

    styles: list[StyleEntry] | None = None
    strength: Any = None


@dataclass
class Job:
    """A render job as written (curves and masks kept in the form given, paths unresolved).

    ``base_dir`` is where relative paths resolve from (the job file's folder, or the current
    directory for command-line jobs); ``source`` names where the job came from in messages and
    ``lines`` maps field paths to YAML line numbers (both left out of comparisons).
    """

    input: str
    output: str
    styles: list[StyleEntry] = field(default_factory=list)
    strength: Any = 1.0
    frames: str | None = None
    layer: str | None = None
    part: int | str | None = None
    ocio: str | None = None
    input_colorspace: str | None = None
    working_space: str | None = None
    output_colorspace: str | None = None
    clean_nans: bool = False
    overwrite: bool = False
    device: str = "cpu"
    precision: str = "fp32"
    bit_depth: str | int | None = None
    compression: str | None = None
    regions: list[RegionEntry] = field(default_factory=list)
    default: LookEntry | None = None
    temporal: Any = 0.0
    temporal_cut_threshold: float | None = None
    preserve_colour: Any = 0.0
    histogram_match: Any = 0.0
    stroke_scale: float | None = None
    stroke_detail: float = 1.0
    tiling: str = "auto"
    tile_size: int | None = None
    shot_stats: bool = False
    base_dir: Path = field(default_factory=Path.cwd)
    source: str = field(default="<command line>", compare=False)
    lines: dict[str, int] = field(default_factory=dict, compare=False, repr=False)

    def validate(self) -> CompiledJob:
        """Check every field (styles resolved, curves and masks parsed); see :func:`compile_job`."""
        return compile_job(self)

    def to_data(self) -> dict[str, Any]:
        """Plain data (YAML/JSON-able) that :func:`job_from_data` reads back to an equal job."""
        data: dict[str, Any] = {"filmstyle": JOB_VERSION, "input": self.input, "output": self.output}
        if self.frames is not None:
            data["frames"] = self.frames
        if self.layer is not None:
            data["layer"] = self.layer
        if self.part is not None:
            data["part"] = self.part
        colour = {k: getattr(self, k) for k in COLOUR_KEYS if getattr(self, k) is not None}
        if colour:
            data["colour"] = colour
        data["device"] = self.device
        data["precision"] = self.precision
        if self.styles:
            data["styles"] = _styles_data(self.styles)
        data["strength"] = _plain(self.strength)
        if self.regions:
            regions = []
            for r in self.regions:
                item: dict[str, Any] = {}
                if r.name is not None:
                    item["name"] = r.name
                item["mask"] = copy.deepcopy(r.mask)
                if r.styles is not None:
                    item["styles"] = _styles_data(r.styles)
                if r.strength is not None:
                    item["strength"] = _plain(r.strength)
                regions.append(item)
            data["regions"] = regions
        if self.default is not None:
            d: dict[str, Any] = {}
            if self.default.styles is not None:
                d["styles"] = _styles_data(self.default.styles)
            if self.default.strength is not None:
                d["strength"] = _plain(self.default.strength)
            data["default"] = d
        if self.bit_depth is not None:
            data["bit_depth"] = self.bit_depth
        if self.compression is not None:
            data["compression"] = self.compression
        data["overwrite"] = self.overwrite
        data["clean_nans"] = self.clean_nans
        for key, default in QUALITY_DEFAULTS.items():
            value = getattr(self, key)
            if value != default:
                data[key] = _plain(value)
        return data


def _plain(value: Any) -> Any:
    return value.to_data() if isinstance(value, Curve) else copy.deepcopy(value)


def _styles_data(entries: list[StyleEntry]) -> list[dict[str, Any]]:
    return [{"style": e.style, "weight": _plain(e.weight)} for e in entries]


# ------------------------------------------------------------------------------------ error reporting


_PATH = re.compile(r"^[A-Za-z_][\w-]*(?:\[\d+\]|\.[A-Za-z_][\w-]*)*")


class _Where:
    """Formats one-line errors with the field path and, when known, the YAML line."""

    def __init__(self, source: str, lines: Mapping[str, int]) -> None:
        self.prefix = "" if source.startswith("<") else f"{source}: "
        self.lines = lines

    def line(self, path: str) -> int | None:
        probe = path
        while probe:
            if probe in self.lines:
                return self.lines[probe]
            cut = max(probe.rfind("."), probe.rfind("["))
            probe = probe[:cut] if cut > 0 else ""
        return None

    def label(self, path: str) -> str:
        n = self.line(path)
        return f"{path} (line {n})" if n is not None else path

    def error(self, path: str, message: str) -> JobError:
        return JobError(f"{self.prefix}{self.label(path)}: {message}")

    def wrap(self, exc: FilmStyleError, path: str) -> JobError:
        """Re-issue a sub-parser's error (which starts with a field path) with the line added."""
        text = str(exc)
        m = _PATH.match(text)
        if m and m.group(0).startswith(path.split("[")[0].split(".")[0]):
            return JobError(f"{self.prefix}{self.label(m.group(0))}{text[m.end():]}")
        return JobError(f"{self.prefix}{self.label(path)}: {text}")


def _describe(value: Any) -> str:
    kind = {dict: "mapping", list: "list", str: "string", bool: "boolean", int: "integer", float: "number"}.get(
        type(value), type(value).__name__
    )
    text = repr(value)
    return f"{kind} {text if len(text) <= 60 else text[:57] + '...'}"


def _check_keys(w: _Where, data: Mapping[str, Any], path: str, allowed: tuple[str, ...]) -> None:
    for key in data:
        if key not in allowed:
            where = f"{path}.{key}" if path else str(key)
            close = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.6)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise w.error(where, f"unknown key, {hint}valid: {', '.join(allowed)}")


def _mapping(w: _Where, value: Any, path: str, allowed: tuple[str, ...]) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise w.error(path, f"expected a mapping with {', '.join(allowed)}, got {_describe(value)}")
    _check_keys(w, value, path, allowed)
    return value


def _string(w: _Where, value: Any, path: str, *, optional: bool = True) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value.strip():
        raise w.error(path, f"expected a non-empty string, got {_describe(value)}")
    return value


def _bool(w: _Where, value: Any, path: str, default: bool) -> bool:
    if value is None:
        return default
    if not isinstance(value, bool):
        raise w.error(path, f"expected true or false, got {_describe(value)}")
    return value


def _choice(w: _Where, value: Any, path: str, valid: tuple[Any, ...], default: Any) -> Any:
    if value is None:
        return default
    if isinstance(value, bool) or value not in valid:
        raise w.error(path, f"expected one of {', '.join(map(str, valid))}, got {_describe(value)}")
    return value


def _style_entries(w: _Where, value: Any, path: str) -> list[StyleEntry]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value:
        raise w.error(path, f"expected a list of styles (names, image paths or {{style, weight}}), got {_describe(value)}")
    entries = []
    for i, item in enumerate(value):
        where = f"{path}[{i}]"
        if isinstance(item, str):
            entries.append(StyleEntry(item))
            continue
        if not isinstance(item, dict):
            raise w.error(where, f"expected a style name, an image path or {{style, weight}}, got {_describe(item)}")
        _check_keys(w, item, where, STYLE_KEYS)
        if "style" not in item:
            raise w.error(where, "missing 'style'")
        style = _string(w, item["style"], f"{where}.style", optional=False)
        weight = item.get("weight", 1.0)
        if weight is None:
            raise w.error(f"{where}.weight", "expected a number or a curve, got nothing")
        entries.append(StyleEntry(style, copy.deepcopy(weight)))  # type: ignore[arg-type]
    return entries


def _curve_value(w: _Where, value: Any, path: str) -> Any:
    if value is None or isinstance(value, bool):
        raise w.error(path, f"expected a number or a curve, got {_describe(value)}")
    return copy.deepcopy(value)


# ------------------------------------------------------------------------------------------- loading


def _upgrade(w: _Where, data: dict[str, Any]) -> dict[str, Any]:
    if "filmstyle" not in data:
        raise w.error("filmstyle", f"missing the job format version; add `filmstyle: {JOB_VERSION}` at the top")
    version = data["filmstyle"]
    supported = ", ".join(map(str, SUPPORTED_VERSIONS))
    if isinstance(version, bool) or not isinstance(version, int) or version not in SUPPORTED_VERSIONS:
        raise w.error(
            "filmstyle",
            f"job format version {version!r} is not supported by this filmstyle, supported: {supported}",
        )
    while version < JOB_VERSION:
        data = _UPGRADES[version](data)
        version += 1
        data["filmstyle"] = version
    return data


def job_from_data(
    data: Mapping[str, Any],
    *,
    base_dir: Path,
    source: str = "<request>",
    lines: Mapping[str, int] | None = None,
) -> Job:
    """Validate plain job data (a parsed YAML document or a JSON request body) into a :class:`Job`.

    Args:
        data: see the module docstring for the format; ``filmstyle: 1`` is required.
        base_dir: where relative input, output, style-image and matte paths resolve from.
        source: names the job in messages (a file name; ``"<...>"`` names are not printed).
        lines: field path → line number, for messages (see :func:`load_job`).

    Raises:
        JobError: one line naming the field path (and line): unknown keys with close matches,
            wrong types, bad curves, masks or styles, unsupported format versions.
    """
    w = _Where(source, lines or {})
    if not isinstance(data, Mapping):
        raise w.error("job", f"expected a mapping of fields, got {_describe(data)}")
    d = _upgrade(w, dict(data))
    _check_keys(w, d, "", TOP_KEYS)
    for key in ("input", "output"):
        if key not in d:
            raise w.error(key, "missing (required)")
    frames = d.get("frames")
    if isinstance(frames, int) and not isinstance(frames, bool):
        frames = str(frames)
    if frames is not None:
        if not isinstance(frames, str):
            raise w.error("frames", f"expected a frame range such as 1001-1100 or 1001,1010-1020, got {_describe(frames)}")
        try:
            io.parse_frame_range(frames)
        except FilmStyleError as exc:
            raise w.error("frames", str(exc)) from None
    part = d.get("part")
    if part is not None and (isinstance(part, bool) or not isinstance(part, (int, str))):
        raise w.error("part", f"expected a part index or name, got {_describe(part)}")
    colour = _mapping(w, d.get("colour"), "colour", COLOUR_KEYS)
    bit_depth = d.get("bit_depth")
    if bit_depth is not None:
        bit_depth = _choice(w, bit_depth, "bit_depth", io.BIT_DEPTHS, None)
    regions = []
    raw_regions = d.get("regions")
    if raw_regions is not None and not isinstance(raw_regions, list):
        raise w.error("regions", f"expected a list of regions ({{mask, styles, strength}}), got {_describe(raw_regions)}")
    for i, item in enumerate(raw_regions or []):
        where = f"regions[{i}]"
        r = _mapping(w, item, where, REGION_KEYS)
        if "mask" not in r:
            raise w.error(where, "missing 'mask'")
        regions.append(
            RegionEntry(
                mask=copy.deepcopy(r["mask"]),
                styles=_style_entries(w, r["styles"], f"{where}.styles") if "styles" in r else None,
                strength=_curve_value(w, r["strength"], f"{where}.strength") if "strength" in r else None,
                name=_string(w, r.get("name"), f"{where}.name"),
            )
        )
    default = None
    if "default" in d:
        raw = d["default"]
        if raw is None:
            raw = {}
        dd = _mapping(w, raw, "default", DEFAULT_KEYS)
        default = LookEntry(
            styles=_style_entries(w, dd["styles"], "default.styles") if "styles" in dd else None,
            strength=_curve_value(w, dd["strength"], "default.strength") if "strength" in dd else None,
        )
    job = Job(
        input=_string(w, d["input"], "input", optional=False),  # type: ignore[arg-type]
        output=_string(w, d["output"], "output", optional=False),  # type: ignore[arg-type]
        styles=_style_entries(w, d["styles"], "styles") if "styles" in d else [],
        strength=_curve_value(w, d["strength"], "strength") if "strength" in d else 1.0,
        frames=frames,
        layer=_string(w, d.get("layer"), "layer"),
        part=part,
        ocio=_string(w, colour.get("ocio"), "colour.ocio"),
        input_colorspace=_string(w, colour.get("input_colorspace"), "colour.input_colorspace"),
        working_space=_string(w, colour.get("working_space"), "colour.working_space"),
        output_colorspace=_string(w, colour.get("output_colorspace"), "colour.output_colorspace"),
        clean_nans=_bool(w, d.get("clean_nans"), "clean_nans", False),
        overwrite=_bool(w, d.get("overwrite"), "overwrite", False),
        device=_choice(w, d.get("device"), "device", DEVICES, "cpu"),
        precision=_choice(w, d.get("precision"), "precision", PRECISIONS, "fp32"),
        bit_depth=bit_depth,
        compression=_string(w, d.get("compression"), "compression"),
        regions=regions,
        default=default,
        **{k: (copy.deepcopy(d[k]) if d[k] is not None else QUALITY_DEFAULTS[k]) for k in QUALITY_DEFAULTS if k in d},
        base_dir=Path(base_dir),
        source=source,
        lines=dict(lines or {}),
    )
    compile_job(job)
    return job


def _yaml_lines(node: Any, path: str = "", out: dict[str, int] | None = None) -> dict[str, int]:
    """Field path → 1-based line of its key (mapping entries) or item (sequence entries)."""
    import yaml

    out = {} if out is None else out
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            name = str(key.value)
            child = f"{path}.{name}" if path else name
            out.setdefault(child, key.start_mark.line + 1)
            _yaml_lines(value, child, out)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            child = f"{path}[{i}]"
            out.setdefault(child, item.start_mark.line + 1)
            _yaml_lines(item, child, out)
    return out


def load_job(path: str | Path) -> Job:
    """Read and validate a YAML job file; relative paths in it resolve from its folder.

    Raises:
        JobError: unreadable file, invalid YAML, or any field error (with its line number).
    """
    import yaml

    path = Path(path).expanduser()
    name = path.name
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise JobError(f"{path}: job file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise JobError(f"{path}: cannot read job file: {exc}") from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise JobError(f"{name}: not valid YAML{where}: {problem}") from None
    if data is None:
        raise JobError(f"{name}: the job file is empty; `filmstyle job init` writes a template")
    lines = _yaml_lines(node) if node is not None else {}
    if isinstance(data, dict):
        lines.setdefault("filmstyle", 1)
    return job_from_data(data, base_dir=path.resolve().parent, source=name, lines=lines)


# ----------------------------------------------------------------------------------------- compiling


@dataclass(frozen=True)
class CompiledJob:
    """A job's parsed looks and regions (no file system access beyond style images)."""

    look: Look | None
    regions: tuple[Region, ...]
    default: Look | None
    temporal: Param | None = None
    temporal_cut_threshold: float | None = None
    preserve_colour: Param | None = None
    histogram_match: Param | None = None
    network: NetworkOptions = field(default_factory=NetworkOptions)


def _param(w: _Where, value: Any, path: str, *, minimum: float = 0.0, maximum: float | None = None) -> Curve:
    if isinstance(value, bool) or value is None:
        raise w.error(path, f"expected a number or a curve, got {_describe(value)}")
    try:
        curve = parse_curve(value, field=path)
    except FilmStyleError as exc:
        raise w.wrap(exc, path) from None
    values = [k.value for k in curve.keys]
    # Curves never overshoot their keys, so checking the keys checks every frame.
    if min(values) < minimum:
        raise w.error(path, f"expected values >= {minimum:g}, got {min(values):g}")
    if maximum is not None and max(values) > maximum + 1e-9:
        raise w.error(path, f"expected values <= {maximum:g}, got {max(values):g}")
    return curve


def _look(w: _Where, job: Job, styles: list[StyleEntry], strength: Any, styles_path: str, strength_path: str,
          field_name: str) -> Look:
    layers, weights = [], []
    for i, entry in enumerate(styles):
        where = f"{styles_path}[{i}]"
        try:
            ref = resolve_any_style(entry.style, base_dir=job.base_dir, field=f"{where}.style")
        except FilmStyleError as exc:
            raise w.wrap(exc, f"{where}.style") from None
        weight = _param(w, entry.weight, f"{where}.weight")
        weights.append(weight)
        layers.append(StyleLayer(ref, weight.value_at))
    models = {layer.style.model for layer in layers}
    if "custom" in models and len({layer.style for layer in layers}) > 1:
        raise w.error(styles_path, "a custom model cannot be blended with other styles; put it in a region of its own")
    if len(models) > 1:
        raise w.error(
            styles_path,
            "cannot blend built-in looks with image styles in one blend (built-ins run on the 26-style "
            "network, images on the arbitrary network); put them in separate regions",
        )
    if all(k.value == 0 for c in weights for k in c.keys):
        raise w.error(styles_path, "every style weight is 0 on every frame")
    model = models.pop()
    curve = _param(w, strength, strength_path, maximum=MAX_STRENGTH[model])
    return Look(tuple(layers), curve.value_at, field=field_name)


def compile_job(job: Job) -> CompiledJob:
    """Parse a job's styles, curves and masks into looks and regions.

    Raises:
        JobError: the first bad field, with its path (and line).
    """
    w = _Where(job.source, job.lines)
    if job.device not in DEVICES:
        raise w.error("device", f"expected one of {', '.join(DEVICES)}, got {job.device!r}")
    if job.precision not in PRECISIONS:
        raise w.error("precision", f"expected one of {', '.join(PRECISIONS)}, got {job.precision!r}")
    if job.device == "cpu" and job.precision == "fp16":
        raise w.error("precision", "fp16 needs device cuda (half convolutions are not supported on CPU)")
    look = None
    if job.styles:
        look = _look(w, job, job.styles, job.strength, "styles", "strength", "styles")
    elif not job.regions:
        raise w.error("styles", "at least one style is required")
    else:
        _param(w, job.strength, "strength", maximum=max(MAX_STRENGTH.values()))
    regions = []
    for i, entry in enumerate(job.regions):
        where = f"regions[{i}]"
        try:
            mask = parse_mask(entry.mask, field=f"{where}.mask")
        except FilmStyleError as exc:
            raise w.wrap(exc, f"{where}.mask") from None
        styles = entry.styles if entry.styles is not None else job.styles
        if not styles:
            raise w.error(f"{where}.styles", "no styles here and none at the top level")
        strength = entry.strength if entry.strength is not None else job.strength
        strength_path = f"{where}.strength" if entry.strength is not None else "strength"
        styles_path = f"{where}.styles" if entry.styles is not None else "styles"
        region_look = _look(w, job, styles, strength, styles_path, strength_path, where)
        regions.append(Region(resolve_mask_paths(mask, job.base_dir), region_look, entry.name))
    default = None
    if job.default is not None:
        if not job.regions:
            raise w.error("default", "a look for outside the regions needs at least one region")
        styles = job.default.styles if job.default.styles is not None else job.styles
        if not styles:
            raise w.error("default.styles", "no styles here and none at the top level")
        strength = job.default.strength if job.default.strength is not None else job.strength
        default = _look(
            w, job, styles, strength,
            "default.styles" if job.default.styles is not None else "styles",
            "default.strength" if job.default.strength is not None else "strength",
            "default",
        )  # fmt: skip
    quality = _quality(w, job)
    looks = ([look] if look is not None else []) + [r.look for r in regions] + ([default] if default else [])
    if any(lk.model == "custom" for lk in looks) and (job.tiling == "on" or job.shot_stats):
        raise w.error("tiling" if job.tiling == "on" else "shot_stats",
                      "tiling on and shot_stats need the built-in networks (frozen statistics); custom models run whole-frame")
    return CompiledJob(look, tuple(regions), default, **quality)


def _number(w: _Where, value: Any, path: str, *, low: float, high: float | None = None,
            low_open: bool = False, integer: bool = False) -> float:
    """A plain number in range (not a curve): one line naming the field and the bound."""
    kind = "an integer" if integer else "a number"
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (integer and not isinstance(value, int)):
        raise w.error(path, f"expected {kind}, got {_describe(value)}")
    v = float(value)
    if v != v or (v <= low if low_open else v < low) or (high is not None and v > high):
        bound = f"> {low:g}" if low_open else f">= {low:g}"
        bound += f" and <= {high:g}" if high is not None else ""
        raise w.error(path, f"expected {kind} {bound}, got {value!r}")
    return v


def _optional_curve(w: _Where, value: Any, path: str, *, below_one: bool = False) -> Param | None:
    """A 0..1 curve, or None when it is 0 on every frame (the feature is off)."""
    curve = _param(w, value, path, maximum=1.0)
    values = [k.value for k in curve.keys]
    if below_one and max(values) >= 1.0:
        raise w.error(path, f"expected values below 1 (at 1 the first frame would never update), got {max(values):g}")
    return None if all(v == 0 for v in values) else curve.value_at


def _quality(w: _Where, job: Job) -> dict[str, Any]:
    """The shot-quality fields, checked, as :class:`CompiledJob` arguments."""
    threshold = job.temporal_cut_threshold
    if threshold is not None:
        threshold = _number(w, threshold, "temporal_cut_threshold", low=0.0, high=2.0, low_open=True)
    scale = job.stroke_scale
    if scale is not None:
        scale = _number(w, scale, "stroke_scale", low=0.0, low_open=True)
    detail = _number(w, job.stroke_detail, "stroke_detail", low=0.0, high=1.0)
    # YAML 1.1 reads a bare on/off as true/false; both mean the obvious mode here.
    raw_tiling = {True: "on", False: "off"}.get(job.tiling, job.tiling) if isinstance(job.tiling, bool) else job.tiling
    tiling = _choice(w, raw_tiling, "tiling", TILING_MODES, "auto")
    tile = DEFAULT_TILE_SIZE if job.tile_size is None else int(_number(w, job.tile_size, "tile_size", low=64, integer=True))
    if not isinstance(job.shot_stats, bool):
        raise w.error("shot_stats", f"expected true or false, got {_describe(job.shot_stats)}")
    return {
        "temporal": _optional_curve(w, job.temporal, "temporal", below_one=True),
        "temporal_cut_threshold": threshold,
        "preserve_colour": _optional_curve(w, job.preserve_colour, "preserve_colour"),
        "histogram_match": _optional_curve(w, job.histogram_match, "histogram_match"),
        "network": NetworkOptions(tiling=tiling, tile_size=tile, stroke_scale=scale, stroke_detail=detail,
                                  shot_stats=job.shot_stats),
    }


def _resolve(path: str, base: Path) -> str:
    p = Path(path).expanduser()
    return str(p if p.is_absolute() else base / p)


def build_plan(job: Job) -> RenderPlan:
    """Validate a job against the file system and turn it into a render plan."""
    compiled = compile_job(job)
    source = io.find_sequence(_resolve(job.input, job.base_dir), job.frames)
    output = io.output_sequence(source, _resolve(job.output, job.base_dir))
    part: int | str | None = job.part
    if isinstance(part, str) and part.isdigit():
        part = int(part)
    options = None
    if job.bit_depth is not None or job.compression is not None:
        options = io.WriteOptions(bit_depth=job.bit_depth, compression=job.compression)
    look = compiled.look
    return RenderPlan(
        source=source,
        output=output,
        styles=look.styles if look is not None else (),
        strength=look.strength if look is not None else constant(1.0),
        layer=job.layer,
        part=part,
        ocio=job.ocio,
        input_colorspace=job.input_colorspace,
        working_space=job.working_space,
        output_colorspace=job.output_colorspace,
        clean_nans=job.clean_nans,
        overwrite=job.overwrite,
        device=job.device,
        precision=job.precision,
        write_options=options,
        regions=compiled.regions,
        default=compiled.default,
        temporal=compiled.temporal,
        temporal_cut_threshold=compiled.temporal_cut_threshold,
        preserve_colour=compiled.preserve_colour,
        histogram_match=compiled.histogram_match,
        network=compiled.network,
    )


# -------------------------------------------------------------------------------------- command line


def blend_weights(styles: list[str], blend: Any = None, *, field: str = "--blend") -> list[StyleEntry]:
    """Style entries for ``--style A --style B [--blend CURVE]``.

    Without ``blend`` every style gets weight 1 (an even mix). With it, ``blend`` (0..1, a number
    or a curve) is the weight of the LAST style and the others share ``1 - blend`` evenly, so
    ``--style A --style B --blend "1001:0, 1100:1"`` migrates from A to B over the shot.
    """
    if not styles:
        raise JobError("--style: at least one style is required")
    if blend is None:
        return [StyleEntry(s) for s in styles]
    if len(styles) < 2:
        raise JobError(f"{field}: needs at least two --style options (it is the weight of the last one)")
    curve = parse_curve(blend, field=field)
    values = [k.value for k in curve.keys]
    if min(values) < 0 or max(values) > 1:
        raise JobError(f"{field}: expected values in 0..1, got {min(values):g}..{max(values):g}")
    share = len(styles) - 1
    # Scaling and offsetting every key transforms every interpolated value the same way, so
    # the other styles' weights are exactly (1 - blend) / share on every frame.
    rest = Curve([type(k)(k.frame, (1.0 - k.value) / share, k.interp) for k in curve.keys])
    return [StyleEntry(s, rest.to_data()) for s in styles[:-1]] + [StyleEntry(styles[-1], curve.to_data())]


def plan_from_cli(*, style: str | list[str], blend: Any = None, strength: Any = 1.0, **options: Any) -> RenderPlan:
    """The ``stylize`` command's flags as a job (so flags and job files share one code path).

    ``style`` is one style or a list (``--style`` given several times); ``blend`` see
    :func:`blend_weights`; ``strength`` a number or any curve text.
    """
    names = [style] if isinstance(style, str) else list(style)
    job = Job(styles=blend_weights(names, blend), strength=strength, **options)
    return build_plan(job)


# ---------------------------------------------------------------------------------------- JSON Schema


def job_json_schema() -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of job format version 1, for hosts and editors."""
    curve = {
        "description": "A number, compact keys '1001:0, 1040:1 smooth, 1100:0.3 hold', Nuke text "
        "'{curve x1001 0 x1040 1}', a list of [frame, value(, interp)] or {frame, value, interp}, "
        "or {keys: ...}.",
        "anyOf": [
            {"type": "number"},
            {"type": "string", "minLength": 1},
            {"type": "array", "minItems": 1},
            {"type": "object", "properties": {"keys": {}}, "required": ["keys"], "additionalProperties": False},
        ],
    }
    style = {
        "anyOf": [
            {"type": "string", "minLength": 1,
             "description": "Built-in look name/index, custom:MODEL.pth|onnx, a user style name, or a style image path."},
            {
                "type": "object",
                "properties": {"style": {"type": "string", "minLength": 1}, "weight": {"$ref": "#/$defs/curve"}},
                "required": ["style"],
                "additionalProperties": False,
            },
        ]
    }
    styles = {
        "description": "A blend; weights are normalised per frame; all styles of one blend use one model.",
        "anyOf": [{"type": "string", "minLength": 1}, {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/style"}}],
    }
    mask = {
        "description": "One of ellipse, rectangle, polygon, channel, file (+ channel, fit), luma, hue, or op; "
        "shape coordinates in display-window pixels, y down. See filmstyle.job.masks.parse_mask.",
        "type": "object",
        "minProperties": 1,
    }
    nullable_string = {"type": ["string", "null"]}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://filmstyle.invalid/schemas/job-1.json",
        "title": "filmstyle job",
        "description": "A filmstyle render job (format version 1). Relative paths resolve from the job file's folder.",
        "type": "object",
        "required": ["filmstyle", "input", "output"],
        "additionalProperties": False,
        "properties": {
            "filmstyle": {"const": JOB_VERSION, "description": "Job format version."},
            "input": {"type": "string", "minLength": 1, "description": "Source frame or sequence (shot.####.exr)."},
            "output": {"type": "string", "minLength": 1, "description": "Output frame or sequence pattern."},
            "frames": {"type": ["string", "integer", "null"], "description": "1001-1100, 1001-1100x2, 1001,1005."},
            "layer": nullable_string,
            "part": {"type": ["string", "integer", "null"]},
            "colour": {
                "type": ["object", "null"],
                "additionalProperties": False,
                "properties": {k: nullable_string for k in COLOUR_KEYS},
            },
            "device": {"enum": list(DEVICES), "description": "Where the network runs."},
            "precision": {"enum": list(PRECISIONS), "description": "fp16 needs cuda."},
            "styles": {"$ref": "#/$defs/styles"},
            "strength": {"$ref": "#/$defs/curve"},
            "regions": {
                "type": ["array", "null"],
                "items": {
                    "type": "object",
                    "required": ["mask"],
                    "additionalProperties": False,
                    "properties": {
                        "name": {"type": "string"},
                        "mask": {"$ref": "#/$defs/mask"},
                        "styles": {"$ref": "#/$defs/styles"},
                        "strength": {"$ref": "#/$defs/curve"},
                    },
                },
            },
            "default": {
                "type": ["object", "null"],
                "description": "The look outside every region; {} takes the top-level styles and strength.",
                "additionalProperties": False,
                "properties": {"styles": {"$ref": "#/$defs/styles"}, "strength": {"$ref": "#/$defs/curve"}},
            },
            "bit_depth": {"enum": [*io.BIT_DEPTHS, None], "description": "Output depth (default: the source's)."},
            "compression": {**nullable_string, "description": "Output compression (default: the source's)."},
            "overwrite": {"type": "boolean", "description": "Re-render frames whose output exists."},
            "clean_nans": {"type": "boolean"},
            "temporal": {
                "$ref": "#/$defs/curve",
                "description": "Flicker reduction: weight (0 <= a < 1, keyable) of the flow-warped previous result; 0 = off.",
            },
            "temporal_cut_threshold": {
                "type": ["number", "null"], "exclusiveMinimum": 0, "maximum": 2,
                "description": "Luma-histogram distance (0..2) above which a frame may be a shot cut (default 0.35).",
            },
            "preserve_colour": {
                "$ref": "#/$defs/curve",
                "description": "Keep the plate's colour (Oklab chroma and hue) under the stylized lightness, 0..1, keyable.",
            },
            "histogram_match": {
                "$ref": "#/$defs/curve",
                "description": "Match the stylized channels' histograms to the plate, 0..1, keyable.",
            },
            "stroke_scale": {
                "type": ["number", "null"], "exclusiveMinimum": 0,
                "description": "Strokes sized as at 1080 rows times this, at any resolution (default: network at full resolution).",
            },
            "stroke_detail": {"type": "number", "minimum": 0, "maximum": 1,
                              "description": "Plate detail added back above the processing size (default 1)."},
            "tiling": {"enum": [*TILING_MODES, True, False],
                       "description": "auto (tile above 4096x2304 pixels), on or off; YAML true/false mean on/off."},
            "tile_size": {"type": ["integer", "null"], "minimum": 64, "description": "Tile side in pixels (default 1024)."},
            "shot_stats": {"type": "boolean", "description": "Freeze instance-norm statistics per shot (reset on cuts)."},
        },
        "$defs": {"curve": curve, "style": style, "styles": styles, "mask": mask},
    }


JOB_TEMPLATE = """\
# filmstyle job (format version 1). Check it with `filmstyle validate JOB.yaml`,
# render it with `filmstyle render JOB.yaml`. Relative paths resolve from this file's folder.
filmstyle: 1

input: plates/shot.####.exr          # also shot.%04d.exr, shot.$F4.exr, or a single file
output: render/shot_styled.####.exr  # never a source frame
# frames: 1001-1100                  # default: every frame of the input found on disk
# layer: diffuse                     # EXR layer to restyle (default: the main R, G, B)
# part: beauty                       # multi-part EXR: part name or index

colour:
  ocio: null                # OCIO config file; default $OCIO, else the built-in ACES config
  input_colorspace: null    # default per format: EXR ACEScg, DPX as tagged, PNG/JPEG sRGB
  working_space: null       # default: filmstyle's display shaper
  output_colorspace: null   # output in another format only; default that format's: EXR ACEScg, DPX ADX10, PNG/JPEG/TIFF sRGB

device: cpu                 # model options: cpu or cuda
precision: fp32             # fp32, fp16 (cuda only) or bf16

# A blend of styles: built-in looks (`filmstyle styles`) or image files, not both in one blend.
# Weights are numbers or curves and are normalised per frame. This one migrates from the first
# look to the second over frames 1001-1100.
styles:
  - style: pale-wash
    weight: "1001:1, 1100:0"
  - style: starry-blue
    weight: "1001:0, 1100:1"

# 0 = untouched source, 1 = full style (image styles go to 2). A number or a curve:
# compact "FRAME:VALUE [linear|smooth|hold], ..." or Nuke text "{curve x1001 0 x1040 1}".
strength: "1001:0, 1040:1 smooth, 1100:0.3 hold"

# Optional regions, later ones over earlier ones. Shape coordinates are display-window pixels
# (origin top-left, y down); every shape number may be a curve, so shapes animate.
# regions:
#   - name: face
#     mask:
#       ellipse: {center: ["1001:900, 1100:1020", 420], radius: [220, 300], feather: 60}
#     styles: [stained-glass]      # default: the top-level styles
#     strength: 1                  # default: the top-level strength
#   - name: sky
#     mask: {file: mattes/sky.####.exr, channel: A}   # or {channel: matte.R} of the input
#
# With regions, the look outside them: omit for untouched pixels, or
# default: {}                      # {} = the top-level styles and strength

# Output options.
bit_depth: null             # half, float, 8, 10, 12, 16 (default: the source's)
compression: null           # default: the source's (lossy EXR sources are written zip)
overwrite: false            # true re-renders frames that already exist

clean_nans: false           # true replaces NaN/Inf pixels instead of refusing the frame

# Shot quality (all optional; the values shown are the defaults, i.e. off).
temporal: 0                 # flicker reduction 0..<1 (0.6-0.7 typical), a number or a curve
# temporal_cut_threshold: 0.35   # luma-histogram jump (0..2) that counts as a shot cut
preserve_colour: 0          # 1 = the plate's colours with the style's light and texture
histogram_match: 0          # 1 = the plate's per-channel tone distribution
# stroke_scale: 1           # strokes as at 1080 rows x this, the same at 2K, 4K and 8K
# stroke_detail: 1          # with stroke_scale: the plate's fine detail added back (0..1)
tiling: auto                # auto (tile above 4096x2304), on or off
# tile_size: 1024
shot_stats: false           # true: freeze the network's statistics per shot (no tone pumping)
# A user model as a style:  styles: [custom:models/monet.pth]  (or a name from styles.yaml)
"""
