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
from filmstyle.errors import InputError, OutputError, RenderCancelled, StyleError
from filmstyle.masks import MaskContext
from filmstyle.regions import Region, RegionSet, composite, matte_loader
from filmstyle.stylize import FrameStylizer, Look, Param, StyleLayer, StyleWeight, blend_model, constant

__all__ = [
    "Param",
    "constant",
    "StyleLayer",
    "Look",
    "Region",
    "RenderPlan",
    "FrameResult",
    "RenderReport",
    "ProgressCallback",
    "FramePipeline",
    "render_sequence",
]


@dataclass
class RenderPlan:
    """Everything a render needs, validated; built by the CLI or a job file (one code path).

    Without ``regions`` the look (``styles`` at ``strength``) covers the whole frame. With
    ``regions`` each region gets its own look inside its mask and ``default`` (None: untouched)
    covers the rest; ``styles``/``strength`` are then unused (jobs fill regions from them).
    """

    source: io.FrameSequence
    output: io.FrameSequence
    styles: Sequence[StyleLayer] = ()
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
    regions: Sequence[Region] = ()
    default: Look | None = None

    def __post_init__(self) -> None:
        self.styles = tuple(self.styles)
        self.regions = tuple(self.regions)
        if not self.regions:
            if self.default is not None:
                raise StyleError("default: a look for outside the regions needs at least one region")
            blend_model([StyleWeight(s.style, 1.0) for s in self.styles], field="styles")
        sources = {self.source.path(f).resolve() for f in self.source.frames}
        for frame in self.output.frames:
            out = self.output.path(frame).resolve()
            if out in sources:
                raise OutputError(f"output {out} is a source frame; choose another output path")

    @property
    def look(self) -> Look | None:
        """The whole-frame look (None when the plan has regions and no top-level styles)."""
        return Look(tuple(self.styles), self.strength) if self.styles else None

    @property
    def region_set(self) -> RegionSet | None:
        return RegionSet(tuple(self.regions), self.default) if self.regions else None

    @property
    def looks(self) -> list[Look]:
        """Every look the render may run."""
        if self.regions:
            return self.region_set.looks  # type: ignore[union-attr]
        return [self.look]  # type: ignore[list-item]

    @property
    def model(self) -> str:
        """The model of the first look (whole-frame plans have one)."""
        return self.looks[0].model


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
        self._matte_loader = None

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
        """The whole-frame look's normalised blend at ``frame``."""
        look = self.plan.look
        return look.blend_at(frame) if look is not None else []

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
        regions = self.plan.region_set
        look = self.plan.look
        if regions is None:
            assert look is not None
            if look.key_at(frame) is None:
                # Bit-identical pass-through: the network never sees the frame.
                return rgb
        # Premultiplied sources are stylized un-premultiplied, so edges take the style's colour
        # rather than a darkened one, and premultiplied again afterwards.
        alpha = source.alpha if source.alpha is not None and source.alpha_associated else None
        straight = color.unpremultiply(rgb, alpha) if alpha is not None else rgb
        transform = self.transform_for(source)
        working: list[np.ndarray] = []

        def to_working() -> np.ndarray:
            if not working:
                working.append(transform.to_working(np.array(straight, dtype=np.float32, order="C")))
            return working[0]

        results: dict[tuple, np.ndarray] = {}

        def render(look: Look) -> np.ndarray | None:
            """``look``'s full-frame result, straight, in the source space; None at strength 0."""
            key = look.key_at(frame)
            if key is None:
                return None
            if key not in results:
                start = time.perf_counter()
                styled = self.stylizer.apply(
                    to_working(), look.blend_at(frame), look.strength_at(frame), ceiling=transform.network_ceiling
                )
                self.network_seconds += time.perf_counter() - start
                results[key] = transform.from_working(np.ascontiguousarray(styled, dtype=np.float32), inplace=True)
            return results[key]

        touched: np.ndarray | None = None
        if regions is None:
            out = render(look)  # type: ignore[arg-type]
        else:
            ctx = MaskContext(
                height=source.height,
                width=source.width,
                rgb=to_working() if regions.needs_rgb else None,
                channel=self._channel_reader(source),
                load_matte=self._load_matte,
            )
            data, display = source.data_window, source.display_window
            masks = regions.masks_at(frame, ctx, offset=(data.x - display.x, data.y - display.y))
            base = render(regions.default) if regions.default is not None else None
            layers = []
            for region, mask in zip(regions.regions, masks):
                if not np.any(mask > 0):
                    continue  # the network does not run for a region that is empty on this frame
                result = render(region.look)
                if result is None and base is None and not layers:
                    continue  # the source over the source: nothing to do, pixels stay exact
                layers.append((mask, straight if result is None else result))
            if base is None and not layers:
                return rgb
            out, touched = composite(straight if base is None else base, layers)
            if base is not None:
                touched[...] = True
        assert out is not None
        if alpha is not None:
            out = color.premultiply(out, alpha)
            # Fully transparent pixels keep their source values (often 0, sometimes emission).
            clear = alpha <= 0.0
            if clear.any():
                out[clear] = rgb[clear]
        if touched is not None and not touched.all():
            # Outside every mask the source comes back bit for bit (no colour round trip).
            out = np.where(touched[..., None], out, rgb)
        return out

    def _channel_reader(self, source: io.SourceFrame):
        cache: dict[str, np.ndarray] = {}

        def channel(name: str) -> np.ndarray:
            if name not in cache:
                cache.update(io.read_channels(source.path, [name], part=source.part))
            return cache[name]

        return channel

    @property
    def _load_matte(self):
        if self._matte_loader is None:
            self._matte_loader = matte_loader()
        return self._matte_loader


