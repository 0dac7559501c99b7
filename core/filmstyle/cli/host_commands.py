"""Commands for host scripts that cannot read YAML or curves themselves (Resolve's Python).

``filmstyle job json JOB.yaml`` prints the job as JSON with every relative path made absolute (from
the job file's folder) and every curve as explicit keys ``{"keys": [[frame, value, interp], ...]}``
(a number when constant), so a host can send it on to the worker or key its own controls.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from filmstyle.cli import reports_errors
from filmstyle.cli.job_commands import job_app


def _absolute(path: str, base: Path) -> str:
    p = Path(path).expanduser()
    return str(p if p.is_absolute() else (base / p))


def _style_path(text: str, base: Path) -> str:
    from filmstyle.job.styles import builtin_index

    stripped = text.strip()
    if builtin_index(stripped) is not None or not any(c in stripped for c in "/\\."):
        return text  # a built-in look or a user style name
    if stripped.lower().startswith("custom:"):
        return "custom:" + _absolute(stripped[len("custom:"):].strip(), base)
    return _absolute(stripped, base)


def _styles(entries: list[dict[str, Any]], base: Path) -> list[dict[str, Any]]:
    return [dict(e, style=_style_path(e["style"], base)) for e in entries]


def _masks(node: Any, base: Path) -> Any:
    if isinstance(node, dict):
        return {k: (_absolute(v, base) if k == "file" and isinstance(v, str) else _masks(v, base))
                for k, v in node.items()}
    if isinstance(node, list):
        return [_masks(v, base) for v in node]
    return node


def job_as_host_data(job_file: Path) -> dict[str, Any]:
    """The job file as plain data for a host (see the module docstring); the job is validated
    first, so a host only ever gets a job the worker accepts."""
    from filmstyle.job.source import load_job

    job = load_job(job_file)
    base = job.base_dir
    data = job.to_data()  # curves as {"keys": [...]} or a number already
    data["input"] = _absolute(data["input"], base)
    data["output"] = _absolute(data["output"], base)
    color = data.get("color") or {}
    if color.get("ocio") and not str(color["ocio"]).startswith("ocio://"):
        color["ocio"] = _absolute(color["ocio"], base)
    if "styles" in data:
        data["styles"] = _styles(data["styles"], base)
    for region in data.get("regions", []):
        region["mask"] = _masks(region["mask"], base)
        if "styles" in region:
            region["styles"] = _styles(region["styles"], base)
    default = data.get("default")
    if isinstance(default, dict) and "styles" in default:
        default["styles"] = _styles(default["styles"], base)
    return data


@job_app.command("json")
@reports_errors
def job_json(
    job_file: Annotated[Path, typer.Argument(metavar="JOB.yaml", help="A job file.")],
) -> None:
    """Print the job as JSON for host scripts: absolute paths, curves as explicit keys."""
    typer.echo(json.dumps(job_as_host_data(job_file), indent=1))
