"""filmstyle — style transfer for film post-production.

The library reads EXR/DPX frames, moves them into a network-friendly working space with
OpenColorIO, applies a pretrained or arbitrary style at full resolution and writes the result back
at the source's bit depth with every other channel and all metadata untouched.
"""

from __future__ import annotations

from filmstyle.errors import (
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
