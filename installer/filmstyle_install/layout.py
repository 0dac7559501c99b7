"""Where filmstyle's files go on Linux, macOS and Windows: the installer's one per-OS path table.

Every folder the installer writes to is computed here from a platform name (``"linux"``,
``"darwin"``, ``"win32"``), a scope (``"user"`` or ``"all"``), the environment and the home
folder, so a test can compute (and fill) the layout of any OS under a temporary HOME. The config
and all-users folders come from :mod:`filmstyle_plugin.paths`, which the host code reads too.

Sources: Resolve's scripting README (``Fusion/Scripts`` roots per OS and scope); Fuses and
``Templates/Edit/Effects`` sit beside ``Scripts`` under the same Fusion root. Nuke reads
``~/.nuke/init.py`` (``%HOME%`` or else ``%USERPROFILE%`` on Windows) and, for all users of a
release, ``<shared>/Nuke/<major.minor>/plugins`` (Foundry's "Loading Gizmos, NDK Plug-ins, and
Python and Tcl Scripts").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Mapping, Sequence

from filmstyle_plugin import paths

__all__ = ["PLATFORMS", "SCOPES", "Layout", "compute_layout", "installed_nuke_versions", "NUKE_VERSION"]

PLATFORMS = ("linux", "darwin", "win32")
SCOPES = ("user", "all")
NUKE_VERSION = re.compile(r"^Nuke(\d+)\.(\d+)v\d+")

_RESOLVE_USER = {
    "linux": (".local", "share", "DaVinciResolve", "Fusion"),
    "darwin": ("Library", "Application Support", "Blackmagic Design", "DaVinci Resolve", "Fusion"),
}
_RESOLVE_ALL = {
    "linux": "/opt/resolve/Fusion",
    "darwin": "/Library/Application Support/Blackmagic Design/DaVinci Resolve/Fusion",
}
_NUKE_SHARED = {"linux": "/usr/local/Nuke", "darwin": "/Library/Application Support/Nuke"}
_NUKE_APPS = {"linux": "/usr/local", "darwin": "/Applications"}
_WIN_BMD = ("Blackmagic Design", "DaVinci Resolve")


@dataclass(frozen=True)
class Layout:
    """Every place one installation touches.

    ``prefix`` holds what the installer owns outright: ``venv/``, ``nuke/``,
    ``plugin/filmstyle_plugin/`` and ``install-manifest.json``. ``nuke_init_files`` are the
    ``init.py`` files that get the ``pluginAddPath`` block (none: print NUKE_PATH instructions).
    """

    platform: str
    scope: str
    home: Path
    prefix: Path
    config_dir: Path
    fusion_root: Path
    nuke_init_files: tuple[Path, ...]

    @property
    def venv_dir(self) -> Path:
        return self.prefix / "venv"

    @property
    def venv_python(self) -> Path:
        if self.platform == "win32":
            return self.venv_dir / "Scripts" / "python.exe"
        return self.venv_dir / "bin" / "python"

    @property
    def nuke_dir(self) -> Path:
        return self.prefix / "nuke"

    @property
    def plugin_dir(self) -> Path:
        """The folder that holds ``filmstyle_plugin`` (``host.json``'s ``plugin_path``)."""
        return self.prefix / "plugin"

    @property
    def manifest_file(self) -> Path:
        return self.prefix / "install-manifest.json"

    @property
    def backup_dir(self) -> Path:
        return self.prefix / "backups"

    @property
    def host_config(self) -> Path:
        """The ``host.json`` the host code reads: the user's, or the all-users one."""
        return (self.prefix if self.scope == "all" else self.config_dir) / "host.json"


def _rebase(path: str, system_root: Path | None) -> Path:
    """An absolute system path, moved under ``system_root`` when one is given (tests, staging)."""
    if system_root is None:
        return Path(path)
    return Path(system_root).joinpath(*PurePosixPath(path).parts[1:])


def _win_home(environ: Mapping[str, str], home: Path) -> Path:
    return Path(environ.get("USERPROFILE") or home)


def installed_nuke_versions(platform: str, environ: Mapping[str, str], system_root: Path | None = None) -> list[str]:
    """``major.minor`` of every Nuke installed in the standard application folder, oldest first."""
    if platform == "win32":
        apps = Path(environ.get("ProgramFiles") or environ.get("PROGRAMFILES") or "C:\\Program Files")
    else:
        apps = _rebase(_NUKE_APPS[platform], system_root)
    found = set()
    try:
        for entry in apps.iterdir():
            match = NUKE_VERSION.match(entry.name)
            if match and entry.is_dir():
                found.add((int(match.group(1)), int(match.group(2))))
    except OSError:
        return []
    return [f"{a}.{b}" for a, b in sorted(found)]


def _nuke_shared(platform: str, environ: Mapping[str, str], system_root: Path | None) -> Path:
    if platform == "win32":
        common = environ.get("CommonProgramFiles") or environ.get("COMMONPROGRAMFILES")
        return Path(common or "C:\\Program Files\\Common Files") / "Nuke"
    return _rebase(_NUKE_SHARED[platform], system_root)


def compute_layout(
    platform: str,
    scope: str = "user",
    *,
    environ: Mapping[str, str],
    home: Path,
    prefix: Path | None = None,
    nuke_versions: Sequence[str] = (),
    system_root: Path | None = None,
) -> Layout:
    """The layout of an installation on ``platform`` for ``scope``.

    Args:
        environ: the environment the paths are read from (``APPDATA``, ``LOCALAPPDATA``,
            ``PROGRAMDATA``, ``XDG_DATA_HOME``, ``FILMSTYLE_CONFIG_DIR``...).
        home: the user's home folder.
        prefix: where the environment and the Nuke/plugin folders go (default per OS and scope).
        nuke_versions: all-users only: the Nuke releases (``"15.1"``) whose shared plugin folder
            gets the block; default: every Nuke found installed. None found: NUKE_PATH instructions.
        system_root: all-users only: absolute POSIX system folders are taken under this folder
            (the tests' stand-in for ``/``); Windows folders come from ``environ``.

    Raises:
        ValueError: an unknown platform or scope, or a malformed Nuke version.
    """
    if platform not in PLATFORMS:
        raise ValueError(f"platform: expected one of {', '.join(PLATFORMS)}, got {platform!r}")
    if scope not in SCOPES:
        raise ValueError(f"scope: expected one of {', '.join(SCOPES)}, got {scope!r}")
    # Checked whatever the scope: a malformed version must not pass unnoticed because it goes unused.
    for version in nuke_versions:
        if not re.fullmatch(r"\d+\.\d+", version):
            raise ValueError(f"--nuke-version: expected major.minor such as 15.1, got {version!r}")
    home = Path(home)
    config = paths.config_dir(platform, environ, home)
    if scope == "user":
        if platform == "win32":
            local = Path(environ.get("LOCALAPPDATA") or _win_home(environ, home) / "AppData" / "Local")
            roaming = Path(environ.get("APPDATA") or _win_home(environ, home) / "AppData" / "Roaming")
            default_prefix = local / "filmstyle"
            fusion = roaming.joinpath(*_WIN_BMD, "Support", "Fusion")
            nuke_home = Path(environ.get("HOME") or _win_home(environ, home))
        else:
            if platform == "darwin":
                default_prefix = home / "Library" / "Application Support" / "filmstyle"
            else:
                data = environ.get("XDG_DATA_HOME", "").strip()
                default_prefix = Path(data if data else home / ".local" / "share") / "filmstyle"
            fusion = home.joinpath(*_RESOLVE_USER[platform])
            nuke_home = home
        nuke_inits: tuple[Path, ...] = (nuke_home / ".nuke" / "init.py",)
    else:
        site = paths.site_dir(platform, environ)
        default_prefix = site if platform == "win32" else _rebase(site.as_posix(), system_root)
        if platform == "win32":
            program_data = Path(environ.get("PROGRAMDATA") or "C:\\ProgramData")
            fusion = program_data.joinpath(*_WIN_BMD, "Fusion")
        else:
            fusion = _rebase(_RESOLVE_ALL[platform], system_root)
        versions = list(nuke_versions) or installed_nuke_versions(platform, environ, system_root)
        shared = _nuke_shared(platform, environ, system_root)
        nuke_inits = tuple(shared / v / "plugins" / "init.py" for v in versions)
    return Layout(
        platform=platform,
        scope=scope,
        home=home,
        prefix=Path(prefix) if prefix is not None else default_prefix,
        config_dir=config,
        fusion_root=fusion,
        nuke_init_files=nuke_inits,
    )
