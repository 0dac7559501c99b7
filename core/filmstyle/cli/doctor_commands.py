"""``filmstyle doctor``: the installer's checks, run for the environment this command runs in."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from filmstyle.cli import app


@app.command()
def doctor(
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    skip: Annotated[str, typer.Option(help="Sections to skip, comma-separated: install, env, worker, hosts.")] = "",
) -> None:
    """Check image formats, the OCIO config, torch devices, the weights cache, the worker and the
    Nuke/Resolve folders; one line per check, a fix for each failure; exit 1 when any fails."""
    from filmstyle_install import doctor as checks
    from filmstyle_plugin import paths

    sections = tuple(s.strip() for s in skip.split(",") if s.strip())
    unknown = [s for s in sections if s not in checks.SECTIONS]
    if unknown:
        typer.echo(f"filmstyle: error: --skip: unknown {', '.join(map(repr, unknown))}, "
                   f"valid: {', '.join(checks.SECTIONS)}", err=True)
        raise typer.Exit(2)
    results = checks.run_doctor(paths.host_config_file(), python=sys.executable, skip=sections)
    typer.echo(checks.report_json(results) if as_json else checks.format_report(results))
    raise typer.Exit(checks.exit_status(results))
