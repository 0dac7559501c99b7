"""Render a shot: read → colour → stylize → colour → write, one frame at a time, nothing lost.

The per-frame work is :meth:`FramePipeline.stylize_frame`; :func:`render_sequence` adds what a farm
or an artist needs around it: models loaded once, reading the next frame and writing the last one
while the network runs, existing outputs skipped so a killed render resumes, every frame written
to a temp file and renamed, and a progress callback.

Shot quality. Each look is done in the working space in this order::

    network (tiled or not, stroke-scaled or not, frozen shot statistics or not)
    -> histogram_match, then preserve_colour, against the source working frame
    -> temporal blend (flow-warped previous result of this look, see filmstyle.engine.temporal)
    -> strength mix -> back to the source's colourspace -> regions composited

Temporal state is kept per look on its *full-frame* stylized image (before the strength mix
and before regions are composited): each look's texture is then coherent along the motion
wherever its region moves, and a mask edge moving over the frame never smears one look into
another. A frame where a look does not run (strength 0, an empty region) breaks that look's
chain; it restarts on the next frame it runs. Shot cuts are found once per frame on the source
(luma-histogram jump) and restart every look's temporal state and shot statistics. When a
render resumes, the look is primed from the previous source frame and the previous *output*
read back from disk (the strength mix undone), so resumed frames match an uninterrupted render;
with regions the composite is used for every look (exact where a region's mask is 1).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from filmstyle import color, io
from filmstyle.cpu import physical_cores
from filmstyle.engine.compositing import composite
from filmstyle.engine.stylize import FrameStylizer, mix
from filmstyle.engine.temporal import TemporalBlender
from filmstyle.errors import InputError, RenderCancelled
from filmstyle.job.look import Look, StyleWeight
from filmstyle.job.masks import MaskContext
from filmstyle.job.plan import RenderPlan
from filmstyle.job.regions import matte_loader

__all__ = ["FrameResult", "RenderReport", "ProgressCallback", "FramePipeline", "render_sequence"]


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


@dataclass
class _LookState:
    """What one look carries from frame to frame."""

    blender: TemporalBlender | None = None
    shot: object | None = None  # a tiling.ShotStatsStylizer, made on first use
    last: int | None = None  # sequence index of the last frame this look ran on


#: Long side of the thumbnail the cut detector compares (histograms barely change with size).
_CUT_THUMB = 256


def _thumbnail(image: np.ndarray) -> np.ndarray:
    import cv2

    h, w = image.shape[:2]
    scale = _CUT_THUMB / max(h, w)
    if scale >= 1.0:
        return image
    return cv2.resize(image, (max(8, round(w * scale)), max(8, round(h * scale))), interpolation=cv2.INTER_AREA)


class FramePipeline:
    """The colour-managed per-frame transform of one plan; reusable across frames.

    With temporal blending or shot statistics it also holds the per-look state between frames;
    call :meth:`stylize_frame` in frame order (a jump in the order restarts the state).
    """

    def __init__(self, plan: RenderPlan, stylizer: FrameStylizer | None = None) -> None:
        self.plan = plan
        self.config = color.load_config(plan.ocio)
        self._transforms: dict[tuple[str, str | None], color.ColorTransform] = {}
        self._output_transforms: dict[str, color.ColorTransform] = {}  # by source colourspace
        self._output_format = plan.output_format
        # Checked here, before any frame is read; None = the output format's default.
        self._output_colorspace = (None if plan.output_colorspace is None else
                                   color.resolve_colorspace(self.config, plan.output_colorspace, "output_colorspace"))
        self.stylizer = stylizer or FrameStylizer(
            device=plan.device,
            precision=plan.precision,
            style_image_loader=self.load_style_image,
            options=plan.network,
        )
        self.network_seconds = 0.0
        self.temporal_seconds = 0.0
        self._matte_loader = None
        # plan.look builds a new Look per call: hold one, so its state has a stable identity.
        self._looks = plan.looks
        self._look_index = {id(look): i for i, look in enumerate(self._looks)}
        self._frame_index = {f: i for i, f in enumerate(plan.source.frames)}
        self._states: dict[int, _LookState] = {}
        self._cuts: TemporalBlender | None = None
        self._cuts_last: int | None = None
        #: True when the last frame started a new shot (a detected cut or the first frame).
        self.last_cut = False

    def _blender(self) -> TemporalBlender:
        extra = {} if self.plan.temporal_cut_threshold is None else {"cut_threshold": self.plan.temporal_cut_threshold}
        return TemporalBlender(0.0, **extra)

    def _new_shot(self, working: np.ndarray, index: int | None) -> bool:
        """Run the shared cut detector (a blender at amount 0 does only its histogram test)."""
        if self._cuts is None:
            self._cuts = self._blender()
        if index is None or self._cuts_last is None or self._cuts_last != index - 1:
            self._cuts.reset()
        thumb = _thumbnail(working)
        self._cuts.step(thumb, thumb, amount=0.0)
        self._cuts_last = index
        assert self._cuts.last is not None
        return self._cuts.last.cut

    def input_colorspace_for(self, frame: io.SourceFrame) -> str:
        """The colourspace ``frame``'s pixels are in: the plan's, else the file's tag or format default."""
        return self.plan.input_colorspace or color.default_input_colorspace(
            frame.format_name, frame.colorspace_hint, self.config
        )

    def transform_for(self, frame: io.SourceFrame) -> color.ColorTransform:
        name = self.input_colorspace_for(frame)
        key = (name, self.plan.working_space)
        if key not in self._transforms:
            self._transforms[key] = color.ColorTransform(self.config, name, self.plan.working_space,
                                                         threads=physical_cores())
        return self._transforms[key]

    def output_transform(self, frame: io.SourceFrame) -> color.ColorTransform | None:
        """Source colourspace → the output file's, when the output is in another format; else None.

        The output colourspace is the plan's, else the output format's default input colourspace
        (EXR ACEScg, DPX ADX10, PNG/TIFF/JPEG sRGB-encoded Rec.709): a file filmstyle writes in
        another format is encoded as filmstyle reads that format by default.
        """
        if self._output_format == frame.format_name:
            return None
        source_cs = self.input_colorspace_for(frame)
        if source_cs not in self._output_transforms:
            name = self._output_colorspace or color.default_input_colorspace(self._output_format, None, self.config)
            self._output_transforms[source_cs] = color.ColorTransform(self.config, source_cs, name,
                                                                      threads=physical_cores())
        return self._output_transforms[source_cs]

    def to_output(self, frame: io.SourceFrame, rgb: np.ndarray) -> tuple[np.ndarray, io.WriteOptions | None]:
        """``rgb`` (the source's colourspace and alpha) as the output file holds it, and the write options.

        Same-format output is returned as it is. Another format gets the pixels converted to its
        colourspace (on straight colour, premultiplied again as the source was) and a tag saying so.
        """
        conv = self.output_transform(frame)
        if conv is None:
            return rgb, self.plan.write_options
        film_log = self._output_format == "dpx" and conv.working_space == color.default_input_colorspace(
            "dpx", None, self.config)
        options = replace(self.plan.write_options or io.WriteOptions(), colorspace=conv.working_space,
                          dpx_transfer="Printing density" if film_log else None)
        if conv.is_identity:
            return rgb, options
        alpha = self._associated_alpha(frame)
        out = conv.to_working(np.array(self._straight(frame, rgb), dtype=np.float32, order="C"), inplace=True)
        return (color.premultiply(out, alpha) if alpha is not None else out), options

    def from_output(self, frame: io.SourceFrame, output: io.SourceFrame) -> np.ndarray:
        """``output`` (a frame this plan wrote for ``frame``, read back) as ``frame``'s RGB would
        hold it: the source's colourspace and alpha convention (the inverse of :meth:`to_output`)."""
        conv = self.output_transform(frame)
        if conv is None:
            return output.rgb
        straight = np.array(self._straight(output, output.rgb), dtype=np.float32, order="C")
        if not conv.is_identity:
            straight = conv.from_working(straight, inplace=True)
        alpha = self._associated_alpha(frame)
        return color.premultiply(straight, alpha) if alpha is not None else straight

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

    @staticmethod
    def _associated_alpha(frame: io.SourceFrame) -> np.ndarray | None:
        """The alpha ``frame``'s RGB is premultiplied by, or None.

        Premultiplied sources are stylized un-premultiplied, so edges take the style's colour
        rather than a darkened one, and premultiplied again afterwards.
        """
        return frame.alpha if frame.alpha is not None and frame.alpha_associated else None

    @classmethod
    def _straight(cls, frame: io.SourceFrame, rgb: np.ndarray) -> np.ndarray:
        """``rgb`` un-premultiplied when ``frame`` has associated alpha (else ``rgb`` itself)."""
        alpha = cls._associated_alpha(frame)
        return color.unpremultiply(rgb, alpha) if alpha is not None else rgb

    def _working(self, frame: io.SourceFrame, straight: np.ndarray) -> np.ndarray:
        # np.array always copies, so converting in place spares a full-frame buffer.
        return self.transform_for(frame).to_working(np.array(straight, dtype=np.float32, order="C"), inplace=True)

    def _straight_working(self, frame: io.SourceFrame, rgb: np.ndarray) -> np.ndarray:
        straight = self._straight(frame, rgb)
        if color.count_nonfinite(straight):
            straight = color.clean_nonfinite(straight)
        return self._working(frame, straight)

    def prime(self, frame: int, source: io.SourceFrame, output: Path) -> bool:
        """Rebuild the between-frame state from ``frame``, rendered earlier: its source and its
        output on disk (read back, un-premultiplied by the source's alpha, to working space,
        the strength mix undone). Returns False when there is nothing to prime."""
        plan = self.plan
        if not plan.tracks_shots:
            return False
        index = self._frame_index.get(frame, -1)
        out = io.read_frame(output, layer=plan.layer, part=plan.part)
        if out.rgb.shape != source.rgb.shape:
            raise InputError(f"{output.name}: frame {frame} is {out.width}x{out.height}, its source "
                             f"{source.width}x{source.height}; cannot resume the temporal state from it")
        src_w = self._straight_working(source, source.rgb)
        # The output carries the source's alpha; from_output undoes another format's colourspace
        # and alpha convention.
        out_w = self._straight_working(source, self.from_output(source, out))
        self._new_shot(src_w, None)
        self._cuts_last = index
        for look in self._looks:
            key = look.key_at(frame)
            if key is None:
                continue  # the chain was broken there in the first render too
            st = self._states.setdefault(self._look_index[id(look)], _LookState())
            if plan.temporal is not None:
                s = min(look.strength_at(frame), 1.0)
                # Undo out = src + s * (T - src); exact at s = 1, amplifies rounding by 1/s below.
                blended = out_w if s >= 1.0 else src_w + (out_w - src_w) / np.float32(s)
                st.blender = st.blender or self._blender()
                st.blender.prime(src_w, blended.astype(np.float32, copy=False))
            st.last = index
        return True

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
        plan = self.plan
        regions = plan.region_set
        look = self._looks[0] if not plan.regions else None
        if regions is None:
            assert look is not None
            if look.key_at(frame) is None:
                # Bit-identical pass-through: the network never sees the frame (and the look's
                # temporal chain breaks: its next frame starts afresh).
                return rgb
        alpha = self._associated_alpha(source)
        straight = self._straight(source, rgb)
        transform = self.transform_for(source)
        working: list[np.ndarray] = []
        index = self._frame_index.get(int(frame)) if float(frame).is_integer() else None
        shot: list[bool] = []

        def to_working() -> np.ndarray:
            if not working:
                working.append(self._working(source, straight))
            return working[0]

        def new_shot() -> bool:
            if not shot:
                shot.append(self._new_shot(to_working(), index) if plan.tracks_shots else False)
                self.last_cut = shot[0]
            return shot[0]

        stylized_cache: dict[tuple, np.ndarray] = {}
        results: dict[tuple, np.ndarray] = {}

        def render(look: Look) -> np.ndarray | None:
            """``look``'s full-frame result, straight, in the source space; None at strength 0."""
            i = self._look_index.get(id(look), -1)
            st = self._states.setdefault(i, _LookState())
            key = look.key_at(frame)
            if key is None:
                st.last = None
                return None
            # Looks with state get their own results; stateless ones share equal keys' pixels.
            out_key = (i, key) if plan.tracks_shots else key
            if out_key in results:
                return results[out_key]
            src = to_working()
            strength = look.strength_at(frame)
            if not (plan.tracks_shots or plan.preserve_colour or plan.histogram_match):
                # Nothing between the network and the mix: the stylizer does both in one call.
                start = time.perf_counter()
                mixed = self.stylizer.apply(src, look.blend_at(frame), strength, ceiling=transform.network_ceiling)
                self.network_seconds += time.perf_counter() - start
                results[out_key] = transform.from_working(np.ascontiguousarray(mixed, dtype=np.float32), inplace=True)
                return results[out_key]
            cut = new_shot()
            net_key = (i, key) if plan.network.shot_stats else key
            if net_key not in stylized_cache:
                start = time.perf_counter()
                if plan.network.shot_stats and look.model != "custom" and st.shot is None:
                    st.shot = self.stylizer.shot_stylizer(look.model)
                styled = self.stylizer.stylize(
                    src, look.blend_at(frame), strength, ceiling=transform.network_ceiling,
                    shot=st.shot, new_shot=cut,  # type: ignore[arg-type]
                )
                self.network_seconds += time.perf_counter() - start
                stylized_cache[net_key] = self._colour_ops(src, styled, frame)
            styled = stylized_cache[net_key]
            if plan.temporal is not None:
                start = time.perf_counter()
                if st.blender is None:
                    st.blender = self._blender()
                if cut or index is None or st.last is None or st.last != index - 1:
                    st.blender.reset()
                styled = st.blender.step(src, styled, amount=float(plan.temporal(frame)))
                self.temporal_seconds += time.perf_counter() - start
            st.last = index
            mixed = mix(src, styled, strength)
            if mixed is stylized_cache.get(net_key):
                mixed = mixed.copy()  # the cache may serve another look: convert a copy in place
            results[out_key] = transform.from_working(np.ascontiguousarray(mixed, dtype=np.float32), inplace=True)
            return results[out_key]

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
                    # The network does not run for a region that is empty on this frame.
                    self._states.setdefault(self._look_index.get(id(region.look), -1), _LookState()).last = None
                    continue
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

    def _colour_ops(self, src: np.ndarray, styled: np.ndarray, frame: float) -> np.ndarray:
        """Histogram match, then colour preservation, against the (network-range) source.

        Histogram matching first: preserve_colour then puts the source's exact chroma under
        the matched lightness, so ``preserve_colour: 1`` keeps the source hue whatever else is on.
        """
        plan = self.plan
        if plan.histogram_match is None and plan.preserve_colour is None:
            return styled
        from filmstyle.engine.color_match import histogram_match, preserve_color

        reference = np.clip(src, 0.0, 1.0)
        if plan.histogram_match is not None:
            amount = float(plan.histogram_match(frame))
            if amount > 0.0:
                styled = histogram_match(styled, reference, amount)
        if plan.preserve_colour is not None:
            amount = float(plan.preserve_colour(frame))
            if amount > 0.0:
                styled = preserve_color(reference, styled, amount)
        return styled

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


