"""Painted keyframes carried through a shot along the plate's motion.

An artist stylizes or retouches a few frames by hand; every other frame follows them. For a frame
``t`` between keyframes ``a <= t <= b``:

* **Tracks.** Each keyframe is carried to ``t`` by a coordinate map ``C`` (where in the keyframe
  each pixel of ``t`` comes from), composed one frame at a time along the plate's own optical flow
  (DIS on the working-space luma, at a reduced size): ``C_t(p) = C_{t-1}(p + flow_{t->t-1}(p))``
  from ``a`` forwards, and ``C_t(p) = C_{t+1}(p + flow_{t->t+1}(p))`` from ``b`` backwards. The
  keyframe is then sampled *once* with the composed map, so a keyframe forty frames away is as
  sharp as the next one (warping the previous result again every frame would blur it).
* **Validity.** A pixel is valid while the forward-backward check of every step passed, it never
  left the frame, and the plate at ``t`` still looks like the plate at the keyframe where it came
  from (``exp(-alpha (Y_t - Y_key(C))^2)``, which stops drift and lighting changes). A shot cut
  (the render's detector) ends a keyframe's reach.
* **Blend.** The keyframes are mixed by distance (``(b - t)/(b - a)`` and ``(t - a)/(b - a)``) where
  both are valid, each alone where only it is, and the rest (disocclusions, new content) is the
  network's frame, made with the keyframes as the style (see the job model), temporally blended
  when ``temporal`` is on. At a keyframe the result *is* the keyframe.

The backward tracks of a segment are computed once when the render enters it and kept at the
reduced size on disk (a few MB a frame), so memory does not grow with the distance between
keyframes and a resumed render gets the same tracks.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from filmstyle.engine.temporal import CutDetector, cut_thumbnail, dis_flow, luma, occlusion_mask

__all__ = ["FLOW_SIZE", "Track", "identity_track", "reduced", "carry", "photometric", "KeyframeTracks",
           "composite"]

#: Long side of the plate luma the tracks are computed at.
FLOW_SIZE = 640
#: Photometric weight against the keyframe's plate (on luma; Lai et al.'s 50 on three channels).
_ALPHA = 150.0

#: ``frame -> working-space plate (H, W, 3)``, or None when the plate has no such frame.
PlateReader = Callable[[int], "np.ndarray | None"]


class Track:
    """One keyframe carried to one frame: a coordinate map and a validity, at the reduced size."""

    def __init__(self, coords: np.ndarray, valid: np.ndarray) -> None:
        self.coords = coords  # (h, w, 2) float32: x, y in the keyframe, reduced-size pixels
        self.valid = valid  # (h, w) float32 in [0, 1]

    def full_size(self, height: int, width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(map_x, map_y, validity)`` at ``height`` x ``width`` for :func:`cv2.remap`."""
        h, w = self.valid.shape
        sx, sy = width / w, height / h
        coords = cv2.resize(self.coords, (width, height), interpolation=cv2.INTER_LINEAR)
        # Reduced-size pixel centres sit at (i + 0.5) * s - 0.5 in the full frame.
        map_x = (coords[..., 0] + 0.5) * np.float32(sx) - 0.5
        map_y = (coords[..., 1] + 0.5) * np.float32(sy) - 0.5
        valid = cv2.resize(self.valid, (width, height), interpolation=cv2.INTER_LINEAR)
        return map_x, map_y, np.clip(valid, 0.0, 1.0)


def identity_track(h: int, w: int) -> Track:
    """A track at its own keyframe: every pixel from where it is, all valid."""
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return Track(np.dstack([gx, gy]), np.ones((h, w), np.float32))


def reduced(rgb: np.ndarray, flow_size: int = FLOW_SIZE) -> np.ndarray:
    """A working-space frame at the tracks' size (long side ``flow_size``), clipped to [0, 1]."""
    h, w = rgb.shape[:2]
    s = min(1.0, flow_size / max(h, w))
    small = rgb if s >= 1.0 else cv2.resize(rgb, (max(16, round(w * s)), max(16, round(h * s))),
                                            interpolation=cv2.INTER_AREA)
    return np.clip(np.ascontiguousarray(small, dtype=np.float32), 0.0, 1.0)


