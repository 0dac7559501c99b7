"""Previews: the proxy networks, the guided enlargement, and ``proxy`` through CLI, jobs and worker."""

from __future__ import annotations

import subprocess
import sys
import time

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from filmstyle.engine.preview import guided_upsample, proxy_factor, proxy_stylize
from filmstyle.errors import InputError
from filmstyle.models.proxy import ProxyNet, ProxyRunner, _bilinear_up, fold_taps, proxy_flops
from tests.core.test_server import job, worker  # noqa: F401  (a real worker on 127.0.0.1)


def _photo(width: int, height: int) -> np.ndarray:
    from filmstyle import io
    from filmstyle.tools.sheets import sample_photograph

    photo = np.clip(io.read_frame(sample_photograph()).rgb, 0, 1).astype(np.float32)
    return np.ascontiguousarray(cv2.resize(photo, (width, height), interpolation=cv2.INTER_AREA))


@pytest.mark.parametrize("kernel,stride,up,a,b", [(9, 1, 1, 2, 2), (3, 2, 1, 2, 1), (3, 1, 2, 1, 2),
                                                  (9, 1, 1, 4, 4), (3, 2, 1, 4, 2), (3, 1, 2, 2, 4)])
def test_a_folded_kernel_is_the_layer_seen_from_the_proxy_grid(kernel, stride, up, a, b):
    """conv(fold(W)) on proxy features == area_down(conv_W(nearest_up(bilinear_up(x)))) inside the frame."""
    g = torch.Generator().manual_seed(kernel * 10 + a)
    w = torch.randn(2, 3, kernel, kernel, generator=g, dtype=torch.float64)
    x = torch.randn(1, 3, 40, 40, generator=g, dtype=torch.float64)
    t = torch.from_numpy(fold_taps(kernel, stride, up, a, b))
    folded = torch.einsum("yi,ocij,xj->ocyx", t, w, t)
    got = F.conv2d(x, folded, padding=folded.shape[-1] // 2)
    ups = torch.from_numpy(_bilinear_up(40, a))
    fine = torch.einsum("Yy,bcyx,Xx->bcYX", ups, x, ups)
    fine = F.interpolate(fine, scale_factor=float(up), mode="nearest")
    want = F.avg_pool2d(F.conv2d(fine, w, stride=stride, padding=kernel // 2), b)
    m = 8  # away from the borders, where padding differs
    torch.testing.assert_close(got[..., m:-m, m:-m], want[..., m:-m, m:-m])


def test_proxies_keep_the_residual_core_and_save_the_rest():
    from filmstyle.models import load_model

    for name, lo, hi in (("cin26", 0.45, 0.70), ("transformer", 0.45, 0.70)):
        flops = proxy_flops(load_model(name), 1080, 1920)
        assert flops[4] < flops[2] < flops[1]
        assert lo * flops[1] < flops[4] and flops[2] < hi * flops[1], (name, flops)


def test_proxy_frames_must_fit_the_core_grid():
    runner = ProxyRunner("transformer", 2)
    with pytest.raises(InputError, match="multiples of 2"):
        runner(np.zeros((21, 30, 3), np.float32), np.zeros(100, np.float32))
    with pytest.raises(InputError, match="1/2, 1/4"):
        proxy_factor("1/3")


def test_guided_enlargement_restores_the_plates_edges():
    """A look that follows the plate's light (here: a tint of its luminance) comes back sharp; bicubic blurs it."""
    h, w = 96, 128
    yy, xx = np.mgrid[0:h, 0:w]
    plate = np.stack([(xx > 0.37 * w + 0.2 * yy), (yy > 0.55 * h), ((xx + yy) % 23 < 11)], -1).astype(np.float32)
    plate = 0.2 + 0.6 * plate
    luma = plate @ np.array([0.2126, 0.7152, 0.0722], np.float32)
    look = luma[..., None] * np.array([0.9, 0.6, 0.3], np.float32) + np.array([0.05, 0.1, 0.2], np.float32)
    small = cv2.resize(look, (w // 4, h // 4), interpolation=cv2.INTER_AREA)
    guided = guided_upsample(small, plate)
    cubic = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
    assert guided.shape == look.shape and guided.dtype == np.float32
    err_guided, err_cubic = np.abs(guided - look).mean(), np.abs(cubic - look).mean()
    assert err_guided < 0.4 * err_cubic, (err_guided, err_cubic)
    # A look with nothing in common with the plate gets the plain enlargement, no plate detail.
    noise = np.random.default_rng(0).random((h // 4, w // 4, 3)).astype(np.float32)
    flat = guided_upsample(noise, np.full((h, w, 3), 0.5, np.float32))
    np.testing.assert_allclose(flat, cv2.resize(noise, (w, h), interpolation=cv2.INTER_CUBIC), atol=1e-5)


@pytest.fixture(scope="module")
def frame() -> np.ndarray:
    return _photo(480, 272)


@pytest.mark.parametrize("model,style,bounds", [
    # (SSIM at 1/2, at 1/4) against the full render, measured on this frame: starry-blue (19)
    # 0.872 / 0.476, an unchanged network on the small frame 0.062 / 0.050; lilac-haze (12)
    # 0.967 / 0.798 (0.584 / 0.544); the transformer 0.861 / 0.672 (0.615 / 0.491).
    ("cin26", 19, (0.85, 0.42)),
    ("cin26", 12, (0.94, 0.75)),
    ("transformer", "photo", (0.83, 0.62)),
])
def test_preview_quality_against_the_full_render(frame, model, style, bounds):
    from filmstyle.models import ArbitraryStylizer, Cin26Stylizer
    from filmstyle.tools.metrics import ssim

    if model == "cin26":
        cond = np.zeros(26, np.float32)
        cond[style] = 1.0
        full_net = Cin26Stylizer()
    else:
        full_net = ArbitraryStylizer()
        cond = full_net.style_vector(_photo(256, 256)[::-1].copy())
    full = full_net(frame, cond)
    for factor, bound in zip((2, 4), bounds):
        runner = ProxyRunner("cin26" if model == "cin26" else "transformer", factor)
        preview = proxy_stylize(runner, frame, cond, factor)
        assert preview.shape == frame.shape and 0.0 <= preview.min() and preview.max() <= 1.0
        score = ssim(preview, full)
        h, w = frame.shape[:2]
        naive = cv2.resize(full_net(cv2.resize(frame, (w // factor, h // factor), interpolation=cv2.INTER_AREA), cond),
                           (w, h), interpolation=cv2.INTER_CUBIC)
        assert score >= bound, (model, factor, score)
        assert score > ssim(naive, full) + 0.05, (model, factor, score, ssim(naive, full))


def test_a_proxy_net_in_torch_matches_its_onnx_export(frame):
    from filmstyle.models import load_model

    cond = np.zeros(26, np.float32)
    cond[3] = 1.0
    small = np.ascontiguousarray(cv2.resize(frame, (120, 68), interpolation=cv2.INTER_AREA))
    net = ProxyNet(load_model("cin26"), 4).eval()
    with torch.inference_mode():
        want = net(torch.from_numpy(small.transpose(2, 0, 1).copy())[None], torch.from_numpy(cond)[None])
    got = ProxyRunner("cin26", 4)(small, cond)
    np.testing.assert_allclose(got, want[0].permute(1, 2, 0).numpy(), atol=1e-4)


def test_stylize_proxy_on_the_command_line(tmp_path):
    from tests.core.test_server import write_plates

    src = write_plates(tmp_path / "plate", (1, 2))
    cmd = [sys.executable, "-c", "from filmstyle.cli import main; main()", "stylize", src,
           str(tmp_path / "out" / "o.####.exr"), "--style", "starry-blue"]
    assert subprocess.run(cmd + ["--proxy", "1/4"], capture_output=True, text=True).returncode == 0
    assert (tmp_path / "out" / "o.0002.exr").exists()
    bad = subprocess.run(cmd + ["--proxy", "1/3", "--overwrite"], capture_output=True, text=True)
    assert bad.returncode != 0 and "1/3" in bad.stderr and "Traceback" not in bad.stderr


def test_the_worker_renders_a_jobs_proxy(worker):  # noqa: F811
    from filmstyle import io
    from filmstyle.engine.pipeline import FramePipeline
    from filmstyle.job import job_from_data
    from filmstyle.job.plan import build_plan

    client = worker["client"]
    data = job(worker["allowed"], "proxy", frames=(1,), proxy="1/2", strength=1.0)
    submitted = client.submit(data)
    deadline = time.monotonic() + 120
    while (state := client.status(submitted["id"])["state"]) in ("queued", "running"):
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert state == "done"
    got = io.read_frame(data["output"].replace("####", "0001")).rgb
    plan = build_plan(job_from_data({**data, "output": data["output"].replace("out.", "ref.")},
                                    base_dir=worker["allowed"]))
    src = io.read_frame(plan.source.path(1))
    want = FramePipeline(plan).stylize_frame(src, 1)
    full = FramePipeline(build_plan(job_from_data({**data, "proxy": "full", "output": data["output"].replace(
        "out.", "full.")}, base_dir=worker["allowed"]))).stylize_frame(src, 1)
    np.testing.assert_allclose(got, want, rtol=2e-3, atol=2e-3)
    assert np.abs(got - full).mean() > 1e-3
