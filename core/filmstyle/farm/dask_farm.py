"""Run a farm plan on Dask: a ``distributed`` scheduler given by address, or a local cluster.

Each chunk is one task. On the worker it runs ``filmstyle render JOB.yaml --frames A-B
--progress json`` as a child process (with the worker's own Python, so remote workers use their
own install), forwards every finished frame to the client as a Dask event (``log_event`` on the
topic :data:`TOPIC`, received with ``Client.subscribe_topic``), and returns the child's exit
status and its last error line. The client retries a chunk that failed, or whose worker died, up to
``retries`` times, reporting each failure; since chunks are idempotent a retry renders only the
frames that are still missing. A local cluster listens on 127.0.0.1 only and, with more than one
worker, gives each worker its own share of the CPU cores (child processes are pinned to them), so
render processes do not fight over the same cores.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from filmstyle.errors import FilmStyleError, clip
from filmstyle.farm.chunks import Chunk, FarmPlan, filmstyle_command

__all__ = ["TOPIC", "ChunkOutcome", "FarmReport", "check_scheduler", "run_chunk", "run_on_dask", "core_sets"]

#: Dask event topic carrying per-frame progress from the workers.
TOPIC = "filmstyle-frames"


@dataclass
class ChunkOutcome:
    """What became of one chunk: its attempts, the last error, the frames it reported."""

    chunk: Chunk
    attempts: int = 0
    ok: bool = False
    errors: list[str] = field(default_factory=list)
    written: int = 0
    skipped: int = 0
    warmed: int = 0
    seconds: float = 0.0
    host: str = ""


@dataclass
class FarmReport:
    outcomes: list[ChunkOutcome]
    seconds: float

    @property
    def failed(self) -> list[ChunkOutcome]:
        return [o for o in self.outcomes if not o.ok]

    @property
    def written(self) -> int:
        return sum(o.written for o in self.outcomes)

    @property
    def skipped(self) -> int:
        return sum(o.skipped for o in self.outcomes)

    @property
    def retried(self) -> list[ChunkOutcome]:
        return [o for o in self.outcomes if o.attempts > 1]


def core_sets(workers: int, cpus: Sequence[int] | None = None) -> list[list[int]]:
    """The CPUs each of ``workers`` local workers gets: contiguous, as even as possible, never empty."""
    cpus = sorted(os.sched_getaffinity(0)) if cpus is None and hasattr(os, "sched_getaffinity") else list(cpus or [])
    if not cpus or workers <= 1 or workers > len(cpus):
        return [list(cpus)] * max(workers, 1)
    return [cpus[len(cpus) * i // workers:len(cpus) * (i + 1) // workers] for i in range(workers)]


def run_chunk(args: list[str], label: str, cpus: dict | None = None, env: dict | None = None) -> dict:
    """Run one chunk's ``filmstyle`` arguments in a child process (on a Dask worker, or anywhere).

    Returns ``{"returncode", "error", "written", "skipped", "warmed", "seconds", "host"}``; never
    raises for a failed render (the exit status says it), so the client decides about retries.
    """
    import socket

    worker = None
    try:
        from distributed import get_worker

        worker = get_worker()
    except (ImportError, ValueError):
        pass
    mine = (cpus or {}).get(getattr(worker, "name", None))
    started = time.perf_counter()
    proc = subprocess.Popen(
        [*filmstyle_command(), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, **(env or {})}, stdin=subprocess.DEVNULL,
        preexec_fn=(lambda: os.sched_setaffinity(0, mine)) if mine and hasattr(os, "sched_setaffinity") else None)
    tail: deque[str] = deque(maxlen=20)
    drain = threading.Thread(target=lambda: tail.extend(line.rstrip() for line in proc.stderr), daemon=True)
    drain.start()
    summary: dict = {}
    for line in proc.stdout:  # type: ignore[union-attr]
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if event.get("event") == "frame" and worker is not None:
            worker.log_event(TOPIC, {**event, "chunk": label})
        elif event.get("event") == "done":
            summary = event
    code = proc.wait()
    drain.join(timeout=5)
    errors = [t for t in tail if t.startswith("filmstyle: error:")]
    error = (errors or [t for t in tail if t.strip()] or [""])[-1]
    if code and not error:  # killed, or died before it could say why
        error = f"exit status {code}"
    return {"returncode": code, "error": error if code else "", "written": summary.get("written", 0),
            "skipped": summary.get("skipped", 0), "warmed": len(summary.get("warmed", [])),
            "seconds": time.perf_counter() - started, "host": socket.gethostname()}


def check_scheduler(address: str) -> str:
    """``address`` if it is a scheduler address distributed can dial (``tcp://host:8786``, ``host:8786``).

    Raises:
        FilmStyleError: one line naming ``--scheduler`` (distributed would raise a bare ValueError,
            and only once the plan is made).
    """
    try:
        from distributed.comm.addressing import parse_address, parse_host_port
    except ImportError:
        raise FilmStyleError("dask: the 'distributed' package is not installed (pip install distributed)") from None
    if any(c.isspace() or ord(c) < 32 for c in address):  # distributed would try to dial it
        raise FilmStyleError(f"--scheduler: {clip(repr(address), 80)} holds spaces or control characters; "
                             "an address is like tcp://host:8786")
    try:
        _, location = parse_address(address)
        host, port = parse_host_port(location)
    except (ValueError, TypeError) as exc:
        raise FilmStyleError(f"--scheduler: {address!r} is not a scheduler address like "
                             f"tcp://host:8786 ({exc})") from None
    if not host or not 1 <= int(port) <= 65535:
        raise FilmStyleError(f"--scheduler: {address!r} is not a scheduler address like tcp://host:8786 "
                             "(host and a port 1 ... 65535)")
    return address


def run_on_dask(plan: FarmPlan, *, scheduler: str | None = None, workers: int = 2, retries: int = 2,
                on_event: Callable[[str, dict], None] | None = None, env: dict | None = None,
                timeout: float | None = None, connect_timeout: float = 20.0) -> FarmReport:
    """Render every chunk of ``plan`` on Dask and wait for them.

    Args:
        scheduler: a ``distributed`` scheduler address (``tcp://host:8786``); None starts a
            local cluster of ``workers`` processes on 127.0.0.1 for the duration of the render.
        retries: further attempts for a chunk that failed.
        on_event: ``(kind, data)`` for ``"frame"`` (a frame finished somewhere), ``"retry"``,
            ``"failed"`` (out of attempts) and ``"chunk"`` (a chunk finished).
        env: extra environment for the chunk processes.
        timeout: seconds to wait for the whole render (None: no limit).
        connect_timeout: seconds to wait for the scheduler.

    Raises:
        FilmStyleError: the scheduler cannot be reached or the local cluster cannot start.
    """
    try:
        from distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise FilmStyleError("dask: the 'distributed' package is not installed (pip install distributed)") from None

    emit = on_event or (lambda kind, data: None)
    started = time.perf_counter()
    cluster = None
    try:
        if scheduler is None:
            # Workers are processes; the chunk's render is a child process of its worker.
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                                   dashboard_address=None, silence_logs=40)
            client = Client(cluster)
            cpus = dict(enumerate(core_sets(workers))) if workers > 1 else {}
        else:
            client = Client(check_scheduler(scheduler), timeout=f"{connect_timeout:g}s")
            cpus = {}
    except (OSError, TimeoutError) as exc:
        where = f"scheduler {scheduler}" if scheduler else "a local cluster"
        raise FilmStyleError(f"dask: cannot reach {where}: {exc}") from None
    try:
        client.subscribe_topic(TOPIC, lambda event: emit("frame", event[1]))
        outcomes = {chunk.spec: ChunkOutcome(chunk) for chunk in plan.chunks}
        futures = {}

        def submit(chunk: Chunk, attempt: int):
            fut = client.submit(run_chunk, chunk.render_args(plan.job_file), chunk.spec, cpus, env,
                                key=f"filmstyle-{plan.name}-{chunk.spec}-try{attempt}", pure=False)
            futures[fut] = (chunk, attempt)
            return fut

        pending = as_completed([submit(c, 1) for c in plan.chunks])
        deadline = None if timeout is None else time.monotonic() + timeout
        for fut in pending:
            chunk, attempt = futures.pop(fut)
            outcome = outcomes[chunk.spec]
            outcome.attempts = attempt
            try:
                result = fut.result()
                error = result["error"] if result["returncode"] else ""
            except Exception as exc:  # the worker died (KilledWorker) or the task could not run
                result, error = None, f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            if result is not None:
                outcome.host, outcome.seconds = result["host"], outcome.seconds + result["seconds"]
            if not error:
                outcome.ok = True
                outcome.written += result["written"]
                outcome.skipped = result["skipped"]
                outcome.warmed = result["warmed"]
                emit("chunk", {"chunk": chunk.spec, "attempts": attempt, **result})
            else:
                outcome.errors.append(error or f"exit status {result['returncode'] if result else '?'}")
                if result is not None:
                    outcome.written += result["written"]
                if attempt <= retries:
                    emit("retry", {"chunk": chunk.spec, "attempt": attempt, "error": outcome.errors[-1]})
                    pending.add(submit(chunk, attempt + 1))
                else:
                    emit("failed", {"chunk": chunk.spec, "attempts": attempt, "error": outcome.errors[-1]})
            if deadline is not None and time.monotonic() > deadline:
                for other in list(futures):
                    other.cancel()
                raise FilmStyleError(f"dask: render of {plan.name} exceeded {timeout:g} s")
        return FarmReport([outcomes[c.spec] for c in plan.chunks], time.perf_counter() - started)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()

