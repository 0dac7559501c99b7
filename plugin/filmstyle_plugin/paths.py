"""The user's filmstyle config folder, computed without third-party packages.

Must name the same folder as ``platformdirs.user_config_dir("filmstyle", appauthor=False)``,
which the worker uses (a test checks they agree). ``$FILMSTYLE_CONFIG_DIR`` overrides both.
``config_dir`` and ``site_dir`` (the all-users folder) take an optional platform and environment,
so the installer computes the folders of every OS from this one table. The installer also writes
``plugin_path`` (the folder holding ``filmstyle_plugin``), ``nuke_path``, ``device``, ``version``
and ``prefix`` to ``host.json``; an all-users install writes it to ``site_dir()``, which
:func:`host_config_file` falls back to when the user has none.

Files in it:

* ``worker.json`` – written by the running worker: ``{"host", "port", "token", "pid"}`` (mode 0600).
* ``host.json`` – written by the installer: ``{"python": "<venv python>", "serve_args": [...]}``;
  ``$FILMSTYLE_PYTHON`` overrides ``python``. An optional ``"env": {"NAME": "value"}`` is added to
  the worker's environment, which otherwise starts clean of the host's Python variables.
"""

import os
import sys
from pathlib import Path
from typing import Mapping, Optional

__all__ = ["CONFIG_ENV", "PYTHON_ENV", "config_dir", "site_dir", "worker_file", "host_config_file"]

CONFIG_ENV = "FILMSTYLE_CONFIG_DIR"
PYTHON_ENV = "FILMSTYLE_PYTHON"


def config_dir(
    platform: Optional[str] = None, environ: Optional[Mapping[str, str]] = None, home: Optional[Path] = None
) -> Path:
    """The user's config folder on ``platform`` (default: this one) under ``environ`` and ``home``."""
    platform = platform or sys.platform
    env = os.environ if environ is None else environ
    home = Path(home) if home is not None else Path.home()
    override = env.get(CONFIG_ENV)
    if override:
        return Path(override).expanduser()
    if platform == "win32":
        base = env.get("LOCALAPPDATA") or str(home / "AppData" / "Local")
        return Path(base) / "filmstyle"
    if platform == "darwin":
        return home / "Library" / "Application Support" / "filmstyle"
    xdg = env.get("XDG_CONFIG_HOME", "").strip()
    return Path(xdg if xdg else home / ".config") / "filmstyle"


def site_dir(platform: Optional[str] = None, environ: Optional[Mapping[str, str]] = None) -> Path:
    """The all-users filmstyle folder: where an all-users install lives and keeps its ``host.json``."""
    platform = platform or sys.platform
    env = os.environ if environ is None else environ
    if platform == "win32":
        return Path(env.get("PROGRAMDATA") or "C:\\ProgramData") / "filmstyle"
    if platform == "darwin":
        return Path("/Library/Application Support/filmstyle")
    return Path("/opt/filmstyle")


def worker_file() -> Path:
    return config_dir() / "worker.json"


def host_config_file() -> Path:
    """The user's ``host.json``; the all-users one when the user has none and it exists."""
    user = config_dir() / "host.json"
    if not user.exists() and not os.environ.get(CONFIG_ENV):
        site = site_dir() / "host.json"
        if site.is_file():
            return site
    return user
