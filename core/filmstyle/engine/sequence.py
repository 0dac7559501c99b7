"""Render a shot: every frame of a plan read, stylized and written, nothing lost.

:func:`render_sequence` adds what a farm or an artist needs around
:meth:`~filmstyle.engine.pipeline.FramePipeline.stylize_frame`: models loaded once, reading the
next frame and writing the last one while the network runs, existing outputs skipped so a killed
render resumes (a temporal render is primed from the frame before), every frame written to a temp
file and renamed, a progress callback and cancellation. A movie output (``.mov``) is written
through one :class:`~filmstyle.io.MovieOutput` instead: in frame order, committed at the end.

**Warm-up** (``warmup=K``, for chunks of a farm render): a plan that tracks shots (temporal
blending, shot statistics) first stylizes the ``K`` frames before the first frame it renders
(from ``before``, the shot's earlier frames, and the plan's own skipped ones), in order and without
writing them, so its history is that of a render of the whole shot up to there. Where those frames
reach back to the shot's first frame (a cut, or the start of the sequence) the result is the one a
single render of the shot gives; otherwise the history is shorter by what lies before them, which
temporal blending at amount ``a`` forgets as ``a**K``. Unlike priming from the previous output on
disk it does not depend on which chunk finished first, so chunks run in any order or at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from pathlib import Path

from filmstyle import io
from filmstyle.engine.pipeline import FramePipeline
from filmstyle.errors import RenderCancelled
from filmstyle.job.plan import RenderPlan

__all__ = ["FrameResult", "RenderReport", "ProgressCallback", "render_sequence"]


@dataclass(frozen=True)
class FrameResult:
    frame: int
    path: Path
    status: str  # "written" | "skipped"
    seconds: float = 0.0
    network_seconds: float = 0.0


@dataclass
class RenderReport:
    results: list[FrameResult] = field(default_factory=list)
    seconds: float = 0.0
    warmed: tuple[int, ...] = ()  # frames stylized (not written) to warm the history up

    @property
    def written(self) -> int:
        return sum(r.status == "written" for r in self.results)

    @property
    def skipped(self) -> int:
        return sum(r.status == "skipped" for r in self.results)


ProgressCallback = Callable[[FrameResult, int, int], None]


def _resume(plan: RenderPlan, pipeline: FramePipeline, frame: int, rendered_before: int | None,
            read: Callable[[int], io.SourceFrame]) -> None:
    """Prime the pipeline from the frame before ``frame`` when this run did not render it but it
    is on disk (a resumed render, a skipped frame, or a chunk that follows an earlier chunk)."""
    frames = plan.source.frames
    index = frames.index(frame)
    previous = frames[index - 1] if index > 0 else frame - 1
    if previous == rendered_before:
        return
    out = plan.output.path(previous)
    src = plan.source.path(previous) if index > 0 else io.FrameSequence(plan.source.pattern, (previous,)).path(previous)
    if src == plan.source.path(frame) or not (out.exists() and src.exists()):
        return  # a single still has no neighbour; or nothing on disk to resume from
    if index == 0:
        # Frame numbers outside the sequence: read the neighbour by its own path.
        source = io.read_frame(src, layer=plan.layer, part=plan.part)
    else:
        source = read(previous)
    pipeline.prime(previous, source, out)


def _warm_frames(plan: RenderPlan, first: int, warmup: int, before: Sequence[int]) -> list[int]:
    """The up to ``warmup`` frames before ``first`` to warm a shot's history on (existing files only)."""
    frames = list(plan.source.frames)
    earlier = [f for f in before if f < frames[0]] + frames[:frames.index(first)]
    warm: list[int] = []
    for frame in reversed(earlier[-warmup:] if warmup > 0 else []):
        if not io.FrameSequence(plan.source.pattern, (frame,)).path(frame).exists():
            break  # the sequence starts after it: warm from what is there
        warm.insert(0, frame)
    return warm


def render_sequence(
    plan: RenderPlan,
    *,
    progress: ProgressCallback | None = None,
    pipeline: FramePipeline | None = None,
    should_stop: Callable[[], bool] | None = None,
    warmup: int = 0,
    before: Sequence[int] = (),
) -> RenderReport:
    """Render every frame of ``plan``; see the module docstring for the guarantees.

    Args:
        progress: called after each frame with ``(result, done, total)``.
        pipeline: a prepared :class:`FramePipeline` to reuse (models stay loaded).
        should_stop: polled before each frame; when it returns True the frame being written is
            finished and :class:`~filmstyle.errors.RenderCancelled` is raised (with the report).
        warmup: frames to stylize, without writing them, before the first frame rendered, when
            the plan tracks shots (see the module docstring).
        before: the shot's frames before the plan's first frame, in order (a chunk's job frames).

    Raises:
        FilmStyleError: the first bad frame stops the render with a one-line error; frames
            already written stay (they are complete), the failing frame leaves no file.
        RenderCancelled: ``should_stop`` asked for it.
    """
    pipeline = pipeline or FramePipeline(plan)
    opened = [pipeline]
    try:
        return _render(plan, pipeline, opened, progress, should_stop, warmup, before)
    finally:
        for each in opened:  # their temp files (keyframe tracks); a pipeline stays usable
            each.close()


