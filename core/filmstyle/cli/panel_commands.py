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
    size: Annotated[Optional[str], typer.Option(help="Window size WIDTHxHEIGHT (default 1360x860).")] = None,
) -> None:
    """Open the panel: viewer with a before/after wipe, looks, blend and strength curves, render."""
    from filmstyle.errors import FilmStyleError
    from filmstyle.panel.app import run_panel

    window = None
    if size is not None:
        w, _, h = size.lower().partition("x")
        if not (w.isdigit() and h.isdigit() and 400 <= int(w) <= 8000 and 300 <= int(h) <= 8000):
            raise FilmStyleError(f"--size: expected WIDTHxHEIGHT from 400x300 to 8000x8000, got {size!r}")
        window = (int(w), int(h))
    code = run_panel(job_file, frame=frame, screenshot=screenshot, proxy=proxy, thumbnails=thumbnails,
                     timeout=timeout, size=window)
    raise typer.Exit(code)
