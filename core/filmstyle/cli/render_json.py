"""``render --progress json``: one JSON object per line on stdout, for render managers and Dask.

Each frame prints ``{"event": "frame", "frame": 1001, "status": "written", "seconds": 0.83,
"done": 1, "total": 10}`` as soon as it is complete on disk; the render ends with ``{"event":
"done", "written": .., "skipped": .., "warmed": [..], "seconds": ..}``. Errors still go to stderr as
one ``filmstyle: error: ...`` line with exit status 1, so a failed chunk is told from a good one
by its exit status alone.
"""

from __future__ import annotations

import json
import sys

__all__ = ["render_json", "frame_event"]


def frame_event(result, done: int, total: int) -> dict:
    """The JSON object printed for one finished frame."""
    return {"event": "frame", "frame": result.frame, "status": result.status, "path": str(result.path),
            "seconds": round(result.seconds, 4), "done": done, "total": total}


def _emit(obj: dict) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()  # a pipe is block-buffered: the reader must see each frame as it lands


def render_json(plan, **render_options) -> None:
    """Render ``plan`` printing one JSON line per frame (see the module docstring)."""
    from filmstyle.engine.pipeline import FramePipeline
    from filmstyle.engine.sequence import render_sequence

    pipeline = FramePipeline(plan)
    report = render_sequence(plan, pipeline=pipeline, progress=lambda r, d, t: _emit(frame_event(r, d, t)),
                             **render_options)
    _emit({"event": "done", "written": report.written, "skipped": report.skipped,
           "warmed": list(report.warmed), "seconds": round(report.seconds, 3)})
