"""Bounds on what a job may ask for, so no job file, flag or request can exhaust memory or time.

A job is plain data from YAML, JSON or the command line; before any of it is read
:func:`check_shape` bounds its nesting and its size (counting shared YAML aliases every time they
are reached, so an alias bomb is refused instead of expanded). Paths a job names go through
:func:`absolute_path`, which also refuses names no file system accepts. The per-field bounds of
numbers live in the parameter table and the mask parser; these are the structural ones.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from filmstyle.errors import JobError, clip

__all__ = [
    "MAX_DEPTH",
    "MAX_VALUES",
    "MAX_JOB_BYTES",
    "MAX_NAME_BYTES",
    "MAX_PATH_BYTES",
    "MAX_BLEND_STYLES",
    "MAX_REGIONS",
    "MAX_STYLE_PIXELS",
    "PathCheck",
    "check_shape",
    "absolute_path",
    "is_file",
]

#: Nesting of mappings and lists (a region's mask with a dozen nested operations fits).
MAX_DEPTH = 32
#: Values in one job, aliases counted every time they are used (a curve keyed on every frame of
#: a 10 000-frame shot is 30 000).
MAX_VALUES = 500_000
#: Size of a job file (YAML is read at roughly 100 KB a second).
MAX_JOB_BYTES = 4 << 20
#: A file name (one path component) and a whole path, in bytes: what Linux, macOS and Windows
#: file systems accept (NAME_MAX 255, PATH_MAX 4096).
MAX_NAME_BYTES = 255
MAX_PATH_BYTES = 4096
#: Styles in one blend, and regions in one job: each is a look to compile and run per frame, and
#: a blend of more than a few is a grey average of them.
MAX_BLEND_STYLES = 32
MAX_REGIONS = 64
#: Pixels of a style image (8192 x 8192). The network only ever sees it shrunk to about 256 px, but
#: decoding it costs its full size in memory (a 1 MB PNG of 20000 x 20000 is 19 GB): refused from
#: the header before a pixel is decoded.
MAX_STYLE_PIXELS = 8192 * 8192

#: The worker's allow-list as the job model sees it: called with ``(field path, absolute path)``
#: for every file a job names, before anything looks at that file; returns a one-line refusal or
#: None. See :func:`filmstyle.job.model.job_from_data`.
PathCheck = Callable[[str, Path], "str | None"]


def check_shape(data: Any, *, where: Callable[[str], str] = lambda path: path) -> None:
    """Refuse data nested deeper than :data:`MAX_DEPTH` or holding more than :data:`MAX_VALUES`
    values (shared sub-values counted each time). Iterative, so it cannot overflow the stack.

    ``where(path)`` labels the field in the message (adding a file name and line).
    """
    stack: list[tuple[Any, str, int]] = [(data, "", 0)]
    seen = 0
    while stack:
        node, path, depth = stack.pop()
        seen += 1
        if seen > MAX_VALUES:
            raise JobError(f"{where(path or 'job')}: more than {MAX_VALUES} values "
                           "(YAML aliases count every time they are used)")
        if isinstance(node, dict):
            children = [(v, f"{path}.{clip(k, 40)}" if path else clip(k, 40)) for k, v in node.items()]
        elif isinstance(node, (list, tuple)):
            children = [(v, f"{path}[{i}]") for i, v in enumerate(node)]
        else:
            continue
        if depth >= MAX_DEPTH and children:
            raise JobError(f"{where(path or 'job')}: nested deeper than {MAX_DEPTH} levels")
        stack.extend((v, p, depth + 1) for v, p in children)


def absolute_path(text: str, base_dir: Path | None, field: str, *, names: bool = True) -> Path:
    """``text`` as a path (``~`` expanded, relative to ``base_dir`` when given), without touching
    the file system; :class:`JobError` for what no file system accepts: a NUL, characters the
    system cannot encode, and (with ``names``) components over :data:`MAX_NAME_BYTES` or a whole
    path over :data:`MAX_PATH_BYTES`."""
    if "\0" in text:
        raise JobError(f"{field}: a path cannot hold a NUL character")
    if not _encodable(text):
        raise JobError(f"{field}: {clip(ascii(text), 60)} is not a valid file name on this system")
    try:
        p = Path(text).expanduser()
    except RuntimeError:  # ~name of a user this system does not know
        raise JobError(f"{field}: {clip(text, 60)}: unknown user in '~'") from None
    if not p.is_absolute() and base_dir is not None:
        p = Path(base_dir) / p
    if names:
        for part in p.parts:
            n = len(os.fsencode(part))
            if n > MAX_NAME_BYTES:
                raise JobError(f"{field}: file name is {n} bytes, at most {MAX_NAME_BYTES} ({clip(part, 40)})")
        size = len(os.fsencode(str(p)))
        if size > MAX_PATH_BYTES:
            raise JobError(f"{field}: path is {size} bytes, at most {MAX_PATH_BYTES} ({clip(p, 60)})")
    return p


def is_file(path: Path, field: str) -> bool:
    """``path.is_file()``, with errors other than "not there" (no permission to look) as one line."""
    try:
        return path.is_file()
    except OSError as exc:
        raise JobError(f"{field}: cannot look at {clip(path, 80)}: {exc.strerror or exc}") from None


def _encodable(text: str) -> bool:
    try:
        os.fsencode(text)
        return True
    except UnicodeError:
        return False
