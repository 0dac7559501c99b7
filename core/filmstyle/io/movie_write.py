"""Writing a render as one ProRes QuickTime movie, with the source's timecode and audio.

:class:`MovieOutput` takes frames in order and encodes them with FFmpeg's ``prores_ks``:

* **ProRes 422 HQ** (profile 3, 10-bit 4:2:2), or **ProRes 4444** (profile 4, 10-bit 4:4:4, with
  the source's alpha, straight) when the source has alpha or ``compression`` asks for it
  (``WriteOptions.compression``: ``"422hq"``/``"hq"`` or ``"4444"``). The picture is encoded by
  :func:`filmstyle.io.movie_pixels.rgb_to_frame`: video range, the source movie's matrix
  (BT.709 otherwise), super-whites kept up to the legal maximum.
* **Timecode**: the timecode of the first frame written (a movie source's, or the
  ``smpte:TimeCode`` of an image sequence's first frame), in a ``tmcd`` track; none when the source
  has none. The rate is the source movie's, or the images' ``FramesPerSecond`` (24 without one).
* **Audio**: every audio stream of a movie source is copied packet for packet (no re-encode),
  interleaved as the video is written. The whole clip keeps all of its audio; a frame range
  keeps the packets that start within its frames.

The file is written to a hidden temporary sibling (named as :func:`~filmstyle.io.targets.temp_path_for`
names every output's, so the next render removes one a killed render left) and renamed over the
output only when it is complete; any failure or cancel removes it and leaves an existing output
untouched. A movie cannot be resumed frame by frame: an existing output is refused unless
``overwrite`` is set, and then replaced only when the new one is complete.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Collection, Iterator
from fractions import Fraction
from pathlib import Path

import numpy as np

from filmstyle.errors import InputError, OutputError
from filmstyle.io._oiio import decode_timecode
from filmstyle.io.frame import SourceFrame
from filmstyle.io.movie import MovieInfo, is_movie_path, probe_movie
from filmstyle.io.movie_pixels import MATRICES, rgb_to_frame
from filmstyle.io.targets import same_file, temp_path_for
from filmstyle.io.timecode import timecode_to_frame
from filmstyle.io.write import WriteOptions

__all__ = ["MovieOutput", "check_movie_output", "PRORES_PROFILES", "DEFAULT_MOVIE_RATE"]

_log = logging.getLogger("filmstyle.io")

#: ``compression`` names of a movie output → (prores_ks profile, pixel format without alpha).
PRORES_PROFILES = {"422hq": (3, "yuv422p10le"), "hq": (3, "yuv422p10le"), "prores_422hq": (3, "yuv422p10le"),
                   "4444": (4, "yuv444p10le"), "prores_4444": (4, "yuv444p10le")}
#: Frame rate of a movie made from images whose headers carry none.
DEFAULT_MOVIE_RATE = Fraction(24)
_MOVIE_OUTPUT_SUFFIX = ".mov"
# H.273 code points of the tags written (source tags are kept when the source is a movie).
_PRIMARIES = {"bt709": 1, "bt470bg": 5, "smpte170m": 6, "bt2020": 9}
_TRANSFERS = {"bt709": 1, "smpte170m": 6, "bt2020-10": 14, "iec61966-2-1": 13, "linear": 8, "gamma22": 4}
_MATRIX_CODES = {"bt709": 1, "bt470bg": 5, "smpte170m": 6, "bt2020nc": 9}


def check_movie_output(pattern: str | os.PathLike, frames: Collection[int], *, overwrite: bool = True,
                       options: WriteOptions | None = None) -> tuple[int, str] | None:
    """Refuse a movie output that cannot be written, before anything is rendered: not ``.mov``,
    frames with gaps, an existing file without ``overwrite``, a depth or codec ProRes cannot be.

    Returns the ``(profile, pixel format)`` asked for by ``options.compression``, or None.
    """
    path = Path(pattern)
    if path.suffix.lower() != _MOVIE_OUTPUT_SUFFIX:
        raise OutputError(f"output {path}: movies are written as ProRes in a QuickTime .mov, "
                          f"not {path.suffix}; name the output e.g. {path.with_suffix('.mov').name}")
    ordered = sorted(frames)
    gaps = [a for a, b in zip(ordered, ordered[1:]) if b != a + 1]
    if gaps:
        raise OutputError(f"output {path}: a movie needs consecutive frames (one constant rate); "
                          f"the frames jump after {gaps[0]} (write an image sequence for a frame subset "
                          "with gaps)")
    if path.exists() and not path.is_file():
        raise OutputError(f"{path}: exists and is not a regular file")
    if path.exists() and not overwrite:
        raise OutputError(f"{path}: exists, and a movie cannot be resumed frame by frame; pass "
                          "--overwrite to render it again (the old file stays until the new one is complete)")
    opts = options or WriteOptions()
    if opts.bit_depth not in (None, 10):
        raise OutputError(f"{path}: movie output is 10-bit ProRes, bit depth {opts.bit_depth} is not possible")
    if opts.compression is None:
        return None
    key = opts.compression.strip().lower()
    if key not in PRORES_PROFILES:
        raise OutputError(f"{path}: unknown movie codec {opts.compression!r}, valid: 422hq, 4444")
    return PRORES_PROFILES[key]


def _source_movie(source: SourceFrame) -> MovieInfo | None:
    return probe_movie(source.path) if source.format_name == "movie" and is_movie_path(source.path) else None


def _rate_of(source: SourceFrame, movie: MovieInfo | None) -> Fraction:
    if movie is not None:
        return movie.rate
    value = source.spec.getattribute("FramesPerSecond")
    try:
        num, den = (int(v) for v in value)  # type: ignore[union-attr]
        if num > 0 and den > 0:
            return Fraction(num, den)
    except (TypeError, ValueError):
        pass
    _log.warning("%s: no frame rate in the header; the movie is written at %s fps",
                 source.path.name, DEFAULT_MOVIE_RATE)
    return DEFAULT_MOVIE_RATE


class MovieOutput:
    """One ProRes ``.mov`` written frame by frame (in order) and committed at the end.

    Use: ``write(source, rgb, frame)`` for every frame of ``frames`` in order, then
    :meth:`commit`; on any failure :meth:`discard`. As a context manager it does the last two:
    commit when the block completes, discard when it raises. ``rgb`` is in the source's encoding and alpha
    convention (as :func:`~filmstyle.io.write.write_frame` takes it); the movie gets straight
    colour and alpha.
    """

    def __init__(self, path: str | os.PathLike, frames: Collection[int], *, overwrite: bool = False,
                 options: WriteOptions | None = None, protect: Collection[Path | str] = ()) -> None:
        self.path = Path(os.fspath(path))
        self.frames = tuple(sorted(frames))
        for p in protect:
            if same_file(self.path, Path(os.fspath(p))):
                raise OutputError(f"{self.path}: refusing to overwrite a source file ({p})")
        self._profile = check_movie_output(self.path, self.frames, overwrite=overwrite, options=options)
        self._tmp = temp_path_for(self.path)
        self._container = None
        self._video = None
        self._audio: dict[int, object] = {}
        self._audio_packets: Iterator | None = None
        self._audio_source = None
        self._audio_next = None
        self._written = 0
        self._shape: tuple[int, int] | None = None
        self._alpha = False
        self._matrix = "bt709"
        self._time_base = Fraction(1, 1)
        self._audio_start = Fraction(0)
        self._audio_end: Fraction | None = None
        self._audio_whole = True

    # -- opening --------------------------------------------------------------------------------

    def _start(self, source: SourceFrame, frame: int) -> None:
        import av

        movie = _source_movie(source)
        rate = _rate_of(source, movie)
        height, width = source.height, source.width
        if width % 2 or height % 2:
            raise OutputError(f"{self.path}: ProRes needs an even picture size, the source is {width}x{height}")
        has_alpha = source.alpha is not None
        profile, pix_fmt = self._profile or ((4, "yuv444p10le") if has_alpha else (3, "yuv422p10le"))
        self._alpha = has_alpha and profile == 4
        if self._alpha:
            pix_fmt = "yuva444p10le"
        colour = movie.colour if movie is not None else {}
        self._matrix = colour.get("matrix") if colour.get("matrix") in MATRICES else "bt709"
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(f"{self.path}: cannot create directory: {exc.strerror or exc}") from None
        try:
            container = av.open(str(self._tmp), "w", format="mov")
        except (av.error.FFmpegError, OSError) as exc:
            raise OutputError(f"{self.path}: cannot create movie: {exc}") from None
        self._container = container
        video = container.add_stream("prores_ks", rate=rate)
        video.width, video.height, video.pix_fmt = width, height, pix_fmt
        video.options = {"profile": str(profile), "vendor": "apl0"}
        cc = video.codec_context
        cc.color_range = 1
        cc.colorspace = _MATRIX_CODES.get(self._matrix, 1)
        cc.color_primaries = _PRIMARIES.get(colour.get("primaries", ""), 1)
        cc.color_trc = _TRANSFERS.get(colour.get("transfer", ""), 1)
        timecode = self._timecode(source, rate)
        if timecode:
            video.metadata["timecode"] = timecode
        self._video = video
        self._time_base = Fraction(rate.denominator, rate.numerator)
        if movie is not None and movie.audio:
            self._open_audio(movie, frame)

    def _timecode(self, source: SourceFrame, rate: Fraction) -> str | None:
        value = source.spec.getattribute("smpte:TimeCode")
        text = decode_timecode(value) if value is not None else None
        if text is None:
            return None
        try:
            timecode_to_frame(text, rate)
        except InputError as exc:
            _log.warning("%s: %s; the movie gets no timecode", source.path.name, exc)
            return None
        return text

    def _open_audio(self, movie: MovieInfo, first: int) -> None:
        import av

        src = av.open(str(movie.path), metadata_errors="replace")
        self._audio_source = src
        streams = list(src.streams.audio)
        for s in streams:
            try:
                self._audio[s.index] = self._container.add_stream_from_template(s)
            except (av.error.FFmpegError, ValueError) as exc:
                raise OutputError(f"{self.path}: cannot copy audio stream {s.index} ({s.codec_context.name}) "
                                  f"into a QuickTime movie: {exc}") from None
        index = movie.index_of(first)
        whole = index == 0 and len(self.frames) == movie.frame_count
        # Time of the first written frame on the source's clock (the same clock as its audio).
        video_start = Fraction(int(movie.pts[index])) * movie.time_base
        self._audio_start = video_start
        self._audio_end = None if whole else video_start + Fraction(len(self.frames)) / movie.rate
        self._audio_whole = whole
        if not whole and index > 0:
            ts = int(video_start / Fraction(streams[0].time_base))
            src.seek(ts, stream=streams[0], backward=True, any_frame=False)
        self._audio_packets = iter(src.demux(*streams))

    # -- per frame ------------------------------------------------------------------------------

    def write(self, source: SourceFrame, rgb: np.ndarray, frame: int) -> None:
        """Encode the next frame (``frame`` must be the next of :attr:`frames`)."""
        import av

        expected = self.frames[self._written] if self._written < len(self.frames) else None
        if frame != expected:
            raise OutputError(f"{self.path}: frame {frame} written out of order (expected {expected})")
        if self._container is None:
            self._start(source, frame)
            self._shape = (source.height, source.width)
        if (source.height, source.width) != self._shape:
            raise InputError(f"{source.path}: frame {frame} is {source.width}x{source.height}, the movie "
                             f"{self._shape[1]}x{self._shape[0]}; a movie has one picture size")
        rgb = np.asarray(rgb, dtype=np.float32)
        alpha = source.alpha if self._alpha else None
        if alpha is not None and source.alpha_associated:
            # ProRes alpha is straight: un-premultiply (fully transparent pixels keep their colour).
            # Without alpha in the movie, premultiplied colour stays as it is: the picture over black.
            a = source.alpha[..., None]
            rgb = np.divide(rgb, a, out=rgb.copy(), where=np.broadcast_to(a != 0, rgb.shape))
        picture = rgb_to_frame(rgb, alpha, pix_fmt=self._video.pix_fmt, matrix=self._matrix)
        picture.pts = self._written
        picture.time_base = self._time_base
        try:
            for packet in self._video.encode(picture):
                self._container.mux(packet)
            self._written += 1
            self._copy_audio(self._audio_start + Fraction(self._written) * self._time_base)
        except av.error.FFmpegError as exc:
            raise OutputError(f"{self.path}: cannot write frame {frame}: {exc}") from None

    def _copy_audio(self, until: Fraction | None) -> None:
        """Mux the source's audio packets that start before ``until`` (all when None)."""
        if self._audio_packets is None:
            return
        while True:
            packet = self._audio_next
            if packet is None:
                packet = next(self._audio_packets, None)
                if packet is None:
                    self._audio_packets = None
                    return
            if packet.size == 0 or packet.pts is None:
                self._audio_next = None
                continue
            start = Fraction(packet.pts) * Fraction(packet.time_base)
            if until is not None and start >= until:
                self._audio_next = packet  # keep it for a later frame
                return
            self._audio_next = None
            if not self._audio_whole and (start < self._audio_start or
                                          (self._audio_end is not None and start >= self._audio_end)):
                continue
            if not self._audio_whole:
                shift = int(round(self._audio_start / Fraction(packet.time_base)))
                packet.pts -= shift
                if packet.dts is not None:
                    packet.dts -= shift
            packet.stream = self._audio[packet.stream_index]
            self._container.mux(packet)

    # -- finishing ------------------------------------------------------------------------------

    def __enter__(self) -> "MovieOutput":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.discard()

    def commit(self) -> Path:
        """Finish the movie and move it into place; returns its path. On failure nothing is left."""
        import av

        try:
            if self._container is None:
                raise OutputError(f"{self.path}: no frame was written")
            if self._written != len(self.frames):
                raise OutputError(f"{self.path}: {self._written} of {len(self.frames)} frames written; not finished")
            try:
                for packet in self._video.encode(None):
                    self._container.mux(packet)
                self._copy_audio(None if self._audio_whole else self._audio_end)
                self._container.close()
            except av.error.FFmpegError as exc:
                raise OutputError(f"{self.path}: cannot finish movie: {exc}") from None
            self._container = None
            self._close_audio()
            fd = os.open(self._tmp, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(self._tmp, self.path)
        except BaseException:
            self.discard()
            raise
        return self.path

    def _close_audio(self) -> None:
        if self._audio_source is not None:
            self._audio_source.close()
            self._audio_source = None
        self._audio_packets = None

    def discard(self) -> None:
        """Drop the unfinished movie (an existing output stays as it was)."""
        if self._container is not None:
            try:
                self._container.close()
            except Exception:  # noqa: BLE001 - the file is deleted anyway
                pass
            self._container = None
        self._close_audio()
        self._tmp.unlink(missing_ok=True)
