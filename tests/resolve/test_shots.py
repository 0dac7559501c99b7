"""Per-tool shot state in the worker: frames sent one at a time continue a temporal blend exactly
as a sequence render does, restart on a jump, and rebuild from disk when the host cached the frame before."""

from __future__ import annotations

import shutil
import time
import uuid
from pathlib import Path

import numpy as np
import pytest

from filmstyle.errors import JobError
from filmstyle.job.plan import build_plan
from filmstyle.engine.pipeline import FramePipeline
from filmstyle.engine.sequence import render_sequence
from filmstyle.server.queue import JobQueue, parse_job
from filmstyle.server.shots import ShotSessions, parse_shot_request
from tests.resolve.conftest import read_rgb, write_exr, write_sequence

LOOK = {"styles": [{"style": "starry-blue", "weight": 1.0}], "strength": 1.0, "temporal": 0.6}


@pytest.fixture(scope="module")
def plates(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("shot-plates")
    write_sequence(folder, 1, 8)
    return folder


@pytest.fixture(scope="module")
def queue():
    q = JobQueue()
    yield q
    q.stop()


def reference(plates: Path, tmp: Path, frames: str, **look) -> dict[int, np.ndarray]:
    """A sequence render of ``frames`` (one pipeline, frames in order)."""
    data = {"filmstyle": 2, "input": str(plates / "shot.####.exr"), "output": str(tmp / "ref" / "out.####.exr"),
            "frames": frames, "overwrite": True, **LOOK, **look}
    plan = build_plan(parse_job(data, tmp))
    render_sequence(plan, pipeline=FramePipeline(plan))
    return {f: read_rgb(plan.output.path(f)) for f in plan.source.frames}


class Host:
    """Sends one frame at a time, as the Fuse's bridge does (a fresh input and output file each)."""

    def __init__(self, queue: JobQueue, plates: Path, tmp: Path, sessions: ShotSessions | None = None) -> None:
        self.queue, self.plates, self.tmp = queue, plates, tmp
        self.sessions = sessions if sessions is not None else ShotSessions()
        self.last: dict | None = None

    def frame(self, frame: int, *, chain: bool = True, tool: str = "comp.FilmStyle1.x", **look) -> np.ndarray:
        stem = uuid.uuid4().hex[:8]
        src = self.tmp / f"in_{stem}.exr"
        shutil.copyfile(self.plates / f"shot.{frame:04d}.exr", src)
        out = self.tmp / f"out_{stem}.exr"
        job = {"filmstyle": 2, "input": str(src), "output": str(out), "overwrite": True, **LOOK, **look}
        previous = self.last if chain and self.last and self.last["frame"] == frame - 1 else None
        request = parse_shot_request(tool, {"frame": frame, "key": stem, "job": job, "previous": previous})
        record = self.queue.submit(build_plan(parse_job(job, self.tmp)),
                                   make_pipeline=self.sessions.pipeline_factory(request))
        deadline = time.monotonic() + 120
        while record.state in ("queued", "running"):
            assert time.monotonic() < deadline
            time.sleep(0.02)
        assert record.state == "done", record.error
        self.last = {"frame": frame, "key": stem, "input": str(src), "output": str(out)}
        return read_rgb(out)


def test_frames_in_order_continue_the_blend_like_a_sequence_render(queue, plates, tmp_path):
    ref = reference(plates, tmp_path, "1-4")
    host = Host(queue, plates, tmp_path)
    got = {f: host.frame(f) for f in (1, 2, 3, 4)}
    for f in (1, 2, 3, 4):
        np.testing.assert_allclose(got[f], ref[f], atol=1e-6, err_msg=f"frame {f}")
    # The blend did something: frame 4 is not the frame stylized on its own.
    alone = reference(plates, tmp_path / "alone", "4")[4]
    assert np.abs(got[4] - alone).mean() > 1e-3
    assert host.sessions.describe("comp.FilmStyle1.x")["last_frame"] == 4


def test_a_jump_starts_the_shot_afresh(queue, plates, tmp_path):
    host = Host(queue, plates, tmp_path)
    host.frame(1)
    host.frame(2)
    jumped = host.frame(6)  # not consecutive: the host sends no previous
    np.testing.assert_allclose(jumped, reference(plates, tmp_path, "6")[6], atol=1e-6)
    # Frame 7 continues from 6 again.
    np.testing.assert_allclose(host.frame(7), reference(plates, tmp_path / "r67", "6-7")[7], atol=1e-6)


def test_a_cut_inside_a_run_of_frames_starts_the_shot_afresh(queue, plates, tmp_path):
    cut = tmp_path / "cut"
    cut.mkdir()
    for f in (1, 2, 3):
        shutil.copyfile(plates / f"shot.{f:04d}.exr", cut / f"shot.{f:04d}.exr")
    ramp = np.linspace(2.0, 6.0, 64, dtype=np.float32)[None, :, None] * np.ones((48, 1, 3), np.float32)
    write_exr(cut / "shot.0004.exr", ramp)  # another shot: a bright grey ramp
    host = Host(queue, cut, tmp_path)
    for f in (1, 2, 3):
        host.frame(f)
    after_cut = host.frame(4)  # consecutive, but the picture changed completely
    np.testing.assert_allclose(after_cut, reference(cut, tmp_path, "4")[4], atol=1e-6)


def test_a_frame_the_host_served_from_its_cache_is_rebuilt_from_disk(queue, plates, tmp_path):
    ref = reference(plates, tmp_path, "1-3")
    first = Host(queue, plates, tmp_path)
    first.frame(1)
    first.frame(2)
    # Another worker state (restarted, or the tool's state evicted) sees frame 3 after a cached frame 2.
    second = Host(queue, plates, tmp_path)
    second.last = first.last
    got = second.frame(3)
    # Primed from frame 2's half-float output on disk: equal to the continuous render up to that rounding.
    np.testing.assert_allclose(got, ref[3], rtol=2e-3, atol=2e-3)
    assert np.abs(got - reference(plates, tmp_path / "alone", "3")[3]).mean() > 1e-3


def test_a_stale_previous_key_is_not_trusted(queue, plates, tmp_path):
    host = Host(queue, plates, tmp_path)
    host.frame(1)
    stale = dict(host.last, key="not-what-the-worker-rendered", input=str(tmp_path / "gone.exr"))
    host.last = stale
    # The state in memory is frame 1's but under another key, and the files are gone: start afresh.
    np.testing.assert_allclose(host.frame(2), reference(plates, tmp_path, "2")[2], atol=1e-6)


def test_a_new_look_starts_a_new_state(queue, plates, tmp_path):
    host = Host(queue, plates, tmp_path)
    host.frame(1)
    other = [{"style": "pale-wash", "weight": 1.0}]
    got = host.frame(2, styles=other)
    np.testing.assert_allclose(got, reference(plates, tmp_path, "2", styles=other)[2], atol=1e-6)


def test_sessions_are_bounded(queue, plates, tmp_path):
    sessions = ShotSessions(limit=2)
    for i in range(3):
        Host(queue, plates, tmp_path, sessions).frame(1, tool=f"tool{i}")
    assert len(sessions) == 2 and sessions.describe("tool0") is None
    assert sessions.forget("tool2") and not sessions.forget("tool2")


@pytest.mark.parametrize("tool, body, message", [
    ("a b", {"frame": 1, "key": "k", "job": {}}, "tool"),
    ("t", {"frame": 1.5, "key": "k", "job": {}}, "frame"),
    ("t", {"frame": 1, "key": "", "job": {}}, "key"),
    ("t", {"frame": 1, "key": "k", "job": []}, "job"),
    ("t", {"frame": 1, "key": "k", "job": {}, "extra": 1}, "unknown field 'extra'"),
    ("t", {"frame": 1, "key": "k", "job": {}, "previous": {"frame": "x"}}, "previous.frame"),
])
def test_bad_requests_name_the_field(tool, body, message):
    with pytest.raises(JobError, match=message):
        parse_shot_request(tool, body)
