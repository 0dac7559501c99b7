"""The user's filmstyle config folder, computed without third-party packages.

Must name the same folder as ``platformdirs.user_config_dir("filmstyle", appauthor=False)``,
which the worker uses (a test checks they agree). ``$FILMSTYLE_CONFIG_DIR`` overrides both.

Files in it:

* ``worker.json`` – written by the running worker: ``{"host", "port", "token", "pid"}`` (mode 0600).
* ``host.json`` – written by the installer: ``{"python": "<venv python>", "serve_args": [...]}``;
  ``$FILMSTYLE_PYTHON`` overrides ``python``. An optional ``"env": {"NAME": "value"}`` is added to
  the worker's environment, which otherwise starts clean of the host's Python variables.
"""

import os
import sys
from pathlib import Path

__all__ = ["CONFIG_ENV", "PYTHON_ENV", "config_dir", "worker_file", "host_config_file"]

CONFIG_ENV = "FILMSTYLE_CONFIG_DIR"
PYTHON_ENV = "FILMSTYLE_PYTHON"


def config_dir() -> Path:
    override = os.environ.get(CONFIG_ENV)
    if override:
        return Path(override).expanduser()
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        return Path(base) / "filmstyle"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "filmstyle"
    xdg = os.environ.get("XDG_CONFIG_HOME", "").strip()
    return Path(xdg if xdg else Path.home() / ".config") / "filmstyle"


def worker_file() -> Path:
    return config_dir() / "worker.json"


def host_config_file() -> Path:
    return config_dir() / "host.json"
