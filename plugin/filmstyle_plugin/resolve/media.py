"""What a media pool item is on disk: a file pattern for a job, its frame numbers, rate and timecode.

Resolve answers clip properties as strings [resolve-standin notes 1.2/1.6: "Values are strings"];
the ones read here are ``File Path``, ``Frames``, ``FPS`` and ``Start TC``.

* Image sequences: Resolve lists a sequence as ``name.[1001-1100].exr`` (or a printf pattern such as
  ``name.%04d.exr``); the job gets ``name.####.exr`` with the padding of the numbers, and frame
  ``offset`` of the media is file frame ``1001 + offset``.
* Movies (MOV/MP4/MXF/...): the job gets the file itself; frames are numbered from the clip's
  start timecode, or from 1001 when the clip has none (reported as 00:00:00:00) — filmstyle's
  movie-reader convention.
"""

import os
import re
from typing import TYPE_CHECKING, Any, Optional, Tuple

if TYPE_CHECKING:
    from fusionscript import MediaPoolItem

__all__ = ["MOVIE_EXTENSIONS", "MediaInfo", "MediaError", "media_info", "parse_timecode", "format_timecode",
           "sequence_pattern", "NO_TIMECODE_START"]

MOVIE_EXTENSIONS = (".mov", ".mp4", ".m4v", ".mxf", ".avi", ".mkv")
NO_TIMECODE_START = 1001
_BRACKET = re.compile(r"\[(-?\d+)-(-?\d+)\]")
_PRINTF = re.compile(r"%0?(\d*)d")
_TC = re.compile(r"^(\d{1,2})[:;.](\d{2})[:;.](\d{2})[:;.](\d{2,3})$")


class MediaError(Exception):
    """A media pool item filmstyle cannot render from; the message names the clip."""


def parse_timecode(text: str, fps: float) -> Optional[int]:
    """``HH:MM:SS:FF`` (``;`` for drop-frame is read as non-drop) → frames at the nominal rate."""
    m = _TC.match(str(text or "").strip())
    if not m:
        return None
    h, mi, s, f = (int(g) for g in m.groups())
    rate = max(1, int(round(fps)))
    return ((h * 60 + mi) * 60 + s) * rate + f


def format_timecode(frame: int, fps: float) -> str:
    rate = max(1, int(round(fps)))
    sign = "-" if frame < 0 else ""
    frame = abs(int(frame))
    f = frame % rate
    s = frame // rate
    return f"{sign}{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}:{f:02d}"


def sequence_pattern(path: str) -> Optional[Tuple[str, int, int]]:
    """``name.[1001-1100].exr`` → (``name.####.exr``, 1001, 1100); a printf path → (pattern, ?, ?)
    with the range unknown (-1, -1); anything else → None."""
    folder, name = os.path.split(path)
    m = _BRACKET.search(name)
    if m:
        first, last = int(m.group(1)), int(m.group(2))
        pad = len(m.group(1).lstrip("-"))
        return os.path.join(folder, name[:m.start()] + "#" * pad + name[m.end():]), first, last
    m = _PRINTF.search(name)
    if m:
        pad = int(m.group(1) or 1)
        return os.path.join(folder, name[:m.start()] + "#" * pad + name[m.end():]), -1, -1
    return None


def _int(text: Any) -> Optional[int]:
    try:
        return int(float(str(text).strip()))
    except ValueError:
        return None


def _float(text: Any) -> Optional[float]:
    try:
        return float(str(text).strip())
    except ValueError:
        return None


class MediaInfo:
    """A clip's media as a job sees it.

    Attributes:
        name: the clip's name (for messages and output names).
        pattern: the job's ``input`` (a frame pattern or a movie file).
        first_frame: the job frame of media offset 0.
        frames: frames in the media.
        fps: the clip's frame rate.
        kind: ``"sequence"`` or ``"movie"``.
    """

    def __init__(self, name: str, pattern: str, first_frame: int, frames: int, fps: float, kind: str) -> None:
        self.name, self.pattern, self.first_frame, self.frames, self.fps, self.kind = (
            name, pattern, first_frame, frames, fps, kind)

    def frame(self, offset: int) -> int:
        """The job frame of media offset ``offset``."""
        return self.first_frame + int(offset)

    @property
    def folder(self) -> str:
        return os.path.dirname(self.pattern)

    @property
    def extension(self) -> str:
        return os.path.splitext(self.pattern)[1].lower()

    def __repr__(self) -> str:
        return f"MediaInfo({self.name!r}, {self.pattern!r}, first={self.first_frame}, frames={self.frames})"


def media_info(mpi: "MediaPoolItem") -> MediaInfo:
    """Read a media pool item's properties (strings, as Resolve gives them).

    Raises:
        MediaError: no file path, an unknown frame count, or a single still image.
    """
    name = str(mpi.GetName() or "clip")
    path = str(mpi.GetClipProperty("File Path") or "")
    if not path:
        raise MediaError(f"{name}: the clip has no file path (a generator, title or compound clip?)")
    fps = _float(mpi.GetClipProperty("FPS")) or 24.0
    frames = _int(mpi.GetClipProperty("Frames"))
    seq = sequence_pattern(path)
    if seq is not None:
        pattern, first, last = seq
        if first < 0:
            start = _int(mpi.GetClipProperty("Start"))
            first = start if start is not None else NO_TIMECODE_START
        if frames is None or frames <= 0:
            if last < first:
                raise MediaError(f"{name}: Resolve reports no frame count for {path}")
            frames = last - first + 1
        return MediaInfo(name, pattern, first, frames, fps, "sequence")
    if frames is None or frames <= 0:
        raise MediaError(f"{name}: Resolve reports no frame count for {path}")
    if os.path.splitext(path)[1].lower() in MOVIE_EXTENSIONS:
        tc = parse_timecode(str(mpi.GetClipProperty("Start TC") or ""), fps)
        first = tc if tc else NO_TIMECODE_START
        return MediaInfo(name, path, first, frames, fps, "movie")
    raise MediaError(f"{name}: {os.path.basename(path)} is neither an image sequence nor a movie "
                     f"({', '.join(MOVIE_EXTENSIONS)}); FilmStyle renders shots")
