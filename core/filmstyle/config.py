"""The user's filmstyle config folder (``$FILMSTYLE_CONFIG_DIR`` wins).

The stdlib host package ``filmstyle_plugin`` computes the same folder on its own (hosts cannot
import this package); a test keeps the two in step.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["CONFIG_ENV", "config_dir"]

CONFIG_ENV = "FILMSTYLE_CONFIG_DIR"


def config_dir() -> Path:
    """The user's filmstyle config folder (``$FILMSTYLE_CONFIG_DIR`` wins)."""
    override = os.environ.get(CONFIG_ENV)
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(platformdirs.user_config_dir("filmstyle", appauthor=False))
