"""The per-frame transform of one plan: read pixels → working space → looks → regions → source space.

:meth:`FramePipeline.stylize_frame` stylizes one frame; :mod:`filmstyle.engine.sequence` runs it
over a shot. Each look is rendered by its :class:`~filmstyle.engine.look_render.LookRenderer`
(network, colour operations, temporal blend, strength mix), regions are composited in the source's
straight colour, and alpha goes back on. Shot cuts are found once per frame on the source
(luma-histogram jump) and restart every look's temporal state and shot statistics. A resumed render
primes the looks from the previous source frame and the previous *output* read back from disk
(:meth:`FramePipeline.prime`), so resumed frames match an uninterrupted render; with regions the
composite is used for every look (exact where a region's mask is 1).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from filmstyle import color, io
from filmstyle.engine.compositing import composite
from filmstyle.engine.keyframe_look import KeyframeLook
from filmstyle.engine.look_render import FrameWork, LookRenderer, Timings
from filmstyle.engine.plan_color import PlanColor, associated_alpha, straight
from filmstyle.engine.stylize import FrameStylizer
from filmstyle.engine.temporal import CutDetector, TemporalBlender, cut_thumbnail
from filmstyle.errors import InputError
from filmstyle.job.masks import MaskContext
from filmstyle.job.plan import RenderPlan
from filmstyle.job.regions import matte_loader

__all__ = ["FramePipeline"]

class FramePipeline:
    """The colour-managed per-frame transform of one plan; reusable across frames.

    With temporal blending or shot statistics it also holds the per-look state between frames;
    call :meth:`stylize_frame` in frame order (a jump in the order restarts the state).
    """

    def __init__(self, plan: RenderPlan, stylizer: FrameStylizer | None = None) -> None:
        self.plan = plan
        self.color = PlanColor(plan)
        self.stylizer = stylizer or FrameStylizer(
            device=plan.device,
            precision=plan.precision,
            style_image_loader=self.color.load_style_image,
            options=plan.network,
        )
        self.timings = Timings()
        #: The painted keyframes (whole-frame plans: they belong to the one look).
        self.keyframes = KeyframeLook(plan, self.color) if plan.keyframes else None
        self._looks = [LookRenderer(plan, i, self.stylizer, self.timings, self._blender,
                                    self.keyframes if i == 0 else None)
                       for i in range(len(plan.looks))]
        self._frame_index = {f: i for i, f in enumerate(plan.source.frames)}
        self._matte_loader = None
        self._cuts: CutDetector | None = None
        self._cuts_last: int | None = None
        #: True when the last frame started a new shot (a detected cut or the first frame).
        self.last_cut = False

    def close(self) -> None:
        """Remove the temp files the pipeline keeps (painted keyframes' tracks). It stays usable:
        what it needs again is rebuilt."""
        if self.keyframes is not None:
            self.keyframes.close()

    # -- what other modules read ---------------------------------------------------------------
    @property
    def network_seconds(self) -> float:
        return self.timings.network

    @property
    def temporal_seconds(self) -> float:
        return self.timings.temporal

    def transform_for(self, frame: io.SourceFrame) -> color.ColorTransform:
        return self.color.transform_for(frame)

    def load_style_image(self, path: Path) -> np.ndarray:
        return self.color.load_style_image(path)

    def to_output(self, frame: io.SourceFrame, rgb: np.ndarray) -> tuple[np.ndarray, io.WriteOptions | None]:
        return self.color.to_output(frame, rgb)

    # -- shots ---------------------------------------------------------------------------------
    def _blender(self) -> TemporalBlender:
        return TemporalBlender(0.0, cut_threshold=self.plan.temporal_cut_threshold)

    def _new_shot(self, working: np.ndarray, index: int | None) -> bool:
        """Run the shared cut detector on a thumbnail of the frame."""
        if self._cuts is None:
            self._cuts = CutDetector(self.plan.temporal_cut_threshold)
        if index is None or self._cuts_last is None or self._cuts_last != index - 1:
            self._cuts.reset()
        cut, _ = self._cuts.step(cut_thumbnail(working))
        self._cuts_last = index
        return cut

    def starts_shot(self, source: io.SourceFrame, frame: int) -> bool:
        """Whether ``frame`` starts a new shot, decided exactly as a render of the plan decides it.

        Call it on the plan's frames in order (the detector compares each frame with the one
        before); the first frame always starts one. Nothing is stylized.
        """
        rgb = color.clean_nonfinite(source.rgb) if color.count_nonfinite(source.rgb) else source.rgb
        return self._new_shot(self.color.working(source, straight(source, rgb)), self._frame_index.get(frame))

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
        src_w = self.color.straight_working(source, source.rgb)
        # The output carries the source's alpha; from_output undoes another format's colourspace
        # and alpha convention.
        out_w = self.color.straight_working(source, self.color.from_output(source, out))
        self._new_shot(src_w, None)
        self._cuts_last = index
        for renderer in self._looks:
            if renderer.look.key_at(frame) is not None:  # else the chain was broken there too
                renderer.prime(index, src_w, out_w, frame)
        return True

    # -- one frame -----------------------------------------------------------------------------
    def stylize_frame(self, source: io.SourceFrame, frame: float) -> np.ndarray:
        """Stylized RGB ``(H, W, 3)`` float32 in the source's colourspace for one source frame.

        Raises:
            InputError: NaN/Inf pixels without ``clean_nans``.
        """
        plan = self.plan
        rgb = source.rgb
        bad = color.count_nonfinite(rgb)
        if bad:
            if not plan.clean_nans:
                raise InputError(
                    f"{source.path.name}: frame {frame:g} has {bad} NaN/Inf pixel values in RGB "
                    "(use --clean-nans to replace them)"
                )
            rgb = color.clean_nonfinite(rgb)
        if not plan.regions and self._looks[0].look.key_at(frame) is None:
            # Bit-identical pass-through: the network never sees the frame (and the look's
            # temporal chain breaks: its next frame starts afresh).
            self._looks[0].skip()
            return rgb
        flat = straight(source, rgb)
        work = FrameWork(
            frame=frame,
            index=self._frame_index.get(int(frame)) if float(frame).is_integer() else None,
            transform=self.color.transform_for(source),
            make_working=lambda: self.color.working(source, flat),
            detect_cut=lambda working: self._detect_cut(working, work.index),
            source=source,
        )
        touched: np.ndarray | None = None
        if not plan.regions:
            out = self._looks[0].render(work)
        else:
            composited = self._regions(source, flat, work)
            if composited is None:
                return rgb
            out, touched = composited
        assert out is not None
        if self.keyframes is not None and frame in self.keyframes.files and self._looks[0].look.strength_at(frame) == 1:
            # On a keyframe the output is the keyframe, bit for bit (the look went through
            # the working space and back only to keep the temporal state going).
            return self.keyframes.source_rgb(int(frame), source).copy()
        alpha = associated_alpha(source)
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

    def _detect_cut(self, working: np.ndarray, index: int | None) -> bool:
        cut = self._new_shot(working, index) if self.plan.tracks_shots else False
        self.last_cut = cut
        return cut

    def _regions(self, source: io.SourceFrame, flat: np.ndarray,
                 work: FrameWork) -> tuple[np.ndarray, np.ndarray] | None:
        """The looks composited by their masks: ``(straight RGB, touched)``; None when nothing runs."""
        regions = self.plan.region_set
        assert regions is not None
        ctx = MaskContext(
            height=source.height,
            width=source.width,
            rgb=work.working if regions.needs_rgb else None,
            channel=self._channel_reader(source),
            load_matte=self._load_matte,
        )
        data, display = source.data_window, source.display_window
        masks = regions.masks_at(work.frame, ctx, offset=(data.x - display.x, data.y - display.y))
        base = self._looks[regions.default].render(work) if regions.default is not None else None
        layers = []
        for region, mask in zip(regions.regions, masks):
            renderer = self._looks[region.look]
            if not np.any(mask > 0):
                renderer.skip()  # the network does not run for a region empty on this frame
                continue
            result = renderer.render(work)
            if result is None and base is None and not layers:
                continue  # the source over the source: nothing to do, pixels stay exact
            layers.append((mask, flat if result is None else result))
        if base is None and not layers:
            return None
        out, touched = composite(flat if base is None else base, layers)
        if base is not None:
            touched[...] = True
        return out, touched

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
