"""QC commands: ``filmstyle compare SRC OUT``."""

from __future__ import annotations

import json
from typing import Annotated, Optional

import typer

from filmstyle.cli import app, reports_errors

#: Differences listed per file in the text report before "... and N more".
_SHOWN = 40


def _pairs(source: str, output: str, frames: Optional[str]):
    from filmstyle import io

    src = io.find_sequence(source, frames)
    out = io.output_sequence(src, output)
    return [(f, src.path(f), out.path(f)) for f in src.frames]


@app.command()
@reports_errors
def compare(
    source: Annotated[str, typer.Argument(help="Source frame or sequence (shot.####.exr).")],
    output: Annotated[str, typer.Argument(help="Output frame or sequence made from it.")],
    frames: Annotated[Optional[str], typer.Option(help="Frames to compare (default: the source's frames on disk).")] = None,
    layer: Annotated[Optional[str], typer.Option(help="The stylized layer (default: the first RGB layer that changed).")] = None,
    part: Annotated[Optional[int], typer.Option(help="The stylized part index (default: the one that changed).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    all_differences: Annotated[bool, typer.Option("--all", help="Also list intended differences in the text report.")] = False,
) -> None:
    """List every difference between source and output other than the stylized RGB.

    Exit status 0 when only the differences README lists as intended are found, 1 otherwise
    (and for a missing or unreadable file).
    """
    from filmstyle.errors import InputError
    from filmstyle.tools.compare import Difference, FileComparison, compare_files

    results: list[FileComparison] = []
    for frame, src, out in _pairs(source, output, frames):
        if out.is_dir():
            raise InputError(f"{out}: the output is a folder; name the output file or sequence "
                             "(e.g. folder/shot.####.exr)")
        if not out.is_file():
            results.append(FileComparison(str(src), str(out), [Difference("file", "output", "exists", "missing")]))
            continue
        results.append(compare_files(src, out, layer=layer, part=part))
    bad = sum(len(r.unintended) for r in results)
    if as_json:
        typer.echo(json.dumps({"files": [r.as_dict() for r in results], "unintended": bad,
                               "ok": bad == 0}, indent=2, default=str))
    else:
        for r in results:
            shown = r.differences if all_differences else r.unintended
            intended = len(r.differences) - len(r.unintended)
            status = "ok" if not r.unintended else f"{len(r.unintended)} unintended"
            typer.echo(f"{r.output}: {status} ({intended} intended)")
            for d in shown[:_SHOWN]:
                tag = f"[{d.intended}] " if d.intended else ""
                typer.echo(f"  {tag}{d.where}: {d.what}: {_short(d.source)} -> {_short(d.output)}")
            if len(shown) > _SHOWN:
                typer.echo(f"  ... and {len(shown) - _SHOWN} more (--json lists all)")
        typer.echo(f"{len(results)} file(s) compared, {bad} unintended difference(s)")
    if bad:
        raise typer.Exit(1)


def _short(value, limit: int = 120) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."
