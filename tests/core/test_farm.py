"""Farm renders: chunk plans, warm-up across chunk boundaries, a real Dask cluster on loopback,
and the OpenCue and Deadline job files checked field by field against their documented formats."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import cv2
import numpy as np
import OpenImageIO as oiio
import pytest

from filmstyle.farm.chunks import auto_warmup, plan_farm
from filmstyle.io import format_frame_range, parse_frame_range
from tests.core.plates import photo_linear

W, H = 80, 48
CLI = [sys.executable, "-c", "from filmstyle.cli import main; main()"]


def write_shot(folder: Path, frames, *, cut_at: int | None = None) -> str:
    """A camera move over the photograph (half RGB EXR); from ``cut_at`` on, another picture."""
    folder.mkdir(parents=True, exist_ok=True)
    photo = photo_linear(2 * W, 2 * H)
    other = np.ascontiguousarray(photo[::-1, ::-1, ::-1]) * np.float32(3.0)
    for i, frame in enumerate(frames):
        src = other if cut_at is not None and frame >= cut_at else photo
        x0, y0 = 4 + 3 * i, 6 + i
        pixels = np.ascontiguousarray(cv2.resize(src[y0:y0 + H + 20, x0:x0 + W + 30], (W, H), interpolation=cv2.INTER_AREA))
        spec = oiio.ImageSpec(W, H, 3, "half")
        spec.attribute("compression", "zip")
        out = oiio.ImageOutput.create(str(folder / f"plate.{frame:04d}.exr"))
        out.open(str(folder / f"plate.{frame:04d}.exr"), spec)
        out.write_image(pixels)
        out.close()
    return str(folder / "plate.####.exr")


def write_job(path: Path, plate: str, output: str, **fields) -> Path:
    import yaml

    data = {"filmstyle": 2, "input": plate, "output": output, "styles": ["starry-blue"], **fields}
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def rgb(path) -> np.ndarray:
    from filmstyle import io

    return io.read_frame(path).rgb


def render(job: Path, *args) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, "render", str(job), *args], capture_output=True, text=True, timeout=600)


# ------------------------------------------------------------------------------------------ plans


def test_frame_range_text_and_warmup_rules():
    assert format_frame_range([5]) == "5"
    assert format_frame_range([1001, 1002, 1003]) == "1001-1003"
    assert format_frame_range([1001, 1003, 1005]) == "1001-1005x2"
    assert format_frame_range([1001, 1005, 1010, 1011, 1012]) == "1001,1005,1010-1012"
    for frames in ((5,), (1001, 1003, 1005), (1001, 1005, 1010, 1011, 1012), (1, 2, 4, 5, 9)):
        assert parse_frame_range(format_frame_range(frames)) == frames
    assert auto_warmup(0.0) == 0
    assert auto_warmup(0.6) == 10 and 0.6 ** 10 <= 0.01 < 0.6 ** 9
    assert auto_warmup(0.95) == 24  # capped


def test_plans_start_chunks_at_cuts_and_warm_only_inside_shots(tmp_path):
    plate = write_shot(tmp_path / "plate", range(1, 11), cut_at=6)
    job = write_job(tmp_path / "job.yaml", plate, str(tmp_path / "out" / "o.####.exr"), temporal=0.6)
    plan = plan_farm(job, chunk=3)
    assert plan.shots == ((1, 2, 3, 4, 5), (6, 7, 8, 9, 10)) and plan.scanned
    assert [c.frames for c in plan.chunks] == [(1, 2, 3), (4, 5), (6, 7, 8), (9, 10)]
    assert [c.warmup for c in plan.chunks] == [0, 10, 0, 10]
    assert plan.chunks[3].render_args(plan.job_file)[-4:] == ["--warmup", "10", "--warmup-from", "6"]
    # Without temporal state there is nothing to scan or warm; the job's chunks are plain ranges.
    plain = plan_farm(write_job(tmp_path / "plain.yaml", plate, str(tmp_path / "p" / "o.####.exr")), chunk=4)
    assert not plain.scanned and [c.spec for c in plain.chunks] == ["1-4", "5-8", "9-10"]
    assert all(c.warmup == 0 for c in plain.chunks)
    # Shot statistics are recorded on a shot's first frame: one chunk per shot, and scanning is required.
    stats = write_job(tmp_path / "stats.yaml", plate, str(tmp_path / "s" / "o.####.exr"), shot_stats=True)
    assert [c.spec for c in plan_farm(stats, chunk=2).chunks] == ["1-5", "6-10"]
    with pytest.raises(Exception, match="shot_stats"):
        plan_farm(stats, chunk=2, scan_cuts=False)


def test_a_chunk_warmed_to_the_shot_start_matches_a_single_render(tmp_path):
    """`render --frames A-B --warmup K`: bit-identical to a whole render when the warm-up reaches the
    shot's first frame; shorter warm-ups leave a difference that shrinks with K."""
    plate = write_shot(tmp_path / "plate", range(1, 8))
    whole = write_job(tmp_path / "whole.yaml", plate, str(tmp_path / "whole" / "o.####.exr"), temporal=0.7)
    assert render(whole).returncode == 0
    diffs = {}
    for k in (0, 2, 6):
        job = write_job(tmp_path / f"k{k}.yaml", plate, str(tmp_path / f"k{k}" / "o.####.exr"), temporal=0.7)
        if k == 6:  # the command line, as a farm runs it
            done = render(job, "--frames", "7", "--warmup", str(k), "--progress", "json")
            assert done.returncode == 0, done.stderr
            assert '"warmed": [1, 2, 3, 4, 5, 6]' in done.stdout
        else:
            from filmstyle.engine.sequence import render_sequence
            from filmstyle.job import build_plan, load_job

            report = render_sequence(build_plan(load_job(job, overrides={"frames": "7"})), warmup=k, before=range(1, 7))
            assert report.warmed == tuple(range(7 - k, 7)) and report.written == 1
        assert sorted(os.listdir(tmp_path / f"k{k}")) == ["o.0007.exr"]  # warm-up frames are never written
        diffs[k] = float(np.abs(rgb(tmp_path / f"k{k}" / "o.0007.exr") - rgb(tmp_path / "whole" / "o.0007.exr")).mean())
    assert diffs[6] == 0.0
    assert diffs[0] > diffs[2] > 0.0


