"""What a probed movie is: :class:`MovieInfo`, its frame numbers and timestamps.

Made by :func:`filmstyle.io.movie.probe_movie`; read by the decoder (timestamps, keyframes), the
movie writer (rate, timecode, colour tags) and ``filmstyle info`` (:meth:`MovieInfo.as_dict`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from filmstyle.errors import InputError
from filmstyle.io.timecode import frame_to_timecode

__all__ = ["MOVIE_FORMAT", "DEFAULT_FIRST_FRAME", "MovieInfo", "movie_frames", "select_frames", "rate_text"]

#: The format name movie frames carry (``SourceFrame.format_name``, ``format_for_path``).
MOVIE_FORMAT = "movie"
#: First frame number of a movie without a timecode (the usual first frame of a VFX shot).
DEFAULT_FIRST_FRAME = 1001
# Transfer tags that say something other than Rec.709-style video, as a colourspace hint.
_TRANSFER_HINTS = {"iec61966-2-1": "sRGB", "gamma22": "Gamma 2.2"}


@dataclass(frozen=True, eq=False)
class MovieInfo:
    """What is known about a movie after probing; ``pts`` etc. are in ``time_base`` units."""

    path: Path
    stamp: tuple[int, int]
    container: str
    brand: str | None
    codec: str
    codec_long_name: str
    profile: str | None
    pix_fmt: str
    bit_depth: int
    chroma: str
    has_alpha: bool
    width: int
    height: int
    rate: Fraction
    time_base: Fraction
    timecode: str | None
    drop_frame: bool
    first_frame: int
    frame_count: int
    frames_counted: bool
    intra_only: bool
    colour: dict[str, str]
    audio: tuple[dict[str, Any], ...]
    bit_rate: int | None
    #: Presentation timestamps of the frames, in frame order.
    pts: np.ndarray = field(repr=False)
    #: Decode order: each packet's pts, dts (pts where the container has none) and keyframe flag.
    decode_pts: np.ndarray = field(repr=False)
    decode_dts: np.ndarray = field(repr=False)
    decode_key: np.ndarray = field(repr=False)

    @property
    def last_frame(self) -> int:
        return self.first_frame + self.frame_count - 1

    @property
    def numbering(self) -> str:
        """How the frames are numbered, in words."""
        if self.timecode is not None:
            return f"from timecode {self.timecode} at {rate_text(self.rate)} fps"
        return f"from {DEFAULT_FIRST_FRAME} (no timecode)"

    @property
    def duration(self) -> float:
        return float(self.frame_count / self.rate)

    @property
    def colorspace_hint(self) -> str | None:
        """A colour tag for choosing the input colourspace, when the stream's says more than
        "Rec.709 video" (sRGB, gamma 2.2); None otherwise (the movie default applies)."""
        return _TRANSFER_HINTS.get(self.colour.get("transfer", ""))

    @property
    def decoded_as(self) -> dict[str, str]:
        """The matrix and range frames are converted with when their own tags say nothing."""
        from filmstyle.io.movie_pixels import MATRICES, matrix_name

        matrix = self.colour.get("matrix", "")
        full = self.colour.get("range") == "pc" or self.pix_fmt.startswith("yuvj")
        return {"matrix": matrix if matrix in MATRICES else matrix_name(None, self.height),
                "range": "pc" if full else "tv"}

    def index_of(self, frame: int) -> int:
        """0-based index of frame number ``frame``; :class:`InputError` outside the clip."""
        index = int(frame) - self.first_frame
        if not 0 <= index < self.frame_count:
            raise InputError(f"{self.path}: no frame {frame}: the clip has frames {self.first_frame}-"
                             f"{self.last_frame} (numbered {self.numbering})")
        return index

    def timecode_at(self, frame: int) -> str | None:
        """Timecode of frame number ``frame``, or None when the movie has no timecode."""
        if self.timecode is None:
            return None
        return frame_to_timecode(int(frame), self.rate, self.drop_frame)

    def start_packet(self, index: int) -> int:
        """Decode-order position of the keyframe to start decoding at for frame ``index``.

        The last keyframe at or before the frame's own packet; when the frame is shown before
        that keyframe (a leading picture of an open GOP, which references the GOP before) the
        keyframe before that one, so every reference is decoded.
        """
        return int(self._starts[index])

    @functools.cached_property
    def _starts(self) -> np.ndarray:
        n = len(self.decode_pts)
        positions = np.arange(n)
        last_key = np.maximum.accumulate(np.where(self.decode_key, positions, -1))
        last_key = np.where(last_key < 0, 0, last_key)
        order = {int(p): i for i, p in enumerate(self.decode_pts)}
        own = np.array([order[int(p)] for p in self.pts], dtype=np.int64)
        start = last_key[own]
        leading = self.decode_pts[start] > self.pts
        earlier = np.where(start > 0, last_key[np.maximum(start - 1, 0)], 0)
        return np.where(leading, earlier, start)

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-able facts (what ``filmstyle info --json`` prints)."""
        return {
            "path": str(self.path),
            "format": MOVIE_FORMAT,
            "container": self.container,
            "container_brand": self.brand,
            "codec": self.codec,
            "codec_long_name": self.codec_long_name,
            "profile": self.profile,
            "pixel_format": self.pix_fmt,
            "bit_depth": self.bit_depth,
            "chroma": self.chroma,
            "alpha": self.has_alpha,
            "resolution": [self.width, self.height],
            "frame_rate": rate_text(self.rate),
            "frame_rate_fraction": [self.rate.numerator, self.rate.denominator],
            "timecode": self.timecode,
            "drop_frame": self.drop_frame,
            "first_frame": self.first_frame,
            "last_frame": self.last_frame,
            "frame_count": self.frame_count,
            "frame_count_source": "counted" if self.frames_counted else "container index",
            "frame_numbering": "timecode" if self.timecode is not None else f"default {DEFAULT_FIRST_FRAME}",
            "duration_seconds": round(self.duration, 6),
            "intra_only": self.intra_only,
            "bit_rate": self.bit_rate,
            "colour": dict(self.colour),
            "decoded_as": self.decoded_as,
            "colorspace_hint": self.colorspace_hint,
            "audio": [dict(a) for a in self.audio],
        }


def rate_text(rate: Fraction) -> str:
    return f"{float(rate):.3f}".rstrip("0").rstrip(".") if rate.denominator != 1 else str(rate.numerator)


def movie_frames(info: MovieInfo) -> range:
    """The frame numbers of a probed movie."""
    return range(info.first_frame, info.first_frame + info.frame_count)


def select_frames(info: MovieInfo, wanted: tuple[int, ...] | None) -> tuple[int, ...]:
    """``wanted`` checked against the clip (all of its frames when None)."""
    frames = movie_frames(info)
    if wanted is None:
        return tuple(frames)
    outside = [f for f in wanted if f not in frames]
    if outside:
        shown = ", ".join(str(f) for f in outside[:5]) + (", ..." if len(outside) > 5 else "")
        raise InputError(f"{info.path}: frames {shown} are outside the clip: it has frames "
                         f"{info.first_frame}-{info.last_frame} (numbered {info.numbering})")
    return tuple(wanted)
