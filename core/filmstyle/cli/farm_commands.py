"""``filmstyle farm submit JOB.yaml --engine dask|opencue|deadline``: a job in chunks on a render farm."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Annotated, Optional

import typer

from filmstyle.cli import app, reports_errors
from filmstyle.errors import clip

farm_app = typer.Typer(help="Render a job file in chunks on Dask, OpenCue or Deadline.", no_args_is_help=True)
app.add_typer(farm_app, name="farm")

ENGINES = ("dask", "opencue", "deadline")
#: Frames per chunk: Cuebot and Deadline keep it in a 32-bit integer; a million frames is one shot.
MAX_CHUNK = 1_000_000
#: Local Dask workers: each is a process with a render child; more than the chunks do nothing.
MAX_WORKERS = 256
#: Show, shot, service, pool and group names: what OpenCue and Deadline accept in any of them.
_NAME = re.compile(r"[A-Za-z0-9._-]{1,100}")


@farm_app.command("submit")
@reports_errors
def submit(
    job_file: Annotated[Path, typer.Argument(metavar="JOB.yaml", help="A job file (see `filmstyle job init`).")],
    engine: Annotated[str, typer.Option(help="dask (runs here or on a scheduler), opencue or deadline.")],
    chunk: Annotated[int, typer.Option(min=1, max=MAX_CHUNK, help="Frames per chunk (task).")] = 10,
    warmup: Annotated[Optional[int], typer.Option(
        min=0, help="Temporal jobs: frames a chunk inside a shot stylizes before its own, unwritten "
        "(default: enough for 99 % of the history).")] = None,
    cuts: Annotated[Optional[bool], typer.Option(
        "--cuts/--no-cuts", help="Scan the source for shot cuts and start chunks at them (default: for temporal "
        "and shot_stats jobs).")] = None,
    dry_run: Annotated[bool, typer.Option(
        help="opencue/deadline: write the job spec / job files into --out instead of submitting.")] = False,
    out: Annotated[Optional[Path], typer.Option(
        help="Folder for the OpenCue spec or Deadline job files (default: farm/ beside the job file).")] = None,
    executable: Annotated[Optional[str], typer.Option(
        help="The filmstyle command on the render nodes (default: this environment's).")] = None,
    scheduler: Annotated[Optional[str], typer.Option(
        help="dask: scheduler address (tcp://host:8786); default a local cluster on 127.0.0.1.")] = None,
    workers: Annotated[int, typer.Option(min=1, max=MAX_WORKERS, help="dask: workers of the local cluster "
                                         "(at most one per chunk).")] = 2,
    retries: Annotated[int, typer.Option(min=0, help="dask: further attempts for a failed chunk.")] = 2,
    cuebot: Annotated[Optional[str], typer.Option(help="opencue: Cuebot host (default: CUEBOT_HOSTS or the OpenCue config).")] = None,
    show: Annotated[Optional[str], typer.Option(help="opencue: show name.")] = None,
    shot: Annotated[Optional[str], typer.Option(help="opencue: shot name (default: the job file's name).")] = None,
    service: Annotated[Optional[str], typer.Option(help="opencue: service the layers run under (default: shell).")] = None,
    pool: Annotated[Optional[str], typer.Option(help="deadline: pool.")] = None,
    group: Annotated[Optional[str], typer.Option(help="deadline: group.")] = None,
    priority: Annotated[Optional[int], typer.Option(min=0, max=100, help="deadline: priority (0..100).")] = None,
) -> None:
    """Cut a job into chunks of `filmstyle render JOB.yaml --frames A-B` and run them on a farm."""
    from filmstyle.errors import FilmStyleError
    from filmstyle.farm.chunks import plan_farm

    if engine not in ENGINES:
        raise FilmStyleError(f"--engine: expected one of {', '.join(ENGINES)}, got {engine!r}")
    if dry_run and engine == "dask":
        raise FilmStyleError("--dry-run: for opencue and deadline (dask renders right away)")
    _check_submitter(engine, dry_run, cuebot)
    for option, value in (("--show", show), ("--shot", shot), ("--service", service), ("--pool", pool),
                          ("--group", group)):
        if value is not None and not _NAME.fullmatch(value):
            raise FilmStyleError(f"{option}: {clip(repr(value), 60)} is not a name the render manager takes "
                                 "(1-100 letters, digits, '.', '_' or '-')")
    exe = _executable(executable)
    if engine == "dask" and scheduler is not None:
        from filmstyle.farm.dask_farm import check_scheduler

        check_scheduler(scheduler)
    plan = plan_farm(job_file, chunk=chunk, warmup=warmup, scan_cuts=cuts, on_scan=_scan_progress)
    typer.echo(_summary(plan), err=True)
    folder = out or plan.job_file.parent / "farm"
    if engine == "dask":
        _run_dask(plan, scheduler=scheduler, workers=workers, retries=retries)
    elif engine == "opencue":
        from filmstyle.farm import opencue_farm

        options = {"show": show, "shot": shot, "executable": exe, "service": service}
        if dry_run:
            typer.echo(f"wrote {opencue_farm.write_spec(plan, folder, **options)}")
        else:
            for name in opencue_farm.submit(plan, cuebot=cuebot, **options):
                typer.echo(f"submitted OpenCue job {name}")
    else:
        from filmstyle.farm import deadline_farm

        options = {"executable": exe, "pool": pool, "group": group, "priority": priority}
        if dry_run:
            for job_path, plugin_path in deadline_farm.write_job_files(plan, folder, **options):
                typer.echo(f"wrote {job_path} and {plugin_path}")
        else:
            for ident in deadline_farm.submit(plan, folder, **options):
                typer.echo(f"submitted Deadline job {ident}")


def _executable(text: Optional[str]) -> Optional[list[str]]:
    """``--executable`` as an argument list (shell words), or None for this environment's."""
    from filmstyle.errors import FilmStyleError

    if text is None:
        return None
    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise FilmStyleError("--executable: holds a control character (a line break?)")
    try:
        words = shlex.split(text)
    except ValueError as exc:  # an unbalanced quote
        raise FilmStyleError(f"--executable: {clip(repr(text), 80)} is not a command line ({exc})") from None
    if not words:
        raise FilmStyleError("--executable: empty; leave it out for this environment's filmstyle")
    return words


