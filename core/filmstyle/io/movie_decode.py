"""Frame-accurate, memory-bounded decoding of movie frames into :class:`SourceFrame` values.

A frame is found by its presentation timestamp, never by counting frames after a seek: the
reader seeks to the keyframe :meth:`MovieInfo.start_packet` names (one GOP earlier for a leading
picture of an open GOP), decodes forward and returns the picture whose timestamp is the frame's.
If the demuxer lands after that keyframe, the clip is decoded from its start instead. Reading the
next frames in order continues the same decode without seeking, so a render decodes each GOP
once; the render loop's read-ahead thread and the main thread share a reader under its lock.

Memory: one open container and decoder per movie (at most :data:`_MAX_READERS` movies stay open,
least recently used closed first) plus the decoder's own reference frames; no clip is ever held
whole.
"""

from __future__ import annotations

import atexit
import os
import threading
from collections import OrderedDict
from fractions import Fraction
from pathlib import Path

import numpy as np
import OpenImageIO as oiio

from filmstyle.errors import InputError
from filmstyle.io.frame import SourceFrame
from filmstyle.io.movie import MOVIE_FORMAT, MovieInfo, movie_frame_path, probe_movie
from filmstyle.io.movie_pixels import MATRICES, frame_to_rgb, matrix_name
from filmstyle.io.timecode import smpte_packed

__all__ = ["MovieReader", "read_movie_frame", "read_movie_channels", "close_movie_readers"]

_MAX_READERS = 2


class _SeekLanded(Exception):
    """The demuxer's first packet after a seek comes after the keyframe asked for."""


class MovieReader:
    """Decodes frames of one probed movie by index (0-based, presentation order)."""

    def __init__(self, info: MovieInfo) -> None:
        self.info = info
        self.lock = threading.Lock()
        self._container = None
        self._stream = None
        self._frames = None  # generator of decoded frames from the current position
        self._last_index: int | None = None
        self._last_pts: int | None = None
        self._fed_dts: int | None = None  # dts of the last packet given to the decoder
        self._pending = None  # a decoded frame past the last one asked for

    # -- container ------------------------------------------------------------------------------

    def _open(self) -> None:
        import av

        self.close()
        try:
            self._container = av.open(str(self.info.path), metadata_errors="replace")
        except av.error.FFmpegError as exc:
            raise InputError(f"{self.info.path}: cannot reopen movie: {exc}") from None
        self._stream = next(s for s in self._container.streams.video if not s.disposition & 0x400)
        self._stream.thread_type = "AUTO"

    def close(self) -> None:
        if self._container is not None:
            self._container.close()
        self._container = self._stream = self._frames = self._pending = None
        self._last_index = self._last_pts = self._fed_dts = None

    def _decoded(self, start_dts: int | None):
        """Frames decoded from the current demuxer position (packets checked against ``start_dts``)."""
        import av

        first = True
        for packet in self._container.demux(self._stream):
            if packet.dts is not None:
                if first and start_dts is not None and packet.dts > start_dts:
                    raise _SeekLanded
                first = False
                self._fed_dts = packet.dts
            try:
                frames = packet.decode()
            except av.error.FFmpegError as exc:
                raise InputError(f"{self.info.path}: corrupt video data near timestamp "
                                 f"{packet.pts}: {exc}") from None
            yield from frames

    # -- seeking --------------------------------------------------------------------------------

    def _seek(self, index: int) -> None:
        info = self.info
        start = info.start_packet(index)
        target = int(min(info.decode_dts[start], info.decode_pts[start]))
        if self._container is None:
            self._open()
        self._pending = None
        self._container.seek(target, stream=self._stream, backward=True, any_frame=False)
        self._frames = self._decoded(target)

    def _from_start(self) -> None:
        self._open()
        self._frames = self._decoded(None)

    def _continues_to(self, index: int) -> bool:
        if self._frames is None or self._last_index is None or index <= self._last_index:
            return False
        if index == self._last_index + 1:
            return True
        # Decoding on is exact; it is also cheaper than a seek once the decoder has reached the
        # keyframe this frame starts from.
        start = self.info.start_packet(index)
        return self._fed_dts is not None and int(self.info.decode_dts[start]) <= self._fed_dts

    def _advance(self, target: int):
        pending, self._pending = self._pending, None
        if pending is not None:
            if pending.pts == target:
                return pending
            if pending.pts > target:
                self._pending = pending
                return None
        for frame in self._frames:
            if frame.pts is None or frame.pts < target:
                continue
            if frame.pts == target:
                return frame
            self._pending = frame
            return None
        self._frames = None
        return None

    def decode(self, index: int):
        """The ``av.VideoFrame`` of frame ``index``. Call with :attr:`lock` held."""
        info = self.info
        target = int(info.pts[index])
        frame = None
        try:
            if not self._continues_to(index):
                self._seek(index)
            frame = self._advance(target)
        except _SeekLanded:
            frame = None
        if frame is None:
            # The demuxer landed late or the stream skipped the picture: decode from the start.
            try:
                self._from_start()
                frame = self._advance(target)
            except _SeekLanded:  # pragma: no cover - no start timestamp is checked from the start
                frame = None
        if frame is None:
            number = info.first_frame + index
            raise InputError(f"{info.path}: frame {number} cannot be decoded (the stream has no picture "
                             "with its timestamp; truncated or corrupt?)")
        self._last_index, self._last_pts = index, target
        return frame


