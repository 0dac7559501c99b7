"""The ``filmstyle`` command line.

Every command turns a :class:`~filmstyle.errors.FilmStyleError` into one line on stderr and exit
status 1 (and so, as a last resort, an ``OSError`` no check caught: the file system's own word,
with the file it names); usage errors exit 2 (typer's convention). Commands live in small modules listed in
:data:`COMMAND_MODULES`, each registering itself on :data:`app`; heavy imports stay inside the
command functions so ``filmstyle --help`` is instant.
"""

from __future__ import annotations

import functools
import importlib
import logging
from typing import Annotated

import typer

from filmstyle import __version__
from filmstyle.errors import FilmStyleError, clip

__all__ = ["app", "main", "reports_errors", "os_error_line", "render_with_progress", "COMMAND_MODULES"]

app = typer.Typer(
    name="filmstyle",
    help="Style transfer for film post-production: EXR/DPX in, colour-managed, full resolution, EXR/DPX out.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

#: Modules (under ``filmstyle.cli``) whose import registers commands on :data:`app`.
COMMAND_MODULES: tuple[str, ...] = ("core_commands", "worker_commands", "job_commands", "metrics_commands",
                                    "host_commands", "qc_commands", "doctor_commands", "panel_commands")


def reports_errors(fn):
    """Turn library errors into one ``filmstyle: error: …`` line and exit status 1."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from filmstyle.cli.signals import Terminated, sigterm_as_interrupt

        try:
            with sigterm_as_interrupt():
                return fn(*args, **kwargs)
        except FilmStyleError as exc:
            typer.echo(f"filmstyle: error: {exc}", err=True)
            raise typer.Exit(1) from None
        except OSError as exc:
            typer.echo(f"filmstyle: error: {os_error_line(exc)}", err=True)
            raise typer.Exit(1) from None
        except Terminated:
            typer.echo("filmstyle: terminated (SIGTERM); frames already written are complete", err=True)
            raise typer.Exit(143) from None
        except KeyboardInterrupt:
            typer.echo("filmstyle: interrupted; frames already written are complete", err=True)
            raise typer.Exit(130) from None

    return wrapper


def os_error_line(exc: OSError) -> str:
    """``FILE: reason`` of an ``OSError`` (both files of a rename), cut short."""
    reason = exc.strerror or str(exc) or type(exc).__name__
    files = [clip(str(f), 200) for f in (exc.filename, exc.filename2) if f is not None]
    return f"{' -> '.join(files)}: {reason}" if files else clip(reason, 300)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"filmstyle {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Style transfer for film post-production."""
    logger = logging.getLogger("filmstyle")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("filmstyle: %(levelname)s: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)


def render_with_progress(plan, **render_options) -> None:
    """Render a plan with a rich progress bar (frames, fps, ETA) on stderr (``render_options``
    go to :func:`~filmstyle.engine.sequence.render_sequence`)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from filmstyle.engine.pipeline import FramePipeline
    from filmstyle.engine.sequence import render_sequence

    pipeline = FramePipeline(plan)  # config and colourspaces checked before the bar appears
    console = Console(stderr=True)
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeRemainingColumn(),
        TextColumn("{task.fields[last]}"),
    )
    with Progress(*columns, console=console, transient=False) as bar:
        task = bar.add_task("stylize", total=len(plan.source.frames), rate="", last="")
        written = {"n": 0, "seconds": 0.0}

        def on_frame(result, done, total):
            if result.status == "written":
                written["n"] += 1
                written["seconds"] += result.seconds
            rate = f"{written['n'] / written['seconds']:.2f} fps" if written["seconds"] else ""
            bar.update(task, completed=done, rate=rate, last=f"{result.status} {result.path.name}")

        report = render_sequence(plan, progress=on_frame, pipeline=pipeline, **render_options)
    console.print(
        f"{report.written} written, {report.skipped} skipped (existing; --overwrite to redo) "
        f"in {report.seconds:.1f} s → {plan.output.pattern}",
        soft_wrap=True,
    )




COMMAND_MODULES += ("farm_commands",)
for _module in COMMAND_MODULES:
    importlib.import_module(f"filmstyle.cli.{_module}")


def main() -> None:
    """Console-script entry point."""
    app()
