"""Temporal coherence for per-frame stylization: optical flow, occlusion masks, flow-warped blending.

Flow is OpenCV's DIS (dense inverse search, no learned weights) on the Rec.709 luma of the
working-space frames, computed at a reduced size (long side ``flow_size``) for speed and resized
back with its vectors rescaled. Reliability follows the forward-backward check of Ruder et al.
2016 as reused by Lai et al. 2018:

* occluded where ``|w_f + w_b|^2 > 0.01 (|w_f|^2 + |w_b|^2) + 0.5`` (``w_b`` the backward flow at a
  pixel, ``w_f`` the forward flow at the point it lands on), or
* on a motion boundary where ``|grad u|^2 + |grad v|^2 > 0.01 |w_b|^2 + 0.002``, or
* landing outside the previous frame.

:func:`reliability` turns that binary mask into a soft weight: the unreliable area is grown by a
min-filter (width 7, as fast-artistic-videos does), the edge is feathered with a Gaussian, and it
is multiplied by the photometric agreement of the warped *source* ``exp(-alpha |I_t - warp(I_{t-1})|^2)``
(``alpha = 50`` on [0, 1] RGB, Lai et al.'s training weight), which catches flow that is wrong
without being inconsistent.

:class:`TemporalBlender` is the per-frame state for a render loop::

    blender = TemporalBlender(amount=0.6)
    for src, styled in frames:              # working-space (H, W, 3) float32
        out = blender.step(src, styled)     # c * (a * warp(prev_out) + (1 - a) * styled) + (1 - c) * styled

It resets itself on shot cuts (a luma-histogram jump that is large both absolutely and against
the recent frames, or a flow that leaves too few pixels reliable), and :meth:`TemporalBlender.prime`
rebuilds its state from the previous frame on disk when a render resumes.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import cv2
import numpy as np

from filmstyle.color.pixels import LUMA_WEIGHTS
from filmstyle.errors import InputError
from filmstyle.job.params import DEFAULT_CUT_THRESHOLD

__all__ = [
    "LUMA_WEIGHTS",
    "luma",
    "dis_flow",
    "warp",
    "occlusion_mask",
    "reliability",
    "luma_histogram",
    "histogram_distance",
    "CUT_THUMB",
    "cut_thumbnail",
    "CutDetector",
    "TemporalBlender",
    "StepInfo",
]

#: Rec.709 luma weights applied to working-space (display-encoded) RGB.

_PRESETS = {"ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST, "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
            "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM}


def _check_rgb(image: np.ndarray, what: str) -> np.ndarray:
    arr = np.asarray(image)
    if arr.ndim != 3 or arr.shape[2] != 3:
        raise InputError(f"{what}: expected an (H, W, 3) image, got shape {arr.shape}")
    return arr.astype(np.float32, copy=False)


def luma(image: np.ndarray) -> np.ndarray:
    """Rec.709 luma ``(H, W)`` float32 of ``image`` (H, W, 3)."""
    return np.ascontiguousarray(_check_rgb(image, "luma") @ LUMA_WEIGHTS)


def _to_u8(y: np.ndarray) -> np.ndarray:
    return (np.clip(y, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def dis_flow(frame_from: np.ndarray, frame_to: np.ndarray, *, preset: str = "medium",
             flow_size: int | None = 640) -> np.ndarray:
    """Dense flow ``(H, W, 2)`` float32 (x, y pixels) such that ``frame_from[p] ~ frame_to[p + flow[p]]``.

    Args:
        frame_from: ``(H, W, 3)`` float in [0, 1] (working space) or ``(H, W)`` luma.
        frame_to: same shape.
        preset: DIS preset, ``"ultrafast"``, ``"fast"`` or ``"medium"``.
        flow_size: long side the flow is computed at (``None`` = full size); the flow is
            resized back to ``(H, W)`` and its vectors scaled accordingly.
    """
    if preset not in _PRESETS:
        raise InputError(f"flow preset: expected one of {', '.join(_PRESETS)}, got {preset!r}")
    a = frame_from if np.ndim(frame_from) == 2 else luma(frame_from)
    b = frame_to if np.ndim(frame_to) == 2 else luma(frame_to)
    if a.shape != b.shape:
        raise InputError(f"flow: frames differ in size, {a.shape[::-1]} vs {b.shape[::-1]}")
    h, w = a.shape
    scale = 1.0 if flow_size is None else min(1.0, flow_size / max(h, w))
    if scale < 1.0:
        size = (max(16, round(w * scale)), max(16, round(h * scale)))
        a = cv2.resize(a, size, interpolation=cv2.INTER_AREA)
        b = cv2.resize(b, size, interpolation=cv2.INTER_AREA)
    dis = cv2.DISOpticalFlow_create(_PRESETS[preset])
    flow = dis.calc(_to_u8(a), _to_u8(b), None)
    if flow.shape[:2] != (h, w):
        sy, sx = h / flow.shape[0], w / flow.shape[1]
        flow = cv2.resize(flow, (w, h), interpolation=cv2.INTER_LINEAR)
        flow[..., 0] *= sx
        flow[..., 1] *= sy
    return flow.astype(np.float32, copy=False)


def _grid(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return gx, gy


def warp(image: np.ndarray, flow: np.ndarray, *, border: int = cv2.BORDER_REPLICATE,
         interpolation: int = cv2.INTER_LINEAR) -> np.ndarray:
    """Backward-warp ``image`` (H, W, C) or (H, W) with ``flow`` (H, W, 2): ``out[p] = image[p + flow[p]]``.

    Bilinear by default (``cv2.remap``; the metrics use that, as the literature does); samples
    outside the frame replicate the border (see :func:`occlusion_mask` for masking them).
    """
    h, w = flow.shape[:2]
    if image.shape[:2] != (h, w):
        raise InputError(f"warp: image {image.shape[1]}x{image.shape[0]} and flow {w}x{h} differ in size")
    gx, gy = _grid(h, w)
    return cv2.remap(np.ascontiguousarray(image, dtype=np.float32), gx + flow[..., 0], gy + flow[..., 1],
                     interpolation, borderMode=border)


def occlusion_mask(backward: np.ndarray, forward: np.ndarray) -> np.ndarray:
    """Binary reliability ``(H, W)`` float32 (1 = reliable) from the Ruder/Lai consistency check.

    Args:
        backward: flow ``(H, W, 2)`` from frame t to frame t-1 (used to warp t-1 onto t).
        forward: flow ``(H, W, 2)`` from frame t-1 to frame t.
    """
    h, w = backward.shape[:2]
    gx, gy = _grid(h, w)
    tx, ty = gx + backward[..., 0], gy + backward[..., 1]
    fw = cv2.remap(np.ascontiguousarray(forward), tx, ty, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    sum_sq = ((fw + backward) ** 2).sum(-1)
    mag = (fw ** 2).sum(-1) + (backward ** 2).sum(-1)
    occluded = sum_sq > 0.01 * mag + 0.5
    du_y, du_x = np.gradient(backward[..., 0])
    dv_y, dv_x = np.gradient(backward[..., 1])
    boundary = du_x ** 2 + du_y ** 2 + dv_x ** 2 + dv_y ** 2 > 0.01 * (backward ** 2).sum(-1) + 0.002
    outside = (tx < 0) | (tx > w - 1) | (ty < 0) | (ty > h - 1)
    return (~(occluded | boundary | outside)).astype(np.float32)


def reliability(backward: np.ndarray, forward: np.ndarray, source_t: np.ndarray | None = None,
                source_prev: np.ndarray | None = None, *, erode: int = 7, feather: float = 2.0,
                alpha: float = 50.0) -> np.ndarray:
    """Soft reliability ``c`` (H, W) float32 in [0, 1] for blending a warped previous frame.

    Args:
        backward: flow t -> t-1 ``(H, W, 2)``.
        forward: flow t-1 -> t ``(H, W, 2)``.
        source_t, source_prev: the source frames ``(H, W, 3)`` in [0, 1]; when given, ``c`` is
            multiplied by ``exp(-alpha * |source_t - warp(source_prev)|^2)`` (squared RGB distance).
        erode: min-filter width applied to the binary mask (grows unreliable areas); 1 = none.
        feather: Gaussian sigma in pixels for the mask's edge; 0 = hard.
        alpha: photometric weight.
    """
    c = occlusion_mask(backward, forward)
    if erode > 1:
        c = cv2.erode(c, np.ones((erode, erode), np.uint8), borderType=cv2.BORDER_REPLICATE)
    if feather > 0:
        c = cv2.GaussianBlur(c, (0, 0), feather) * c  # soft inner edge, still 0 where unreliable
    if source_t is not None and source_prev is not None:
        diff = source_t - warp(source_prev, backward)
        c *= np.exp(-alpha * (diff * diff).sum(-1))
    return c.astype(np.float32, copy=False)


def luma_histogram(frame: np.ndarray, bins: int = 64) -> np.ndarray:
    """Normalised luma histogram ``(bins,)`` float64 of an ``(H, W, 3)`` frame in [0, 1]."""
    h = np.histogram(np.clip(luma(frame), 0, 1), bins=bins, range=(0.0, 1.0))[0].astype(np.float64)
    return h / max(h.sum(), 1)


def histogram_distance(a: np.ndarray, b: np.ndarray, bins: int = 64) -> float:
    """L1 distance (0..2) between the normalised luma histograms of two ``(H, W, 3)`` frames in [0, 1]."""
    return float(np.abs(luma_histogram(a, bins) - luma_histogram(b, bins)).sum())


#: Long side of the thumbnail the render's cut detector compares (histograms barely change with size).
CUT_THUMB = 256


def cut_thumbnail(image: np.ndarray) -> np.ndarray:
    """``image`` area-resized to a long side of :data:`CUT_THUMB` (unchanged when smaller)."""
    h, w = image.shape[:2]
    scale = CUT_THUMB / max(h, w)
    if scale >= 1.0:
        return image
    return cv2.resize(image, (max(8, round(w * scale)), max(8, round(h * scale))), interpolation=cv2.INTER_AREA)


class CutDetector:
    """Shot cuts from the luma histograms of consecutive source frames (the render's detector).

    A frame starts a new shot when its luma-histogram distance to the previous frame
    (:func:`histogram_distance`) is above ``threshold`` and, once a few frames of the shot have
    been seen, also more than ``ratio`` times the median of the shot's recent distances (so a shot
    full of fast motion does not cut on every frame). The first frame after :meth:`reset` starts
    a shot.

    Args:
        threshold: luma-histogram L1 distance (0..2).
        ratio: see above.
    """

    def __init__(self, threshold: float = DEFAULT_CUT_THRESHOLD, ratio: float = 4.0) -> None:
        self.threshold = float(threshold)
        self.ratio = float(ratio)
        self.reset()

    def reset(self) -> None:
        """Forget the previous frame: the next one starts a shot."""
        self._prev: np.ndarray | None = None
        self._shape: tuple[int, ...] | None = None
        self._recent: deque[float] = deque(maxlen=12)

    def prime(self, frame: np.ndarray) -> None:
        """Start a shot at ``frame`` (already seen: a resumed render's previous frame)."""
        self.reset()
        self._prev, self._shape = luma_histogram(frame), np.shape(frame)

    def is_cut(self, distance: float) -> bool:
        """Whether a frame at ``distance`` from the previous one starts a new shot (no state change)."""
        if distance <= self.threshold:
            return False
        if len(self._recent) < 3:
            return True
        return distance > self.ratio * float(np.median(self._recent))

    def step(self, frame: np.ndarray) -> tuple[bool, float]:
        """``(starts a shot, histogram distance to the previous frame)`` for the next frame
        ``(H, W, 3)`` in [0, 1]; the distance is 0 for the first frame."""
        hist, shape = luma_histogram(frame), np.shape(frame)
        prev, prev_shape = self._prev, self._shape
        self._prev, self._shape = hist, shape
        if prev is None or prev_shape != shape:
            self._recent.clear()
            return True, 0.0
        distance = float(np.abs(prev - hist).sum())
        if self.is_cut(distance):
            self._recent.clear()
            return True, distance
        self._recent.append(distance)
        return False, distance


@dataclass(frozen=True)
class StepInfo:
    """What :meth:`TemporalBlender.step` did on the last frame.

    Attributes:
        cut: the blender reset (first frame, shot cut or flow failure).
        reason: ``"start"``, ``"histogram"``, ``"flow"`` or ``""``.
        histogram_distance: luma-histogram L1 distance to the previous source frame.
        reliable: mean reliability ``c`` over the frame (0 on a reset).
    """

    cut: bool
    reason: str
    histogram_distance: float
    reliable: float


class TemporalBlender:
    """Flow-warped blending of the previous output into the current stylized frame.

    ``out = c * (a * warp(prev_out) + (1 - a) * stylized) + (1 - c) * stylized`` where ``c`` is
    :func:`reliability` from the flow between the previous and current *source* frames and ``a``
    is ``amount``. Because ``prev_out`` is itself blended, ``amount`` acts as the weight of an
    exponential average along the motion: 0 = per-frame, 0.6 = roughly the last 2-3 frames.

    Args:
        amount: blend weight ``a`` of the warped previous output, in [0, 1).
        cut_threshold: luma-histogram L1 distance (0..2) above which a frame *may* be a cut; it
            is one when also more than ``cut_ratio`` times the median of the recent distances.
        cut_ratio: see ``cut_threshold``.
        min_reliable: reset when less than this fraction of the frame is reliable (flow failure).
        preset, flow_size: see :func:`dis_flow`.
    """

    def __init__(self, amount: float = 0.6, cut_threshold: float = DEFAULT_CUT_THRESHOLD, *, cut_ratio: float = 4.0,
                 min_reliable: float = 0.2, preset: str = "medium", flow_size: int | None = 640) -> None:
        self.amount = self._check_amount(amount)
        self.cut_threshold = float(cut_threshold)
        self.cut_ratio = float(cut_ratio)
        self.min_reliable = float(min_reliable)
        self.preset = preset
        self.flow_size = flow_size
        self.last: StepInfo | None = None
        self.cuts = CutDetector(cut_threshold, cut_ratio)
        self.reset()

    @staticmethod
    def _check_amount(amount: float) -> float:
        if not 0.0 <= float(amount) < 1.0:
            raise InputError(f"temporal amount: expected 0 <= amount < 1, got {amount!r}")
        return float(amount)

    def reset(self) -> None:
        """Forget the previous frame (the next :meth:`step` returns its stylized frame unchanged)."""
        self._prev_source: np.ndarray | None = None
        self._prev_output: np.ndarray | None = None
        self.cuts.reset()

    def prime(self, prev_source: np.ndarray, prev_output: np.ndarray) -> None:
        """Start from a frame already rendered: its source and its (blended) output, both working space."""
        src = _check_rgb(prev_source, "prime source")
        out = _check_rgb(prev_output, "prime output")
        if src.shape != out.shape:
            raise InputError(f"prime: source {src.shape} and output {out.shape} differ in shape")
        self.reset()
        self._prev_source = src.copy()
        self._prev_output = out.copy()
        self.cuts.prime(src)

    def step(self, source_working: np.ndarray, stylized_working: np.ndarray, *,
             amount: float | None = None) -> np.ndarray:
        """Blend one frame.

        Args:
            source_working: source frame ``(H, W, 3)`` float32, working space (nominally [0, 1]).
            stylized_working: its per-frame stylization, same shape.
            amount: override of ``amount`` for this frame (keyable); 0 = pass ``stylized`` through.

        Returns:
            ``(H, W, 3)`` float32; :attr:`last` says whether the frame reset the state.
        """
        src = _check_rgb(source_working, "temporal source")
        sty = _check_rgb(stylized_working, "temporal stylized")
        if src.shape != sty.shape:
            raise InputError(f"temporal: source {src.shape} and stylized {sty.shape} differ in shape")
        a = self.amount if amount is None else self._check_amount(amount)
        prev_src, prev_out = self._prev_source, self._prev_output
        if prev_src is None or prev_src.shape != src.shape:
            self.cuts.prime(src)
            return self._restart(src, sty, "start", 0.0)
        cut, distance = self.cuts.step(src)
        if cut:
            return self._restart(src, sty, "histogram", distance)
        if a == 0.0:
            self.last = StepInfo(False, "", distance, 0.0)
            self._remember(src, sty)
            return sty
        back = dis_flow(src, prev_src, preset=self.preset, flow_size=self.flow_size)
        fwd = dis_flow(prev_src, src, preset=self.preset, flow_size=self.flow_size)
        c = reliability(back, fwd, np.clip(src, 0, 1), np.clip(prev_src, 0, 1))
        mean_c = float(c.mean())
        if mean_c < self.min_reliable:
            self.cuts.prime(src)
            return self._restart(src, sty, "flow", distance)
        # Bicubic: the output is resampled again every frame, and repeated bilinear resampling
        # is a low-pass that washes the strokes out over a shot (48 frames of real footage at
        # amount 0.7: style distance +15 % bilinear, +9.5 % bicubic; warping error -74 % / -73 %).
        warped = warp(prev_out, back, interpolation=cv2.INTER_CUBIC)
        # Bicubic overshoots; keep it inside the range the previous output had, so the blend
        # stays a value the output encoding round-trips (a resumed render primes from disk).
        lo, hi = prev_out.min(axis=(0, 1)), prev_out.max(axis=(0, 1))
        warped = np.clip(warped, lo, hi, out=warped)
        w = (np.float32(a) * c)[..., None]
        out = (sty + w * (warped - sty)).astype(np.float32)
        self.last = StepInfo(False, "", distance, mean_c)
        self._remember(src, out)
        return out

    def _restart(self, src: np.ndarray, sty: np.ndarray, reason: str, distance: float) -> np.ndarray:
        self.last = StepInfo(True, reason, distance, 0.0)
        self._remember(src, sty)
        return sty

    def _remember(self, src: np.ndarray, out: np.ndarray) -> None:
        self._prev_source = src.copy()
        self._prev_output = out.copy()