_READERS: OrderedDict[tuple, MovieReader] = OrderedDict()
_READERS_LOCK = threading.Lock()


def _reader(info: MovieInfo) -> MovieReader:
    key = (str(info.path), info.stamp)
    with _READERS_LOCK:
        reader = _READERS.pop(key, None) or MovieReader(info)
        _READERS[key] = reader
        while len(_READERS) > _MAX_READERS:
            _, old = _READERS.popitem(last=False)
            with old.lock:
                old.close()
    return reader


def close_movie_readers() -> None:
    """Close every open movie (open files, decoders); the next read reopens what it needs."""
    with _READERS_LOCK:
        while _READERS:
            _, reader = _READERS.popitem()
            with reader.lock:
                reader.close()


atexit.register(close_movie_readers)


def _check_options(path: Path, layer: str | None, part: int | str | None) -> None:
    if layer:
        raise InputError(f"{path}: a movie has no layers (--layer {layer}); it has R, G, B (and A)")
    if part not in (None, 0, "0"):
        raise InputError(f"{path}: a movie has no parts (--part {part})")


def _frame_spec(info: MovieInfo, frame: int, alpha: bool) -> oiio.ImageSpec:
    """The header a movie frame carries: what an EXR/DPX written from it keeps (timecode, rate)."""
    spec = oiio.ImageSpec(info.width, info.height, 4 if alpha else 3, "float")
    spec.channelnames = ("R", "G", "B", "A") if alpha else ("R", "G", "B")
    if alpha:
        spec.alpha_channel = 3
        # ProRes 4444 alpha is straight (unassociated), as Apple defines it
        spec.attribute("oiio:UnassociatedAlpha", 1)
    spec.attribute("oiio:BitsPerSample", int(info.bit_depth))
    rate = Fraction(info.rate)
    spec.attribute("FramesPerSecond", oiio.TypeRational, (rate.numerator, rate.denominator))
    timecode = info.timecode_at(frame)
    if timecode is not None:
        spec.attribute("smpte:TimeCode", oiio.TypeTimeCode, smpte_packed(timecode))
    return spec


def _matrix(decoded, info: MovieInfo) -> str:
    """The frame's matrix tag, else the stream's, else the usual one for its size."""
    code = int(decoded.colorspace or 2)
    if code != 2:
        return matrix_name(code, info.height)
    stream = info.colour.get("matrix", "")
    return stream if stream in MATRICES else matrix_name(None, info.height)


def _full_range(decoded, info: MovieInfo) -> bool:
    code = int(decoded.color_range or 0)
    return code == 2 if code else info.colour.get("range") == "pc"


def read_movie_frame(path: str | os.PathLike, *, layer: str | None = None,
                     part: int | str | None = None) -> SourceFrame:
    """One frame of a movie as a :class:`SourceFrame` (``format_name`` ``"movie"``).

    ``path``: a :class:`~filmstyle.io.movie.MovieFramePath` (its ``frame``), or a movie's plain
    path for its first frame. RGB is the stream's R'G'B' (video range: black 0, white 1,
    super-whites above 1 kept) and alpha straight, both float32 over the full picture.

    Raises:
        InputError: a frame outside the clip, an undecodable frame, ``layer``/``part`` given, or
            any probe failure (one line naming the file).
    """
    p = Path(os.fspath(path))
    _check_options(p, layer, part)
    info = probe_movie(p)
    frame = getattr(path, "frame", None)
    number = info.first_frame if frame is None else int(frame)
    index = info.index_of(number)
    reader = _reader(info)
    with reader.lock:
        decoded = reader.decode(index)
        rgb, alpha = frame_to_rgb(decoded, matrix=_matrix(decoded, info), full_range=_full_range(decoded, info))
    if rgb.shape[:2] != (info.height, info.width):
        raise InputError(f"{p}: frame {number} is {rgb.shape[1]}x{rgb.shape[0]}, the stream "
                         f"{info.width}x{info.height}; changing picture sizes are not supported")
    return SourceFrame(
        path=movie_frame_path(p, number),
        format_name=MOVIE_FORMAT,
        part=0,
        part_name=None,
        part_count=1,
        layer=None,
        rgb_channels=("R", "G", "B"),
        alpha_channel="A" if alpha is not None else None,
        rgb=np.ascontiguousarray(rgb, dtype=np.float32),
        alpha=None if alpha is None else np.ascontiguousarray(alpha, dtype=np.float32),
        spec=_frame_spec(info, number, alpha is not None),
        colorspace_hint=info.colorspace_hint,
        file_stamp=info.stamp,
    )


def read_movie_channels(path: str | os.PathLike, names, *, part: int | str | None = None) -> dict[str, np.ndarray]:
    """Named channels (``R``, ``G``, ``B``, ``A``) of one movie frame, as ``read_channels`` gives them."""
    frame = read_movie_frame(path, part=part)
    planes = {"R": frame.rgb[..., 0], "G": frame.rgb[..., 1], "B": frame.rgb[..., 2]}
    if frame.alpha is not None:
        planes["A"] = frame.alpha
    out = {}
    for name in names:
        if str(name) not in planes:
            raise InputError(f"{frame.path}: a movie frame has no channel {name!r}, valid: {', '.join(planes)}")
        out[str(name)] = np.ascontiguousarray(planes[str(name)])
    return out
