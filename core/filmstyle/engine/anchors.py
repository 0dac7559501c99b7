"""Long-range steadiness: a look's texture held on the content along the plate's motion.

Blending each frame with the warped previous result (:class:`~filmstyle.engine.temporal.TemporalBlender`)
calms frame-to-frame flicker, but the strokes still crawl over a second or so: the history is an
exponential average of a few frames, and every frame it is resampled again, which also washes
the texture out. :class:`AnchorHold` instead treats the look's result on one frame as an
*anchor*, as a painted keyframe is treated (:mod:`filmstyle.engine.keyframes`): each following
frame samples the anchor once through a coordinate map composed along the plate's flow, and
shows it wherever the map is valid (forward-backward consistent, inside the frame, the plate
still looking as it did at the anchor); only what is new (disocclusions, changed light, the
frame's edges) comes from the network, temporally blended as usual. Every :data:`REANCHOR`
frames the current result becomes the new anchor, so the map never composes far and nothing
pops (the new anchor *is* the current frame). A shot cut, or a break in the frames, starts over.

``amount`` (0..1, keyable) is how much of the held texture shows where it is valid.
"""

from __future__ import annotations

import cv2
import numpy as np

from filmstyle.engine.keyframes import FLOW_SIZE, Track, carry, identity_track, photometric, reduced
from filmstyle.engine.temporal import luma

__all__ = ["REANCHOR", "AnchorHold"]

#: Frames between anchors.
REANCHOR = 8
#: How the anchor is sampled (each re-anchoring samples the texture once more).
RESAMPLE = cv2.INTER_CUBIC


class AnchorHold:
    """Per-look state: the anchor, its track, the previous reduced plate.

    Args:
        every: frames between anchors.
        flow_size: long side the tracks are computed at.
        feather: Gaussian sigma (full-size pixels) softening the edge of the held area.
    """

    def __init__(self, *, every: int | None = None, flow_size: int = FLOW_SIZE, feather: float = 2.0) -> None:
        self.every = int(REANCHOR if every is None else every)
        self.flow_size = flow_size
        self.feather = feather
        self.reset()

    def reset(self) -> None:
        """Forget the anchor: the next frame becomes one."""
        self._anchor: np.ndarray | None = None
        self._anchor_luma: np.ndarray | None = None
        self._track: Track | None = None
        self._prev: np.ndarray | None = None
        self._age = 0

    def _set_anchor(self, image: np.ndarray, small: np.ndarray) -> None:
        self._anchor = np.array(image, dtype=np.float32)
        self._anchor_luma = luma(small)
        self._track = identity_track(*small.shape[:2])
        self._prev = small
        self._age = 0

    def prime(self, source_working: np.ndarray, output_working: np.ndarray) -> None:
        """Start from a frame rendered earlier (a resumed render): it is the anchor."""
        self._set_anchor(output_working, reduced(source_working, self.flow_size))

    def step(self, source_working: np.ndarray, result: np.ndarray, amount: float,
             fresh: np.ndarray | None = None) -> np.ndarray:
        """The held texture over ``result`` (this frame's look, ``(H, W, 3)`` working space).

        ``fresh`` is the network's own frame (before any temporal blend; default ``result``): the
        held texture keeps its detail contrast (see :func:`_keep_detail`). Call :meth:`reset` first
        on a cut or a jump in the frames.
        """
        small = reduced(source_working, self.flow_size)
        if self._anchor is None or self._prev is None or self._track is None or self._prev.shape != small.shape:
            self._set_anchor(result, small)
            return result
        assert self._anchor_luma is not None
        self._track = carry(self._track, small, self._prev)
        self._prev = small
        held = photometric(self._track, small, self._anchor_luma)
        h, w = result.shape[:2]
        map_x, map_y, valid = held.full_size(h, w)
        carried = cv2.remap(self._anchor, map_x, map_y, RESAMPLE, borderMode=cv2.BORDER_REPLICATE)
        lo, hi = self._anchor.min(axis=(0, 1)), self._anchor.max(axis=(0, 1))
        np.clip(carried, lo, hi, out=carried)
        if self.feather > 0:
            valid = cv2.GaussianBlur(valid, (0, 0), self.feather) * valid
        carried = _keep_detail(carried, result if fresh is None else fresh, valid)
        weight = (np.float32(amount) * valid)[..., None]
        out = (result + weight * (carried - result)).astype(np.float32)
        self._age += 1
        if self._age >= self.every:
            self._set_anchor(out, small)
        return out


def _keep_detail(carried: np.ndarray, fresh: np.ndarray, valid: np.ndarray, *, sigma: float = 1.0,
                 most: float = 1.6) -> np.ndarray:
    """``carried`` with its finest detail band (above a ``sigma`` blur) brought back to the contrast
    of the network's ``fresh`` frame over the held area.

    Every sampling of the anchor at sub-pixel positions (and every re-anchoring samples the held
    texture again) softens the strokes a little; left alone, 48 frames of real footage drifted from
    the per-frame style distance by +12 %. One gain per frame (at least 1, at most ``most``) keeps
    the texture's contrast at the look's own without touching where the strokes are.
    """
    weight = valid > 0.5
    if weight.sum() < 64:
        return carried
    band = carried - cv2.GaussianBlur(carried, (0, 0), sigma)
    ref = fresh - cv2.GaussianBlur(fresh, (0, 0), sigma)
    have, want = float(band[weight].std()), float(ref[weight].std())
    if have <= 1e-6:
        return carried
    gain = min(max(want / have, 1.0), most)
    return carried + np.float32(gain - 1.0) * band if gain > 1.0 else carried
