"""filmstyle.engine.tiling and filmstyle.models.norm: frozen instance-norm statistics, tiles, stroke scale."""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np
import pytest
import torch

from filmstyle.errors import InputError, ModelError
from filmstyle.tools.metrics import StyleFeatures, psnr
from filmstyle.models import load_model
from filmstyle.models.norm import frozen_stats, record_stats
from filmstyle.engine.tiling import TiledStylizer, processing_size, stroke_scaled, tile_origins

torch.set_num_threads(2)
STYLE7 = np.eye(26, dtype=np.float32)[7]


@lru_cache(maxsize=4)
def photo(width: int, height: int) -> np.ndarray:
    """The matplotlib sample photograph, display-encoded (H, W, 3) float32 in [0, 1]."""
    import OpenImageIO as oiio

    from filmstyle.tools.sheets import sample_photograph

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
    from filmstyle.engine.tiling import ShotStatsStylizer

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


# -- onnxruntime backend: record/frozen graphs must match the torch passes -----------------------
ARBITRARY_STYLE = np.random.default_rng(5).normal(0, 1, 100).astype(np.float32)
BACKEND_CASES = [("cin26", STYLE7), ("arbitrary", ARBITRARY_STYLE)]


def _tilers(model, cin26, transformer, **kw) -> tuple[TiledStylizer, TiledStylizer]:
    """The same network behind a torch and an onnxruntime tiler."""
    net = cin26 if model == "cin26" else transformer
    return (TiledStylizer(model, net=net, backend="torch", **kw), TiledStylizer(model, net=net, backend="ort", **kw))


def test_auto_backend_is_ort_on_cpu_and_ort_refuses_cuda():
    assert TiledStylizer("cin26").backend == "ort"
    with pytest.raises(ModelError, match="backend"):
        TiledStylizer("cin26", backend="onnx")
    with pytest.raises(ModelError, match="CPU only"):
        TiledStylizer("cin26", backend="ort", device="cuda")


@pytest.mark.parametrize("model,style", BACKEND_CASES)
def test_ort_recorded_statistics_match_torch(model, style, cin26, transformer):
    img = photo(128, 96)
    torch_tiler, ort_tiler = _tilers(model, cin26, transformer)
    ref, got = torch_tiler.stats_for(img, style), ort_tiler.stats_for(img, style)
    assert len(got) == len(ref) == (18 if model == "cin26" else 13)
    for a, b in zip(got.means + got.variances, ref.means + ref.variances):
        assert a.shape == b.shape and a.dtype == torch.float32
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-4, atol=1e-6)
    # Untiled without statistics is the plain network on both backends.
    assert np.abs(ort_tiler(img, style, tiled=False) - torch_tiler(img, style, tiled=False)).max() <= 1e-4


@pytest.mark.parametrize("model,style", BACKEND_CASES)
def test_ort_frozen_output_matches_torch(model, style, cin26, transformer):
    a, b = photo(128, 96), np.ascontiguousarray(photo(128, 96)[::-1, ::-1] * 0.6)
    torch_tiler, ort_tiler = _tilers(model, cin26, transformer)
    stats = torch_tiler.stats_for(a, style)  # statistics from one backend feed the other
    ref = torch_tiler(b, style, stats=stats, tiled=False)
    got = ort_tiler(b, style, stats=stats, tiled=False)
    assert got.shape == b.shape
    assert np.abs(got - ref).max() <= 1e-4


@pytest.mark.parametrize("model,style", BACKEND_CASES)
def test_tiled_ort_matches_tiled_torch(model, style, cin26, transformer):
    img = photo(130, 98)  # sides not multiples of 4: padding and crops as in the torch path
    torch_tiler, ort_tiler = _tilers(model, cin26, transformer, tile=64, halo=16, stats_size=64)
    ref, got = torch_tiler(img, style, tiled=True), ort_tiler(img, style, tiled=True)
    assert got.shape == img.shape
    assert np.abs(got - ref).max() <= 1e-4


@pytest.mark.parametrize("model,style", BACKEND_CASES)
def test_frozen_graph_takes_the_statistics_as_inputs(model, style, cin26, transformer):
    import onnx

    from filmstyle.models.norm import NormStats
    from filmstyle.models.stats_runtime import export_stats_onnx

    net = cin26 if model == "cin26" else transformer
    name = "cin26" if model == "cin26" else "transformer"
    layers = 18 if model == "cin26" else 13
    graph = onnx.load(export_stats_onnx(name, "frozen", net)).graph
    stat_inputs = [i.name for i in graph.input if i.name.startswith(("mean_", "var_"))]
    assert len(stat_inputs) == 2 * layers
    assert not {i.name for i in graph.initializer} & set(stat_inputs)

    img = photo(128, 96)
    _, ort_tiler = _tilers(model, cin26, transformer)
    stats = ort_tiler.stats_for(img, style)
    other = NormStats([m + 0.1 for m in stats.means], [v * 2.0 for v in stats.variances])
    # Only the last layer changed: the graph reads every layer's input, not just the first.
    last = NormStats(stats.means[:-1] + [other.means[-1]], stats.variances[:-1] + [other.variances[-1]])
    base = ort_tiler(img, style, stats=stats, tiled=False)
    assert np.abs(ort_tiler(img, style, stats=other, tiled=False) - base).max() > 1e-2
    assert np.abs(ort_tiler(img, style, stats=last, tiled=False) - base).max() > 1e-3
    # Own statistics frozen = the plain network.
    assert np.abs(base - ort_tiler(img, style, tiled=False)).max() <= 1e-5


def test_ort_refuses_statistics_from_another_model(cin26, transformer):
    _, ort_cin = _tilers("cin26", cin26, transformer)
    _, ort_arb = _tilers("arbitrary", cin26, transformer)
    img = photo(128, 96)
    stats = ort_arb.stats_for(img, ARBITRARY_STYLE)
    with pytest.raises(ModelError, match="frozen norm statistics"):
        ort_cin(img, STYLE7, stats=stats, tiled=False)


def test_statistics_graphs_are_cached_and_checked(transformer, tmp_path, monkeypatch):
    import copy

    import onnx

    from filmstyle.models.stats_runtime import export_stats_onnx

    monkeypatch.setenv("FILMSTYLE_CACHE_DIR", str(tmp_path))
    record = export_stats_onnx("transformer", "record", transformer)
    frozen = export_stats_onnx("transformer", "frozen", transformer)
    assert record != frozen and record.parent == frozen.parent == tmp_path / "onnx"
    stamp = record.stat().st_mtime_ns
    assert export_stats_onnx("transformer", "record", transformer) == record
    assert record.stat().st_mtime_ns == stamp  # served from the cache
    # A truncated file fails its sidecar checksum and is exported again.
    record.write_bytes(record.read_bytes()[:-10])
    assert export_stats_onnx("transformer", "record", transformer) == record
    onnx.checker.check_model(str(record))
    # Other weights, other file: a network is never served another one's graph.
    other = copy.deepcopy(transformer)
    with torch.no_grad():
        next(other.parameters()).add_(1.0)
    assert export_stats_onnx("transformer", "record", other) != record
