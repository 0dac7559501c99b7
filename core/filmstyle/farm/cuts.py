"""Shot cuts of a job's source, found before a farm render with the render's own cut detector."""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["find_cuts"]


def find_cuts(plan, *, progress: Callable[[int, int], None] | None = None) -> tuple[int, ...]:
    """Frames of ``plan`` that start a new shot (its first frame excluded).

    Every source frame is read and put through the same working-space conversion and luma-histogram
    detector a render uses (:meth:`~filmstyle.engine.pipeline.FramePipeline.starts_shot`), in
    frame order, so a chunk that starts at one of these frames starts where a single render of
    the job restarts its history. No network runs: a 1080p EXR frame takes about as long as
    reading it.
    """
    from filmstyle import io
    from filmstyle.engine.pipeline import FramePipeline

    pipeline = FramePipeline(plan)
    frames = plan.source.frames
    cuts = []
    for i, frame in enumerate(frames):
        source = io.read_frame(plan.source.path(frame), layer=plan.layer, part=plan.part)
        if pipeline.starts_shot(source, frame) and i > 0:
            cuts.append(frame)
        if progress is not None:
            progress(i + 1, len(frames))
    return tuple(cuts)
