"""Movie files as frame sequences: probing, frame numbering and frame paths.

A movie (MOV, MP4, M4V, MXF, MKV holding ProRes, DNxHD/DNxHR, H.264 or H.265) is accepted wherever
a sequence is. Its frames are numbered from its start timecode at the clip's rate (``01:00:00:00``
at 25 fps is frame 90000), or from :data:`DEFAULT_FIRST_FRAME` when it has none; ``--frames``
selects among those numbers.

:func:`probe_movie` reads what a render needs once per file (cached by path, size and
modification time): codec, pixel format, rate, timecode and the exact presentation timestamp of
every frame, which is what makes decoding frame-accurate (see :mod:`filmstyle.io.movie_decode`).
Intra-only codecs (ProRes, DNxHR) take the timestamps from the container's index; long-GOP
codecs (H.264, H.265) get every packet demuxed (not decoded) once, which also counts the frames
exactly. Hostile files fail here with one line: no video stream, an unsupported codec, a
truncated file, variable frame rate.

:class:`MovieFramePath` is the path of one frame of a movie: the movie's path (``str()``,
``open()`` and ``stat()`` see the file) carrying the frame number, so that code written for
``sequence.path(frame)`` → ``read_frame(path)`` reads movies unchanged.
"""

from __future__ import annotations

import functools
import logging
import os
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from filmstyle.errors import FilmStyleError, InputError
from filmstyle.io.movie_info import (
    DEFAULT_FIRST_FRAME,
    MOVIE_FORMAT,
    MovieInfo,
    movie_frames,
    rate_text,
    select_frames,
)
from filmstyle.io.timecode import timecode_to_frame

__all__ = [
    "MOVIE_EXTENSIONS",
    "MOVIE_FORMAT",
    "DEFAULT_FIRST_FRAME",
    "SUPPORTED_CODECS",
    "MovieInfo",
    "MovieFramePath",
    "movie_frame_path",
    "is_movie_path",
    "probe_movie",
    "movie_frames",
    "select_frames",
    "describe_movie",
]

_log = logging.getLogger("filmstyle.io")

#: File extensions read as movies (lower case).
MOVIE_EXTENSIONS = (".mov", ".mp4", ".m4v", ".mxf", ".mkv")
#: Decoders filmstyle reads, by FFmpeg name, with the name users know them by.
SUPPORTED_CODECS = {"prores": "ProRes", "dnxhd": "DNxHD/DNxHR", "h264": "H.264", "hevc": "H.265/HEVC"}

# Frame rates a measured rate snaps to when within 0.02 % (timestamps in 1/1000 s units and
# similar round the true rate).
_STANDARD_RATES = tuple(Fraction(n, d) for n, d in (
    (24000, 1001), (24, 1), (25, 1), (30000, 1001), (30, 1), (48000, 1001), (48, 1), (50, 1),
    (60000, 1001), (60, 1), (100, 1), (120000, 1001), (120, 1)))
# ITU-T H.273 code points, named as FFmpeg (and ffprobe) names them.
_PRIMARIES = {1: "bt709", 2: "unspecified", 4: "bt470m", 5: "bt470bg", 6: "smpte170m", 7: "smpte240m",
              8: "film", 9: "bt2020", 10: "smpte428", 11: "smpte431", 12: "smpte432", 22: "ebu3213"}
_TRANSFERS = {1: "bt709", 2: "unspecified", 4: "gamma22", 5: "gamma28", 6: "smpte170m", 7: "smpte240m",
              8: "linear", 11: "iec61966-2-4", 13: "iec61966-2-1", 14: "bt2020-10", 15: "bt2020-12",
              16: "smpte2084", 17: "smpte428", 18: "arib-std-b67"}
_MATRICES = {0: "gbr", 1: "bt709", 2: "unspecified", 4: "fcc", 5: "bt470bg", 6: "smpte170m",
             7: "smpte240m", 9: "bt2020nc", 10: "bt2020c"}
_RANGES = {0: "unspecified", 1: "tv", 2: "pc"}
_NOT_REC709 = {"bt2020", "smpte431", "smpte432", "smpte2084", "arib-std-b67"}


def is_movie_path(path: str | os.PathLike) -> bool:
    """True when ``path``'s extension is a movie container's."""
    return Path(path).suffix.lower() in MOVIE_EXTENSIONS