def _render(plan: RenderPlan, pipeline: FramePipeline, opened: list[FramePipeline],
            progress: ProgressCallback | None, should_stop: Callable[[], bool] | None,
            warmup: int, before: Sequence[int]) -> RenderReport:
    report = RenderReport()
    started = time.perf_counter()
    todo: list[int] = []
    frames = list(plan.source.frames)
    total = len(frames)
    protect = [plan.source.path(f) for f in frames]
    # A movie output is one file, written in frame order and committed when the render completes
    # (discarded otherwise): nothing to skip or resume; an existing one needs overwrite.
    movie = (io.MovieOutput(plan.output.pattern, plan.output.frames, overwrite=plan.overwrite,
                            options=plan.write_options, protect=protect) if plan.output.is_movie else None)
    for frame in frames:
        out = plan.output.path(frame)
        if movie is None and out.exists() and not plan.overwrite:
            result = FrameResult(frame, out, "skipped")
            report.results.append(result)
            if progress:
                progress(result, len(report.results), total)
        else:
            todo.append(frame)
    if todo:
        pipeline.stylizer.prepare([s.style for look in plan.looks for s in look.styles])
    # temp files of killed renders of these outputs (for a movie: of the one file)
    io.clean_stale_temps([Path(plan.output.pattern)] if movie is not None else (plan.output.path(f) for f in todo))
    checks = io.FrameChecks()
    warm = _warm_frames(plan, todo[0], warmup, before) if todo and plan.tracks_shots else []
    if warm:
        # The pipeline numbers frames by their place in the sequence: warm frames come first.
        source = io.FrameSequence(plan.source.pattern, tuple(warm) + plan.source.frames)
        pipeline = FramePipeline(replace(plan, source=source), stylizer=pipeline.stylizer)
        opened.append(pipeline)
        report.warmed = tuple(warm)

    def read(frame: int) -> io.SourceFrame:
        return io.read_frame(plan.source.path(frame), layer=plan.layer, part=plan.part)

    for frame in warm:
        if should_stop is not None and should_stop():
            report.seconds = time.perf_counter() - started
            raise RenderCancelled(f"render cancelled while warming up before frame {todo[0]}; nothing written", report)
        path = io.FrameSequence(plan.source.pattern, (frame,)).path(frame)
        pipeline.stylize_frame(io.read_frame(path, layer=plan.layer, part=plan.part), frame)

    def finish(pending: Future | None) -> None:
        if pending is not None:
            report.results.append(pending.result())
            if progress:
                progress(report.results[-1], len(report.results), total)

    # One reader and one writer thread overlap file IO with the network, which releases the GIL.
    with movie or nullcontext(), ThreadPoolExecutor(max_workers=2, thread_name_prefix="filmstyle-io") as pool:
        pending_read: Future | None = None
        pending_write: Future | None = None
        for i, frame in enumerate(todo):
            if should_stop is not None and should_stop():
                finish(pending_write)
                if pending_read is not None:
                    pending_read.cancel()
                report.seconds = time.perf_counter() - started
                raise RenderCancelled(
                    f"render cancelled before frame {frame} ({report.written} written, "
                    f"{report.skipped} skipped, {len(todo) - i} not rendered); "
                    + ("written frames are complete" if movie is None else "the unfinished movie is discarded"),
                    report,
                )
            t0 = time.perf_counter()
            if plan.tracks_shots and movie is None and (i or not warm):
                _resume(plan, pipeline, frame, todo[i - 1] if i else None, read)
            source = pending_read.result() if pending_read is not None else read(frame)
            checks.check(source, frame)
            pending_read = pool.submit(read, todo[i + 1]) if i + 1 < len(todo) else None
            net_before = pipeline.network_seconds
            rgb = pipeline.stylize_frame(source, frame)
            finish(pending_write)
            pending_write = None
            out = plan.output.path(frame)
            net = pipeline.network_seconds - net_before

            def write(source=source, rgb=rgb, out=out, frame=frame, t0=t0, net=net) -> FrameResult:
                pixels, options = pipeline.to_output(source, rgb)
                if movie is not None:
                    movie.write(source, pixels, frame)
                else:
                    io.write_frame(source, pixels, out, options=options, protect=protect)
                return FrameResult(frame, out, "written", time.perf_counter() - t0, net)

            pending_write = pool.submit(write)
        finish(pending_write)
    checks.report(plan.source.pattern)
    report.seconds = time.perf_counter() - started
    return report
