"""Deadline jobs for a farm plan: job-info and plugin-info files for the CommandLine plugin.

One Deadline job per shot (one job when the job has no cuts; several share a ``BatchName``).
The files follow Deadline's manual submission ("Manual Job Submission", Deadline 10 user manual:
``docs.thinkboxsoftware.com/products/deadline/10.1/1_User Manual/manual/manual-submission.html``):

* job info: ``Plugin=CommandLine``, ``Name``, ``BatchName``, ``Comment``, ``Frames`` (Deadline's
  frame list: ``1001-1100``, ``1001-1100x2``, ``1001,1005``), ``ChunkSize`` (frames per task),
  ``OutputDirectory0``/``OutputFilename0`` (the Monitor's "view output"), and ``Pool``, ``Group``,
  ``Priority`` when given;
* plugin info of the CommandLine plugin: ``Executable``, ``Arguments`` (``<STARTFRAME>`` and
  ``<ENDFRAME>`` are replaced by each task's first and last frame), ``StartupDirectory``,
  ``Shell``/``ShellExecute`` (run directly, no shell) and ``SingleFramesOnly=False`` (a task renders
  its whole chunk in one process).

They are submitted with ``deadlinecommand JOB_INFO PLUGIN_INFO``, which prints ``JobID=...``.
Deadline tasks pass only a start and an end frame, so a chunk covers every frame between them at
the job's step; a job whose frames are not one range (``1001,1005,1010-1020``) needs ``--chunk 1``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from filmstyle.errors import FilmStyleError, JobError, clip
from filmstyle.farm.chunks import FarmPlan, filmstyle_command
from filmstyle.io import format_frame_range
from filmstyle.io.targets import write_file

__all__ = ["job_info", "plugin_info", "job_files", "write_job_files", "find_deadlinecommand", "submit"]


def _quote(arg: str) -> str:
    """An argument for Deadline's Arguments line: quoted when it has spaces.

    The CommandLine plugin splits the line itself and has no escape for a quote inside a quoted
    argument, so an argument holding one cannot be passed and is refused.
    """
    if '"' in arg:
        raise JobError(f"deadline: the argument {clip(repr(arg), 80)} holds a double quote, which Deadline's "
                       "Arguments line cannot carry; rename the file or folder")
    return f'"{arg}"' if re.search(r"\s", arg) else arg


def _one_line_entries(entries: dict[str, str]) -> dict[str, str]:
    """``entries`` when no value holds a line break or other control character: a job file is one
    ``Key=Value`` per line, so one would start an entry of its own (a path with a newline in it
    could set ``Executable``)."""
    for key, value in entries.items():
        if any(ord(c) < 32 or ord(c) == 127 for c in value):
            raise JobError(f"deadline: {key} would hold a control character (a line break?): "
                           f"{clip(repr(value), 80)}; rename the file or folder, or change the option")
    return entries


def _step(frames: Sequence[int]) -> int | None:
    """The common step of ``frames`` (1 for a single frame), None when they are not one range."""
    steps = {b - a for a, b in zip(frames, frames[1:])}
    return 1 if not steps else (steps.pop() if len(steps) == 1 else None)


def _check(plan: FarmPlan) -> None:
    for shot in plan.shots:
        if _step(shot) is None and plan.chunk_size > 1:
            raise JobError(f"deadline: frames {format_frame_range(shot)} are not one range and Deadline tasks pass only a "
                           "start and end frame; use --chunk 1, or give the job a range A-B (or A-BxN)")


def job_info(plan: FarmPlan, shot: Sequence[int], *, pool: str | None = None, group: str | None = None,
             priority: int | None = None) -> dict[str, str]:
    """The job-info entries of the Deadline job that renders ``shot``."""
    out = Path(plan.output)
    several = len(plan.shots) > 1
    stats = any("shot_stats" in note for note in plan.notes)
    info = {
        "Plugin": "CommandLine",
        "Name": f"filmstyle {plan.name}" + (f" {format_frame_range(shot)}" if several else ""),
        "Comment": f"filmstyle render {plan.job_file.name}",
        "Frames": format_frame_range(shot),
        "ChunkSize": str(len(shot) if stats else plan.chunk_size),
        "OutputDirectory0": str(out.parent),
        "OutputFilename0": out.name,
    }
    if several:
        info["BatchName"] = f"filmstyle {plan.name}"
    for key, value in (("Pool", pool), ("Group", group), ("Priority", priority)):
        if value is not None:
            info[key] = str(value)
    return info


def plugin_info(plan: FarmPlan, shot: Sequence[int], executable: Sequence[str] | None = None) -> dict[str, str]:
    """The CommandLine plugin-info entries of the Deadline job that renders ``shot``."""
    exe = list(executable or filmstyle_command())
    step = _step(shot) or 1
    frames = "<STARTFRAME>-<ENDFRAME>" + (f"x{step}" if step > 1 else "")
    args = [*exe[1:], "render", str(plan.job_file), "--frames", frames, "--progress", "json"]
    if plan.warmup and plan.chunk_size < len(shot):
        args += ["--warmup", str(plan.warmup), "--warmup-from", str(shot[0])]
    return {
        "Executable": exe[0],
        "Arguments": " ".join(_quote(a) for a in args),
        "StartupDirectory": str(plan.job_file.parent),
        "Shell": "default",
        "ShellExecute": "False",
        "SingleFramesOnly": "False",
    }


def job_files(plan: FarmPlan, *, executable: Sequence[str] | None = None, **job_options) -> list[tuple[str, str, str]]:
    """``(stem, job info text, plugin info text)`` for every Deadline job of ``plan``."""
    _check(plan)
    out = []
    for shot in plan.shots:
        stem = plan.name if len(plan.shots) == 1 else f"{plan.name}_{shot[0]}-{shot[-1]}"
        texts = [_one_line_entries(job_info(plan, shot, **job_options)),
                 _one_line_entries(plugin_info(plan, shot, executable))]
        out.append((stem, *("".join(f"{k}={v}\n" for k, v in t.items()) for t in texts)))
    return out


def write_job_files(plan: FarmPlan, out_dir: Path, **kwargs) -> list[tuple[Path, Path]]:
    """Write ``<stem>.job_info.job`` and ``<stem>.plugin_info.job`` per Deadline job into ``out_dir``."""
    files = job_files(plan, **kwargs)  # every refusal before anything is made on disk
    written = []
    for stem, job_text, plugin_text in files:
        pair = []
        for suffix, text in (("job_info", job_text), ("plugin_info", plugin_text)):
            pair.append(write_file(out_dir / f"{stem}.{suffix}.job", text.encode("utf-8")))
        written.append((pair[0], pair[1]))
    return written


def find_deadlinecommand() -> str | None:
    """``deadlinecommand`` on PATH, or in ``$DEADLINE_PATH`` (the Deadline client's bin folder)."""
    found = shutil.which("deadlinecommand")
    if found:
        return found
    folder = os.environ.get("DEADLINE_PATH")
    if folder:
        for name in ("deadlinecommand", "deadlinecommand.exe"):
            if (Path(folder) / name).is_file():
                return str(Path(folder) / name)
    return None


def submit(plan: FarmPlan, out_dir: Path, *, deadlinecommand: str | None = None, **kwargs) -> list[str]:
    """Write the job files into ``out_dir`` and submit each pair; returns the Deadline job ids."""
    command = deadlinecommand or find_deadlinecommand()
    if command is None:
        raise FilmStyleError("deadline: deadlinecommand not found (put the Deadline client's bin folder on PATH or "
                             "set DEADLINE_PATH); --dry-run writes the job files instead")
    ids = []
    for job_path, plugin_path in write_job_files(plan, out_dir, **kwargs):
        try:
            proc = subprocess.run([command, str(job_path), str(plugin_path)], capture_output=True, text=True,
                                  timeout=300, stdin=subprocess.DEVNULL)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise FilmStyleError(f"deadline: {command} did not run: {exc}") from None
        found = re.search(r"^JobID=(\S+)", proc.stdout, re.MULTILINE)
        if proc.returncode != 0 or found is None:
            lines = [ln for ln in (proc.stdout + proc.stderr).splitlines() if ln.strip()]
            raise FilmStyleError(f"deadline: submission of {job_path.name} failed: {lines[-1] if lines else proc.returncode}")
        ids.append(found.group(1))
    return ids