# ------------------------------------------------------------------------------------------ Dask


def test_dask_local_cluster_renders_a_temporal_job_in_chunks_like_one_process(tmp_path):
    """A real LocalCluster (2 worker processes on 127.0.0.1): 3 chunks of a temporal job, one of them
    failing once (a source frame missing, put back when the retry is announced) and retried; the
    frames equal a single-process render bit for bit."""
    from filmstyle.engine.sequence import render_sequence
    from filmstyle.farm.dask_farm import run_chunk, run_on_dask
    from filmstyle.job import build_plan, load_job

    plate = write_shot(tmp_path / "plate", range(1, 10))
    job = write_job(tmp_path / "job.yaml", plate, str(tmp_path / "farm" / "o.####.exr"), temporal=0.6)
    single = write_job(tmp_path / "single.yaml", plate, str(tmp_path / "single" / "o.####.exr"), temporal=0.6)
    render_sequence(build_plan(load_job(single)))
    plan = plan_farm(job, chunk=3)
    assert [c.spec for c in plan.chunks] == ["1-3", "4-6", "7-9"]
    last = tmp_path / "plate" / "plate.0009.exr"
    hidden = last.with_name("hidden.exr")
    last.rename(hidden)
    events: list[tuple[str, dict]] = []

    def on_event(kind, data):
        events.append((kind, data))
        if kind == "retry":
            hidden.rename(last)

    report = run_on_dask(plan, workers=2, retries=1, on_event=on_event, timeout=600)
    assert not report.failed, [o.errors for o in report.outcomes]
    retries = [d for k, d in events if k == "retry"]
    assert [r["chunk"] for r in retries] == ["7-9"] and "plate.0009.exr" in retries[0]["error"]
    assert [o.attempts for o in report.outcomes] == [1, 1, 2]
    assert sorted(d["frame"] for k, d in events if k == "frame") == list(range(1, 10))  # progress per frame
    for frame in range(1, 10):
        a, b = rgb(tmp_path / "farm" / f"o.{frame:04d}.exr"), rgb(tmp_path / "single" / f"o.{frame:04d}.exr")
        assert np.array_equal(a, b), frame
    # Idempotent: a chunk run again finds its frames and renders nothing.
    again = run_chunk(plan.chunks[1].render_args(plan.job_file), "4-6")
    assert (again["returncode"], again["written"], again["skipped"]) == (0, 0, 3)


def test_dask_reports_a_chunk_that_keeps_failing_and_an_unreachable_scheduler(tmp_path):
    from filmstyle.errors import FilmStyleError
    from filmstyle.farm.dask_farm import run_chunk, run_on_dask

    plate = write_shot(tmp_path / "plate", range(1, 4))
    job = write_job(tmp_path / "job.yaml", plate, str(tmp_path / "o" / "o.####.exr"))
    plan = plan_farm(job, chunk=2)
    (tmp_path / "plate" / "plate.0003.exr").unlink()
    # The chunk command itself (what a worker runs): a one-line error and a non-zero exit status.
    result = run_chunk(plan.chunks[1].render_args(plan.job_file), "3")
    assert result["returncode"] == 1 and "plate.0003.exr" in result["error"] and result["error"].startswith("filmstyle: error:")
    with pytest.raises(FilmStyleError, match="cannot reach scheduler"):
        run_on_dask(plan, scheduler="tcp://127.0.0.1:9", retries=0, connect_timeout=2)


