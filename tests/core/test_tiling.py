"""filmstyle.tiling and filmstyle.models.norm: frozen instance-norm statistics, tiles, stroke scale."""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np
import pytest
import torch

from filmstyle.errors import InputError, ModelError
from filmstyle.metrics import StyleFeatures, psnr
from filmstyle.models import load_model
from filmstyle.models.norm import frozen_stats, record_stats
from filmstyle.tiling import TiledStylizer, processing_size, stroke_scaled, tile_origins

torch.set_num_threads(2)
STYLE7 = np.eye(26, dtype=np.float32)[7]


@lru_cache(maxsize=4)
def photo(width: int, height: int) -> np.ndarray:
    """The matplotlib sample photograph, display-encoded (H, W, 3) float32 in [0, 1]."""
    import OpenImageIO as oiio

    from filmstyle.sheets import sample_photograph

    inp = oiio.ImageInput.open(str(sample_photograph()))
    px = np.asarray(inp.read_image(0, 0, 0, 3, "float"), dtype=np.float32)
    inp.close()
    # Crop to 16:9 so both sizes of a test show the same picture.
    h, w = px.shape[:2]
    ch = int(w * 9 / 16)
    px = px[(h - ch) // 2:(h - ch) // 2 + ch]
    return cv2.resize(px, (width, height), interpolation=cv2.INTER_AREA)


@pytest.fixture(scope="module")
def cin26():
    return load_model("cin26")


@pytest.fixture(scope="module")
def transformer():
    return load_model("transformer")


def test_record_then_freeze_reproduces_the_forward_pass(cin26):
    x = torch.from_numpy(photo(96, 64).transpose(2, 0, 1).copy())[None]
    w = torch.from_numpy(STYLE7)[None]
    with torch.inference_mode():
        plain = cin26(x, w)
        with record_stats() as stats:
            recorded = cin26(x, w)
        with frozen_stats(stats):
            frozen = cin26(x, w)
        other = cin26(torch.flip(x, dims=(3,)) * 0.5, w)
        with frozen_stats(stats):
            other_frozen = cin26(torch.flip(x, dims=(3,)) * 0.5, w)
    assert len(stats) == 18 and stats.means[0].shape == (1, 32, 1, 1)
    assert torch.equal(plain, recorded) and torch.equal(plain, frozen)
    # Frozen statistics really replace the image's own: a darker, mirrored input differs.
    assert (other - other_frozen).abs().max() > 1e-2


def test_stats_from_another_model_are_refused(cin26, transformer):
    x = torch.rand(1, 3, 64, 64)
    with record_stats() as stats, torch.inference_mode():
        transformer(x, torch.zeros(1, 100))
    assert len(stats) == 13
    with pytest.raises(ModelError, match="frozen norm statistics"), frozen_stats(stats), torch.inference_mode():
        cin26(x, torch.from_numpy(STYLE7)[None])


def test_tile_origins_cover_the_frame():
    assert tile_origins(1000, 384) == [(0, 384), (384, 384), (768, 232)]


@pytest.mark.parametrize("model,style", [("cin26", STYLE7),
                                         ("arbitrary", np.random.default_rng(3).normal(0, 1, 100).astype(np.float32))])
def test_tiled_matches_untiled_with_full_frame_statistics(model, style, cin26, transformer):
    img = photo(1024, 576)
    net = cin26 if model == "cin26" else transformer
    tiler = TiledStylizer(model, tile=384, halo=64, stats_size=1024, net=net)
    ref = tiler(img, style, tiled=False)
    out = tiler(img, style, tiled=True)
    assert out.shape == img.shape
    assert psnr(out, ref) >= 40.0


def test_thumbnail_statistics_are_seamless_and_naive_tiles_are_not(cin26):
    img = photo(1024, 576)[:572, :1020]  # sides not multiples of 4 on purpose
    tiler = TiledStylizer("cin26", tile=384, halo=64, stats_size=512, net=cin26)
    stats = tiler.stats_for(img, STYLE7)
    tiled = tiler(img, STYLE7, stats=stats, tiled=True)
    whole = tiler(img, STYLE7, stats=stats, tiled=False)  # one pass, same frozen statistics
    assert psnr(tiled, whole) >= 40.0
    naive = np.empty_like(img)
    for y in (0, 288):
        for x in (0, 512):
            naive[y:y + 288, x:x + 512] = tiler(img[y:y + 288, x:x + 512], STYLE7, tiled=False)
    assert psnr(naive, whole) < psnr(tiled, whole) - 10.0


def test_bad_tiling_arguments_are_one_line_errors():
    with pytest.raises(InputError):
        TiledStylizer("cin26", halo=30)
    with pytest.raises(ModelError):
        TiledStylizer("vgg")


def test_processing_size_follows_the_stroke_scale():
    assert processing_size(2160, 3840) == (1080, 1920)
    assert processing_size(1080, 1920, 2.0) == (540, 960)
    with pytest.raises(InputError):
        processing_size(1080, 1920, 0.0)


def test_stroke_scale_gives_the_same_look_at_twice_the_resolution(cin26):
    """512x288 and 1024x576 of one picture, reference height 288: with the stroke scale the 2x
    output, downscaled, matches the 1x output far better than a plain full-resolution run does,
    and its style vector is closer to the 1x output's."""
    small, big = photo(512, 288), photo(1024, 576)
    tiler = TiledStylizer("cin26", net=cin26)

    def run(x):
        return tiler(x, STYLE7, tiled=False)

    ref = run(small)
    scaled = stroke_scaled(run, big, reference_height=288)
    plain = run(big)
    assert scaled.shape == big.shape

    def down(x):
        return cv2.resize(x, (512, 288), interpolation=cv2.INTER_AREA)

    p_scaled, p_plain = psnr(np.clip(down(scaled), 0, 1), ref), psnr(down(plain), ref)
    assert p_scaled > 30.0 and p_scaled > p_plain + 5.0
    feats = StyleFeatures()
    v_ref = feats.vector(ref)
    d_scaled = feats.distance(feats.vector(np.clip(scaled, 0, 1)), v_ref)[0]
    d_plain = feats.distance(feats.vector(plain), v_ref)[0]
    assert d_scaled < d_plain
    # Resolution is kept: the 2x output has more fine detail than a plain upscale of the 1x one.
    up = cv2.resize(ref, (1024, 576), interpolation=cv2.INTER_LINEAR)
    lap = lambda z: float(np.abs(cv2.Laplacian(z.mean(-1), cv2.CV_32F)).mean())  # noqa: E731
    assert lap(scaled) > 1.2 * lap(up)


def test_shot_stats_stay_fixed_within_a_shot_and_renew_on_a_cut(cin26):
    from filmstyle.tiling import ShotStatsStylizer

    a, b = photo(128, 72), np.ascontiguousarray(photo(128, 72)[::-1] * 0.6)
    tiler = TiledStylizer("cin26", net=cin26)
    shot = ShotStatsStylizer(tiler)
    shot(a, STYLE7)
    first = shot.stats
    out_b = shot(b, STYLE7)
    assert shot.stats is first
    assert np.array_equal(out_b, tiler(b, STYLE7, stats=first, tiled=False))
    assert psnr(out_b, tiler(b, STYLE7, tiled=False)) < 40.0  # frozen really differs from per-frame
    shot(b, STYLE7, new_shot=True)
    assert shot.stats is not first
    renewed = shot.stats
    shot(b, np.eye(26, dtype=np.float32)[3])  # a new style renews the statistics too
    assert shot.stats is not renewed
