"""filmstyle.engine.temporal: DIS flow, occlusion masks, warping, and the per-frame TemporalBlender."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from filmstyle.errors import InputError
from filmstyle.tools.metrics import warping_error
from filmstyle.engine.temporal import (
    TemporalBlender,
    dis_flow,
    histogram_distance,
    occlusion_mask,
    reliability,
    warp,
)

CLIP = Path(__file__).parents[2] / "../shared/media/bigbuckbunny-720p-132f.mp4"


def texture(h: int = 180, w: int = 320, seed: int = 0) -> np.ndarray:
    """Smooth random colour texture (H, W, 3) in [0, 1], rich enough for optical flow."""
    rng = np.random.default_rng(seed)
    noise = rng.random((h, w, 3)).astype(np.float32)
    return cv2.normalize(cv2.GaussianBlur(noise, (0, 0), 2.5), None, 0.05, 0.95, cv2.NORM_MINMAX)


def shift(img: np.ndarray, dx: float, dy: float) -> np.ndarray:
    """``out[p] = img[p - (dx, dy)]``: content moves by (dx, dy)."""
    m = np.float32([[1, 0, dx], [0, 1, dy]])
    return cv2.warpAffine(img, m, img.shape[1::-1], flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def clip_frames(n: int, size=(320, 180)) -> list[np.ndarray]:
    if not CLIP.is_file():
        pytest.skip(f"real footage {CLIP.name} not found beside the repository (shared/media)")
    cap = cv2.VideoCapture(str(CLIP))
    frames = []
    while len(frames) < n:
        ok, f = cap.read()
        if not ok:
            break
        f = cv2.resize(f, size, interpolation=cv2.INTER_AREA)
        frames.append(np.ascontiguousarray(f[..., ::-1], dtype=np.float32) / 255.0)
    cap.release()
    return frames


def test_dis_flow_recovers_a_translation_and_warp_undoes_it():
    prev = texture()
    cur = shift(prev, 3.0, -2.0)
    back = dis_flow(cur, prev, flow_size=None)
    inner = back[20:-20, 20:-20]
    assert np.median(inner[..., 0]) == pytest.approx(-3.0, abs=0.25)
    assert np.median(inner[..., 1]) == pytest.approx(2.0, abs=0.25)
    err = np.abs(warp(prev, back) - cur)[20:-20, 20:-20].mean()
    assert err < 0.2 * np.abs(prev - cur)[20:-20, 20:-20].mean()


def test_downscaled_flow_is_rescaled_to_full_size_pixels():
    prev = texture(360, 640)
    cur = shift(prev, 6.0, 0.0)
    back = dis_flow(cur, prev, flow_size=320)
    assert back.shape == (360, 640, 2)
    assert np.median(back[40:-40, 40:-40, 0]) == pytest.approx(-6.0, abs=0.5)


def test_occlusion_mask_flags_inconsistent_flow_and_out_of_frame():
    h, w = 64, 80
    back = np.zeros((h, w, 2), np.float32)
    back[..., 0] = -4.0
    fwd = -back
    mask = occlusion_mask(back, fwd)
    assert mask[:, :4].max() == 0.0  # lands left of the previous frame
    assert mask[5:-5, 10:-5].min() == 1.0
    bad = fwd.copy()
    bad[20:40, 30:50] = 0.0  # forward flow disagrees: occlusion
    # pixels x of frame t land on x - 4 in t-1, so the bad block shows at columns 34..53
    assert occlusion_mask(back, bad)[22:38, 36:52].max() == 0.0
    soft = reliability(back, bad)
    assert 0.0 < soft.mean() < mask.mean() and soft.max() <= 1.0


def test_blender_formula_on_a_static_shot():
    src = texture()
    rng = np.random.default_rng(1)
    s0 = np.clip(src + rng.normal(0, 0.05, src.shape), 0, 1).astype(np.float32)
    s1 = np.clip(src + rng.normal(0, 0.05, src.shape), 0, 1).astype(np.float32)
    b = TemporalBlender(amount=0.6)
    out0 = b.step(src, s0)
    assert b.last.cut and b.last.reason == "start" and np.array_equal(out0, s0)
    out1 = b.step(src, s1)
    assert not b.last.cut and b.last.reliable > 0.9
    inner = (slice(20, -20), slice(20, -20))
    expected = 0.6 * s0 + 0.4 * s1
    assert np.abs(out1 - expected)[inner].max() < 0.02
    assert np.array_equal(b.step(src, s1, amount=0.0), s1)


def test_blender_resets_on_a_cut_and_primes_from_disk_state():
    a, other = texture(seed=0), 1.0 - texture(seed=5) ** 2
    b = TemporalBlender(amount=0.6)
    for _ in range(4):
        b.step(a, a)
    styled = np.full_like(other, 0.3)
    assert np.array_equal(b.step(other, styled), styled) and b.last.reason == "histogram"
    assert histogram_distance(a, other) > b.cut_threshold
    fresh = TemporalBlender(amount=0.5)
    fresh.prime(a, np.zeros_like(a))
    out = fresh.step(a, np.ones_like(a))
    assert not fresh.last.cut
    assert out[20:-20, 20:-20].mean() == pytest.approx(0.5, abs=0.02)
    with pytest.raises(InputError):
        TemporalBlender(amount=1.0)


def test_blender_lowers_warping_error_on_real_footage():
    """Big Buck Bunny (CC BY 3.0, Blender Foundation), 12 frames at 320x180, a flickering stylizer."""
    frames = clip_frames(12)
    rng = np.random.default_rng(0)
    # Per-frame flicker: a random global tint plus per-pixel grain, the failure mode of per-frame NST.
    styled = [np.clip(f * rng.uniform(0.85, 1.15, 3) + rng.normal(0, 0.04, f.shape), 0, 1).astype(np.float32)
              for f in frames]
    b = TemporalBlender(amount=0.7, flow_size=None)
    blended, resets = [], []
    for f, s in zip(frames, styled):
        blended.append(b.step(f, s))
        resets.append(b.last.cut)
    assert resets == [True] + [False] * 11
    per = np.mean([warping_error(styled[t], styled[t - 1], frames[t], frames[t - 1])[0] for t in range(1, 12)])
    tmp = np.mean([warping_error(blended[t], blended[t - 1], frames[t], frames[t - 1])[0] for t in range(1, 12)])
    assert tmp < 0.6 * per


def test_no_false_cut_on_real_footage_and_a_real_cut_is_found():
    frames = clip_frames(8)
    far = clip_frames(1)[0][::-1, ::-1] ** 0.5  # a different shot: mirrored, brightened
    seq = frames[:5] + [np.ascontiguousarray(far)] + frames[5:]
    b = TemporalBlender(amount=0.6, flow_size=None)
    cuts = []
    for f in seq:
        b.step(f, f)
        cuts.append(b.last.reason)
    assert cuts[0] == "start"
    assert [i for i, r in enumerate(cuts) if r in ("histogram", "flow")] == [5, 6]
