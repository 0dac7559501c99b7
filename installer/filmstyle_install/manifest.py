"""The install manifest: every file, folder, edited block and environment one installation added.

Stored as ``<prefix>/install-manifest.json`` (format ``filmstyle-install-1``). ``--uninstall``
removes exactly what it lists; a reinstall compares against it to change only what differs.
Paths are stored as the platform writes them; content is identified by sha256.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["FORMAT", "FileEntry", "BlockEntry", "Manifest", "ManifestError", "sha256_bytes", "sha256_file",
           "atomic_write", "json_type"]

FORMAT = "filmstyle-install-1"


class ManifestError(Exception):
    """The manifest is unreadable or from an unknown format; the message is one line."""


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def atomic_write(path: Path, data: bytes) -> None:
    """Write through a temporary file in the same folder, so no reader sees half a file."""
    fd, tmp = tempfile.mkstemp(dir=str(path.parent), prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


@dataclass
class FileEntry:
    """A file the installer wrote (``owned``) or found already identical (not owned: never removed).

    ``backup`` names where a different file that stood at ``path`` before was moved (``--force``);
    uninstall puts it back.
    """

    path: str
    sha256: str
    role: str
    owned: bool = True
    backup: str | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"path": self.path, "sha256": self.sha256, "role": self.role}
        if not self.owned:
            data["owned"] = False
        if self.backup:
            data["backup"] = self.backup
        return data


@dataclass
class BlockEntry:
    """A delimited block added to a text file (``separator`` went in just before it)."""

    path: str
    sha256: str
    separator: str
    created_file: bool

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "sha256": self.sha256, "separator": self.separator,
                "created_file": self.created_file}


@dataclass
class Manifest:
    """What one installation added; see the module docstring."""

    version: str
    platform: str
    scope: str
    prefix: str
    python: str
    venv: str | None = None
    installed_at: str = ""
    options: dict[str, Any] = field(default_factory=dict)
    dirs: list[str] = field(default_factory=list)
    files: list[FileEntry] = field(default_factory=list)
    blocks: list[BlockEntry] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def file(self, path: Path | str) -> FileEntry | None:
        key = str(path)
        return next((f for f in self.files if f.path == key), None)

    def block(self, path: Path | str) -> BlockEntry | None:
        key = str(path)
        return next((b for b in self.blocks if b.path == key), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": self.version,
            "platform": self.platform,
            "scope": self.scope,
            "prefix": self.prefix,
            "python": self.python,
            "venv": self.venv,
            "installed_at": self.installed_at,
            "options": self.options,
            "dirs": list(self.dirs),
            "files": [f.to_json() for f in self.files],
            "blocks": [b.to_json() for b in self.blocks],
            "notes": list(self.notes),
        }

    def save(self, path: Path) -> None:
        atomic_write(path, (json.dumps(self.to_json(), indent=2) + "\n").encode("utf-8"))

    @classmethod
    def load(cls, path: Path) -> Manifest | None:
        """The manifest at ``path``, ``None`` when there is none.

        Raises:
            ManifestError: unreadable, not JSON, or another format.
        """
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise ManifestError(f"{path}: unreadable install manifest ({exc})") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            got = data.get("format") if isinstance(data, dict) else type(data).__name__
            raise ManifestError(f"{path}: expected an install manifest of format {FORMAT}, got {got!r}")
        # Every field is checked before anything is built, so uninstall never acts on half a
        # manifest and a hand-edited one is named by its bad field, not by a Python exception.
        check = _Fields(path)
        files = [check.entry(f"files[{i}]", f, ("path", "sha256"), ("role", "backup", "owned"))
                 for i, f in enumerate(check.value(data, "files", list, []))]
        blocks = [check.entry(f"blocks[{i}]", b, ("path", "sha256", "separator", "created_file"), ())
                  for i, b in enumerate(check.value(data, "blocks", list, []))]
        return cls(
            version=check.value(data, "version", str),
            platform=check.value(data, "platform", str),
            scope=check.value(data, "scope", str),
            prefix=check.path(data, "prefix"),
            python=check.value(data, "python", str),
            venv=check.path(data, "venv", optional=True),
            installed_at=check.value(data, "installed_at", str, ""),
            options=check.options(data),
            dirs=[check.path({"dirs": d}, "dirs", label=f"dirs[{i}]")
                  for i, d in enumerate(check.value(data, "dirs", list, []))],
            files=[FileEntry(f["path"], f["sha256"], f.get("role", ""), f.get("owned", True), f.get("backup"))
                   for f in files],
            blocks=[BlockEntry(b["path"], b["sha256"], b["separator"], b["created_file"]) for b in blocks],
            notes=[check.value({"notes": n}, "notes", str, label=f"notes[{i}]")
                   for i, n in enumerate(check.value(data, "notes", list, []))],
        )


_MISSING = object()
_TYPE_NAMES = {str: "a string", list: "a list", dict: "an object", bool: "true or false"}
_ENTRY_TYPES = {"path": "path", "backup": "path", "sha256": str, "role": str, "separator": str,
                "owned": bool, "created_file": bool}


class _Fields:
    """Type checks for :meth:`Manifest.load`; each failure is one :class:`ManifestError` line."""

    def __init__(self, manifest: Path) -> None:
        self.manifest = manifest

    def fail(self, label: str, problem: str) -> ManifestError:
        return ManifestError(f"{self.manifest}: install manifest field {label!r} {problem}")

    def value(self, data: dict, key: str, kind: type, default: Any = _MISSING, *, label: str = "") -> Any:
        label = label or key
        value = data.get(key, _MISSING)
        if value is _MISSING:
            if default is _MISSING:
                raise ManifestError(f"{self.manifest}: install manifest is missing field {label!r}")
            return default
        if not isinstance(value, kind):
            raise self.fail(label, f"should be {_TYPE_NAMES[kind]}, got {json_type(value)}")
        return value

    def path(self, data: dict, key: str, *, optional: bool = False, label: str = "") -> str | None:
        label = label or key
        if optional and data.get(key) is None:
            return None
        value = self.value(data, key, str, label=label)
        # Uninstall deletes these: a relative path would be taken from wherever it runs.
        if not os.path.isabs(value):
            raise self.fail(label, f"should be an absolute path, got {value!r}")
        return value

    def options(self, data: dict) -> dict:
        options = self.value(data, "options", dict, {})
        hosts = self.value(options, "hosts", list, [], label="options.hosts")
        for i, host in enumerate(hosts):
            self.value({"h": host}, "h", str, label=f"options.hosts[{i}]")
        return options

    def entry(self, label: str, entry: Any, required: tuple[str, ...], optional: tuple[str, ...]) -> dict:
        if not isinstance(entry, dict):
            raise self.fail(label, f"should be an object, got {json_type(entry)}")
        for key in (*required, *optional):
            if key not in required and key not in entry:
                continue
            kind = _ENTRY_TYPES[key]
            if kind == "path":
                self.path(entry, key, optional=key not in required, label=f"{label}.{key}")
            else:
                self.value(entry, key, kind, label=f"{label}.{key}")
        return entry


def json_type(value: Any) -> str:
    """What a JSON value is, in the words an error message uses (``a number``, ``null``)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true or false"
    return {int: "a number", float: "a number", str: "a string", list: "a list", dict: "an object"}.get(
        type(value), type(value).__name__)
