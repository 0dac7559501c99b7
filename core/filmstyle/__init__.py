"""filmstyle — style transfer for film post-production.

The library reads EXR/DPX frames, moves them into a network-friendly working space with
OpenColorIO, applies a pretrained or arbitrary style at full resolution and writes the result back
at the source's bit depth with every other channel and all metadata untouched.
"""

from __future__ import annotations

import os

# onnxruntime writes a device id under ~/.cache/Microsoft on import unless told not to; a tool
# installed into artists' machines leaves nothing it does not need (set before any import of it).
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

from filmstyle.errors import (  # noqa: E402
    ColorError,
    FilmStyleError,
    InputError,
    JobError,
    ModelError,
    OutputError,
    RenderCancelled,
    StyleError,
    WorkerError,
)

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "FilmStyleError",
    "InputError",
    "OutputError",
    "ColorError",
    "StyleError",
    "ModelError",
    "JobError",
    "WorkerError",
    "RenderCancelled",
]
