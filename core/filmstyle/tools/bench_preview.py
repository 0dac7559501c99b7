"""``filmstyle bench --only preview``: interactive previews against the full render, in memory.

A 1920x1080 ACEScg frame (the demo plate) is read once; each look is then rendered from memory by
:meth:`~filmstyle.engine.pipeline.FramePipeline.stylize_frame` (colour to the working space and
back, the network, the strength mix: everything but file IO) at ``proxy`` full, 1/2 and 1/4, and
each preview is compared with the full render in the display-encoded working space: SSIM of the
luma (as ``filmstyle metrics``) and PSNR. The goal is a 1080p preview in at most 0.25 s with SSIM
at least 0.85. Times are the best of interleaved runs (on a shared host the best is the least
disturbed); FLOPs count the networks' convolutions (:func:`filmstyle.models.proxy.proxy_flops`).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

__all__ = ["figures", "lines", "LOOKS", "TARGET_SECONDS", "TARGET_SSIM"]

TARGET_SECONDS = 0.25
TARGET_SSIM = 0.85
#: Looks measured: two built-in looks (strong and soft texture) and an image style.
LOOKS = ("starry-blue", "lilac-haze", "photo")


def _plan(plate: str, work: Path, style: str, proxy: str):
    from filmstyle.job import plan_from_cli
    from filmstyle.tools.sheets import sample_photograph

    name = str(sample_photograph()) if style == "photo" else style
    return plan_from_cli(input=plate, output=str(work / f"{proxy.replace('/', '-')}" / "o.####.exr"), style=name,
                         proxy=proxy, overwrite=True)


def figures(*, width: int = 1920, height: int = 1080, repeats: int = 2, **_) -> dict:
    """Preview times and quality per look and proxy (see the module docstring)."""
    from filmstyle import io
    from filmstyle.engine.pipeline import FramePipeline
    from filmstyle.models import load_model
    from filmstyle.models.proxy import proxy_flops
    from filmstyle.tools.demo import make_demo_shot
    from filmstyle.tools.metrics import psnr, ssim

    work = Path(tempfile.mkdtemp(prefix="filmstyle-bench-preview-"))
    plate = make_demo_shot(work / "plate", 1, size=(width, height))
    source = io.read_frame(plate.replace("####", "1001"))
    frame = 1001
    out: dict = {"size": f"{width}x{height}", "target_s": TARGET_SECONDS, "target_ssim": TARGET_SSIM, "looks": {}}
    for name, model in (("cin26", "cin26"), ("arbitrary", "transformer")):
        flops = proxy_flops(load_model(model), height, width)
        out[f"{name}_gflop"] = {str(k): v / 1e9 for k, v in flops.items()}
    for style in LOOKS:
        pipes = {proxy: FramePipeline(_plan(plate, work, style, proxy)) for proxy in ("full", "1/2", "1/4")}
        results, times = {}, {proxy: [] for proxy in pipes}
        for proxy, pipe in pipes.items():  # warm-up: sessions, exports, style vectors
            results[proxy] = pipe.stylize_frame(source, frame)
        for _ in range(repeats + 2):
            for proxy, pipe in pipes.items():
                start = time.perf_counter()
                pipe.stylize_frame(source, frame)
                times[proxy].append(time.perf_counter() - start)
        transform = pipes["full"].transform_for(source)

        def shown(rgb: np.ndarray) -> np.ndarray:
            return np.clip(transform.to_working(np.ascontiguousarray(rgb, dtype=np.float32).copy()), 0.0, 1.0)

        full = shown(results["full"])
        row = {"full_s": min(times["full"])}
        for proxy in ("1/2", "1/4"):
            preview = shown(results[proxy])
            row[proxy] = {"seconds": min(times[proxy]), "ssim": ssim(preview, full),
                          "psnr": psnr(preview, full)}
        out["looks"][style] = row
    return out


def lines(f: dict) -> list[str]:
    rows = [f"  preview @{f['size']}, in memory, colour included, best of runs (goal ≤ {f['target_s']:.2f} s, "
            f"SSIM ≥ {f['target_ssim']:.2f}):"]
    for style, row in f["looks"].items():
        parts = [f"full {row['full_s']:.3f} s"]
        for proxy in ("1/2", "1/4"):
            p = row[proxy]
            parts.append(f"{proxy} {p['seconds']:.3f} s SSIM {p['ssim']:.3f} PSNR {p['psnr']:.1f} dB")
        rows.append(f"    {style:<12} " + "; ".join(parts))
    for name in ("cin26", "arbitrary"):
        g = f[f"{name}_gflop"]
        rows.append(f"    {name} network GFLOP/frame: full {g['1']:.1f}, 1/2 {g['2']:.1f}, 1/4 {g['4']:.1f}")
    return rows
