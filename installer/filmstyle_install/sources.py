"""Where the files to install come from: a source checkout or a built wheel.

Both give the same three host trees, read-only:

* ``nuke`` — the NUKE_PATH folder (checkout ``nuke/``, wheel ``filmstyle/hosts/nuke/``);
* ``plugin`` — the stdlib ``filmstyle_plugin`` package (checkout ``plugin/filmstyle_plugin/``,
  wheel ``filmstyle/hosts/plugin/filmstyle_plugin/``);
* ``resolve`` — Fuses, templates and scripts (checkout ``resolve/``, wheel ``filmstyle/hosts/resolve/``);

plus the package version, the pinned torch requirement and a digest that changes whenever what
would be installed into the environment changes.
"""

from __future__ import annotations

import hashlib
import re
import zipfile
from pathlib import Path

__all__ = ["Source", "SourceError", "HOST_TREES", "WHEEL_HOSTS"]

HOST_TREES = ("nuke", "plugin", "resolve")
WHEEL_HOSTS = "filmstyle/hosts"
_CHECKOUT_DIRS = {"nuke": "nuke", "plugin": "plugin/filmstyle_plugin", "resolve": "resolve"}
_WHEEL_DIRS = {"nuke": f"{WHEEL_HOSTS}/nuke", "plugin": f"{WHEEL_HOSTS}/plugin/filmstyle_plugin",
               "resolve": f"{WHEEL_HOSTS}/resolve"}
# What goes into the environment from a checkout: a change here means pip must run again.
_PACKAGE_INPUTS = ("pyproject.toml", "requirements.txt", "setup.py", "MANIFEST.in", "core", "plugin", "installer",
                   "nuke", "resolve")
_DEFAULT_TORCH = "torch==2.13.0"


class SourceError(Exception):
    """The checkout or wheel is missing or incomplete; the message is one line."""


def _skipped(rel: str) -> bool:
    parts = rel.split("/")
    return any(p == "__pycache__" or p.startswith(".") for p in parts) or rel.endswith((".pyc", ".pyo"))


class Source:
    """A checkout folder (``root``) or a wheel file (``wheel``) to install from."""

    def __init__(self, *, root: Path | None = None, wheel: Path | None = None) -> None:
        if (root is None) == (wheel is None):
            raise ValueError("give exactly one of root and wheel")
        self.root, self.wheel = root, wheel
        if wheel is not None:
            if not wheel.is_file():
                raise SourceError(f"{wheel}: wheel not found")
            try:
                with zipfile.ZipFile(wheel) as zf:
                    self._names = [n for n in zf.namelist() if not n.endswith("/")]
            except (OSError, zipfile.BadZipFile) as exc:
                raise SourceError(f"{wheel}: not a wheel ({exc})") from None
            if not any(n.startswith(_WHEEL_DIRS["nuke"] + "/") for n in self._names):
                raise SourceError(f"{wheel}: carries no host folders ({WHEEL_HOSTS}/); build it from this checkout")
        else:
            assert root is not None
            if not (root / "pyproject.toml").is_file() or not (root / "core" / "filmstyle").is_dir():
                raise SourceError(f"{root}: not a filmstyle checkout (no pyproject.toml and core/filmstyle)")

    def describe(self) -> str:
        return f"wheel {self.wheel}" if self.wheel else f"checkout {self.root}"

    @property
    def pip_target(self) -> str:
        return str(self.wheel if self.wheel is not None else self.root)

    def tree(self, name: str) -> list[tuple[str, bytes]]:
        """``(relative POSIX path, bytes)`` of every file of host tree ``name``, sorted."""
        if self.wheel is not None:
            prefix = _WHEEL_DIRS[name] + "/"
            with zipfile.ZipFile(self.wheel) as zf:
                return sorted((n[len(prefix):], zf.read(n)) for n in self._names
                              if n.startswith(prefix) and not _skipped(n[len(prefix):]))
        assert self.root is not None
        base = self.root / _CHECKOUT_DIRS[name]
        if not base.is_dir():
            return []
        out = []
        for path in sorted(base.rglob("*")):
            rel = path.relative_to(base).as_posix()
            if path.is_file() and not _skipped(rel):
                out.append((rel, path.read_bytes()))
        return out

    def version(self) -> str:
        if self.wheel is not None:
            match = re.match(r"filmstyle-([^-]+)-", self.wheel.name)
            if match:
                return match.group(1)
            raise SourceError(f"{self.wheel}: expected a file name filmstyle-<version>-...whl")
        assert self.root is not None
        match = re.search(r'^version\s*=\s*"([^"]+)"', (self.root / "pyproject.toml").read_text(), re.M)
        if not match:
            raise SourceError(f"{self.root / 'pyproject.toml'}: no version found")
        return match.group(1)

    def torch_requirement(self) -> str:
        """The exact torch pin (``requirements.txt`` of a checkout, the wheel's metadata)."""
        if self.wheel is not None:
            with zipfile.ZipFile(self.wheel) as zf:
                meta = next((n for n in self._names if n.endswith(".dist-info/METADATA")), None)
                text = zf.read(meta).decode("utf-8", "replace") if meta else ""
            match = re.search(r"^Requires-Dist:\s*(torch\s*==\s*[^\s;,]+)", text, re.M)
        else:
            assert self.root is not None
            req = self.root / "requirements.txt"
            text = req.read_text() if req.is_file() else ""
            match = re.search(r"^\s*(torch\s*==\s*[^\s#;]+)", text, re.M)
        return match.group(1).replace(" ", "") if match else _DEFAULT_TORCH

    def first_requirements(self) -> list[str]:
        """pip arguments for what goes in before the package, pinned, so nothing pulls another torch.

        A checkout's ``requirements.txt`` (as ``./dev`` installs it), else the wheel's torch pin.
        """
        if self.root is not None and (self.root / "requirements.txt").is_file():
            return ["-r", str(self.root / "requirements.txt")]
        return [self.torch_requirement()]

    def digest(self) -> str:
        """sha256 over what pip would install from this source."""
        h = hashlib.sha256()
        if self.wheel is not None:
            with open(self.wheel, "rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    h.update(chunk)
            return h.hexdigest()
        assert self.root is not None
        for name in _PACKAGE_INPUTS:
            top = self.root / name
            paths = [top] if top.is_file() else sorted(p for p in top.rglob("*") if p.is_file()) if top.is_dir() else []
            for path in paths:
                rel = path.relative_to(self.root).as_posix()
                if _skipped(rel) or ".egg-info" in rel:
                    continue
                h.update(rel.encode() + b"\0" + path.read_bytes() + b"\0")
        return h.hexdigest()
