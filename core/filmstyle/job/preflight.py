"""Checks a plan passes before any frame is rendered: no output is an input of the job, the input
frames and style images can be read, and every matte the regions read is there, with its channel
and (unless a ``fit`` allows otherwise) the plate's size.

They run in :func:`filmstyle.job.plan.build_plan`, so ``validate`` reports them and ``render``
stops before the first frame. Their cost is bounded: one ``stat`` per matte frame, the header of
each style image, and the headers of at most three frames (first, middle, last) per matte
sequence and for the input. Pixels are never decoded here.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from filmstyle import io
from filmstyle.errors import InputError, OutputError, clip
from filmstyle.job.masks import ChannelMask, FileMask, MaskSpec, OpMask
from filmstyle.job.model import Job, StyleEntry
from filmstyle.job.paths import job_paths
from filmstyle.job.styles import check_style_image

__all__ = ["check_outputs_are_not_inputs", "check_input_headers", "check_style_images", "check_mattes",
           "mask_leaves"]

_LISTED = 10


def mask_leaves(spec: MaskSpec) -> Iterator[MaskSpec]:
    """Every mask an operation combines, depth first (the mask itself when it is not an operation)."""
    if isinstance(spec, OpMask):
        for inner in spec.masks:
            yield from mask_leaves(inner)
    else:
        yield spec


def _matte_path(pattern: str, frame: int) -> Path:
    # as the matte loader names it (filmstyle.job.regions.matte_loader)
    return io.FrameSequence(pattern, (frame,)).path(frame)


def _resolved(path: Path) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError):  # a symlink loop: compare as written
        return path.absolute()


def check_outputs_are_not_inputs(job: Job, source: io.FrameSequence, output: io.FrameSequence) -> None:
    """Refuse an output frame that is a file the job reads: a style image, a ``custom:`` or user
    model, a matte frame, the OCIO config (source frames are checked by the plan itself)."""
    inputs: dict[Path, str] = {}
    for field, path in job_paths(job):
        if field in ("input", "output") or ".mask" in field:
            continue
        inputs.setdefault(_resolved(Path(path)), field)
    for region in job.compiled.regions:
        for leaf in mask_leaves(region.mask):
            if isinstance(leaf, FileMask):
                for frame in source.frames:
                    inputs.setdefault(_resolved(_matte_path(leaf.path, frame)), f"{leaf.field}.file (frame {frame})")
    if not inputs:
        return
    for frame in output.frames:
        out = _resolved(output.path(frame))
        if out in inputs:
            raise OutputError(f"output {clip(out, 160)} is {inputs[out]}, an input of this job; "
                              "choose another output path")


def _samples(frames: tuple[int, ...]) -> list[int]:
    return sorted({frames[0], frames[len(frames) // 2], frames[-1]})


def _channels(path: Path, part: int | str | None, layer: str | None) -> list[str]:
    """Channel names of the part a frame is read from (any part when only a layer picks it)."""
    parts = io.describe(path)["parts"]
    if isinstance(part, str) and part.isdigit():
        part = int(part)
    if isinstance(part, int):
        chosen = parts[part:part + 1] if 0 <= part < len(parts) else []
    elif isinstance(part, str):
        chosen = [p for p in parts if p.get("name") == part]
    else:
        chosen = parts if layer else parts[:1]
    if not chosen:
        return [c["name"] for p in parts for c in p["channels"]]  # the read reports the part itself
    return [c["name"] for p in chosen for c in p["channels"]]


def check_input_headers(job: Job, source: io.FrameSequence) -> dict[int, tuple[int, int]]:
    """Width and height of the part read from the first, middle and last input frame, from their
    headers; a frame among them that is not a readable image (or lacks the part or layer) is
    refused here, naming it, instead of when the render reaches it."""
    if source.is_movie:  # probed when the sequence was found; one size for every frame
        movie = io.probe_movie(source.pattern)
        return {f: (movie.width, movie.height) for f in _samples(source.frames)}
    sizes = {}
    for f in _samples(source.frames):
        spec = io.read_header(source.path(f), layer=job.layer, part=job.part)
        sizes[f] = (spec.width, spec.height)
    return sizes


def _image_styles(entries: tuple[StyleEntry, ...] | None, where: str) -> Iterator[tuple[str, Path]]:
    for i, entry in enumerate(entries or ()):
        ref = entry.ref
        if ref is not None and ref.kind == "image" and ref.path is not None:
            yield f"{where}[{i}].style", ref.path


def check_style_images(job: Job) -> None:
    """Every style image (top level, regions, default) is an RGB image within the size limit,
    from its header (:func:`filmstyle.job.styles.check_style_image`)."""
    found = list(_image_styles(job.styles, "styles"))
    for i, region in enumerate(job.regions):
        found += _image_styles(region.styles, f"regions[{i}].styles")
    if job.default is not None:
        found += _image_styles(job.default.styles, "default.styles")
    checked: set[Path] = set()
    for field, path in found:
        if path not in checked:
            check_style_image(path, field)
            checked.add(path)


def _check_matte_size(leaf: FileMask, path: Path, frame: int, plate: tuple[int, int]) -> None:
    # The matte loader reads the first part, over its data window (filmstyle.job.regions).
    window = io.describe(path)["parts"][0]["data_window"]
    size = (int(window["width"]), int(window["height"]))
    if size != plate:
        raise InputError(f"{leaf.field}.file: {clip(path, 160)} (frame {frame}): matte is {size[0]}x{size[1]}, "
                         f"frame is {plate[0]}x{plate[1]} (set fit: stretch or center)")


def check_mattes(job: Job, source: io.FrameSequence, sizes: dict[int, tuple[int, int]] | None = None) -> None:
    """Every matte file of every region exists for every frame to render, holds its channel and,
    with ``fit: error``, has the plate's size (checked on the first, middle and last frame); every
    input channel a mask reads is in the input (same frames). ``sizes``: the plate's size on those
    frames (:func:`check_input_headers`), read from the headers when not given."""
    frames = source.frames
    leaves = [leaf for region in job.compiled.regions for leaf in mask_leaves(region.mask)]
    for leaf in leaves:
        if not isinstance(leaf, FileMask):
            continue
        missing = [f for f in frames if not _matte_path(leaf.path, f).is_file()]
        if missing:
            shown = ", ".join(map(str, missing[:_LISTED])) + (", ..." if len(missing) > _LISTED else "")
            raise InputError(
                f"{leaf.field}.file: missing matte frame {missing[0]}: {clip(_matte_path(leaf.path, missing[0]), 160)} "
                f"({len(missing)} of {len(frames)} frames missing: {shown})")
        for f in _samples(frames):
            path = _matte_path(leaf.path, f)
            have = _channels(path, None, None)
            if leaf.channel not in have:
                raise InputError(f"{leaf.field}.channel: {clip(path, 160)} (frame {f}) has no channel "
                                 f"{clip(repr(leaf.channel), 60)}, valid: {clip(', '.join(have), 200)}")
            if leaf.fit == "error":
                if sizes is None:
                    sizes = check_input_headers(job, source)
                _check_matte_size(leaf, path, f, sizes[f])
    wanted = sorted({leaf.channel for leaf in leaves if isinstance(leaf, ChannelMask)})
    fields = {leaf.channel: leaf.field for leaf in leaves if isinstance(leaf, ChannelMask)}
    if not wanted:
        return
    for f in _samples(frames):
        path = source.path(f)
        have = _channels(path, job.part, job.layer)
        for name in wanted:
            if name not in have:
                raise InputError(f"{fields[name]}.channel: the input {clip(path, 160)} (frame {f}) has no channel "
                                 f"{clip(repr(name), 60)}, valid: {clip(', '.join(have), 200)}")
