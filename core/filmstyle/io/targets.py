"""Output paths: checked before a render starts, written through hidden temp files, cleaned after a kill.

* :func:`check_output_paths` refuses, before any frame is rendered, an output that cannot be
  written: a format OIIO has no writer for (``.cin``), a path that is an existing folder, a
  file name longer than the filesystem allows, a parent that is a file.
* :func:`atomic_target` yields a hidden temp path next to the output and renames it into place
  when the write succeeded; a failure removes it and reports the real error, naming the output.
* :func:`clean_stale_temps` removes temp files that an earlier, killed render left for these
  outputs (``kill -9``, power loss): only names filmstyle makes for exactly these outputs, and only
  when the process that made them is gone.

A temp name is ``.<output name>.tmp-<host>-<pid>-<random><extension>`` (the extension so that
OIIO picks the format); when that would be longer than the filesystem allows, the output name in
it is replaced by a hash of the name.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import re
import secrets
import socket
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import OpenImageIO as oiio

from filmstyle.errors import OutputError

__all__ = ["check_output_paths", "atomic_target", "temp_path_for", "clean_stale_temps", "name_max"]

_log = logging.getLogger("filmstyle.io")

_HOST = hashlib.sha1(socket.gethostname().encode()).hexdigest()[:8]
#: A temp file from another machine (a shared farm folder) is only taken for stale this old.
FOREIGN_STALE_SECONDS = 24 * 3600
#: Temp files named by older filmstyle versions (no host or pid) are stale after this long.
LEGACY_STALE_SECONDS = 3600
_DEFAULT_NAME_MAX = 255


def name_max(folder: Path) -> int:
    """Longest file name (bytes) the filesystem of ``folder`` (or its nearest existing parent) allows."""
    for p in (folder, *folder.parents):
        try:
            return int(os.pathconf(p, "PC_NAME_MAX"))
        except (OSError, ValueError):
            continue
    return _DEFAULT_NAME_MAX


def _name_key(name: str) -> str:
    return hashlib.sha1(name.encode("utf-8", "surrogateescape")).hexdigest()[:16]


def temp_path_for(out_path: Path) -> Path:
    """A fresh hidden temp path beside ``out_path``, short enough for its filesystem."""
    tag = f"{_HOST}-{os.getpid()}-{secrets.token_hex(4)}"
    name = f".{out_path.name}.tmp-{tag}{out_path.suffix}"
    if len(name.encode("utf-8", "surrogateescape")) > name_max(out_path.parent):
        name = f".{_name_key(out_path.name)}.tmp-{tag}{out_path.suffix}"
    return out_path.parent / name


def _temp_pattern(out_path: Path) -> re.Pattern[str]:
    stems = "|".join(re.escape(s) for s in (out_path.name, _name_key(out_path.name)))
    return re.compile(rf"^\.(?:{stems})\.tmp-(?:([0-9a-f]{{8}})-(\d+)-)?[0-9a-f]{{8}}{re.escape(out_path.suffix)}$")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True
    return True


def _is_stale(match: re.Match[str], mtime: float) -> bool:
    host, pid = match.group(1), match.group(2)
    age = time.time() - mtime
    if host is None:
        return age > LEGACY_STALE_SECONDS
    if host != _HOST:
        return age > FOREIGN_STALE_SECONDS
    return int(pid) != os.getpid() and not _pid_alive(int(pid))


def clean_stale_temps(outputs: Iterable[Path]) -> int:
    """Remove temp files left by killed renders of ``outputs``; returns how many were removed.

    Each output folder is listed once. A temp file is removed only when its name is one filmstyle
    makes for one of these outputs and its maker is gone (same machine: the process no longer
    exists; another machine: older than a day). Folders that cannot be listed are skipped.
    """
    by_folder: dict[Path, list[Path]] = {}
    for p in outputs:
        p = Path(p)
        by_folder.setdefault(p.parent, []).append(p)
    removed = 0
    for folder, paths in by_folder.items():
        patterns = [_temp_pattern(p) for p in paths]
        try:
            entries = [e for e in os.scandir(folder) if e.name.startswith(".") and ".tmp-" in e.name]
        except OSError:
            continue
        for entry in entries:
            for pattern in patterns:
                m = pattern.match(entry.name)
                if m is None:
                    continue
                try:
                    if entry.is_file(follow_symlinks=False) and _is_stale(m, entry.stat(follow_symlinks=False).st_mtime):
                        os.unlink(entry.path)
                        removed += 1
                except OSError:
                    pass
                break
    if removed:
        _log.info("removed %d temp file%s left by an interrupted render", removed, "" if removed == 1 else "s")
    return removed


def _writable_formats() -> set[str]:
    return set(oiio.get_string_attribute("output_format_list").split(","))


def check_output_paths(paths: Iterable[Path], *, format_name: str | None = None) -> None:
    """Refuse, before rendering, outputs that cannot be written; one :class:`OutputError` line.

    ``format_name``: the OIIO format the extension implies (checked for a writer once).
    """
    writable = _writable_formats()
    checked_folders: set[Path] = set()
    first = True
    for path in paths:
        path = Path(path)
        if first:
            first = False
            if format_name is not None and format_name not in writable:
                raise OutputError(
                    f"{path}: filmstyle can read {path.suffix} files but cannot write them; "
                    "choose .exr, .dpx, .tif, .png or .jpg")
        limit = name_max(path.parent)
        size = len(path.name.encode("utf-8", "surrogateescape"))
        if size > limit:
            raise OutputError(f"{path.name[:40]}...{path.suffix}: output file name is {size} bytes; "
                              f"this filesystem allows at most {limit}")
        try:
            if path.is_dir():
                raise OutputError(f"{path}: output path is an existing folder; name a file")
            if path.exists() and not path.is_file():
                raise OutputError(f"{path}: output path exists and is not a regular file")
            folder = path.parent
            if folder not in checked_folders:
                checked_folders.add(folder)
                for p in (folder, *folder.parents):
                    if p.exists():
                        if not p.is_dir():
                            raise OutputError(f"{path}: {p} is a file, not a folder")
                        break
        except OSError as exc:
            raise OutputError(f"{path}: unusable output path: {exc.strerror or exc}") from None


def _describe(exc: OSError) -> str:
    if exc.errno == errno.ENAMETOOLONG:
        return "file name too long for this filesystem"
    return exc.strerror or str(exc)


@contextmanager
def atomic_target(out_path: Path) -> Iterator[Path]:
    """Yield a temp path beside ``out_path``; on success fsync it and rename it over ``out_path``.

    On any failure the temp file is removed (a failing removal never hides the first error) and an
    :class:`OSError` is reported as one :class:`OutputError` line naming ``out_path``.
    """
    try:
        out_path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{out_path}: cannot create its folder: {_describe(exc)}") from None
    tmp = temp_path_for(out_path)
    try:
        yield tmp
        _fsync(tmp)
        os.replace(tmp, out_path)
    except BaseException as exc:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass  # a read-only or vanished folder: the error that matters is the one below
        if isinstance(exc, OSError):
            raise OutputError(f"{out_path}: cannot write: {_describe(exc)}") from None
        raise
    try:
        # Make the rename itself durable; not every platform/filesystem allows a dir fsync.
        _fsync(out_path.parent)
    except OSError:
        pass


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
