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
    "PathRefused",
    "WorkerError",
    "RenderCancelled",
    "clip",
    "one_line",
    "MAX_MESSAGE",
]

#: Longest message an error keeps; longer ones (a value pasted into a message) are cut in the middle.
MAX_MESSAGE = 500


def clip(value: object, limit: int = 80) -> str:
    """``str(value)`` on one line and at most ``limit`` characters (cut with ``...``), for echoing
    a user's value (a path, a frame range, a style name) in a message without making it large."""
    text = str(value)
    if any(ord(c) < 32 for c in text):
        text = "".join(c if ord(c) >= 32 else repr(c)[1:-1] for c in text)
    return text if len(text) <= limit else text[: max(limit - 3, 1)] + "..."


def one_line(message: object) -> str:
    """``message`` on one line (whitespace runs as one space) of at most :data:`MAX_MESSAGE`
    characters, cut in the middle so the start (what failed) and the end (why) both stay."""
    text = " ".join(str(message).split())
    if len(text) <= MAX_MESSAGE:
        return text
    head = MAX_MESSAGE * 2 // 3
    return text[:head] + " ... " + text[-(MAX_MESSAGE - head - 5):]


class FilmStyleError(Exception):
    """Base of every error filmstyle raises on purpose.

    The message is kept to one line of at most :data:`MAX_MESSAGE` characters whatever a caller
    put in it; the places that build messages cut the values they echo (:func:`clip`) first.
    """

    def __init__(self, *args: object) -> None:
        if args and isinstance(args[0], str) and (len(args[0]) > MAX_MESSAGE or len(args[0].splitlines()) > 1):
            args = (one_line(args[0]), *args[1:])
        super().__init__(*args)


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


class PathRefused(JobError):
    """A job names a path outside the folders it may use (the worker's allow-list)."""


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
