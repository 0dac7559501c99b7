"""One queue and one render thread; the networks stay loaded between jobs.

Jobs are validated when submitted (:func:`parse_job` then :func:`~filmstyle.job.plan.build_plan`) so a bad request
fails at once with a one-line error; the render thread only ever sees plans that were valid then.
"""

from __future__ import annotations

import itertools
import json
import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from filmstyle.engine.pipeline import FramePipeline
from filmstyle.engine.sequence import render_sequence
from filmstyle.engine.stylize import FrameStylizer
from filmstyle.errors import FilmStyleError, JobError, RenderCancelled, clip, one_line
from filmstyle.job.limits import PathCheck
from filmstyle.job.model import Job, job_from_data
from filmstyle.job.plan import RenderPlan

__all__ = ["JobRecord", "JobQueue", "QueueFull", "parse_body", "parse_job", "STATES", "MAX_WAITING", "MAX_FINISHED"]

log = logging.getLogger("filmstyle.server")
STATES = ("queued", "running", "done", "failed", "cancelled")
FINAL_STATES = ("done", "failed", "cancelled")
#: Jobs waiting to start; a submit beyond this is refused (a host submits one shot at a time).
MAX_WAITING = 64
#: Finished jobs whose status and result stay available; the oldest are forgotten first.
MAX_FINISHED = 256


class QueueFull(FilmStyleError):
    """:data:`MAX_WAITING` jobs are waiting already (HTTP 429)."""


def parse_body(raw: bytes) -> Any:
    """A request body as JSON data; :class:`JobError` (one line, 422) when it is not JSON or is
    nested past what the parser can take."""
    try:
        return json.loads(raw)
    except RecursionError:
        raise JobError("body: JSON nested too deeply") from None
    except ValueError as exc:
        raise JobError(f"body: not valid JSON ({one_line(clip(exc, 120))})") from None


def parse_job(data: Any, base_dir: Path, *, check_path: PathCheck | None = None) -> Job:
    """A request body as a validated :class:`~filmstyle.job.model.Job`; ``check_path`` is the
    allow-list every path the job names is checked against before anything looks at it."""
    return job_from_data(data, base_dir=base_dir, source="<request>", check_path=check_path)


class _CachedStylizer(FrameStylizer):
    """A :class:`FrameStylizer` reused across jobs: models stay loaded, style vectors are cached
    per image file (path, size, mtime) and per colour settings, since the style image is
    colour-managed with the job's settings."""

    def __init__(self, device: str, precision: str) -> None:
        super().__init__(device=device, precision=precision, style_image_loader=self._load)
        self.pipeline: FramePipeline | None = None
        self._cache: dict[tuple, Any] = {}

    def use_options(self, options) -> None:
        """Take a job's network options (tiling, stroke scale, shot statistics, preview proxy)."""
        if options != self.options:
            self.options = options
            self._tilers.clear()  # tilers are built with the tile size and threshold of the options

    def _load(self, path: Path):
        assert self.pipeline is not None
        return self.pipeline.load_style_image(path)

    def style_vector(self, style):
        assert style.path is not None and self.pipeline is not None
        plan = self.pipeline.plan
        st = style.path.stat()
        key = (style.path, st.st_size, st.st_mtime_ns, plan.ocio, plan.input_colorspace, plan.working_space)
        if key not in self._cache:
            self._cache[key] = self.arbitrary.style_vector(self._load(style.path))
        return self._cache[key]


@dataclass
class JobRecord:
    id: str
    #: The compiled job while it waits or runs; dropped when it ends (it holds every look).
    plan: RenderPlan | None
    output: str = ""
    state: str = "queued"
    done: int = 0
    total: int = 0
    written: int = 0
    skipped: int = 0
    error: str | None = None
    frames: list[dict] = field(default_factory=list)
    submitted: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None
    cancel_requested: bool = False
    #: Builds the frame pipeline on the render thread instead of a fresh one (shot sessions).
    make_pipeline: Callable[[RenderPlan, FrameStylizer], FramePipeline] | None = field(default=None, repr=False)

    def status(self) -> dict:
        end = self.finished or time.time()
        elapsed = end - self.started if self.started else 0.0
        return {
            "id": self.id,
            "state": self.state,
            "done": self.done,
            "total": self.total,
            "written": self.written,
            "skipped": self.skipped,
            "fps": round(self.written / elapsed, 3) if elapsed > 0 and self.written else 0.0,
            "error": self.error,
            "output": self.output,
        }

    def result(self) -> dict:
        return {"id": self.id, "state": self.state, "output": self.output, "frames": list(self.frames)}


