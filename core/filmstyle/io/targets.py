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

from filmstyle.errors import FilmStyleError, OutputError, clip

__all__ = ["check_output_paths", "atomic_target", "temp_path_for", "clean_stale_temps", "name_max",
           "same_file", "refuse_inputs", "write_file", "oiio_name"]

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
        oiio_name(path, OutputError)
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


def _temp_beside(out_path: Path) -> Path:
    """The temp path for ``out_path``, its folder made first (one line naming it if it cannot be)."""
    try:
        out_path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{out_path}: cannot create its folder: {_describe(exc)}") from None
    return temp_path_for(out_path)


@contextmanager
def atomic_target(out_path: Path) -> Iterator[Path]:
    """Yield a temp path beside ``out_path``; on success fsync it and rename it over ``out_path``.

    On any failure the temp file is removed (a failing removal never hides the first error) and an
    :class:`OSError` is reported as one :class:`OutputError` line naming ``out_path``.
    """
    tmp = _temp_beside(out_path)
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


def oiio_name(path: Path, error: type[FilmStyleError]) -> str:
    """``str(path)`` for OpenImageIO, or ``error`` naming the path when it is not valid UTF-8.

    OIIO's Python binding takes ``str`` only and encodes it as UTF-8, so a name with other bytes
    (an ISO-8859-1 file name from an old server) cannot reach it at all.
    """
    text = str(path)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        shown = clip(repr(os.fsencode(text))[2:-1], 200)
        raise error(f"{shown}: file name is not valid UTF-8, which OpenImageIO cannot open; "
                    "rename the file") from None
    return text


def same_file(a: Path, b: Path) -> bool:
    """Whether ``a`` and ``b`` name one file: the same inode when both exist (hard links, symlinks),
    else the same path once ``..`` and symlinks are resolved."""
    try:
        return os.path.samefile(a, b)
    except (OSError, ValueError):
        pass
    try:
        return Path(a).resolve() == Path(b).resolve()
    except (OSError, RuntimeError, ValueError):
        return os.path.abspath(a) == os.path.abspath(b)


def refuse_inputs(out: Path, inputs: Iterable[tuple[str, Path | None]], field: str = "--out") -> None:
    """Refuse ``out`` (one :class:`OutputError` line) when it is one of a command's ``inputs``,
    given as ``(what it is, path)``; a command never overwrites what it reads."""
    for what, path in inputs:
        if path is not None and same_file(Path(out), Path(path)):
            raise OutputError(f"{field} {clip(out, 200)}: is the {what} this command reads; "
                              "choose another name (inputs are never overwritten)")


def write_file(out_path: Path, data: bytes, *, replace: bool = True) -> Path:
    """Write ``data`` to ``out_path`` through a temp file beside it, so that a failure leaves no
    partial file; any failure is one :class:`OutputError` line naming ``out_path``.

    ``replace=False`` never replaces a file that appears meanwhile: the temp file is hard-linked
    into place (which fails if the name exists) instead of renamed over it.
    """
    out_path = Path(out_path)
    check_output_paths([out_path])
    tmp = _temp_beside(out_path)
    try:
        with open(tmp, "xb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if replace:
            os.replace(tmp, out_path)
        else:
            _link_new(tmp, out_path)
    except FileExistsError:
        raise OutputError(f"{out_path}: already exists") from None
    except OSError as exc:
        raise OutputError(f"{out_path}: cannot write: {_describe(exc)}") from None
    finally:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass  # the error that matters, if any, is the one being raised
    return out_path


def _link_new(tmp: Path, out_path: Path) -> None:
    try:
        os.link(tmp, out_path)
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK, errno.ENOSYS):
            raise
        # No hard links here (FAT, some network shares): a rename after a last look is the best left.
        if os.path.lexists(out_path):
            raise FileExistsError(errno.EEXIST, "File exists", str(out_path)) from None
        os.rename(tmp, out_path)
