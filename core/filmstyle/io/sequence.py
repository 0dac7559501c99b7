"""Frame sequences: padding tokens, frame-range strings and discovery on disk.

A pattern names one frame per number through a single padding token in the file name:

* ``shot.####.exr`` – one ``#`` per digit (``#`` alone pads to 1)
* ``shot.@@@@.exr`` – same, Shake/RV style
* ``shot.%04d.exr`` / ``shot.%d.exr`` – printf style
* ``shot.$F4.exr`` / ``shot.$F.exr`` – Houdini style

A path without a token is a single file.  Frame numbers are formatted like printf ``%0Nd``
(``-5`` with padding 4 is ``-005``); numbers wider than the padding simply use more digits.

A movie path (``clip.mov``, ``.mp4``, ``.mxf``...) is a sequence too: its frames are numbered from
its timecode (see :mod:`filmstyle.io.movie`) and ``path(frame)`` names one frame of it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from filmstyle.errors import InputError, OutputError, clip
from filmstyle.io.frame_range import FrameRange
from filmstyle.io.movie import is_movie_path, movie_frame_path

__all__ = [
    "FrameSequence",
    "parse_frame_range",
    "format_frame_range",
    "split_pattern",
    "find_sequence",
    "output_sequence",
]

# One alternative per token style; the first match in the *file name* wins.
_TOKEN = re.compile(r"(#+)|(@+)|%(0?\d*)d|\$F(\d*)")
_MAX_LISTED = 10
#: Ranges up to this many frames are checked file by file; longer ones against a folder listing.
_STAT_EACH = 10_000


def split_pattern(pattern: str | Path) -> tuple[Path, str, int, str] | None:
    """Split a pattern into ``(directory, prefix, padding, suffix)`` or ``None`` for no token.

    Only the file name is searched, so a ``#`` in a directory name is never a token.
    """
    p = Path(pattern)
    m = _TOKEN.search(p.name)
    if m is None:
        return None
    if _TOKEN.search(p.name, m.end()) is not None:  # the second would be written literally
        raise InputError(f"{clip(str(pattern), 120)}: two frame-number tokens in one file name; keep one")
    hashes, ats, printf, houdini = m.groups()
    if hashes is not None:
        pad = len(hashes)
    elif ats is not None:
        pad = len(ats)
    else:
        digits = printf if printf is not None else houdini
        pad = int(digits) if digits else 1
    return p.parent, p.name[: m.start()], max(pad, 1), p.name[m.end():]


def _format_frame(frame: int, pad: int) -> str:
    # printf semantics: the sign counts towards the width
    return f"{frame:0{pad}d}"


def parse_frame_range(text: str) -> tuple[int, ...]:
    """Parse ``"1001-1100"``, ``"1001-1100x2"`` or ``"1001,1005,1010-1020"`` into sorted unique
    frame numbers.  Raises :class:`InputError` naming the bad item, and for a range of more than a
    million frames (:class:`~filmstyle.io.frame_range.FrameRange` checks any size without
    listing it)."""
    return FrameRange.parse(text).frames()


def format_frame_range(frames: Iterable[int]) -> str:
    """The inverse of :func:`parse_frame_range` for ascending ``frames``: ``1001-1010``,
    ``1001-1019x2`` (one step throughout) or ``1001,1005,1010-1012``."""
    frames = list(frames)
    if not frames:
        raise InputError("no frames")
    if len(frames) == 1:
        return str(frames[0])
    steps = {b - a for a, b in zip(frames, frames[1:])}
    if len(steps) == 1:
        step = steps.pop()
        return f"{frames[0]}-{frames[-1]}" + (f"x{step}" if step != 1 else "")
    runs: list[str] = []
    start = prev = frames[0]
    for f in frames[1:]:
        if f != prev + 1:
            runs.append(str(start) if start == prev else f"{start}-{prev}")
            start = f
        prev = f
    runs.append(str(start) if start == prev else f"{start}-{prev}")
    return ",".join(runs)


@dataclass(frozen=True)
class FrameSequence:
    """A pattern and the frame numbers it covers.

    ``pattern`` is the path as given (token included).  For a single file (no token) ``frames``
    holds one number, taken from the last digit group of the name if any (else 1), and
    :meth:`path` returns the file whatever frame is asked for.  For a movie :meth:`path` returns
    a :class:`~filmstyle.io.movie.MovieFramePath`: the movie, naming that frame.
    """

    pattern: str
    frames: tuple[int, ...]
    _parts: tuple[Path, str, int, str] | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "pattern", str(self.pattern))
        object.__setattr__(self, "frames", tuple(int(f) for f in self.frames))
        object.__setattr__(self, "_parts", split_pattern(self.pattern))
        if not self.frames:
            raise InputError(f"{self.pattern}: a sequence needs at least one frame")

    @property
    def is_movie(self) -> bool:
        """True when the pattern is a movie file (its frames are inside it)."""
        return self._parts is None and is_movie_path(self.pattern)

    @property
    def is_single(self) -> bool:
        """True when the pattern has no padding token (one file)."""
        return self._parts is None

    @property
    def padding(self) -> int | None:
        """Digits of the padding token, ``None`` for a single file."""
        return None if self._parts is None else self._parts[2]

    def path(self, frame: int) -> Path:
        """The file for ``frame`` (the single file itself when there is no token)."""
        if self._parts is None:
            return movie_frame_path(self.pattern, frame) if self.is_movie else Path(self.pattern)
        directory, prefix, pad, suffix = self._parts
        return directory / f"{prefix}{_format_frame(int(frame), pad)}{suffix}"

    def paths(self) -> list[Path]:
        """One path per frame, in frame order."""
        return [self.path(f) for f in self.frames]

    def __len__(self) -> int:
        return len(self.frames)

    def __iter__(self) -> Iterator[int]:
        return iter(self.frames)


def _is_file(path: Path) -> bool:
    """``path.is_file()``, with a path the system cannot even look up (a name longer than the
    filesystem allows) reported as one line instead of an OSError."""
    try:
        return path.is_file()
    except OSError as exc:
        text = str(path) if len(str(path)) <= 120 else str(path)[:117] + "..."
        raise InputError(f"{text}: unusable path: {exc.strerror or exc}") from None


def _single_frame_number(name: str) -> int:
    digits = re.findall(r"\d+", Path(name).stem)
    return int(digits[-1]) if digits else 1


def _discover(pattern: str, parts: tuple[Path, str, int, str], *, required: bool = True) -> tuple[int, ...]:
    directory, prefix, pad, suffix = parts
    rx = re.compile(re.escape(prefix) + r"(-?\d+)" + re.escape(suffix) + r"\Z")
    frames = []
    try:
        entries = list(directory.iterdir())
    except OSError as exc:
        raise InputError(f"{pattern}: cannot list {directory}: {exc.strerror or exc}") from None
    for entry in entries:
        m = rx.match(entry.name)
        # Require the exact formatting so that path(frame) gives back this very file
        # (e.g. shot.####.exr must not pick up shot.01001.exr).
        if m and _format_frame(int(m.group(1)), pad) == m.group(1) and _is_file(entry):
            frames.append(int(m.group(1)))
    if not frames and required:
        raise InputError(f"{pattern}: no frames found on disk in {directory}")
    return tuple(sorted(set(frames)))


def _from_listing(pattern: str, parts: tuple[Path, str, int, str], wanted: FrameRange) -> FrameSequence:
    """A long range checked against one listing of the folder: never a list of every frame named."""
    present = set(_discover(pattern, parts, required=False))
    count, absent = wanted.missing(present)
    if count:
        seq = FrameSequence(pattern, (absent[0],))
        raise InputError(
            f"missing frame {absent[0]}: {seq.path(absent[0]).name} "
            f"({count} of {len(wanted)} frames missing: {_listing(absent)}{', ...' if count > len(absent) else ''})"
        )
    return FrameSequence(pattern, tuple(f for f in sorted(present) if f in wanted))


def _listing(frames: list[int]) -> str:
    shown = ", ".join(str(f) for f in frames[:_MAX_LISTED])
    return shown + (", ..." if len(frames) > _MAX_LISTED else "")


def find_sequence(
    pattern: str | Path, frame_range: str | Iterable[int] | None = None
) -> FrameSequence:
    """Resolve a source pattern into an existing :class:`FrameSequence`.

    Without ``frame_range`` the frames are discovered on disk (sorted).  With one, every frame
    must exist, otherwise :class:`InputError` names the first missing file and lists the gaps,
    e.g. ``"missing frame 1003: shot.1003.exr (3 of 100 frames missing: 1003, 1010, 1050)"``.
    A pattern without a token is a single file, which must exist; a movie file gives its frames
    (all, or those of ``frame_range``, which must lie inside the clip).
    """
    pattern = str(pattern)
    parts = split_pattern(pattern)
    if parts is None and is_movie_path(pattern):
        from filmstyle.io.movie import probe_movie, select_frames

        wanted = None
        if frame_range is not None:
            wanted = (parse_frame_range(frame_range) if isinstance(frame_range, str)
                      else tuple(sorted({int(f) for f in frame_range})))
        return FrameSequence(pattern, select_frames(probe_movie(pattern), wanted))
    if parts is None:
        if not _is_file(Path(pattern)):
            raise InputError(f"{pattern}: file not found")
        return FrameSequence(pattern, (_single_frame_number(pattern),))
    if frame_range is None:
        frames = _discover(pattern, parts)
    elif isinstance(frame_range, str):
        wanted = FrameRange.parse(frame_range)
        if len(wanted) > _STAT_EACH:
            return _from_listing(pattern, parts, wanted)
        frames = wanted.frames()
    else:
        frames = tuple(sorted({int(f) for f in frame_range}))
    seq = FrameSequence(pattern, frames)
    missing = [f for f in seq.frames if not _is_file(seq.path(f))]
    if missing:
        first = missing[0]
        raise InputError(
            f"missing frame {first}: {seq.path(first).name} "
            f"({len(missing)} of {len(seq.frames)} frames missing: {_listing(missing)})"
        )
    return seq


def output_sequence(source: FrameSequence, pattern: str | Path) -> FrameSequence:
    """Map ``source``'s frames onto an output ``pattern`` (any token style and padding).

    A token-less output pattern is only valid for a one-frame source; otherwise every frame
    would land in the same file, which is an :class:`OutputError`. A movie output (``.mov``)
    takes every frame, which must be consecutive (a movie has one constant rate).
    """
    pattern = str(pattern)
    if split_pattern(pattern) is None and is_movie_path(pattern):
        from filmstyle.io.movie_write import check_movie_output

        check_movie_output(pattern, source.frames)
        return FrameSequence(pattern, source.frames)
    if split_pattern(pattern) is None and len(source.frames) > 1:
        raise OutputError(
            f"output {pattern}: has no frame token but the source has {len(source.frames)} frames "
            "(use e.g. name.####.exr, name.%04d.exr, name.$F4.exr)"
        )
    return FrameSequence(pattern, source.frames)
