"""Paths inside plain job data, moved to another folder or made absolute.

A job's relative paths resolve from its file's folder. Two things move a job: *Save As* into
another folder (relative paths are rewritten relative to the new folder, so they still name the
same files) and sending it to the worker, which resolves relative paths from its own folder
(every path is made absolute). Paths are found the way the job model finds them:

* fields of kind ``path`` in the parameter table (``input``, ``output``, ``color.ocio``; an
  ``ocio://`` URI is not a path), so a new path field is handled without changes here;
* style strings that name a file: ``custom:MODEL`` and image paths, at the top level, in regions
  and in ``default`` (built-in looks and user style names are not paths);
* ``file`` mattes anywhere inside region masks (also inside ``op`` masks).
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from filmstyle.errors import FilmStyleError
from filmstyle.job.params import job_parameters
from filmstyle.job.styles import IMAGE_STYLE_EXTENSIONS, builtin_index
from filmstyle.job.user_styles import load_user_styles

__all__ = ["relocate", "absolute", "style_is_path"]

_CUSTOM = "custom:"


def style_is_path(text: str) -> bool:
    """True when a style string names a file (an image or ``custom:MODEL``), as the job model reads it."""
    s = text.strip()
    if builtin_index(s) is not None:
        return False
    if s.lower().startswith(_CUSTOM):
        return True
    if not any(c in s for c in "/\\."):
        try:
            if s.lower() in load_user_styles():
                return False
        except FilmStyleError:  # an unreadable styles file: the job model reports it; here only the shape counts
            return False
    return "/" in s or "\\" in s or Path(s).suffix.lower() in IMAGE_STYLE_EXTENSIONS


def _move_path(text: str, old: Path, new: Path | None) -> str:
    p = Path(text).expanduser()
    if p.is_absolute():
        return text
    full = os.path.normpath(old / p)
    if new is None:
        return full
    try:
        return os.path.relpath(full, new)
    except ValueError:  # another drive (Windows): stays absolute
        return full


def _move_style(text: str, move: Callable[[str], str]) -> str:
    if not isinstance(text, str) or not style_is_path(text):
        return text
    s = text.strip()
    if s.lower().startswith(_CUSTOM):
        return _CUSTOM + move(s[len(_CUSTOM):].strip())
    return move(s)


def _move_styles(holder: dict, key: str, move: Callable[[str], str]) -> None:
    """Move the file paths in ``holder[key]``: one style string, or a list of names and entries."""
    value = holder.get(key)
    if isinstance(value, str):
        holder[key] = _move_style(value, move)
        return
    for i, item in enumerate(value if isinstance(value, list) else []):
        if isinstance(item, dict) and isinstance(item.get("style"), str):
            item["style"] = _move_style(item["style"], move)
        elif isinstance(item, str):
            value[i] = _move_style(item, move)


def _mattes(mask: Any) -> Iterator[dict]:
    if isinstance(mask, dict):
        if isinstance(mask.get("file"), str):
            yield mask
        for key in ("mask", "masks"):
            inner = mask.get(key)
            for m in inner if isinstance(inner, list) else [inner]:
                yield from _mattes(m)


def relocate(data: dict[str, Any], old_base: Path, new_base: Path | None) -> dict[str, Any]:
    """A copy of ``data`` whose relative paths name the same files from ``new_base`` (None: absolute)."""
    out = copy.deepcopy(data)
    old = Path(old_base)

    def move(text: str) -> str:
        return _move_path(text, old, None if new_base is None else Path(new_base))

    for param in job_parameters():
        if param.kind != "path":
            continue
        node = out.get(param.group) if param.group else out
        value = node.get(param.key) if isinstance(node, dict) else None
        if isinstance(value, str) and value.strip() and not value.startswith("ocio://"):
            node[param.key] = move(value)  # type: ignore[index]
    _move_styles(out, "styles", move)
    for region in out.get("regions") or []:
        if isinstance(region, dict):
            _move_styles(region, "styles", move)
            for matte in _mattes(region.get("mask")):
                matte["file"] = move(matte["file"])
    if isinstance(out.get("default"), dict):
        _move_styles(out["default"], "styles", move)
    return out


def absolute(data: dict[str, Any], base: Path) -> dict[str, Any]:
    """A copy of ``data`` with every path absolute (what the worker is sent)."""
    return relocate(data, base, None)
