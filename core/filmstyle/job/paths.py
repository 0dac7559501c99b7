"""Every file a job names, for allow-lists and for never overwriting a job's inputs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from filmstyle.job.masks import FileMask, MaskSpec, OpMask
from filmstyle.job.model import Job, StyleEntry

__all__ = ["job_paths"]


def _absolute(text: str, base: Path) -> Path:
    p = Path(text).expanduser()
    return p if p.is_absolute() else base / p


def _styles(entries: tuple[StyleEntry, ...] | None, where: str) -> Iterator[tuple[str, Path]]:
    for i, entry in enumerate(entries or ()):
        path = getattr(entry.ref, "path", None)
        if path is not None:  # image styles and user models (built-in looks have none)
            yield f"{where}[{i}].style", Path(path)


def _masks(spec: MaskSpec, where: str) -> Iterator[tuple[str, Path]]:
    if isinstance(spec, FileMask):
        yield f"{where}.file", Path(spec.path)
    elif isinstance(spec, OpMask):
        for i, inner in enumerate(spec.masks):
            yield from _masks(inner, f"{where}.op[{i}]")


def job_paths(job: Job) -> list[tuple[str, Path]]:
    """``(field, absolute path or pattern)`` for every file the job reads or writes: input, output,
    style images and user models (top level, regions, default), matte files, painted keyframes and
    the OCIO config."""
    base = job.base_dir
    found = [("input", _absolute(job.input, base)), ("output", _absolute(job.output, base))]
    found += _styles(job.styles, "styles")
    for i, region in enumerate(job.regions):
        found += _styles(region.styles, f"regions[{i}].styles")
        found += _masks(region.mask, f"regions[{i}].mask")
    if job.default is not None:
        found += _styles(job.default.styles, "default.styles")
    found += [(f"keyframes[{frame}]", _absolute(path, base)) for frame, path in job.keyframes]
    if job.ocio is not None and not job.ocio.startswith("ocio://"):
        found.append(("color.ocio", _absolute(job.ocio, base)))
    return found
