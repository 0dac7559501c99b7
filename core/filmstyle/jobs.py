"""The job model: one validated description of a render, from the CLI, a YAML file or a host.

``stylize`` flags and job files land in the same :class:`Job`, and :func:`build_plan` is the one
place a job becomes a :class:`~filmstyle.render.RenderPlan`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from filmstyle import io
from filmstyle.errors import JobError
from filmstyle.render import RenderPlan, StyleLayer, constant
from filmstyle.styles import resolve_style

__all__ = ["JOB_VERSION", "DEVICES", "PRECISIONS", "StyleEntry", "Job", "build_plan", "plan_from_cli"]

JOB_VERSION = 1
DEVICES = ("cpu", "cuda")
PRECISIONS = ("fp32", "fp16", "bf16")


@dataclass
class StyleEntry:
    style: str
    weight: Any = 1.0  # a number or a curve description


@dataclass
class Job:
    input: str
    output: str
    styles: list[StyleEntry]
    strength: Any = 1.0
    frames: str | None = None
    layer: str | None = None
    part: int | str | None = None
    ocio: str | None = None
    input_colorspace: str | None = None
    working_space: str | None = None
    clean_nans: bool = False
    overwrite: bool = False
    device: str = "cpu"
    precision: str = "fp32"
    bit_depth: str | None = None
    compression: str | None = None
    base_dir: Path = field(default_factory=Path.cwd)

    def validate(self) -> None:
        if self.device not in DEVICES:
            raise JobError(f"device: expected one of {', '.join(DEVICES)}, got {self.device!r}")
        if self.precision not in PRECISIONS:
            raise JobError(f"precision: expected one of {', '.join(PRECISIONS)}, got {self.precision!r}")
        if self.device == "cpu" and self.precision == "fp16":
            raise JobError("precision: fp16 needs --device cuda (half convolutions are not supported on CPU)")
        if not self.styles:
            raise JobError("styles: at least one style is required")


def _param(value: Any, field_name: str):
    if isinstance(value, bool) or value is None:
        raise JobError(f"{field_name}: expected a number or a curve, got {value!r}")
    if isinstance(value, (int, float)):
        return constant(float(value))
    from filmstyle.keys import parse_curve

    return parse_curve(value, field=field_name).value_at


def _resolve(path: str, base: Path) -> str:
    p = Path(path).expanduser()
    return str(p if p.is_absolute() else base / p)


def build_plan(job: Job) -> RenderPlan:
    """Validate a job against the file system and turn it into a render plan."""
    job.validate()
    source = io.find_sequence(_resolve(job.input, job.base_dir), job.frames)
    output = io.output_sequence(source, _resolve(job.output, job.base_dir))
    layers = [
        StyleLayer(
            resolve_style(entry.style, base_dir=job.base_dir, field=f"styles[{i}].style"),
            _param(entry.weight, f"styles[{i}].weight"),
        )
        for i, entry in enumerate(job.styles)
    ]
    part: int | str | None = job.part
    if isinstance(part, str) and part.isdigit():
        part = int(part)
    options = None
    if job.bit_depth is not None or job.compression is not None:
        options = io.WriteOptions(bit_depth=job.bit_depth, compression=job.compression)
    return RenderPlan(
        source=source,
        output=output,
        styles=layers,
        strength=_param(job.strength, "strength"),
        layer=job.layer,
        part=part,
        ocio=job.ocio,
        input_colorspace=job.input_colorspace,
        working_space=job.working_space,
        clean_nans=job.clean_nans,
        overwrite=job.overwrite,
        device=job.device,
        precision=job.precision,
        write_options=options,
    )


def plan_from_cli(*, style: str, **options: Any) -> RenderPlan:
    """The ``stylize`` command's flags as a job (so flags and job files share one code path)."""
    job = Job(styles=[StyleEntry(style)], **options)
    return build_plan(job)
