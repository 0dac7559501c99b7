"""SIGTERM handled like Ctrl-C: a farm's "stop this task" ends a render the same clean way.

Schedulers (Deadline, Tractor, OpenCue, a plain ``kill``) stop a task with SIGTERM, whose default
action ends Python without unwinding: no message, and a frame being written leaves its hidden temp
file behind. Inside :func:`sigterm_as_interrupt` SIGTERM raises :class:`Terminated` (a
KeyboardInterrupt) in the main thread, so the render unwinds as on Ctrl-C: the frame in flight is
finished or its temp file removed, and the CLI prints one line.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["Terminated", "sigterm_as_interrupt"]


class Terminated(KeyboardInterrupt):
    """Raised in the main thread when SIGTERM arrives."""


def _raise_terminated(signum, frame) -> None:
    raise Terminated()


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Turn SIGTERM into :class:`Terminated` for the duration (main thread only; elsewhere a no-op)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    try:
        previous = signal.signal(signal.SIGTERM, _raise_terminated)
    except (ValueError, OSError):
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