def render_sequence(
    plan: RenderPlan,
    *,
    progress: ProgressCallback | None = None,
    pipeline: FramePipeline | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> RenderReport:
    """Render every frame of ``plan``; see the module docstring for the guarantees.

    Args:
        progress: called after each frame with ``(result, done, total)``.
        pipeline: a prepared :class:`FramePipeline` to reuse (models stay loaded).
        should_stop: polled before each frame; when it returns True the frame being written is
            finished and :class:`~filmstyle.errors.RenderCancelled` is raised (with the report).

    Raises:
        FilmStyleError: the first bad frame stops the render with a one-line error; frames
            already written stay (they are complete), the failing frame leaves no file.
        RenderCancelled: ``should_stop`` asked for it.
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
        pipeline.stylizer.prepare([s.style for look in plan.looks for s in look.styles])
    protect = [plan.source.path(f) for f in frames]

    def read(frame: int) -> io.SourceFrame:
        return io.read_frame(plan.source.path(frame), layer=plan.layer, part=plan.part)

    def finish(pending: Future | None) -> None:
        if pending is not None:
            report.results.append(pending.result())
            if progress:
                progress(report.results[-1], len(report.results), total)

    # One reader and one writer thread overlap file IO with the network, which releases the GIL.
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="filmstyle-io") as pool:
        pending_read: Future | None = None
        pending_write: Future | None = None
        for i, frame in enumerate(todo):
            if should_stop is not None and should_stop():
                finish(pending_write)
                if pending_read is not None:
                    pending_read.cancel()
                report.seconds = time.perf_counter() - started
                raise RenderCancelled(
                    f"render cancelled before frame {frame} ({report.written} written, "
                    f"{report.skipped} skipped, {len(todo) - i} not rendered); written frames are complete",
                    report,
                )
            t0 = time.perf_counter()
            source = pending_read.result() if pending_read is not None else read(frame)
            pending_read = pool.submit(read, todo[i + 1]) if i + 1 < len(todo) else None
            net_before = pipeline.network_seconds
            rgb = pipeline.stylize_frame(source, frame)
            finish(pending_write)
            pending_write = None
            out = plan.output.path(frame)
            net = pipeline.network_seconds - net_before

            def write(source=source, rgb=rgb, out=out, frame=frame, t0=t0, net=net) -> FrameResult:
                io.write_frame(source, rgb, out, options=plan.write_options, protect=protect)
                return FrameResult(frame, out, "written", time.perf_counter() - t0, net)

            pending_write = pool.submit(write)
        finish(pending_write)
    report.seconds = time.perf_counter() - started
    return report
