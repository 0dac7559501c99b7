"""The render plan: a compiled job checked against the file system; what the engine consumes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from filmstyle import io
from filmstyle.errors import InputError, OutputError
from filmstyle.job.look import Look, NetworkOptions
from filmstyle.job.model import Job
from filmstyle.job.params import PROXIES
from filmstyle.job.preflight import (
    check_input_headers,
    check_mattes,
    check_outputs_are_not_inputs,
    check_style_images,
)
from filmstyle.job.regions import Region, RegionSet

__all__ = ["RenderPlan", "build_plan", "resolve_path"]


@dataclass(frozen=True)
class RenderPlan:
    """Everything a render needs, validated and compiled, immutable.

    Without ``regions`` the look ``looks[0]`` covers the whole frame. With regions each region
    names its look by index into ``looks``, and ``default`` (None: untouched) is the look outside
    them. ``params`` holds every other job setting by parameter name as the engine uses it
    (curves are per-frame callables, None when off on every frame); read them as attributes:
    ``plan.temporal``, ``plan.ocio``.
    """

    source: io.FrameSequence
    output: io.FrameSequence
    looks: tuple[Look, ...]
    regions: tuple[Region, ...]
    default: int | None
    params: Mapping[str, Any]
    network: NetworkOptions
    write_options: io.WriteOptions | None = None

    def __getattr__(self, name: str) -> Any:
        params = object.__getattribute__(self, "params")
        if name not in params:
            raise AttributeError(name)
        return params[name]

    @property
    def region_set(self) -> RegionSet | None:
        return RegionSet(self.regions, self.default) if self.regions else None

    @property
    def model(self) -> str:
        """The model of the first look (whole-frame plans have one)."""
        return self.looks[0].model

    @property
    def output_format(self) -> str | None:
        """OIIO format name of the output frames (from the pattern's extension)."""
        return io.format_for_path(self.output.path(self.output.frames[0]))

    @property
    def tracks_shots(self) -> bool:
        """True when frames depend on earlier frames (temporal blending or anchoring, per-shot
        statistics, painted keyframes)."""
        return (self.params["temporal"] is not None or self.params["temporal_anchor"] is not None
                or self.network.shot_stats or bool(self.params["keyframes"]))


def resolve_path(path: str, base: Path) -> str:
    """A job path as the plan uses it: relative paths resolve from the job file's folder."""
    p = Path(path).expanduser()
    return str(p if p.is_absolute() else base / p)


def _part_size(info: dict, part: int | str | None) -> tuple[int, int]:
    """Width and height of the data window of ``part`` (index or name; None: the first)."""
    parts = info["parts"]
    chosen = parts[0]
    if isinstance(part, int) and 0 <= part < len(parts):
        chosen = parts[part]
    elif isinstance(part, str):
        chosen = next((p for p in parts if p["name"] == part), parts[0])
    window = chosen["data_window"]
    return int(window["width"]), int(window["height"])


def _check_keyframe_size(frame: int, file: Path, source: io.FrameSequence, part: int | str | None) -> None:
    """A painted keyframe must have its plate's size: refused before any frame is rendered (from
    the headers alone), not when the render reaches it."""
    key_info = io.describe(file)
    if source.is_movie:
        movie = io.probe_movie(source.pattern)
        pw, ph = movie.width, movie.height
        kw, kh = _part_size(key_info, None)
    else:
        plate_info = io.describe(source.path(frame))
        same_format = key_info["format"] == plate_info["format"]
        kw, kh = _part_size(key_info, part if same_format else None)
        pw, ph = _part_size(plate_info, part)
    if (kw, kh) != (pw, ph):
        raise InputError(f"keyframes[{frame}]: {file.name} is {kw}x{kh}, the plate is {pw}x{ph}")


def build_plan(job: Job) -> RenderPlan:
    """Check a job against the file system (frames on disk, output paths) and make its plan."""
    source = io.find_sequence(resolve_path(job.input, job.base_dir), job.frames)
    output = io.output_sequence(source, resolve_path(job.output, job.base_dir))
    first_out = output.path(output.frames[0])
    out_format = io.format_for_path(first_out)
    if out_format is None:
        raise OutputError(f"{first_out}: unknown image extension {first_out.suffix!r}")
    io.check_output_paths([Path(output.pattern)] if output.is_movie else (output.path(f) for f in output.frames),
                          format_name=None if output.is_movie else out_format)  # a movie is written by PyAV
    if job.output_colorspace is not None:
        src_format = io.format_for_path(source.path(source.frames[0]))
        if src_format == out_format:
            raise OutputError(
                f"output_colorspace: only for output in another format than the source (both "
                f"{src_format}); same-format output keeps the source's colourspace and every channel")
    sources = {source.path(f).resolve() for f in source.frames}
    for frame in output.frames:
        out = output.path(frame).resolve()
        if out in sources:
            raise OutputError(f"output {out} is a source frame; choose another output path")
    check_outputs_are_not_inputs(job, source, output)
    sizes = check_input_headers(job, source)
    check_style_images(job)
    check_mattes(job, source, sizes)
    compiled = job.compiled
    params = dict(compiled.params)
    keyframes = []
    for frame, path in params["keyframes"]:
        file = Path(resolve_path(path, job.base_dir))
        if not file.is_file():
            raise InputError(f"keyframes[{frame}]: {file}: no such file")
        plate = io.FrameSequence(source.pattern, (frame,)).path(frame)
        if not plate.is_file():
            raise InputError(f"keyframes[{frame}]: the plate has no frame {frame} ({plate.name})")
        keyframes.append((frame, file))
    params["keyframes"] = tuple(keyframes)
    part = params["part"]
    if isinstance(part, str) and part.isdigit():
        params["part"] = int(part)
    for frame, file in keyframes:
        _check_keyframe_size(frame, file, source, params["part"])
    options = None
    if job.bit_depth is not None or job.compression is not None:
        options = io.WriteOptions(bit_depth=job.bit_depth, compression=job.compression)
    if options is not None and not output.is_movie:
        io.check_write_options(options, first_out, out_format)
    if output.is_movie:  # one file, no resume: refused here rather than after the first frames
        io.check_movie_output(output.pattern, output.frames, overwrite=bool(params["overwrite"]), options=options)
    network = NetworkOptions(tiling=job.tiling, tile_size=job.tile_size, stroke_scale=job.stroke_scale,
                             stroke_detail=job.stroke_detail, shot_stats=job.shot_stats,
                             proxy=PROXIES[job.proxy])
    return RenderPlan(source, output, compiled.looks, compiled.regions, compiled.default,
                      MappingProxyType(params), network, options)