# ------------------------------------------------------------------------------------------ OpenCue

# The element order of OpenCue's job spec, DTD "cjsl" 1.15 (OpenCue repository,
# cuebot/src/main/resources/public/dtd/cjsl-1.15.dtd): the content models of spec, job and layer.
CJSL = {
    "spec": r"(facility,)?(dept,)?show,shot,user,(email,)?(uid,)?(job,)*(depends,)*",
    "job": r"(paused,)?(priority,)?(maxretries,)?(maxcores,)?(maxgpus,)?(autoeat,)?(localbook,)?(os,)?(env,)*(layers,)?",
    "layer": r"cmd,range,chunk,(cores,)?(threadable,)?(memory,)?(gpus,)?(gpu,)?(gpu_memory,)?(timeout,)?"
             r"(timeout_llu,)?(tags,)?(limits,)?(env,)*(services,)?(outputs,)*",
}
NMTOKEN = re.compile(r"^[A-Za-z0-9._:-]+$")


def _children(element) -> str:
    return "".join(child.tag + "," for child in element)


def test_opencue_spec_follows_the_cjsl_dtd_field_by_field(tmp_path):
    from filmstyle.farm.opencue_farm import serialize

    plate = write_shot(tmp_path / "plate", range(1, 11), cut_at=6)
    job = write_job(tmp_path / "my job.yaml", plate, str(tmp_path / "out" / "o.####.exr"), temporal=0.6)
    plan = plan_farm(job, chunk=3)
    text = serialize(plan, show="demo", shot="sh010", user="artist", executable=["/opt/filmstyle/bin/filmstyle"])
    assert '<!DOCTYPE spec PUBLIC "SPI Cue  Specification Language"' in text and "cjsl-1.15.dtd" in text
    spec = ET.fromstring(text.split("?>", 1)[1].split(">", 1)[1])  # past the XML and DOCTYPE declarations
    assert spec.tag == "spec" and re.fullmatch(CJSL["spec"], _children(spec))
    assert (spec.findtext("show"), spec.findtext("shot"), spec.findtext("user")) == ("demo", "sh010", "artist")
    job_el = spec.find("job")
    assert re.fullmatch(CJSL["job"], _children(job_el)) and NMTOKEN.match(job_el.get("name"))
    assert job_el.get("name") == "filmstyle_my_job" and job_el.findtext("paused") == "False"
    layers = job_el.find("layers").findall("layer")
    assert [(la.findtext("range"), la.findtext("chunk")) for la in layers] == [("1-5", "3"), ("6-10", "3")]
    for layer, first in zip(layers, (1, 6)):
        assert re.fullmatch(CJSL["layer"], _children(layer)) and NMTOKEN.match(layer.get("name"))
        assert layer.get("type") in ("Render", "Util", "Post") and layer.get("type") == "Render"
        cmd = layer.findtext("cmd")
        assert cmd.startswith(f"/opt/filmstyle/bin/filmstyle render '{plan.job_file}' --frames '#FRAMESPEC#'")
        assert cmd.endswith(f"--warmup 10 --warmup-from {first}") and "#FRAME_END#" not in cmd
        assert [s.text for s in layer.find("services")] == ["shell"]


# ------------------------------------------------------------------------------------------ Deadline


def _info(path: Path) -> dict[str, str]:
    """A Deadline job/plugin info file: ``Key=Value`` lines (manual submission docs)."""
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        key, sep, value = line.partition("=")
        assert sep and re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", key), line
        out[key] = value
    return out