def _resume(plan: RenderPlan, pipeline: FramePipeline, frame: int, rendered_before: int | None,
            read: Callable[[int], io.SourceFrame]) -> None:
    """Prime the pipeline from the frame before ``frame`` when this run did not render it but it
    is on disk (a resumed render, a skipped frame, or a chunk that follows an earlier chunk)."""
    frames = plan.source.frames
    index = frames.index(frame)
    previous = frames[index - 1] if index > 0 else frame - 1
    if previous == rendered_before:
        return
    out = plan.output.path(previous)
    src = plan.source.path(previous) if index > 0 else io.FrameSequence(plan.source.pattern, (previous,)).path(previous)
    if src == plan.source.path(frame) or not (out.exists() and src.exists()):
        return  # a single still has no neighbour; or nothing on disk to resume from
    if index == 0:
        # Frame numbers outside the sequence: read the neighbour by its own path.
        source = io.read_frame(src, layer=plan.layer, part=plan.part)
    else:
        source = read(previous)
    pipeline.prime(previous, source, out)


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
            if plan.tracks_shots:
                _resume(plan, pipeline, frame, todo[i - 1] if i else None, read)
            source = pending_read.result() if pending_read is not None else read(frame)
            pending_read = pool.submit(read, todo[i + 1]) if i + 1 < len(todo) else None
            net_before = pipeline.network_seconds
            rgb = pipeline.stylize_frame(source, frame)
            finish(pending_write)
            pending_write = None
            out = plan.output.path(frame)
            net = pipeline.network_seconds - net_before

            def write(source=source, rgb=rgb, out=out, frame=frame, t0=t0, net=net) -> FrameResult:
                pixels, options = pipeline.to_output(source, rgb)
                io.write_frame(source, pixels, out, options=options, protect=protect)
                return FrameResult(frame, out, "written", time.perf_counter() - t0, net)

            pending_write = pool.submit(write)
        finish(pending_write)
    report.seconds = time.perf_counter() - started
    return report
