"""``filmstyle bench --only processes``: one render process on every core against two on half each.

The same EXR frames (the 1080p demo plate, half RGBA plus float Z) are rendered by ``filmstyle
render JOB --progress json`` once as one process with all cores, and once as two processes started
together, each pinned to half the cores (as the Dask runner pins local workers) and rendering half
the frames. Reported per configuration: the wall time from start to the last frame (process
start-up and model loading included, as a farm pays them) and the render time per frame the
processes report (after start-up), as frames per second of the whole machine.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

__all__ = ["figures", "lines"]


def _run(job: Path, frame_sets: list[str], cpu_sets: list[list[int]]) -> dict:
    from filmstyle.farm.chunks import filmstyle_command

    start = time.perf_counter()
    procs = []
    for frames, cpus in zip(frame_sets, cpu_sets):
        procs.append(subprocess.Popen(
            [*filmstyle_command(), "render", str(job), "--frames", frames, "--progress", "json", "--overwrite"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL,
            preexec_fn=(lambda c=cpus: os.sched_setaffinity(0, c)) if cpus and hasattr(os, "sched_setaffinity") else None))
    written, render_s = 0, []
    for proc in procs:
        out, err = proc.communicate()
        if proc.returncode:
            from filmstyle.errors import FilmStyleError

            raise FilmStyleError(f"bench processes: a render failed: {(err.strip().splitlines() or ['?'])[-1]}")
        done = [json.loads(line) for line in out.splitlines() if line.startswith("{")][-1]
        written += done["written"]
        render_s.append(done["seconds"])
    wall = time.perf_counter() - start
    return {"wall_s": wall, "frames": written, "render_s": max(render_s), "fps_wall": written / wall,
            "fps_render": written / max(render_s)}


def figures(*, width: int = 1920, height: int = 1080, frames: int = 4, **_) -> dict:
    import yaml

    from filmstyle.farm.dask_farm import core_sets
    from filmstyle.tools.demo import make_demo_shot

    count = max(2, frames - frames % 2)
    work = Path(tempfile.mkdtemp(prefix="filmstyle-bench-procs-"))
    plate = make_demo_shot(work / "plate", count, size=(width, height))
    job = work / "job.yaml"
    job.write_text(yaml.safe_dump({"filmstyle": 2, "input": plate, "output": str(work / "out" / "o.####.exr"),
                                   "styles": ["starry-blue"]}), encoding="utf-8")
    first, half = 1001, count // 2
    one = _run(job, [f"{first}-{first + count - 1}"], [[]])
    cpus = core_sets(2)
    two = _run(job, [f"{first}-{first + half - 1}", f"{first + half}-{first + count - 1}"], cpus)
    return {"size": f"{width}x{height}", "frames": count, "cores": sum(len(c) for c in cpus) if cpus[0] else None,
            "one": one, "two": two, "ratio_two_over_one_fps_render": two["fps_render"] / one["fps_render"],
            "ratio_two_over_one_fps_wall": two["fps_wall"] / one["fps_wall"]}


def lines(f: dict) -> list[str]:
    one, two = f["one"], f["two"]
    return [
        f"  render processes @{f['size']}, {f['frames']} frames, 26-style EXR→EXR:",
        f"    1 process, all cores   {one['fps_render']:.2f} frames/s rendering, {one['wall_s']:.1f} s wall "
        f"(start-up included)",
        f"    2 processes, half each {two['fps_render']:.2f} frames/s rendering, {two['wall_s']:.1f} s wall",
        f"    2 / 1 processes: {f['ratio_two_over_one_fps_render']:.2f}x rendering, "
        f"{f['ratio_two_over_one_fps_wall']:.2f}x wall",
    ]