def test_deadline_files_carry_the_documented_keys(tmp_path):
    plate = write_shot(tmp_path / "plate", range(1001, 1011, 2))
    job = write_job(tmp_path / "job.yaml", plate, str(tmp_path / "out dir" / "o.####.exr"), frames="1001-1009x2")
    out = tmp_path / "farm"
    done = subprocess.run([*CLI, "farm", "submit", str(job), "--engine", "deadline", "--dry-run", "--chunk", "2",
                           "--out", str(out), "--pool", "comp", "--priority", "60",
                           "--executable", "/opt/fs/bin/filmstyle"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    job_info, plugin_info = _info(out / "job.job_info.job"), _info(out / "job.plugin_info.job")
    assert job_info == {"Plugin": "CommandLine", "Name": "filmstyle job", "Comment": "filmstyle render job.yaml",
                        "Frames": "1001-1009x2", "ChunkSize": "2", "OutputDirectory0": str(tmp_path / "out dir"),
                        "OutputFilename0": "o.####.exr", "Pool": "comp", "Priority": "60"}
    assert plugin_info == {"Executable": "/opt/fs/bin/filmstyle",
                           "Arguments": f"render {job} --frames <STARTFRAME>-<ENDFRAME>x2 --progress json",
                           "StartupDirectory": str(tmp_path), "Shell": "default", "ShellExecute": "False",
                           "SingleFramesOnly": "False"}
    # What a Deadline task would run for its first chunk renders exactly those frames.
    args = plugin_info["Arguments"].replace("<STARTFRAME>", "1001").replace("<ENDFRAME>", "1003").split()
    assert render(Path(args[1]), *args[2:]).returncode == 0
    assert sorted(os.listdir(tmp_path / "out dir")) == ["o.1001.exr", "o.1003.exr"]


def test_submitting_without_a_render_manager_says_how_in_one_line(tmp_path):
    plate = write_shot(tmp_path / "plate", range(1, 3))
    job = write_job(tmp_path / "job.yaml", plate, str(tmp_path / "o" / "o.####.exr"))
    env = {k: v for k, v in os.environ.items() if k not in ("CUEBOT_HOSTS", "OPENCUE_CONFIG_FILE", "DEADLINE_PATH")}
    env.update(HOME=str(tmp_path), PATH=str(Path(sys.executable).parent) + os.pathsep + "/usr/bin:/bin")
    for engine, words in (("opencue", "no Cuebot configured"), ("deadline", "deadlinecommand not found")):
        done = subprocess.run([*CLI, "farm", "submit", str(job), "--engine", engine], capture_output=True,
                              text=True, env=env, timeout=300)
        assert done.returncode == 1 and words in done.stderr and "--dry-run" in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
    bad = subprocess.run([*CLI, "farm", "submit", str(job), "--engine", "slurm"], capture_output=True, text=True)
    assert bad.returncode == 1 and "--engine" in bad.stderr
    # distributed raises a bare ValueError for these, after the plan is made; the CLI says so first.
    for address in ("foo", "", "tcp://:::x", "h:abc", "tcp://h:99999", "tcp://:8786"):
        bad = subprocess.run([*CLI, "farm", "submit", str(job), "--engine", "dask", "--scheduler", address],
                             capture_output=True, text=True, timeout=120)
        assert bad.returncode == 1 and bad.stderr.startswith("filmstyle: error: --scheduler:"), (address, bad.stderr)
        assert len(bad.stderr.strip().splitlines()) == 1 and "Traceback" not in bad.stderr
    assert not (tmp_path / "o").exists()


def test_farm_options_and_paths_that_would_break_the_job_files_are_one_line(tmp_path):
    plate = write_shot(tmp_path / "plate", range(1, 3))
    job = write_job(tmp_path / "job.yaml", plate, str(tmp_path / "o" / "o.####.exr"))

    def submit(job_file, *args):
        done = subprocess.run([*CLI, "farm", "submit", str(job_file), *args], capture_output=True, text=True,
                              timeout=300)
        assert done.returncode != 0 and "Traceback" not in done.stderr, done.stderr
        if done.returncode != 2:  # 2: typer's usage box for an option out of its range
            assert len(done.stderr.strip().splitlines()) <= 2, done.stderr
        return done.stderr

    dl = ["--engine", "deadline", "--dry-run", "--out", str(tmp_path / "dl")]
    oc = ["--engine", "opencue", "--dry-run", "--out", str(tmp_path / "oc")]
    # A line break in a value would start a Key=Value entry of its own (an Executable, a Priority).
    assert "--pool:" in submit(job, *dl, "--pool", "comp\nExecutable=/bin/evil")
    assert "--show:" in submit(job, *oc, "--show", "my show")
    assert "No closing quotation" in submit(job, *oc, "--executable", '"a')
    assert "--executable: empty" in submit(job, *oc, "--executable", "  ")
    assert "--priority" in submit(job, *dl, "--priority", "-5")
    assert "--chunk" in submit(job, *dl, "--chunk", "9223372036854775808")
    assert "spaces or control characters" in submit(job, "--engine", "dask", "--scheduler", "tcp://ho st\n:8786")
    for name, words in (("we\nPriority=99", "control character"), ('we"q', "double quote")):
        folder = tmp_path / name
        folder.mkdir()
        moved = write_job(folder / "job.yaml", plate, str(tmp_path / "o2" / "o.####.exr"))
        assert words in submit(moved, *dl)
    assert not (tmp_path / "dl").exists() and not (tmp_path / "oc").exists()
