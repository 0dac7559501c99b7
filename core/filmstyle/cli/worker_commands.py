"""Worker commands: serve (the local render worker hosts talk to) and export-nuke."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from filmstyle.cli import app, reports_errors


@app.command()
@reports_errors
def serve(
    port: Annotated[int, typer.Option(help="TCP port; 0 picks a free one (clients read it from worker.json).")] = 0,
    host: Annotated[str, typer.Option(help="Address to listen on; loopback only unless --allow-remote.")] = "127.0.0.1",
    allow_remote: Annotated[bool, typer.Option(help="Allow a non-loopback --host (anyone with the token may render).")] = False,
    allow_path: Annotated[
        Optional[list[Path]], typer.Option(help="Folder jobs may read and write (repeatable; default: anywhere).")
    ] = None,
    time_limit: Annotated[float, typer.Option(help="Seconds one job may run before it is stopped.")] = 6 * 3600.0,
) -> None:
    """Run the local render worker (HTTP on 127.0.0.1, bearer token in worker.json)."""
    from filmstyle.server import WorkerSettings, worker_file
    from filmstyle.server import serve as run_server

    settings = WorkerSettings(allow_paths=list(allow_path or []), job_time_limit=time_limit)

    def ready(info: dict) -> None:
        typer.echo(f"filmstyle worker on http://{info['host']}:{info['port']} (pid {info['pid']}; {worker_file()})",
                   err=True)

    run_server(host=host, port=port, allow_remote=allow_remote, settings=settings, ready=ready)


@app.command("export-nuke")
@reports_errors
def export_nuke(
    style: Annotated[str, typer.Option("--style", "-s", help="A built-in look or a style image.")],
    out: Annotated[Path, typer.Option(help="TorchScript file to write (feed it to CatFileCreator).")],
    space: Annotated[str, typer.Option(help="The comp's linear space: acescg or lin_rec709.")] = "acescg",
    strength: Annotated[float, typer.Option(help="Default of the model's strength knob, 0..1.")] = 1.0,
) -> None:
    """Export a style as a TorchScript model for Nuke's Inference node (via CatFileCreator)."""
    from filmstyle.tools.nuke_export import export_nuke_model

    path = export_nuke_model(style, out, space=space, strength=strength)
    typer.echo(f"wrote {path} (CatFileCreator: channels in/out rgba.red,rgba.green,rgba.blue; "
               "float knob 'strength')")
