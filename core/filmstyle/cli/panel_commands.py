"""The panel command: ``filmstyle panel [JOB.yaml]`` opens the PySide6 panel."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from filmstyle.cli import app, reports_errors


@app.command()
@reports_errors
def panel(
    job_file: Annotated[Optional[Path], typer.Argument(metavar="[JOB.yaml]", help="A job file to open.")] = None,
    frame: Annotated[Optional[int], typer.Option(help="Open on this frame (default: the job's first).")] = None,
    screenshot: Annotated[
        Optional[Path], typer.Option(help="Write a PNG of the loaded panel (frame, preview, thumbnails) and exit.")
    ] = None,
    proxy: Annotated[str, typer.Option(help="Preview size: auto (about 540 rows), 1, 1/2 or 1/4.")] = "auto",
    thumbnails: Annotated[bool, typer.Option(help="Render thumbnails of the looks on the shot.")] = True,
    timeout: Annotated[float, typer.Option(help="With --screenshot: seconds to wait for the preview.")] = 300.0,
) -> None:
    """Open the panel: viewer with a before/after wipe, looks, blend and strength curves, render."""
    from filmstyle.panel.app import run_panel

    code = run_panel(job_file, frame=frame, screenshot=screenshot, proxy=proxy, thumbnails=thumbnails,
                     timeout=timeout)
    if screenshot is not None:
        typer.echo(f"wrote {screenshot}", err=True)
    raise typer.Exit(code)
