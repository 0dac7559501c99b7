"""filmstyle.tools.metrics and filmstyle.tools.report: PSNR, SSIM, warping error, predictor style metrics, reports."""

from __future__ import annotations

import json
import math

import cv2
import numpy as np
import pytest

from filmstyle.errors import InputError
from filmstyle.tools.metrics import StyleFeatures, evaluate_sequence, psnr, ssim, warping_error
from tests.core.test_temporal import shift, texture


def test_psnr_matches_its_definition():
    a = np.zeros((16, 16, 3), np.float32)
    b = a + 0.1
    assert psnr(a, b) == pytest.approx(20.0, abs=1e-4)
    assert math.isinf(psnr(a, a))
    with pytest.raises(InputError):
        psnr(a, a[:8])


def test_ssim_identity_noise_and_contrast():
    img = texture(96, 128)
    assert ssim(img, img) == pytest.approx(1.0, abs=1e-9)
    rng = np.random.default_rng(0)
    light = np.clip(img + rng.normal(0, 0.02, img.shape), 0, 1).astype(np.float32)
    heavy = np.clip(img + rng.normal(0, 0.2, img.shape), 0, 1).astype(np.float32)
    assert 1.0 > ssim(img, light) > ssim(img, heavy) > 0.0
    # Symmetric, and a pure contrast loss is penalised.
    assert ssim(img, heavy) == pytest.approx(ssim(heavy, img), abs=1e-9)
    assert ssim(img, 0.5 + 0.3 * (img - 0.5)) < 0.99


def test_warping_error_is_zero_for_consistent_motion_and_grows_with_flicker():
    prev = texture()
    cur = shift(prev, 2.0, 1.0)
    err, frac = warping_error(cur, prev, cur, prev, flow_size=None)
    assert frac > 0.8 and err < 2e-4
    flicker = np.clip(cur * 1.2, 0, 1)
    err2, _ = warping_error(flicker, prev, cur, prev, flow_size=None)
    assert err2 > 20 * err


@pytest.fixture(scope="module")
def feats():
    return StyleFeatures()


def test_style_features_rank_styles(feats):
    img = texture(128, 128)
    same = np.ascontiguousarray(img[:, ::-1])  # mirrored: same texture statistics
    other = np.dstack([np.linspace(0, 1, 128)[None].repeat(128, 0)] * 3).astype(np.float32)
    g = feats.grams(img)
    assert len(g) == 4 and all(x.shape[0] == x.shape[1] for x in g)
    assert feats.ssi(g, g) == pytest.approx(1.0)
    assert feats.ssi(feats.grams(same), g) > feats.ssi(feats.grams(other), g)
    v = feats.vector(img)
    assert v.shape == (100,)
    l2_same, cos_same = feats.distance(feats.vector(same), v)
    l2_other, cos_other = feats.distance(feats.vector(other), v)
    assert l2_same < l2_other and cos_same < cos_other


def test_evaluate_sequence_and_report(tmp_path, feats):
    base = texture(72, 128)
    src = [shift(base, 2.0 * t, 0.0) for t in range(12)]
    rng = np.random.default_rng(2)
    out = [np.clip(s * rng.uniform(0.8, 1.2), 0, 1).astype(np.float32) for s in src]
    rep = evaluate_sequence(src, out, style_image=base, features=feats, flow_size=None)
    assert len(rep.frames) == 12 and (rep.width, rep.height) == (128, 72)
    assert rep.frames[0].warp_error is None and rep.frames[1].warp_error is not None
    assert rep.frames[9].warp_error_long is None and rep.frames[10].warp_error_long is not None
    s = rep.summary()
    assert s["warp_error"] > 5 * s["source_warp_error"]
    assert 0.0 < s["ssi"] <= 1.0 and s["style_l2"] > 0
    from filmstyle.tools.report import write_report

    paths = write_report(rep, tmp_path / "rep", source_frames=src, output_frames=out, title="unit")
    data = json.loads(paths["json"].read_text())
    assert data["frames"] == 12 and len(data["per_frame"]) == 12
    html = paths["html"].read_text()
    assert "warp_error" in html and "<img" in html
    assert paths["sheet"].is_file() and cv2.imread(str(paths["sheet"])) is not None
    with pytest.raises(InputError):
        evaluate_sequence(src, out[:3])
