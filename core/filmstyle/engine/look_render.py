"""One look rendered on one frame, with what that look carries from frame to frame.

Each look is done in the working space in this order::

    network (tiled or not, stroke-scaled or not, frozen shot statistics or not), rolled off
        under the frame's ceiling (the plate's peak, at least diffuse white)
    -> histogram_match, then preserve_color, then tone, against the source working frame
    -> temporal blend (flow-warped previous result of this look, see filmstyle.engine.temporal)
    -> painted keyframes carried along the motion (filmstyle.engine.keyframes)
    -> anchor hold (what the frame shows held on the content, see filmstyle.engine.anchors)
    -> strength mix -> back to the source's colourspace

Temporal state is kept per look on its *full-frame* stylized image (before the strength mix and
before regions are composited), so each look's texture follows the motion wherever its region
moves. A frame where a look does not run (strength 0, an empty region) breaks that look's chain;
it restarts on the next frame it runs.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from filmstyle import color, io
from filmstyle.color import shaper
from filmstyle.color.shaper import stylized_ceiling
from filmstyle.engine.anchors import AnchorHold
from filmstyle.engine.keyframe_look import KeyframeLook
from filmstyle.engine.stylize import FrameStylizer, mix
from filmstyle.engine.temporal import TemporalBlender
from filmstyle.job.look import Look
from filmstyle.job.plan import RenderPlan

__all__ = ["Timings", "FrameWork", "LookRenderer", "color_ops", "has_color_ops", "working_codec"]


@dataclass
class Timings:
    """Seconds spent in the network and in temporal blending, summed over a render."""

    network: float = 0.0
    temporal: float = 0.0


@dataclass
class FrameWork:
    """What the looks of one frame share: the working-space source (made on first use), whether the
    frame starts a shot, and the pixels of looks that do the same thing on this frame."""

    frame: float
    index: int | None  # the frame's position in the sequence (None: not a frame of it)
    transform: color.ColorTransform
    make_working: Callable[[], np.ndarray]
    detect_cut: Callable[[np.ndarray], bool]
    source: io.SourceFrame | None = None
    _working: np.ndarray | None = None
    _cut: bool | None = None
    _ceiling: float | None = None
    results: dict[tuple, np.ndarray] = field(default_factory=dict)
    stylized: dict[tuple, np.ndarray] = field(default_factory=dict)

    @property
    def working(self) -> np.ndarray:
        if self._working is None:
            self._working = self.make_working()
        return self._working

    @property
    def ceiling(self) -> float | None:
        """Highest working code a stylized pixel may take on this frame (None: no cap), see
        :func:`filmstyle.color.shaper.stylized_ceiling`."""
        if self.transform.network_ceiling is None:
            return None
        if self._ceiling is None:
            self._ceiling = stylized_ceiling(self.working)
        return self._ceiling

    @property
    def hot(self) -> bool:
        """The plate is brighter than diffuse white on this frame (its highlights are kept)."""
        return self.ceiling is not None and self.ceiling > shaper.WHITE_CODE

    @property
    def cut(self) -> bool:
        """True when this frame starts a new shot (a detected cut, or no previous frame)."""
        if self._cut is None:
            self._cut = self.detect_cut(self.working)
        return self._cut


def has_color_ops(plan: RenderPlan) -> bool:
    """Whether anything runs between the network and the temporal blend."""
    return any(getattr(plan, name) is not None for name in ("histogram_match", "preserve_color", "tone"))


def color_ops(src: np.ndarray, styled: np.ndarray, work: FrameWork, plan: RenderPlan) -> np.ndarray:
    """Histogram match, then colour preservation, then the plate's tone, against the source.

    Histogram matching first: preserve_color then puts the source's exact chroma under the matched
    lightness, so ``preserve_color: 1`` keeps the source hue whatever else is on; tone last, since
    it sets the lightness levels. Plate highlights above diffuse white then get their scene
    luminance back (any look, tone or not), and the result stays under the frame's ceiling (gamut
    mapping can reach code 1.0, which the display shaper reads as infinitely bright).
    """
    if not (has_color_ops(plan) or work.hot):
        return styled
    from filmstyle.engine.color_match import histogram_match, preserve_color
    from filmstyle.engine.tone import keep_highlights, keep_tone

    frame = work.frame
    reference = np.clip(src, 0.0, 1.0)
    if plan.histogram_match is not None:
        amount = float(plan.histogram_match(frame))
        if amount > 0.0:
            styled = histogram_match(styled, reference, amount)
    if plan.preserve_color is not None:
        amount = float(plan.preserve_color(frame))
        if amount > 0.0:
            styled = preserve_color(reference, styled, amount)
    decode, encode = working_codec(work.transform)
    if plan.tone is not None:
        amount = float(plan.tone(frame))
        if amount > 0.0:
            styled = keep_tone(src, styled, amount, decode=decode, encode=encode)
    if work.hot:
        styled = keep_highlights(src, styled, decode=decode, encode=encode)
    if work.ceiling is not None:
        styled = np.minimum(styled, np.float32(work.ceiling))
    return styled


def working_codec(transform: color.ColorTransform):
    """``(decode, encode)``: working codes ↔ linear light: the display shaper's curve; sRGB's for a
    display-encoded working space (the networks' own); else the config's conversion to linear
    Rec.709 (a forced log or linear working space: ACEScct codes are not sRGB codes)."""
    if transform.working_space == color.DISPLAY_SHAPER:
        return shaper.decode, shaper.encode
    if transform.working_encoding not in ("sdr-video", "hdr-video", "data"):
        return transform.linear_codec()
    from filmstyle.engine.color_match import srgb_decode, srgb_encode

    return srgb_decode, srgb_encode


class LookRenderer:
    """Renders one look of a plan frame by frame and keeps its between-frame state.

    Args:
        index: the look's position in ``plan.looks`` (tells its results apart from other looks').
        new_blender: makes a temporal blender with the plan's cut threshold.
    """

    def __init__(self, plan: RenderPlan, index: int, stylizer: FrameStylizer, timings: Timings,
                 new_blender: Callable[[], TemporalBlender], keyframes: KeyframeLook | None = None) -> None:
        self.plan = plan
        self.keyframes = keyframes
        self.look: Look = plan.looks[index]
        self.index = index
        self.stylizer = stylizer
        self.timings = timings
        self._new_blender = new_blender
        self.blender: TemporalBlender | None = None
        self.shot = None  # a tiling.ShotStatsStylizer, made on first use
        self.hold: AnchorHold | None = None
        self.last: int | None = None  # sequence index of the last frame this look ran on

    def skip(self) -> None:
        """The look does not run on this frame: its temporal chain breaks."""
        self.last = None

    def prime(self, index: int, src: np.ndarray, out: np.ndarray, frame: float) -> None:
        """Rebuild the state from a frame rendered earlier: its working-space source and output."""
        s = min(self.look.strength_at(frame), 1.0)
        # Both states hold the look before the strength mix: undo out = src + s * (T - src) once
        # (exact at s = 1, amplifies rounding by 1/s below); priming either with the mixed
        # output would apply the strength twice on every resumed frame.
        straight_look = out if s >= 1.0 else src + (out - src) / np.float32(s)
        straight_look = straight_look.astype(np.float32, copy=False)
        if self.plan.temporal is not None:
            self.blender = self.blender or self._new_blender()
            self.blender.prime(src, straight_look)
        if self.plan.temporal_anchor is not None:
            self.hold = self.hold or AnchorHold()
            self.hold.prime(src, straight_look)
        self.last = index

    def render(self, work: FrameWork) -> np.ndarray | None:
        """The look's full-frame result, straight, in the source space; None at strength 0."""
        plan, frame = self.plan, work.frame
        key = self.look.key_at(frame)
        if key is None:
            self.skip()
            return None
        # Looks with state get their own results; stateless ones share equal keys' pixels.
        out_key = (self.index, key) if plan.tracks_shots else key
        if out_key in work.results:
            return work.results[out_key]
        src = work.working
        strength = self.look.strength_at(frame)
        if not (plan.tracks_shots or has_color_ops(plan) or work.hot):
            # Nothing between the network and the mix: the stylizer does both in one call.
            start = time.perf_counter()
            mixed = self.stylizer.apply(src, self.look.blend_at(frame), strength,
                                        ceiling=work.ceiling)
            self.timings.network += time.perf_counter() - start
            return self._store(work, out_key, mixed)
        cached = styled = self._stylized(work, key, src, strength)
        restart = work.cut or work.index is None or self.last is None or self.last != work.index - 1
        if plan.temporal is not None:
            start = time.perf_counter()
            if self.blender is None:
                self.blender = self._new_blender()
            if restart:
                self.blender.reset()
            styled = self.blender.step(src, styled, amount=float(plan.temporal(frame)))
            self.timings.temporal += time.perf_counter() - start
        if self.keyframes is not None and work.source is not None:
            start = time.perf_counter()
            styled = self.keyframes.apply(frame, work.source, styled)
            self.timings.temporal += time.perf_counter() - start
        if plan.temporal_anchor is not None:
            start = time.perf_counter()
            self.hold = self.hold or AnchorHold()
            if restart or (self.keyframes is not None and frame in self.keyframes.files):
                self.hold.reset()  # a painted keyframe is an anchor of its own
            styled = self.hold.step(src, styled, float(plan.temporal_anchor(frame)), fresh=cached)
            self.timings.temporal += time.perf_counter() - start
        self.last = work.index
        mixed = mix(src, styled, strength)
        if mixed is cached:
            mixed = mixed.copy()  # the cache may serve another look: convert a copy in place
        return self._store(work, out_key, mixed)

    def _stylized(self, work: FrameWork, key: tuple, src: np.ndarray, strength: float) -> np.ndarray:
        """The network result after the colour operations, shared by looks doing the same thing."""
        plan = self.plan
        cut = work.cut
        net_key = (self.index, key) if plan.network.shot_stats else key
        if net_key not in work.stylized:
            start = time.perf_counter()
            if plan.network.shot_stats and self.look.model != "custom" and self.shot is None:
                self.shot = self.stylizer.shot_stylizer(self.look.model)
            styled = self.stylizer.stylize(src, self.look.blend_at(work.frame), strength,
                                           ceiling=work.ceiling, shot=self.shot, new_shot=cut)
            self.timings.network += time.perf_counter() - start
            work.stylized[net_key] = color_ops(src, styled, work, plan)
        return work.stylized[net_key]

    @staticmethod
    def _store(work: FrameWork, key: tuple, mixed: np.ndarray) -> np.ndarray:
        out = work.transform.from_working(np.ascontiguousarray(mixed, dtype=np.float32), inplace=True)
        work.results[key] = out
        return out
