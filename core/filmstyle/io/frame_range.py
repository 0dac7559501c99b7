"""Frame-range strings (``1001-1100``, ``1001-1100x2``, ``1001,1005,1010-1020``) kept as ranges.

A range typed by a user or sent in a request can name a billion frames (``1-1000000000``); it is
never expanded into a list. :class:`FrameRange` holds sorted, disjoint :class:`range` runs, so
counting, membership and walking the frames in order cost what the text costs, and a sequence
on disk is checked against it by listing the folder once (see
:func:`filmstyle.io.sequence.find_sequence`).
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from filmstyle.errors import InputError, clip

__all__ = ["FrameRange", "MAX_FRAME", "MAX_ITEMS", "MAX_TEXT", "MAX_EXPANDED"]

#: Frame numbers are 32-bit in DPX headers, EXR attributes and every host; larger ones are refused.
MAX_FRAME = 2**31 - 1
#: Comma-separated items in one range.
MAX_ITEMS = 10_000
#: Characters in one range string.
MAX_TEXT = 200_000
#: Ranges whose items overlap are normalised by expanding them when they hold at most this many
#: frames; larger overlapping ranges must overlap only where every frame is listed (steps of 1).
MAX_EXPANDED = 100_000

# ASCII digits only: ``\d`` also matches other scripts' digits, which int() reads too.
_ITEM = re.compile(r"^(-?[0-9]{1,12})(?:\s*-\s*(-?[0-9]{1,12})(?:\s*[x:]\s*([0-9]{1,12}))?)?$", re.ASCII)
_HINT = "expected N, A-B, A-BxSTEP, comma separated"


@dataclass(frozen=True)
class FrameRange:
    """Sorted, disjoint runs of frames (``range`` objects); build one with :meth:`parse`."""

    text: str
    runs: tuple[range, ...]
    _starts: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_starts", tuple(r.start for r in self.runs))

    @classmethod
    def parse(cls, text: str) -> FrameRange:
        """Parse a frame-range string. Raises :class:`InputError` naming the bad item."""
        text = str(text)
        shown = clip(text, 60)
        if len(text) > MAX_TEXT:
            raise InputError(f"frame range {shown}: {len(text)} characters, at most {MAX_TEXT}")
        items = [item.strip() for item in text.split(",")]
        if not any(items):
            raise InputError(f"frame range {shown} is empty (expected e.g. 1001-1100, 1001-1100x2, 1001,1005)")
        if len(items) > MAX_ITEMS:
            raise InputError(f"frame range {shown}: {len(items)} items, at most {MAX_ITEMS}")
        runs = [_item(text, item) for item in items]
        return cls(text, _normalise(text, runs))

    # -- queries --------------------------------------------------------------------------------
    def __len__(self) -> int:
        return sum(len(r) for r in self.runs)

    def __contains__(self, frame: object) -> bool:
        if not isinstance(frame, int):
            return False
        i = bisect.bisect_right(self._starts, frame) - 1
        return i >= 0 and frame in self.runs[i]

    def __iter__(self) -> Iterator[int]:
        """Every frame in ascending order, lazily."""
        return itertools.chain.from_iterable(self.runs)

    @property
    def first(self) -> int:
        return self.runs[0][0]

    @property
    def last(self) -> int:
        return self.runs[-1][-1]

    def frames(self, limit: int = 1_000_000) -> tuple[int, ...]:
        """Every frame as a tuple; refused (:class:`InputError`) above ``limit`` frames."""
        n = len(self)
        if n > limit:
            raise InputError(f"frame range {clip(self.text, 60)} names {n} frames, at most {limit} can be listed")
        return tuple(self)

    def missing(self, present: set[int], limit: int = 10) -> tuple[int, list[int]]:
        """``(count, first few)`` of this range's frames that are not in ``present``.

        Walks the frames in order only until ``limit`` absent ones are found, so the cost is
        bounded by ``len(present) + limit`` whatever the range's size.
        """
        inside = sum(1 for f in present if f in self)
        first: list[int] = []
        for f in self:
            if f not in present:
                first.append(f)
                if len(first) == limit:
                    break
        return len(self) - inside, first


def _number(text: str, item: str, digits: str) -> int:
    value = int(digits)
    if abs(value) > MAX_FRAME:
        raise InputError(f"frame range {clip(text, 60)}: {clip(item, 40)} has frame {clip(digits, 16)}, "
                         f"outside -{MAX_FRAME}..{MAX_FRAME}")
    return value


def _item(text: str, item: str) -> range:
    m = _ITEM.match(item)
    if m is None:
        raise InputError(f"frame range {clip(text, 60)}: cannot parse {clip(item, 40)!r} ({_HINT})")
    start = _number(text, item, m.group(1))
    end = _number(text, item, m.group(2)) if m.group(2) is not None else start
    step = _number(text, item, m.group(3)) if m.group(3) is not None else 1
    if end < start:
        raise InputError(f"frame range {clip(text, 60)}: {clip(item, 40)!r} ends before it starts")
    if step < 1:
        raise InputError(f"frame range {clip(text, 60)}: step in {clip(item, 40)!r} must be >= 1, got {step}")
    r = range(start, end + 1, step)
    return range(r.start, r[-1] + 1, step) if step > 1 else r  # end on the last frame


def _runs_of(frames: list[int]) -> list[range]:
    """Consecutive frames (sorted, unique) as step-1 runs."""
    out: list[range] = []
    for _, group in itertools.groupby(enumerate(frames), key=lambda t: t[1] - t[0]):
        block = [f for _, f in group]
        out.append(range(block[0], block[-1] + 1))
    return out


def _normalise(text: str, runs: list[range]) -> tuple[range, ...]:
    """Sorted, disjoint runs holding exactly the union of ``runs``."""
    runs.sort(key=lambda r: (r.start, r[-1]))
    if all(a[-1] < b.start for a, b in zip(runs, runs[1:])):
        return tuple(runs)  # already disjoint: the common case, whatever its size
    if sum(len(r) for r in runs) <= MAX_EXPANDED:
        return tuple(_runs_of(sorted(set(itertools.chain.from_iterable(runs)))))
    # Large and overlapping: merge the step-1 runs; a stepped run may only lie inside one of them.
    merged: list[range] = []
    stepped = []
    for r in runs:
        if r.step > 1:
            stepped.append(r)
        elif merged and r.start <= merged[-1].stop:
            merged[-1] = range(merged[-1].start, max(merged[-1].stop, r.stop))
        else:
            merged.append(r)
    starts = [r.start for r in merged]
    kept = []
    for r in stepped:
        i = bisect.bisect_right(starts, r.start) - 1
        if i >= 0 and r[-1] < merged[i].stop:
            continue  # every frame of it is listed already
        kept.append(r)
    out = sorted(merged + kept, key=lambda r: r.start)
    for a, b in zip(out, out[1:]):
        if a[-1] >= b.start:
            raise InputError(
                f"frame range {clip(text, 60)}: items overlap over more than {MAX_EXPANDED} frames "
                f"({a.start}-{a[-1]} and {b.start}-{b[-1]}); list them without overlapping")
    return tuple(out)
