"""The worker's queue keeps its memory bounded: a cap on waiting jobs, finished jobs forgotten
oldest first, and a finished job's compiled plan released (its status and result stay)."""

from __future__ import annotations

import time

import pytest

from filmstyle.job.model import job_from_data
from filmstyle.job.plan import build_plan
from filmstyle.server import queue as queue_module
from filmstyle.server.queue import JobQueue, QueueFull
from tests.core.plates import make_plate_sequence


@pytest.fixture()
def plan(tmp_path):
    pattern = make_plate_sequence(tmp_path / "src", (1,), width=32, height=24)
    job = job_from_data({"filmstyle": 2, "input": pattern, "output": str(tmp_path / "out" / "o.####.exr"),
                         "styles": ["pale-wash"]}, base_dir=tmp_path)
    return build_plan(job)


def idle_queue() -> JobQueue:
    """A queue whose render thread has stopped, so submitted jobs stay queued."""
    work = JobQueue()
    work.stop()
    work._thread.join(5)
    return work


def test_submits_past_the_waiting_cap_are_refused(plan, monkeypatch):
    monkeypatch.setattr(queue_module, "MAX_WAITING", 3)
    work = idle_queue()
    records = [work.submit(plan) for _ in range(3)]
    with pytest.raises(QueueFull, match="3 jobs are waiting"):
        work.submit(plan)
    work.cancel(records[0].id)  # a cancelled job no longer waits
    work.submit(plan)


def test_finished_jobs_are_forgotten_oldest_first_and_release_their_plan(plan, monkeypatch):
    monkeypatch.setattr(queue_module, "MAX_FINISHED", 2)
    work = idle_queue()
    first, second, third = (work.submit(plan) for _ in range(3))
    for record in (first, second, third):
        work.cancel(record.id)
    assert first.plan is None and first.status()["output"] == plan.output.pattern
    assert first.result()["output"] == plan.output.pattern
    work.submit(plan)  # makes room: two finished at most
    assert work.get(first.id) is None and work.get(second.id) is None
    assert work.get(third.id) is third


def test_a_rendered_job_keeps_its_status_without_its_plan(plan):
    work = JobQueue()
    record = work.submit(plan)
    for _ in range(600):
        if record.state in ("done", "failed"):
            break
        time.sleep(0.1)
    assert record.state == "done", record.error
    assert record.plan is None and record.make_pipeline is None
    assert record.status()["written"] == 1 and record.result()["frames"][0]["status"] == "written"
    work.stop()
