"""Command-line options generated from the parameter table (:mod:`filmstyle.job.params`).

Every option defaults to "not given" so the table's default applies in one place; ``--help``
shows that default.
"""

from __future__ import annotations

import inspect
from typing import Annotated, Any, Optional

import typer

from filmstyle.job.params import Parameter

__all__ = ["signature_for"]

_TYPES: dict[str, Any] = {"number": float, "integer": int}
_METAVARS = {"curve": "CURVE", "number": "NUMBER", "integer": "INTEGER", "frames": "FRAMES", "path": "PATH",
             "choice": "CHOICE", "device": "DEVICE", "styles": "STYLE", "string": "TEXT", "part": "PART",
             "frame_files": "FRAME=FILE"}


def _help(p: Parameter) -> str:
    text = p.help
    if p.kind == "choice":
        text += f" One of: {', '.join(map(str, p.choices))}."
    return text


def _parameter(p: Parameter) -> inspect.Parameter:
    kind = inspect.Parameter.KEYWORD_ONLY
    if p.cli == "ARGUMENT":
        return inspect.Parameter(p.name, kind, annotation=Annotated[str, typer.Argument(help=_help(p), metavar=p.name.upper())])
    decls = [p.flag] + ([p.cli_short] if p.cli_short else [])
    if p.kind == "bool":
        option = typer.Option(*decls, help=_help(p))
        return inspect.Parameter(p.name, kind, annotation=Annotated[bool, option], default=bool(p.default))
    show = str(p.default) if p.default is not None else False
    option = typer.Option(*decls, help=_help(p), metavar=_METAVARS[p.kind], show_default=show)
    base = _TYPES.get(p.kind, str)
    annotation = Optional[list[str]] if p.multiple else Optional[base]
    return inspect.Parameter(p.name, kind, annotation=Annotated[annotation, option], default=None)


def signature_for(params: tuple[Parameter, ...]) -> inspect.Signature:
    """A function signature typer reads as arguments and options, one per table entry."""
    return inspect.Signature([_parameter(p) for p in params])
