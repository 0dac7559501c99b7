"""Per-frame checks of a render that concern the frames themselves, not the look.

:class:`FrameChecks` refuses frames too small for any network (naming the file, the frame and
the minimum) and collects frames whose alpha is 0 everywhere: a premultiplied plate like that
comes back unchanged, which deserves one warning line naming the frames, not silence.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

from filmstyle.errors import InputError
from filmstyle.io.frame import SourceFrame

__all__ = ["MIN_FRAME_SIDE", "FrameChecks", "frame_list"]

_log = logging.getLogger("filmstyle.io")

#: Smallest width and height the style networks accept (their down-sampling stages need it).
MIN_FRAME_SIDE = 8


def frame_list(frames: Sequence[int], limit: int = 12) -> str:
    """``1001-1003, 1007`` for a sorted list of frame numbers (long lists end in ``...``)."""
    runs: list[str] = []
    start = prev = None
    for f in frames:
        if prev is not None and f == prev + 1:
            prev = f
            continue
        if start is not None:
            runs.append(f"{start}-{prev}" if prev != start else f"{start}")
        start = prev = f
    if start is not None:
        runs.append(f"{start}-{prev}" if prev != start else f"{start}")
    return ", ".join(runs[:limit]) + (", ..." if len(runs) > limit else "")


class FrameChecks:
    """Checks each source frame of a render; :meth:`report` logs what needs saying at the end."""

    def __init__(self) -> None:
        self.transparent: list[int] = []

    def check(self, source: SourceFrame, frame: int | float) -> None:
        """Raise :class:`InputError` for a frame smaller than :data:`MIN_FRAME_SIDE` a side; note
        frames whose alpha is 0 everywhere."""
        w, h = source.width, source.height
        if min(w, h) < MIN_FRAME_SIDE:
            raise InputError(
                f"{source.path}: frame {frame:g} is {w}x{h} pixels (its data window); stylizing needs "
                f"at least {MIN_FRAME_SIDE}x{MIN_FRAME_SIDE}")
        if source.alpha is not None and not np.any(source.alpha > 0):
            self.transparent.append(int(frame))

    def report(self, pattern: str) -> None:
        if self.transparent:
            frames = sorted(set(self.transparent))
            what = "frame" if len(frames) == 1 else "frames"
            _log.warning("%s: alpha is 0 everywhere in %s %s: nothing visible to stylize, written unchanged",
                         pattern, what, frame_list(frames))
