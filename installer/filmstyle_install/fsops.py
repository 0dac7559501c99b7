"""File operations that record themselves in the manifest, and their exact undoing.

:class:`Recorder` performs (or, dry, only reports) every change of an install against the
previous install's manifest: unchanged files are left alone, files of the previous install are
updated, a user's own file in the way is a conflict (``--force`` moves it to the backups and puts
it back on uninstall), and a file of ours the user has changed is kept. :func:`undo` removes what
a manifest lists and nothing else: changed files are kept with a warning, folders go only when
empty (apart from Python's ``__pycache__``), edited blocks are cut out byte for byte.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Callable, Iterable

from filmstyle_install import blocks
from filmstyle_install.manifest import BlockEntry, FileEntry, Manifest, atomic_write, sha256_bytes, sha256_file

__all__ = ["InstallError", "Recorder", "undo", "Say"]

Say = Callable[[str], None]


class InstallError(Exception):
    """A problem the user can fix; the message is one line naming the path."""


def _exists(path: Path) -> bool:
    return os.path.lexists(path)


class Recorder:
    """Applies file changes for one install and records them in ``new``.

    Args:
        old: the previous install's manifest (``None`` on a first install).
        new: the manifest being built.
        say: where progress lines go.
        dry_run: report every change, make none.
        force: replace a user's own files that stand where ours go (kept in the backups).
    """

    def __init__(self, old: Manifest | None, new: Manifest, say: Say, *, dry_run: bool = False,
                 force: bool = False, backup_dir: Path | None = None) -> None:
        self.old, self.new, self.say = old, new, say
        self.dry_run, self.force = dry_run, force
        self.backup_dir = backup_dir
        self.changed = 0

    # -- preflight ------------------------------------------------------------------------------
    def conflict(self, path: Path, data: bytes) -> str | None:
        """Why writing ``data`` to ``path`` would clobber a user's file, or ``None``."""
        previous = self.old.file(path) if self.old else None
        if not _exists(path) or (previous is not None and previous.owned):
            return None
        if path.is_dir() and not path.is_symlink():
            return f"{path}: a folder stands where a file goes"
        if sha256_file(path) == sha256_bytes(data):
            return None
        return None if self.force else f"{path}: exists and is not from filmstyle (--force moves it to the backups)"

    # -- changes --------------------------------------------------------------------------------
    def ensure_dir(self, path: Path) -> None:
        """Create ``path`` and missing parents, recording each folder this or a previous install made."""
        missing = []
        for folder in [path, *path.parents]:
            if folder.is_dir():
                break
            if _exists(folder):
                raise InstallError(f"{folder}: not a folder (a file stands where a folder goes)")
            missing.append(folder)
        previous = set(self.old.dirs) if self.old else set()
        chain = [p for p in reversed(list(path.parents)) if str(p) in previous] + ([path] if str(path) in previous else [])
        for folder in chain:
            self._record_dir(folder)
        for folder in reversed(missing):
            if not self.dry_run:
                try:
                    folder.mkdir()
                except OSError as exc:
                    raise InstallError(f"{folder}: cannot create folder ({exc.strerror or exc})") from None
            self._record_dir(folder)

    def _record_dir(self, folder: Path) -> None:
        if str(folder) not in self.new.dirs:
            self.new.dirs.append(str(folder))

    def put_file(self, path: Path, data: bytes, role: str, *, replace_foreign: bool = False,
                 replace_modified: bool = False) -> None:
        """Install ``data`` at ``path`` (see the class docstring for what happens to what is there)."""
        sha = sha256_bytes(data)
        previous = self.old.file(path) if self.old else None
        self.ensure_dir(path.parent)
        if _exists(path) and not path.is_dir():
            current = sha256_file(path)
            if current == sha:
                if previous is not None:
                    self.new.files.append(FileEntry(str(path), sha, role, previous.owned, previous.backup))
                else:
                    self.new.files.append(FileEntry(str(path), sha, role, owned=False))
                return
            if previous is not None and previous.owned:
                if current != previous.sha256 and not (replace_modified or self.force):
                    self.say(f"  kept {path}: changed since it was installed (--force replaces it)")
                    self.new.files.append(previous)
                    return
                self._write(path, data, "update")
                self.new.files.append(FileEntry(str(path), sha, role, True, previous.backup))
                return
            if not (self.force or replace_foreign):
                raise InstallError(f"{path}: exists and is not from filmstyle (--force moves it to the backups)")
            backup = self._backup(path)
            self._write(path, data, "replace")
            self.new.files.append(FileEntry(str(path), sha, role, True, str(backup)))
            return
        self._write(path, data, "add")
        self.new.files.append(FileEntry(str(path), sha, role))

    def put_tree(self, files: Iterable[tuple[str, bytes]], dest: Path, role: str) -> int:
        count = 0
        for rel, data in files:
            self.put_file(dest.joinpath(*rel.split("/")), data, role)
            count += 1
        return count

    def put_block(self, path: Path, block: str) -> None:
        """Add or refresh the delimited ``block`` (written with ``\\n``) in the text file ``path``."""
        previous = self.old.block(path) if self.old else None
        created = not _exists(path)
        text = "" if created else _read_text(path)
        if text and blocks.newline_of(text) != "\n":
            block = block.replace("\n", blocks.newline_of(text))
        try:
            had_block = blocks.find_block(text) is not None
            new_text, separator = blocks.with_block(text, block)
        except blocks.BlockError as exc:
            raise InstallError(f"{path}: {exc}; remove the broken filmstyle lines by hand") from None
        if had_block:
            separator = previous.separator if previous else ""
            created = previous.created_file if previous else False
        self.ensure_dir(path.parent)
        self.new.blocks.append(BlockEntry(str(path), sha256_bytes(block.encode("utf-8")), separator, created))
        if new_text == text:
            return
        self.changed += 1
        self.say(f"  {'would edit' if self.dry_run else 'edited'} {path} (a filmstyle block: pluginAddPath)")
        if not self.dry_run:
            try:
                atomic_write(path, new_text.encode("utf-8"))
            except OSError as exc:
                raise InstallError(f"{path}: cannot write ({exc.strerror or exc})") from None

    def _write(self, path: Path, data: bytes, how: str) -> None:
        self.changed += 1
        if self.dry_run:
            self.say(f"  would {how} {path}")
            return
        try:
            atomic_write(path, data)
        except OSError as exc:
            raise InstallError(f"{path}: cannot write ({exc.strerror or exc})") from None

    def _backup(self, path: Path) -> Path:
        assert self.backup_dir is not None
        target = self.backup_dir / f"{sha256_file(path)[:12]}-{path.name}"
        self.say(f"  {'would move' if self.dry_run else 'moved'} {path} to {target} (restored on uninstall)")
        self.ensure_dir(self.backup_dir)
        if not self.dry_run:
            if _exists(target):  # the same bytes were kept by an earlier install
                path.unlink()
            else:
                os.replace(path, target)
        return target

    def finish(self) -> None:
        """Remove what the previous install added and this one no longer does."""
        if self.old is None:
            return
        kept_files = {f.path for f in self.new.files}
        kept_blocks = {b.path for b in self.new.blocks}
        kept_dirs = set(self.new.dirs)
        stale = Manifest(self.old.version, self.old.platform, self.old.scope, self.old.prefix, self.old.python,
                         venv=self.old.venv if self.old.venv != self.new.venv else None,
                         files=[f for f in self.old.files if f.path not in kept_files],
                         blocks=[b for b in self.old.blocks if b.path not in kept_blocks],
                         dirs=[d for d in self.old.dirs if d not in kept_dirs])
        undo(stale, self.say, dry_run=self.dry_run)

    def partial(self) -> Manifest:
        """``new`` plus whatever of ``old`` it has not replaced yet (saved when an install fails)."""
        merged = Manifest(**{k: getattr(self.new, k) for k in ("version", "platform", "scope", "prefix", "python",
                                                                  "venv", "installed_at", "options", "notes")})
        merged.files = list(self.new.files)
        merged.blocks = list(self.new.blocks)
        merged.dirs = list(self.new.dirs)
        if self.old is not None:
            merged.files += [f for f in self.old.files if merged.file(f.path) is None]
            merged.blocks += [b for b in self.old.blocks if merged.block(b.path) is None]
            merged.dirs = [d for d in self.old.dirs if d not in merged.dirs] + merged.dirs
            merged.venv = merged.venv or self.old.venv
        return merged