class MovieFramePath(type(Path())):  # type: ignore[misc]
    """A movie's path that also names one of its frames (``frame``; None for the file itself).

    Built by :func:`movie_frame_path`. Paths derived from it (``parent``, ``resolve()``...) are
    plain file paths of this class with ``frame`` None. Two frame paths are equal only when
    their frames are; :meth:`exists` and :meth:`is_file` are true only for frames the movie has.
    """

    frame: int | None = None

    def __eq__(self, other: object) -> bool:
        if isinstance(other, MovieFramePath) and self.frame != other.frame:
            return False
        return super().__eq__(other)

    def __hash__(self) -> int:
        return hash((super().__hash__(), self.frame))

    def __repr__(self) -> str:
        return f"MovieFramePath({str(self)!r}, frame={self.frame})"

    def __reduce__(self):
        return movie_frame_path, (str(self), self.frame)

    def _has_frame(self) -> bool:
        try:
            return self.frame in movie_frames(probe_movie(Path(str(self))))
        except FilmStyleError:
            return False

    def exists(self, *args, **kwargs) -> bool:  # type: ignore[override]
        if not super().exists(*args, **kwargs):
            return False
        return self.frame is None or self._has_frame()

    def is_file(self, *args, **kwargs) -> bool:  # type: ignore[override]
        if not super().is_file(*args, **kwargs):
            return False
        return self.frame is None or self._has_frame()


def movie_frame_path(path: str | os.PathLike, frame: int | None) -> MovieFramePath:
    """The path of ``frame`` of the movie at ``path``."""
    p = MovieFramePath(os.fspath(path))
    p.frame = None if frame is None else int(frame)
    return p


def _ff_text(exc: BaseException) -> str:
    """One line from a PyAV/FFmpeg error (without the file name it repeats)."""
    text = getattr(exc, "strerror", None) or str(exc)
    return " ".join(str(text).split())[:200]


def _snap(rate: Fraction) -> Fraction:
    if rate in _STANDARD_RATES:
        return rate
    # 24 and 24000/1001 lie 0.1 % apart: snap only much closer than that
    close = [s for s in _STANDARD_RATES if abs(rate - s) <= s / 5000]
    return min(close, key=lambda s: abs(rate - s)) if close else rate


def _stream_rate(stream) -> Fraction | None:
    for rate in (stream.average_rate, stream.guessed_rate, stream.base_rate):
        if rate:
            return _snap(Fraction(rate))
    return None


def _first_timecode(container, video) -> str | None:
    candidates = [video.metadata.get("timecode")]
    candidates += [s.metadata.get("timecode") for s in container.streams if s.type == "data"]
    candidates.append(container.metadata.get("timecode"))
    return next((c for c in candidates if c), None)


def _pixel_layout(pix_fmt: str) -> tuple[int, str, bool]:
    """(bit depth, chroma subsampling text, has alpha) of an FFmpeg pixel format."""
    import av

    fmt = av.VideoFormat(pix_fmt, 16, 16)
    comps = list(fmt.components)
    bits = max(c.bits for c in comps)
    chroma = [c for c in comps if c.is_chroma]
    if fmt.is_rgb or not chroma:
        layout = "4:4:4" if fmt.is_rgb else "mono"
    else:
        w, h = chroma[0].width, chroma[0].height
        layout = {(16, 16): "4:4:4", (8, 16): "4:2:2", (8, 8): "4:2:0", (4, 16): "4:1:1"}.get((w, h), f"{w}x{h} chroma")
    return bits, layout, any(c.is_alpha for c in comps)


def _audio_facts(stream) -> dict[str, Any]:
    cc = stream.codec_context
    tb = stream.time_base
    duration = float(stream.duration * tb) if stream.duration and tb else None
    return {
        "index": stream.index,
        "codec": cc.name if cc is not None else None,
        "codec_long_name": cc.codec.long_name if cc is not None else None,
        "sample_rate": getattr(cc, "sample_rate", None),
        "channels": getattr(cc, "channels", None),
        "layout": getattr(getattr(cc, "layout", None), "name", None),
        "sample_format": getattr(getattr(cc, "format", None), "name", None),
        "duration_seconds": round(duration, 6) if duration is not None else None,
        "language": stream.metadata.get("language"),
    }


