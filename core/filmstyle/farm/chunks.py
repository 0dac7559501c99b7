"""A job cut into chunks for a render farm: frame ranges of ``filmstyle render JOB.yaml --frames A-B``.

Every chunk is an ordinary ``render`` of the job file restricted to its frames, so it is
idempotent (frames already on disk are skipped, each frame is written to a temp file and renamed)
and resumable (a chunk killed half-way picks up where it stopped), whichever render manager runs it.

**Temporal jobs** (temporal blending or shot statistics) carry state from frame to frame. Chunks
stay coherent across their boundaries in two ways:

* the job's source is scanned for shot cuts first, with the render's own cut detector, and every
  shot starts a chunk: a chunk that starts at a cut needs no history;
* a chunk that starts inside a shot first stylizes the ``warmup`` frames before it without
  writing them (``render --warmup K --warmup-from SHOT_START``), so its history is that of a
  render of the whole shot. When the window reaches back to the shot's first frame the chunk's
  frames are exactly those of a single render; beyond that, temporal blending at amount ``a``
  has forgotten all but ``a**K`` of what lies before (:func:`auto_warmup` picks ``K`` for 1 %).

Shot statistics are recorded on a shot's first frame and must be the same for the whole shot, so
jobs that freeze them get one chunk per shot.
"""

from __future__ import annotations

import math
import shlex
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from filmstyle.errors import JobError
from filmstyle.io import format_frame_range

__all__ = ["Chunk", "FarmPlan", "plan_farm", "auto_warmup", "filmstyle_command",
           "MAX_WARMUP", "WARMUP_TOLERANCE", "DEFAULT_CHUNK"]

#: Frames per chunk when ``--chunk`` is not given.
DEFAULT_CHUNK = 10
#: History left unwarmed that :func:`auto_warmup` accepts (``a**K <= WARMUP_TOLERANCE``).
WARMUP_TOLERANCE = 0.01
#: Largest automatic warm-up, so a near-1 temporal amount does not render shots twice.
MAX_WARMUP = 24


def auto_warmup(max_amount: float, *, tolerance: float = WARMUP_TOLERANCE, limit: int = MAX_WARMUP) -> int:
    """Frames of warm-up after which less than ``tolerance`` of the unwarmed history is left, for
    temporal blending whose largest amount over the shot is ``max_amount`` (0 = off: none)."""
    if max_amount <= 0.0:
        return 0
    return max(1, min(limit, math.ceil(math.log(tolerance) / math.log(max_amount))))


def filmstyle_command() -> list[str]:
    """How to run ``filmstyle`` with this Python: its console script when installed, else ``-c``."""
    script = Path(sys.executable).with_name("filmstyle")
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-c", "from filmstyle.cli import main; main()"]


@dataclass(frozen=True)
class Chunk:
    """Frames one farm task renders, and the warm-up before them."""

    frames: tuple[int, ...]
    warmup: int = 0
    shot_start: int | None = None  # first frame of the shot the chunk lies in

    @property
    def spec(self) -> str:
        return format_frame_range(self.frames)

    def render_args(self, job_file: Path) -> list[str]:
        """The ``filmstyle`` arguments that render this chunk (JSON progress on stdout)."""
        args = ["render", str(job_file), "--frames", self.spec, "--progress", "json"]
        if self.warmup:
            args += ["--warmup", str(self.warmup)]
            if self.shot_start is not None:
                args += ["--warmup-from", str(self.shot_start)]
        return args