def _read_text(path: Path) -> str:
    try:
        with open(path, encoding="utf-8", newline="") as f:
            return f.read()
    except UnicodeDecodeError:
        raise InstallError(f"{path}: not UTF-8 text; add the filmstyle lines by hand (--no-edit prints them)") from None
    except OSError as exc:
        raise InstallError(f"{path}: cannot read ({exc.strerror or exc})") from None


def undo(manifest: Manifest, say: Say, *, dry_run: bool = False) -> list[str]:
    """Remove what ``manifest`` lists; returns the warnings (files and folders kept, and why)."""
    warnings: list[str] = []
    verb = "would remove" if dry_run else "removed"

    def warn(text: str) -> None:
        warnings.append(text)
        say(f"  kept {text}")

    for entry in manifest.blocks:
        path = Path(entry.path)
        if not path.is_file():
            continue
        text = _read_text(path)
        try:
            rest, block = blocks.without_block(text, entry.separator)
        except blocks.BlockError as exc:
            warn(f"{path}: {exc}; remove the filmstyle lines by hand")
            continue
        if block is None:
            continue
        if sha256_bytes(block.encode("utf-8")) != entry.sha256:
            warn(f"{path}: the filmstyle block was edited since install; remove it by hand")
            continue
        say(f"  {verb} the filmstyle block from {path}")
        if not dry_run:
            if entry.created_file and not rest:
                path.unlink()
            else:
                atomic_write(path, rest.encode("utf-8"))
    for entry in manifest.files:
        if not entry.owned:
            continue
        path = Path(entry.path)
        if not _exists(path):
            _restore(entry, path, say, dry_run)
            continue
        if path.is_dir() or sha256_file(path) != entry.sha256:
            warn(f"{path}: changed since install")
            if entry.backup and _exists(Path(entry.backup)):
                aside = path.with_name(path.name + ".before-filmstyle")
                warn(f"{aside}: the file that stood there before filmstyle")
                if not dry_run:
                    os.replace(entry.backup, aside)
            continue
        if not dry_run:
            path.unlink()
        _restore(entry, path, say, dry_run)
    if manifest.venv:
        venv = Path(manifest.venv)
        if (venv / "pyvenv.cfg").is_file():
            say(f"  {verb} the environment {venv}")
            if not dry_run:
                shutil.rmtree(venv)
        elif _exists(venv):
            warn(f"{venv}: not a virtual environment any more")
    for folder in sorted(manifest.dirs, key=lambda d: len(Path(d).parts), reverse=True):
        path = Path(folder)
        if not path.is_dir() or path.is_symlink():
            continue
        if dry_run:
            say(f"  would remove the folder {path} when empty")
            continue
        for cache in path.glob("__pycache__"):
            if all(p.suffix == ".pyc" for p in cache.iterdir()):
                shutil.rmtree(cache)
        left = sorted(p.name for p in path.iterdir())
        if left:
            warn(f"{path}: holds files filmstyle did not install ({', '.join(left[:3])}{', ...' if len(left) > 3 else ''})")
            continue
        try:
            path.rmdir()
        except OSError as exc:
            warn(f"{path}: cannot be removed ({exc.strerror or exc})")
    return warnings


def _restore(entry: FileEntry, path: Path, say: Say, dry_run: bool) -> None:
    if entry.backup and _exists(Path(entry.backup)):
        say(f"  {'would restore' if dry_run else 'restored'} {path} (the file that stood there before)")
        if not dry_run:
            os.replace(entry.backup, path)