def _packet_table(path: Path, container, video, file_size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Demux every video packet once: (decode pts, decode dts, keyframe, presented) arrays."""
    import av

    pts, dts, key, shown = [], [], [], []
    try:
        for packet in container.demux(video):
            if packet.size == 0 and packet.pts is None:
                continue  # the flush packet at the end
            if packet.pts is None:
                raise InputError(f"{path}: video packet {len(pts)} has no timestamp; remux the file "
                                 "into MOV/MP4 (e.g. ffmpeg -i in -c copy out.mov)")
            if packet.pos is not None and packet.pos >= 0 and packet.pos + packet.size > file_size:
                raise InputError(f"{path}: truncated: frame data ends past the end of the file "
                                 f"(packet {len(pts)})")
            pts.append(packet.pts)
            dts.append(packet.dts if packet.dts is not None else packet.pts)
            key.append(packet.is_keyframe)
            shown.append(not packet.is_discard)
    except av.error.FFmpegError as exc:
        raise InputError(f"{path}: truncated or corrupt after {len(pts)} frames: {_ff_text(exc)}") from None
    return (np.asarray(pts, np.int64), np.asarray(dts, np.int64), np.asarray(key, bool), np.asarray(shown, bool))


def _index_table(video, file_size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """The container index as the packet table of an intra-only stream, when it is complete."""
    entries = video.index_entries
    if not video.frames or len(entries) != video.frames:
        return None
    ts = np.fromiter((e.timestamp for e in entries), np.int64, len(entries))
    ends = np.fromiter((e.pos + e.size for e in entries), np.int64, len(entries))
    if np.any(np.diff(ts) <= 0):
        return None  # out of order: let the demuxer tell
    if ends.max(initial=0) > file_size:
        return None  # the scan names the truncation
    shown = np.fromiter((not e.is_discard for e in entries), bool, len(entries))
    return ts, ts, np.ones(len(ts), bool), shown


def _check_index_within_file(path: Path, video, file_size: int) -> None:
    """A container index (MOV/MP4 keep one up front when streamable) that points past the end of
    the file means the file was cut short."""
    entries = video.index_entries
    beyond = [i for i, e in enumerate(entries) if e.pos >= 0 and e.pos + e.size > file_size]
    if beyond:
        raise InputError(f"{path}: truncated: the container lists {len(entries)} frames, the file ends "
                         f"inside frame {beyond[0] + 1} ({len(beyond)} frames missing)")


def _check_constant_rate(path: Path, pts: np.ndarray, rate: Fraction, time_base: Fraction) -> None:
    if len(pts) < 2:
        return
    step = float(1 / (rate * time_base))
    offsets = pts - pts[0] - np.arange(len(pts)) * step
    if np.max(np.abs(offsets)) > step / 4:
        intervals = np.diff(pts) * float(time_base) * 1000.0
        raise InputError(
            f"{path}: variable frame rate (frame intervals {intervals.min():.1f}-{intervals.max():.1f} ms, "
            f"expected {1000 / float(rate):.1f} ms at {rate_text(rate)} fps); conform it to a constant "
            "rate first (e.g. ffmpeg -i in.mp4 -vf fps=25 -c:v prores_ks -profile:v 3 out.mov)")


def _open(path: Path):
    import av

    if not path.exists():
        raise InputError(f"{path}: file not found")
    if not path.is_file():
        raise InputError(f"{path}: not a regular file")
    try:
        return av.open(str(path), metadata_errors="replace")
    except av.error.FFmpegError as exc:
        raise InputError(f"{path}: cannot read movie (truncated, or not a movie): {_ff_text(exc)}") from None


@functools.lru_cache(maxsize=16)
def _probe_cached(path: str, size: int, mtime_ns: int) -> MovieInfo:
    return _probe(Path(path), (size, mtime_ns))


def probe_movie(path: str | os.PathLike) -> MovieInfo:
    """Probe a movie (cached while the file is unchanged). Raises :class:`InputError` in one line."""
    p = Path(os.fspath(path))
    try:
        st = p.stat()
    except OSError:
        raise InputError(f"{p}: file not found") from None
    return _probe_cached(str(p), st.st_size, st.st_mtime_ns)


def _probe(path: Path, stamp: tuple[int, int]) -> MovieInfo:
    container = _open(path)
    try:
        videos = [s for s in container.streams.video if not s.disposition & 0x400]  # not cover art
        if not videos:
            kinds = ", ".join(sorted({s.type for s in container.streams})) or "none"
            raise InputError(f"{path}: no video stream (streams: {kinds})")
        video = videos[0]
        cc = video.codec_context
        codec = cc.name if cc is not None else "unknown"
        if codec not in SUPPORTED_CODECS:
            long = f" ({cc.codec.long_name})" if cc is not None else ""
            raise InputError(f"{path}: video codec {codec}{long} is not supported; filmstyle reads "
                             f"{', '.join(SUPPORTED_CODECS.values())}")
        _check_index_within_file(path, video, stamp[0])
        if not cc.pix_fmt or not cc.width or not cc.height:
            raise InputError(f"{path}: the video stream has no picture size or pixel format (truncated?)")
        rate = _stream_rate(video)
        if rate is None or video.time_base is None:
            raise InputError(f"{path}: no frame rate in the video stream")
        time_base = Fraction(video.time_base)
        intra = bool(cc.codec.intra_only)
        table = _index_table(video, stamp[0]) if intra else None
        counted = table is None
        if table is None:
            table = _packet_table(path, container, video, stamp[0])
        decode_pts, decode_dts, decode_key, shown = table
        if video.frames and len(decode_pts) < video.frames:
            raise InputError(f"{path}: truncated: the container lists {video.frames} frames, "
                             f"only {len(decode_pts)} can be read")
        pts = np.sort(decode_pts[shown])
        if len(pts) == 0:
            raise InputError(f"{path}: the video stream has no frames")
        if len(np.unique(pts)) != len(pts):
            raise InputError(f"{path}: two frames share a timestamp; remux or conform the file first")
        if not decode_key.any():
            raise InputError(f"{path}: no keyframe in the video stream (truncated at the start?)")
        _check_constant_rate(path, pts, rate, time_base)
        timecode = _first_timecode(container, video)
        first, drop = DEFAULT_FIRST_FRAME, False
        if timecode is not None:
            try:
                first, drop = timecode_to_frame(timecode, rate)
            except InputError as exc:
                _log.warning("%s: %s; frames numbered from %d", path, exc, DEFAULT_FIRST_FRAME)
                timecode = None
        bits, chroma, alpha = _pixel_layout(cc.pix_fmt)
        colour = {
            "range": _RANGES.get(int(cc.color_range or 0), str(cc.color_range)),
            "matrix": _MATRICES.get(int(cc.colorspace or 2), str(cc.colorspace)),
            "primaries": _PRIMARIES.get(int(cc.color_primaries or 2), str(cc.color_primaries)),
            "transfer": _TRANSFERS.get(int(cc.color_trc or 2), str(cc.color_trc)),
        }
        if {colour["primaries"], colour["transfer"]} & _NOT_REC709:
            _log.warning("%s is tagged %s primaries, %s transfer; it is read as Rec.709 video unless "
                         "--input-colorspace names its space", path, colour["primaries"], colour["transfer"])
        info = MovieInfo(
            path=path, stamp=stamp, container=container.format.long_name or container.format.name,
            brand=(container.metadata.get("major_brand") or "").strip() or None,
            codec=codec, codec_long_name=cc.codec.long_name, profile=cc.profile or None, pix_fmt=cc.pix_fmt,
            bit_depth=bits, chroma=chroma, has_alpha=alpha, width=cc.width, height=cc.height,
            rate=rate, time_base=time_base, timecode=timecode, drop_frame=drop, first_frame=first,
            frame_count=len(pts), frames_counted=counted, intra_only=intra, colour=colour,
            audio=tuple(_audio_facts(s) for s in container.streams.audio),
            bit_rate=container.bit_rate or None,
            pts=pts, decode_pts=decode_pts, decode_dts=decode_dts, decode_key=decode_key,
        )
    finally:
        container.close()
    return info


def describe_movie(path: str | os.PathLike) -> dict[str, Any]:
    """``filmstyle info`` facts of a movie (probing only, no frame is decoded)."""
    return probe_movie(path).as_dict()
