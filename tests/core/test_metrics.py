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


def _nan_shot():
    base = texture(72, 128)
    src = [shift(base, 2.0 * t, 0.0) for t in range(5)]
    bad = [s.copy() for s in src]
    bad[2][5, 5, :] = np.nan
    bad[2][10, 10, 0] = np.inf
    bad[2][20, 20, 1] = np.nan
    return src, bad


def test_non_finite_pixels_are_measured_from_their_neighbours_with_a_warning(caplog):
    src, bad = _nan_shot()
    clean = evaluate_sequence(src, src, flow_size=None)
    with caplog.at_level("WARNING", logger="filmstyle.metrics"):
        rep = evaluate_sequence(bad, src, flow_size=None)
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert warnings == ["source frame 2: 3 NaN/Inf pixels, measured with their neighbours' values"]
    assert rep.cuts == clean.cuts == []
    for a, b in zip(rep.frames[1:], clean.frames[1:]):
        assert a.warp_error is not None and math.isfinite(a.warp_error)
        assert a.source_warp_error == pytest.approx(b.source_warp_error, rel=0.5, abs=1e-6)
    assert all(math.isfinite(v) for v in rep.summary().values() if v is not None)


def test_metrics_command_warns_once_naming_the_frame_with_nan_pixels(tmp_path):
    import OpenImageIO as oiio

    from tests.core.hostile import bounded

    src, bad = _nan_shot()
    for folder, frames in (("src", bad), ("out", src)):
        (tmp_path / folder).mkdir()
        for i, rgb in enumerate(frames):
            path = str(tmp_path / folder / f"s.{1001 + i}.exr")
            out = oiio.ImageOutput.create(path)
            assert out.open(path, oiio.ImageSpec(rgb.shape[1], rgb.shape[0], 3, "half"))
            assert out.write_image(np.ascontiguousarray(rgb, dtype=np.float32))
            out.close()
    proc = bounded("metrics", tmp_path / "src" / "s.####.exr", tmp_path / "out" / "s.####.exr",
                   "--flow-size", "0", "--out", tmp_path / "rep", memory_mb=6000, timeout=240)
    assert proc.returncode == 0, proc.stderr[-2000:]
    warnings = [line for line in proc.stderr.splitlines() if "WARNING" in line]
    assert len(warnings) == 1 and "s.1003.exr: 3 NaN/Inf pixels" in warnings[0], proc.stderr[-2000:]
    data = json.loads((tmp_path / "rep" / "metrics.json").read_text())
    assert data["cuts"] == []
    assert all(row["warp_error"] is not None for row in data["per_frame"][1:])