class JobQueue:
    """Runs submitted plans one at a time on a single thread.

    Args:
        time_limit: seconds a job may run before it is stopped (``None``: no limit).
    """

    def __init__(self, *, time_limit: float | None = None) -> None:
        self.time_limit = time_limit
        self._jobs: dict[str, JobRecord] = {}
        self._lock = threading.Lock()
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._stylizers: dict[tuple[str, str], _CachedStylizer] = {}
        self._counter = itertools.count(1)
        self._thread = threading.Thread(target=self._loop, name="filmstyle-render", daemon=True)
        self._thread.start()

    # -- public -----------------------------------------------------------------------------
    def submit(self, plan: RenderPlan, *,
               make_pipeline: Callable[[RenderPlan, FrameStylizer], FramePipeline] | None = None) -> JobRecord:
        """Queue ``plan``; :class:`QueueFull` when :data:`MAX_WAITING` jobs wait already."""
        record = JobRecord(id=f"{next(self._counter):04d}-{uuid.uuid4().hex[:8]}", plan=plan,
                           output=plan.output.pattern, total=len(plan.source.frames), make_pipeline=make_pipeline)
        with self._lock:
            waiting = sum(r.state == "queued" for r in self._jobs.values())
            if waiting >= MAX_WAITING:
                raise QueueFull(f"worker busy: {waiting} jobs are waiting (at most {MAX_WAITING}); "
                                "wait for them or cancel some")
            self._forget_oldest_finished()
            self._jobs[record.id] = record
        self._queue.put(record.id)
        return record

    def _forget_oldest_finished(self) -> None:
        finished = [r for r in self._jobs.values() if r.state in FINAL_STATES]
        for record in sorted(finished, key=lambda r: r.finished or 0.0)[: max(0, len(finished) - MAX_FINISHED + 1)]:
            del self._jobs[record.id]

    def get(self, job_id: str) -> JobRecord | None:
        with self._lock:
            return self._jobs.get(job_id)

    def cancel(self, job_id: str) -> JobRecord | None:
        with self._lock:
            record = self._jobs.get(job_id)
            if record is None:
                return None
            record.cancel_requested = True
            if record.state == "queued":
                record.state, record.finished = "cancelled", time.time()
                record.plan = record.make_pipeline = None
        return record

    def loaded_models(self) -> list[str]:
        out = []
        for (device, precision), st in self._stylizers.items():
            for name, attr in (("cin26", "_cin26"), ("arbitrary", "_arbitrary")):
                if getattr(st, attr, None) is not None:
                    out.append(f"{name}/{device}/{precision}")
        return out

    def pending(self) -> int:
        with self._lock:
            return sum(r.state in ("queued", "running") for r in self._jobs.values())

    def stop(self) -> None:
        self._queue.put(None)

    # -- render thread ----------------------------------------------------------------------
    def _loop(self) -> None:
        while True:
            job_id = self._queue.get()
            if job_id is None:
                return
            record = self.get(job_id)
            if record is None or record.state != "queued":
                continue
            self._run(record)

    def _stylizer(self, plan: RenderPlan) -> _CachedStylizer:
        key = (plan.device, plan.precision)
        if key not in self._stylizers:
            self._stylizers[key] = _CachedStylizer(plan.device, plan.precision)
        return self._stylizers[key]

    def _should_stop(self, record: JobRecord) -> bool:
        if record.cancel_requested:
            return True
        return self.time_limit is not None and record.started is not None and (
            time.time() - record.started > self.time_limit
        )

    def _run(self, record: JobRecord) -> None:
        with self._lock:
            record.state, record.started = "running", time.time()
        plan = record.plan
        assert plan is not None  # only finished records lose their plan
        stylizer = self._stylizer(plan)
        stylizer.use_options(plan.network)

        def on_frame(result, done: int, total: int) -> None:
            with self._lock:
                record.done, record.total = done, total
                record.written += result.status == "written"
                record.skipped += result.status == "skipped"
                record.frames.append({"frame": result.frame, "path": str(result.path), "status": result.status})

        try:
            if record.make_pipeline is not None:
                pipeline = record.make_pipeline(plan, stylizer)
            else:
                pipeline = FramePipeline(plan, stylizer=stylizer)
            stylizer.pipeline = pipeline
            render_sequence(plan, progress=on_frame, pipeline=pipeline,
                            should_stop=lambda: self._should_stop(record))
            state, error = "done", None
        except RenderCancelled:
            if record.cancel_requested:
                state, error = "cancelled", None
            else:
                state, error = "failed", f"time limit of {self.time_limit:g} s exceeded after {record.done} frames"
        except FilmStyleError as exc:
            state, error = "failed", str(exc)
        except Exception as exc:  # a bug, not a user error: keep the worker alive and say so
            log.exception("job %s crashed", record.id)
            state, error = "failed", f"internal error: {type(exc).__name__}: {exc}"
        stylizer.pipeline = None  # the job's frames and caches go with it; the networks stay
        with self._lock:
            record.state, record.error, record.finished = state, error, time.time()
            record.plan = record.make_pipeline = None
