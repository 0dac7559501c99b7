"""One exception tree for the whole library.

Every error a user can cause is a :class:`FilmStyleError` whose message is one line that names the
file, frame or field at fault, e.g. ``"shot.1003.exr: 12 NaN pixels in RGB (use --clean-nans)"``.
The CLI prints that line and exits non-zero; hosts show it as a message.
"""

from __future__ import annotations

__all__ = [
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


class FilmStyleError(Exception):
    """Base of every error filmstyle raises on purpose."""


class InputError(FilmStyleError):
    """A source file or sequence is missing, unreadable, truncated or holds bad pixels."""


class OutputError(FilmStyleError):
    """An output path is unusable (would overwrite a source, unwritable, bad format)."""


class ColorError(FilmStyleError):
    """An OCIO config or colourspace is unknown or cannot be processed."""


class StyleError(FilmStyleError):
    """An unknown style name, unreadable style image or bad blend."""


class ModelError(FilmStyleError):
    """Pretrained weights are missing, corrupt or do not match the network."""


class JobError(FilmStyleError):
    """A job file or request is invalid; the message gives the field path (and line)."""


class WorkerError(FilmStyleError):
    """The local worker refused or failed a request."""


class RenderCancelled(FilmStyleError):
    """A render was stopped on request between frames; every frame written so far is complete.

    ``report`` (a :class:`filmstyle.engine.sequence.RenderReport`, or None) lists the frames handled before
    the stop.
    """

    def __init__(self, message: str, report=None) -> None:
        super().__init__(message)
        self.report = report
