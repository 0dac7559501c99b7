"""``filmstyle bench --only farm``: temporal coherence across farm chunk boundaries.

A temporal job (``temporal: 0.6``) is rendered once whole and then in chunks, the way farm tasks
render them (each chunk on its own, its frames only, :func:`~filmstyle.engine.sequence.render_sequence`
with the chunk's warm-up), with no warm-up, a short one and the automatic one. For every render
the warping error (:func:`filmstyle.tools.metrics.warping_error`: the output against the previous
output warped along the source's flow, over reliable pixels) is averaged over the frame pairs that
straddle a chunk boundary and over the pairs inside chunks. A chunk that starts with no history
shows as a jump at its boundary; a warmed chunk should not.
"""

from __future__ import annotations

import statistics
import tempfile
from pathlib import Path

import numpy as np

__all__ = ["figures", "lines", "boundary_figures"]


def boundary_figures(plate: str, work: Path, *, chunk: int = 8, warmups=(0, 2, None), style: str = "starry-blue",
                     temporal: float = 0.6) -> dict:
    """Warping errors at chunk boundaries and inside chunks for a whole render and chunked ones."""
    from filmstyle import io
    from filmstyle.engine.sequence import render_sequence
    from filmstyle.farm.chunks import auto_warmup
    from filmstyle.job import plan_from_cli
    from filmstyle.tools.metrics import warping_error

    def plan(name: str, frames: str | None = None):
        return plan_from_cli(input=plate, output=str(work / name / "o.####.exr"), style=style, temporal=temporal,
                             frames=frames, overwrite=True)

    whole = plan("whole")
    render_sequence(whole)
    frames = list(whole.source.frames)
    starts = set(frames[chunk::chunk])
    renders = {"whole": whole}
    for k in warmups:
        k = auto_warmup(temporal) if k is None else k
        name = f"warm{k}"
        # Last chunk first: as on a farm, no chunk finds the frame before it on disk to resume from.
        for i in reversed(range(0, len(frames), chunk)):
            part = frames[i:i + chunk]
            render_sequence(plan(name, f"{part[0]}-{part[-1]}"), warmup=k, before=frames[:i])
        renders[name] = plan(name)

    def shown(path) -> np.ndarray:
        return np.clip(io.read_frame(path).rgb, 0.0, 1.0)

    sources = [shown(whole.source.path(f)) for f in frames]
    out: dict = {"frames": len(frames), "chunk": chunk, "boundaries": len(starts), "temporal": temporal,
                 "auto_warmup": auto_warmup(temporal), "renders": {}}
    for name, p in renders.items():
        outputs = [shown(p.output.path(f)) for f in frames]
        at, inside = [], []
        for i in range(1, len(frames)):
            err, _ = warping_error(outputs[i], outputs[i - 1], sources[i], sources[i - 1])
            (at if frames[i] in starts else inside).append(err)
        diff = [float(np.abs(a - b).mean()) for a, b in zip(outputs, [shown(whole.output.path(f)) for f in frames])]
        out["renders"][name] = {"at_boundaries": statistics.fmean(at), "inside": statistics.fmean(inside),
                                "max_abs_diff_from_whole": max(diff)}
    return out


def figures(*, width: int = 1920, height: int = 1080, **_) -> dict:
    from filmstyle.tools.demo import make_demo_shot

    work = Path(tempfile.mkdtemp(prefix="filmstyle-bench-farm-"))
    size = (max(64, width // 3), max(36, height // 3))  # a coherence figure: a third of the size is plenty
    plate = make_demo_shot(work / "plate", 24, size=size)
    return {"size": f"{size[0]}x{size[1]}", **boundary_figures(plate, work)}


def lines(f: dict) -> list[str]:
    rows = [f"  farm chunks @{f['size']}, {f['frames']} frames in chunks of {f['chunk']} ({f['boundaries']} boundaries), "
            f"temporal {f['temporal']}: warping error at boundaries / inside chunks"]
    for name, r in f["renders"].items():
        label = "one process" if name == "whole" else f"chunks, warm-up {name[4:]}"
        rows.append(f"    {label:<20} {r['at_boundaries']:.5f} / {r['inside']:.5f}"
                    + ("" if name == "whole" else f"   (max |diff| from one process {r['max_abs_diff_from_whole']:.2e})"))
    return rows