@dataclass(frozen=True)
class FarmPlan:
    """A job file cut into chunks (see the module docstring).

    Attributes:
        job_file: absolute path of the job file every chunk renders.
        name: a name for the render manager (the job file's stem).
        frames: every frame of the job.
        shots: the job's frames cut at shot cuts (one shot when not scanned).
        chunks: the chunks, in frame order.
        chunk_size: frames per chunk asked for.
        warmup: warm-up frames of chunks that start inside a shot.
        scanned: whether the source was scanned for cuts.
        output: the output pattern (for render managers that show outputs).
        notes: what the plan decided that the user should know.
    """

    job_file: Path
    name: str
    frames: tuple[int, ...]
    shots: tuple[tuple[int, ...], ...]
    chunks: tuple[Chunk, ...]
    chunk_size: int
    warmup: int
    scanned: bool
    output: str
    notes: tuple[str, ...] = ()

    def command(self, chunk: Chunk, executable: Sequence[str] | None = None) -> list[str]:
        """The full command line of ``chunk`` (``executable`` defaults to this environment's filmstyle)."""
        return [*(executable or filmstyle_command()), *chunk.render_args(self.job_file)]

    def shell_command(self, chunk: Chunk, executable: Sequence[str] | None = None) -> str:
        return shlex.join(self.command(chunk, executable))


def _split(frames: Sequence[int], size: int) -> list[tuple[int, ...]]:
    return [tuple(frames[i:i + size]) for i in range(0, len(frames), size)]


def plan_farm(job_file: str | Path, *, chunk: int = DEFAULT_CHUNK, warmup: int | None = None,
              scan_cuts: bool | None = None,
              on_scan: Callable[[int, int], None] | None = None) -> FarmPlan:
    """Validate ``job_file`` (as ``filmstyle validate`` does) and cut it into chunks.

    Args:
        chunk: frames per chunk (>= 1).
        warmup: warm-up frames for chunks inside a shot; default :func:`auto_warmup` of the job's
            largest temporal amount (0 for jobs without temporal blending).
        scan_cuts: scan the source for shot cuts; default yes for jobs that carry state.
        on_scan: progress of the scan, ``(frames scanned, total)``.

    Raises:
        FilmStyleError: the job does not validate (one line naming the file and field).
    """
    from filmstyle.job import build_plan, load_job

    if chunk < 1:
        raise JobError(f"--chunk: expected a number of frames >= 1, got {chunk}")
    if warmup is not None and warmup < 0:
        raise JobError(f"--warmup: expected a number of frames >= 0, got {warmup}")
    path = Path(job_file).expanduser().resolve()
    plan = build_plan(load_job(path))
    frames = tuple(plan.source.frames)
    notes: list[str] = []
    stateful = plan.tracks_shots
    if scan_cuts is None:
        scan_cuts = stateful
    if not stateful:
        shots, k = (frames,), 0
    else:
        amounts = [float(plan.temporal(f)) for f in frames] if plan.temporal is not None else [0.0]
        k = auto_warmup(max(amounts)) if warmup is None else warmup
        if scan_cuts:
            from filmstyle.farm.cuts import find_cuts

            cuts = set(find_cuts(plan, progress=on_scan))
            shots_list: list[list[int]] = []
            for f in frames:
                if not shots_list or f in cuts:
                    shots_list.append([])
                shots_list[-1].append(f)
            shots = tuple(tuple(s) for s in shots_list)
        else:
            shots = (frames,)
        if plan.network.shot_stats:
            if not scan_cuts:
                raise JobError(f"{path.name}: shot_stats freezes statistics at each shot's first frame; chunks must "
                               "start at cuts, so the source must be scanned (leave out --no-cuts)")
            notes.append("shot_stats: one chunk per shot (statistics are recorded on each shot's first frame)")
    chunks: list[Chunk] = []
    for shot in shots:
        size = len(shot) if stateful and plan.network.shot_stats else chunk
        for i, part in enumerate(_split(shot, size)):
            chunks.append(Chunk(part, 0 if i == 0 or not stateful else k, shot[0] if stateful else None))
    if stateful and len(shots) > 1:
        notes.append(f"{len(shots) - 1} cut(s) found: chunks start at frames {', '.join(str(s[0]) for s in shots[1:])}")
    return FarmPlan(path, path.stem, frames, shots, tuple(chunks), chunk, k, bool(stateful and scan_cuts),
                    plan.output.pattern, tuple(notes))