def carry(track: Track, here: np.ndarray, there: np.ndarray) -> Track:
    """``track`` (valid on frame ``there``) carried to the neighbouring frame ``here`` (both reduced
    working-space frames): coordinates composed along the flow, validity cut by the
    forward-backward check and by leaving the keyframe."""
    to_there = dis_flow(here, there, flow_size=None)
    from_there = dis_flow(there, here, flow_size=None)
    h, w = to_there.shape[:2]
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    px, py = gx + to_there[..., 0], gy + to_there[..., 1]
    coords = cv2.remap(track.coords, px, py, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    valid = cv2.remap(track.valid, px, py, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0.0)
    # The forward-backward check, its unreliable areas grown a little (as the temporal blender does).
    reliable = cv2.erode(occlusion_mask(to_there, from_there), np.ones((3, 3), np.uint8),
                         borderType=cv2.BORDER_REPLICATE)
    valid = np.minimum(valid, reliable)
    kh, kw = track.valid.shape
    inside = (coords[..., 0] >= 0) & (coords[..., 0] <= kw - 1) & (coords[..., 1] >= 0) & (coords[..., 1] <= kh - 1)
    return Track(coords, (valid * inside).astype(np.float32))


def photometric(track: Track, here: np.ndarray, key_luma: np.ndarray) -> Track:
    """``track`` with its validity weighted by how much frame ``here`` still looks like the
    keyframe's plate (luma ``key_luma``) where each pixel comes from."""
    seen = cv2.remap(key_luma, track.coords[..., 0], track.coords[..., 1], cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_REPLICATE)
    diff = luma(here) - seen
    return Track(track.coords, (track.valid * np.exp(-_ALPHA * diff * diff)).astype(np.float32))


class KeyframeTracks:
    """The tracks of a plan's keyframes, per frame; see the module docstring.

    Args:
        frames: the keyframes' frame numbers.
        plate: reads a plate frame in the working space (None when it is not on disk).
        cut_threshold: the render's cut threshold.
        flow_size: long side the tracks are computed at.
        wanted: the frames tracks will be asked for (the render's); backward tracks of other
            frames are carried through but not kept. None: keep them all.
    """

    def __init__(self, frames: tuple[int, ...], plate: PlateReader, *, cut_threshold: float,
                 flow_size: int = FLOW_SIZE, wanted: frozenset[int] | None = None) -> None:
        self.frames = tuple(sorted(frames))
        self._wanted = wanted
        self._plate = plate
        self.cut_threshold = cut_threshold
        self.flow_size = flow_size
        self._small: dict[int, np.ndarray | None] = {}
        self._forward: tuple[int, int, tuple] | None = None  # (keyframe, frame, (track, luma, cuts))
        self._dead: tuple[int, int] | None = None  # (keyframe, first frame it no longer reaches)
        self._backward: dict[int, Path] = {}  # frame -> saved track of the current segment's keyframe
        self._backward_key: int | None = None
        self._dir: tempfile.TemporaryDirectory | None = None

    def close(self) -> None:
        """Remove the saved backward tracks; they are rebuilt if asked for again."""
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = None
        self._backward, self._backward_key = {}, None
        self._forward = self._dead = None

    # -- plates at the reduced size --------------------------------------------------------------
    def _luma(self, frame: int) -> np.ndarray | None:
        """The plate at the reduced size (a few recent frames are kept)."""
        if frame not in self._small:
            if len(self._small) > 4:
                self._small.pop(next(iter(self._small)))
            rgb = self._plate(frame)
            self._small[frame] = None if rgb is None else reduced(rgb, self.flow_size)
        return self._small[frame]

    def _step(self, track: Track, frame: int, neighbour: int, cuts: CutDetector) -> Track | None:
        """``track`` (valid at ``neighbour``) carried one frame on to ``frame``; None past a cut or a gap."""
        here, there = self._luma(frame), self._luma(neighbour)
        if here is None or there is None:
            return None
        cut, _ = cuts.step(cut_thumbnail(here))
        return None if cut else carry(track, here, there)

    def _photometric(self, track: Track, frame: int, key_luma: np.ndarray) -> Track:
        here = self._luma(frame)
        assert here is not None
        return photometric(track, here, key_luma)

    def _start(self, key: int) -> tuple[Track, np.ndarray, CutDetector] | None:
        small = self._luma(key)
        if small is None:
            return None
        cuts = CutDetector(self.cut_threshold)
        cuts.step(cut_thumbnail(small))
        return identity_track(*small.shape[:2]), luma(small), cuts

    # -- tracks ----------------------------------------------------------------------------------
    def forward(self, key: int, frame: int) -> Track | None:
        """Keyframe ``key`` carried forward to ``frame`` (> key), or None where it does not reach.

        Frames are usually asked for in order: the track continues from the last frame asked for
        (never recomputed from the keyframe), and once a cut or a gap ends its reach every later
        frame is answered at once."""
        if self._dead is not None and self._dead[0] == key and frame >= self._dead[1]:
            return None
        if self._forward is not None and self._forward[0] == key and self._forward[1] < frame:
            track, key_luma, cuts = self._forward[2]
            at = self._forward[1]
        else:
            start = self._start(key)
            if start is None:
                self._dead = (key, key + 1)
                return None
            track, key_luma, cuts = start
            at = key
        while at < frame:
            at += 1
            carried = self._step(track, at, at - 1, cuts)
            if carried is None or not carried.valid.any():  # past a cut or a gap, or nothing left
                self._forward, self._dead = None, (key, at)
                return None
            track = carried
        self._forward = (key, frame, (track, key_luma, cuts))
        return self._photometric(track, frame, key_luma)

    def backward(self, key: int, frame: int, first: int) -> Track | None:
        """Keyframe ``key`` carried backward to ``frame`` (< key); the whole stretch down to
        ``first`` is computed once and kept on disk."""
        if self._backward_key != key:
            self._build_backward(key, first)
        path = self._backward.get(frame)
        if path is None:
            return None
        data = np.load(path)
        return Track(np.ascontiguousarray(data[..., :2]), np.ascontiguousarray(data[..., 2]))

    def _build_backward(self, key: int, first: int) -> None:
        if self._dir is None:
            self._dir = tempfile.TemporaryDirectory(prefix="filmstyle-keyframes-")
        for path in self._backward.values():
            path.unlink(missing_ok=True)
        self._backward, self._backward_key = {}, key
        start = self._start(key)
        if start is None:
            return
        track, key_luma, cuts = start
        at = key
        while at > first:
            at -= 1
            carried = self._step(track, at, at + 1, cuts)
            if carried is None or not carried.valid.any():  # past a cut or a gap, or nothing left
                return
            track = carried
            if self._wanted is not None and at not in self._wanted:
                continue  # carried through, never asked for: not kept
            final = self._photometric(track, at, key_luma)
            path = Path(self._dir.name) / f"{key}_{at}.npy"
            np.save(path, np.dstack([final.coords, final.valid]))
            self._backward[at] = path

    def tracks(self, frame: int, first: int) -> list[tuple[int, float, Track]]:
        """``(keyframe, distance weight, track)`` of the nearest keyframes that reach ``frame``;
        ``first`` is the first frame of the render (backward tracks are built down to it)."""
        before = [k for k in self.frames if k < frame]
        after = [k for k in self.frames if k > frame]
        a = before[-1] if before else None
        b = after[0] if after else None
        out = []
        if a is not None:
            track = self.forward(a, frame)
            if track is not None:
                out.append((a, 1.0 if b is None else (b - frame) / (b - a), track))
        if b is not None:
            track = self.backward(b, frame, max(first, a + 1) if a is not None else first)
            if track is not None:
                out.append((b, 1.0 if a is None else (frame - a) / (b - a), track))
        return out


def composite(fill: np.ndarray, carried: list[tuple[float, np.ndarray, np.ndarray]]) -> np.ndarray:
    """Carried keyframes over the network's ``fill`` ``(H, W, 3)``.

    Args:
        fill: what shows where no keyframe reaches.
        carried: ``(distance weight, keyframe image warped to this frame (H, W, 3), validity (H, W))``.

    Returns:
        ``(H, W, 3)`` float32: the keyframes mixed by weight times validity, over ``fill`` by their
        coverage ``1 - prod(1 - validity)``.
    """
    if not carried:
        return fill
    total = np.zeros(fill.shape[:2], np.float32)
    acc = np.zeros(fill.shape, np.float32)
    missing = np.ones(fill.shape[:2], np.float32)
    for weight, image, valid in carried:
        wv = np.float32(weight) * valid
        acc += wv[..., None] * image
        total += wv
        missing *= 1.0 - valid
    keyed = acc / np.maximum(total, 1e-6)[..., None]
    cover = (1.0 - missing)[..., None]
    return (fill + cover * (keyed - fill)).astype(np.float32)
