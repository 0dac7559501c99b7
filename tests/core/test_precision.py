"""``precision`` means what it says on every path: runners, tiles, shot statistics, custom models.

A CPU torch runs half and bfloat16, so every dtype path is exercised here; the bounds are those of
:data:`filmstyle.tools.precision_bounds.BOUNDS` (the README's precision section gives the figures
they come from). Small frames keep fp16, which torch runs through a slow reference convolution on
a CPU, cheap.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pytest
import torch

from filmstyle.engine.stylize import FrameStylizer
from filmstyle.engine.tiling import ShotStatsStylizer, TiledStylizer
from filmstyle.job.look import NetworkOptions, StyleWeight
from filmstyle.job.styles import resolve_style
from filmstyle.models import Cin26Net, NetworkRunner, StyleTransformer, load_model
from filmstyle.models.custom import JohnsonTransformerNet, load_custom
from filmstyle.models.transfer import download, upload
from filmstyle.tools.precision_bounds import BOUNDS, compare, within_bounds

torch.set_num_threads(2)
STARRY = np.eye(26, dtype=np.float32)[resolve_style("starry-blue").index]
VECTOR = np.linspace(-1.5, 1.5, 100, dtype=np.float32)


@lru_cache(maxsize=4)
def frame(width: int, height: int) -> np.ndarray:
    from filmstyle.tools.precision_bounds import working_frame

    return working_frame(width, height)


@pytest.mark.parametrize("name,cond", [("cin26", STARRY), ("transformer", VECTOR)])
@pytest.mark.parametrize("precision", ["fp16", "bf16"])
def test_runner_precision_stays_within_its_bounds(name, cond, precision):
    img = frame(90, 62)  # sides not multiples of 4: padding on the device too
    reference = NetworkRunner(name, "cpu", "fp32", backend="torch")(img, cond)
    out = NetworkRunner(name, "cpu", precision, backend="torch")(img, cond)
    assert out.shape == img.shape and out.dtype == np.float32
    figures = compare(reference, out)
    assert within_bounds(precision, figures), figures
    assert figures["code_mean"] > 0  # it really ran in the lower precision


@pytest.mark.parametrize("net_cls,cond", [(Cin26Net, torch.from_numpy(STARRY)[None]),
                                          (StyleTransformer, torch.from_numpy(VECTOR)[None])])
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_sigmoid_and_its_input_stay_float32_in_half_networks(net_cls, cond, dtype):
    net = load_model("cin26" if net_cls is Cin26Net else "transformer").to(dtype)
    x = torch.from_numpy(frame(64, 48).transpose(2, 0, 1).copy())[None].to(dtype)
    with torch.inference_mode():
        y = net.body(x, cond.to(dtype))
    assert y.dtype == torch.float32
    # Bright outputs are not confined to the half grid (one fp16 step near 1 is 4.9e-4 in code,
    # +5 % of linear light at 11 after the shaper's inverse): the sigmoid ran in float32.
    bright = y[y > 0.9].numpy()
    assert bright.size and np.mean(bright != bright.astype(np.float16).astype(np.float32)) > 0.5


def test_upload_is_a_channels_last_view_on_cpu_and_pads_like_numpy():
    img = np.ascontiguousarray(frame(64, 48))
    x = upload(img, torch.device("cpu"), torch.float32)
    assert x.is_contiguous(memory_format=torch.channels_last)
    assert x.data_ptr() == torch.from_numpy(img).data_ptr()  # no copy on the CPU
    odd = np.ascontiguousarray(frame(90, 62))
    y = upload(odd, torch.device("cpu"), torch.float16)
    want = np.pad(odd, ((0, 2), (0, 2), (0, 0)), mode="reflect").transpose(2, 0, 1)[None]
    assert y.dtype == torch.float16 and tuple(y.shape) == (1, 3, 64, 92)
    np.testing.assert_array_equal(y.float().numpy(), want.astype(np.float16).astype(np.float32))
    back = download(y, 62, 90)
    assert back.shape == (62, 90, 3) and back.dtype == np.float32 and back.flags.c_contiguous


def test_fp32_torch_runner_is_unchanged_by_the_device_side_layout():
    net = load_model("cin26")
    img = frame(90, 62)
    padded = np.pad(img, ((0, 2), (0, 2), (0, 0)), mode="reflect")
    with torch.inference_mode():
        want = net.body(torch.from_numpy(padded.transpose(2, 0, 1).copy())[None], torch.from_numpy(STARRY)[None])
    want = want[0, :, :62, :90].permute(1, 2, 0).numpy()
    got = NetworkRunner("cin26", "cpu", "fp32", backend="torch")(img, STARRY)
    np.testing.assert_allclose(got, want, atol=2e-5)


def test_tiles_and_shot_statistics_run_in_the_precision_asked_for():
    net = load_model("cin26")
    img = frame(160, 96)
    tiler32 = TiledStylizer("cin26", tile=64, net=net, backend="torch")
    tiler16 = TiledStylizer("cin26", tile=64, net=net, precision="bf16")
    assert tiler16.backend == "torch"  # the ONNX graphs are float32: auto picks torch
    with pytest.raises(Exception, match="fp32 only"):
        TiledStylizer("cin26", precision="bf16", backend="ort")
    stats = tiler32.stats_for(img, STARRY)
    reference = tiler32(img, STARRY, stats=stats, tiled=True)
    out = tiler16(img, STARRY, stats=stats, tiled=True)
    assert next(tiler16.device_net.parameters()).dtype == torch.bfloat16
    assert tiler16.device_net.layer("res.0.0").conv.conv.weight.is_contiguous(memory_format=torch.channels_last)
    assert next(net.parameters()).dtype == torch.float32  # the caller's network is left alone
    figures = compare(reference, out)
    assert within_bounds("bf16", figures) and figures["code_mean"] > 0, figures
    # Shot statistics recorded by the bf16 pass are float32 and drive the bf16 tiles.
    shot = ShotStatsStylizer(tiler16)
    first = shot(img, STARRY, new_shot=True)
    assert all(m.dtype == torch.float32 for m in shot.stats.means)
    assert within_bounds("bf16", compare(reference, first))


def test_frame_stylizer_hands_its_precision_to_tiles_and_custom_models(tmp_path):
    torch.manual_seed(0)
    torch.save(JohnsonTransformerNet().state_dict(), tmp_path / "j.pth")
    stylizer = FrameStylizer(precision="bf16", options=NetworkOptions(tiling="on", tile_size=64))
    assert stylizer.tiler("cin26").precision == "bf16"
    from filmstyle.job.user_styles import resolve_any_style

    custom = resolve_any_style(f"custom:{tmp_path / 'j.pth'}", field="styles", base_dir=tmp_path)
    runner = stylizer.custom(custom)
    assert runner.precision == "bf16" and next(runner.net.parameters()).dtype == torch.bfloat16
    img = frame(64, 48)
    reference = load_custom(tmp_path / "j.pth")(img)
    assert np.abs(runner(img) - reference).mean() < BOUNDS["bf16"]["code_mean"]
    out = stylizer.stylize(frame(96, 64), [StyleWeight(resolve_style("starry-blue"), 1.0)], 1.0)
    assert out.shape == (64, 96, 3) and out.dtype == np.float32