def _check_submitter(engine: str, dry_run: bool, cuebot: Optional[str]) -> None:
    """Refuse a submission that cannot reach its render manager before the source is scanned."""
    from filmstyle.errors import FilmStyleError

    if dry_run or engine == "dask":
        return
    if engine == "opencue":
        from filmstyle.farm.opencue_farm import cuebot_configured

        if not cuebot_configured(cuebot):
            raise FilmStyleError("opencue: no Cuebot configured (set CUEBOT_HOSTS, an OpenCue config file, or pass "
                                 "--cuebot HOST); --dry-run writes the job spec instead")
    else:
        from filmstyle.farm.deadline_farm import find_deadlinecommand

        if find_deadlinecommand() is None:
            raise FilmStyleError("deadline: deadlinecommand not found (put the Deadline client's bin folder on PATH "
                                 "or set DEADLINE_PATH); --dry-run writes the job files instead")


def _scan_progress(done: int, total: int) -> None:
    import sys

    if sys.stderr.isatty():
        typer.echo(f"\rscanning for cuts: {done}/{total}", err=True, nl=done == total)
    elif done == total:
        typer.echo(f"scanned {total} frames for cuts", err=True)


def _summary(plan) -> str:
    lines = [f"{plan.name}: {len(plan.frames)} frames in {len(plan.chunks)} chunks of up to {plan.chunk_size}"]
    if plan.warmup and (any(c.warmup for c in plan.chunks) or any(len(s) > plan.chunk_size for s in plan.shots)):
        lines.append(f"temporal: chunks inside a shot warm up on {plan.warmup} frames before their own")
    lines += list(plan.notes)
    return "\n".join(lines)


def _run_dask(plan, *, scheduler, workers, retries) -> None:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from filmstyle.errors import FilmStyleError
    from filmstyle.farm.dask_farm import run_on_dask

    console = Console(stderr=True)
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
               TextColumn("{task.fields[last]}"))
    with Progress(*columns, console=console) as bar:
        task = bar.add_task("farm", total=len(plan.frames), last="")
        seen: set[int] = set()

        def on_event(kind: str, data: dict) -> None:
            if kind == "frame" and data["frame"] not in seen:
                seen.add(data["frame"])
                bar.update(task, completed=len(seen), last=f"{data['status']} {data['frame']} ({data['chunk']})")
            elif kind == "retry":
                console.print(f"chunk {data['chunk']} failed (attempt {data['attempt']}): {data['error']}; retrying")
            elif kind == "failed":
                console.print(f"chunk {data['chunk']} failed after {data['attempts']} attempts: {data['error']}")

        report = run_on_dask(plan, scheduler=scheduler, workers=min(workers, len(plan.chunks)), retries=retries,
                             on_event=on_event)
    console.print(f"{report.written} written, {report.skipped} skipped in {report.seconds:.1f} s "
                  f"({len(report.retried)} chunk(s) retried) → {plan.output}", soft_wrap=True)
    if report.failed:
        specs = ", ".join(o.chunk.spec for o in report.failed)
        raise FilmStyleError(f"farm: {len(report.failed)} chunk(s) failed ({specs}): {report.failed[0].errors[-1]}; "
                             "submit again to render what is missing")
