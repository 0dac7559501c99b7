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
           "atomic_write"]

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
        try:
            return cls(
                version=str(data["version"]),
                platform=str(data["platform"]),
                scope=str(data["scope"]),
                prefix=str(data["prefix"]),
                python=str(data["python"]),
                venv=data.get("venv"),
                installed_at=str(data.get("installed_at", "")),
                options=dict(data.get("options", {})),
                dirs=[str(d) for d in data.get("dirs", [])],
                files=[FileEntry(f["path"], f["sha256"], f.get("role", ""), bool(f.get("owned", True)),
                                 f.get("backup")) for f in data.get("files", [])],
                blocks=[BlockEntry(b["path"], b["sha256"], b["separator"], bool(b["created_file"]))
                        for b in data.get("blocks", [])],
                notes=[str(n) for n in data.get("notes", [])],
            )
        except (KeyError, TypeError) as exc:
            raise ManifestError(f"{path}: install manifest is missing field {exc}") from None
