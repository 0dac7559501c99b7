"""Render a shot: read → colour → stylize → colour → write, one frame at a time, nothing lost.

The per-frame work is pure (:func:`stylize_frame`); :func:`render_sequence` adds what a farm or an
artist needs around it: models loaded once, reading the next frame and writing the last one while
the network runs, existing outputs skipped so a killed render resumes, every frame written to a
temp file and renamed, and a progress callback.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from filmstyle import color, io
from filmstyle.errors import InputError, OutputError, StyleError
from filmstyle.stylize import MAX_STRENGTH, FrameStylizer, StyleWeight, blend_model
from filmstyle.styles import StyleRef

__all__ = [
    "Param",
    "constant",
    "StyleLayer",
    "RenderPlan",
    "FrameResult",
    "RenderReport",
    "ProgressCallback",
    "FramePipeline",
    "render_sequence",
]

#: A per-frame number: a constant or a keyed curve's ``value_at``.
Param = Callable[[float], float]


def constant(value: float) -> Param:
    """A :data:`Param` that is ``value`` on every frame."""
    value = float(value)
    return lambda frame: value


@dataclass(frozen=True)
class StyleLayer:
    """One style of the look with its (keyable) blend weight."""

    style: StyleRef
    weight: Param = field(default_factory=lambda: constant(1.0))


@dataclass
class RenderPlan:
    """Everything a render needs, validated; built by the CLI or a job file (one code path)."""

    source: io.FrameSequence
    output: io.FrameSequence
    styles: Sequence[StyleLayer]
    strength: Param = field(default_factory=lambda: constant(1.0))
    layer: str | None = None
    part: int | str | None = None
    ocio: str | None = None
    input_colorspace: str | None = None
    working_space: str | None = None
    clean_nans: bool = False
    overwrite: bool = False
    device: str = "cpu"
    precision: str = "fp32"
    write_options: io.WriteOptions | None = None

    def __post_init__(self) -> None:
        blend_model([StyleWeight(s.style, 1.0) for s in self.styles], field="styles")
        sources = {self.source.path(f).resolve() for f in self.source.frames}
        for frame in self.output.frames:
            out = self.output.path(frame).resolve()
            if out in sources:
                raise OutputError(f"output {out} is a source frame; choose another output path")

    @property
    def model(self) -> str:
        return self.styles[0].style.model


@dataclass(frozen=True)
class FrameResult:
    frame: int
    path: Path
    status: str  # "written" | "skipped"
    seconds: float = 0.0
    network_seconds: float = 0.0


@dataclass
class RenderReport:
    results: list[FrameResult] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def written(self) -> int:
        return sum(r.status == "written" for r in self.results)

    @property
    def skipped(self) -> int:
        return sum(r.status == "skipped" for r in self.results)


ProgressCallback = Callable[[FrameResult, int, int], None]


class FramePipeline:
    """The colour-managed per-frame transform of one plan; reusable across frames."""

    def __init__(self, plan: RenderPlan, stylizer: FrameStylizer | None = None) -> None:
        self.plan = plan
        self.config = color.load_config(plan.ocio)
        self._transforms: dict[tuple[str, str | None], color.ColorTransform] = {}
        self.stylizer = stylizer or FrameStylizer(
            device=plan.device, precision=plan.precision, style_image_loader=self.load_style_image
        )
        self.network_seconds = 0.0

    def transform_for(self, frame: io.SourceFrame) -> color.ColorTransform:
        name = self.plan.input_colorspace or color.default_input_colorspace(
            frame.format_name, frame.colorspace_hint, self.config
        )
        key = (name, self.plan.working_space)
        if key not in self._transforms:
            self._transforms[key] = color.ColorTransform(self.config, name, self.plan.working_space)
        return self._transforms[key]

    def load_style_image(self, path: Path) -> np.ndarray:
        """A style image in the working space, colour-managed like a plate of its own format."""
        frame = io.read_frame(path)
        rgb = frame.rgb
        if color.count_nonfinite(rgb):
            rgb = color.clean_nonfinite(rgb)
        working = self.transform_for(frame).to_working(np.ascontiguousarray(rgb, dtype=np.float32))
        return np.clip(working, 0.0, 1.0)

    def blend_at(self, frame: float) -> list[StyleWeight]:
        return [StyleWeight(s.style, float(s.weight(frame))) for s in self.plan.styles]

    def stylize_frame(self, source: io.SourceFrame, frame: float) -> np.ndarray:
        """Stylized RGB ``(H, W, 3)`` float32 in the source's colourspace for one source frame.

        Raises:
            InputError: NaN/Inf pixels without ``clean_nans``.
        """
        rgb = source.rgb
        bad = color.count_nonfinite(rgb)
        if bad:
            if not self.plan.clean_nans:
                raise InputError(
                    f"{source.path.name}: frame {frame:g} has {bad} NaN/Inf pixel values in RGB "
                    "(use --clean-nans to replace them)"
                )
            rgb = color.clean_nonfinite(rgb)
        strength = float(self.plan.strength(frame))
        limit = MAX_STRENGTH[self.plan.model]
        if not 0.0 <= strength <= limit + 1e-9:
            raise StyleError(f"strength: frame {frame:g}: expected 0..{limit:g}, got {strength:g}")
        if strength == 0.0:
            # Bit-identical pass-through: the network never sees the frame.
            return rgb
        # Premultiplied sources are stylized un-premultiplied, so edges take the style's colour
        # rather than a darkened one, and premultiplied again afterwards.
        alpha = source.alpha if source.alpha is not None and source.alpha_associated else None
        straight = color.unpremultiply(rgb, alpha) if alpha is not None else rgb
        transform = self.transform_for(source)
        working = transform.to_working(np.array(straight, dtype=np.float32, order="C"))
        start = time.perf_counter()
        styled = self.stylizer.apply(
            working, self.blend_at(frame), strength, ceiling=transform.network_ceiling
        )
        self.network_seconds += time.perf_counter() - start
        out = transform.from_working(np.ascontiguousarray(styled, dtype=np.float32), inplace=True)
        if alpha is not None:
            out = color.premultiply(out, alpha)
            # Fully transparent pixels keep their source values (often 0, sometimes emission).
            clear = alpha <= 0.0
            if clear.any():
                out[clear] = rgb[clear]
        return out


def render_sequence(
    plan: RenderPlan,
    *,
    progress: ProgressCallback | None = None,
    pipeline: FramePipeline | None = None,
) -> RenderReport:
    """Render every frame of ``plan``; see the module docstring for the guarantees.

    Raises:
        FilmStyleError: the first bad frame stops the render with a one-line error; frames
            already written stay (they are complete), the failing frame leaves no file.
    """
    pipeline = pipeline or FramePipeline(plan)
    report = RenderReport()
    started = time.perf_counter()
    todo: list[int] = []
    frames = list(plan.source.frames)
    total = len(frames)
    for frame in frames:
        out = plan.output.path(frame)
        if out.exists() and not plan.overwrite:
            result = FrameResult(frame, out, "skipped")
            report.results.append(result)
            if progress:
                progress(result, len(report.results), total)
        else:
            todo.append(frame)
    if todo:
        pipeline.stylizer.prepare([s.style for s in plan.styles])
    protect = [plan.source.path(f) for f in frames]

    def read(frame: int) -> io.SourceFrame:
        return io.read_frame(plan.source.path(frame), layer=plan.layer, part=plan.part)

    # One reader and one writer thread overlap file IO with the network, which releases the GIL.
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="filmstyle-io") as pool:
        pending_read: Future | None = pool.submit(read, todo[0]) if todo else None
        pending_write: Future | None = None
        for i, frame in enumerate(todo):
            t0 = time.perf_counter()
            assert pending_read is not None
            source = pending_read.result()
            pending_read = pool.submit(read, todo[i + 1]) if i + 1 < len(todo) else None
            net_before = pipeline.network_seconds
            rgb = pipeline.stylize_frame(source, frame)
            if pending_write is not None:
                report.results.append(pending_write.result())
                if progress:
                    progress(report.results[-1], len(report.results), total)
            out = plan.output.path(frame)
            net = pipeline.network_seconds - net_before

            def write(source=source, rgb=rgb, out=out, frame=frame, t0=t0, net=net) -> FrameResult:
                io.write_frame(source, rgb, out, options=plan.write_options, protect=protect)
                return FrameResult(frame, out, "written", time.perf_counter() - t0, net)

            pending_write = pool.submit(write)
        if pending_write is not None:
            report.results.append(pending_write.result())
            if progress:
                progress(report.results[-1], len(report.results), total)
    report.seconds = time.perf_counter() - started
    return report
