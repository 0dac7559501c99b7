"""Small real movies for the tests, encoded with PyAV (FFmpeg inside its wheels)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np

AUDIO_RATE = 48000


def frame_picture(index: int, width: int, height: int, *, alpha: bool = False) -> np.ndarray:
    """A smooth, moving test picture: float RGB(A) in 0.05..0.95, different on every frame."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    shift = index * 3.0
    r = 0.5 + 0.45 * np.sin((x + shift) / width * 2.0 * np.pi)
    g = 0.5 + 0.45 * np.cos((y - shift) / height * 2.0 * np.pi)
    b = 0.5 + 0.4 * np.sin((x + y + shift * 2.0) / (width + height) * 2.0 * np.pi)
    channels = [r, g, b]
    if alpha:
        channels.append(np.clip((x - width * 0.25) / (width * 0.5), 0.0, 1.0))
    return np.stack(channels, axis=-1).astype(np.float32)


def _video_frame(picture: np.ndarray, pix_fmt: str) -> av.VideoFrame:
    from av.video.reformatter import ColorRange, Colorspace, Interpolation

    codes = np.clip(np.rint(picture * 65535.0), 0, 65535).astype(np.uint16)
    fmt = "rgba64le" if picture.shape[-1] == 4 else "rgb48le"
    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(codes), format=fmt)
    return frame.reformat(format=pix_fmt, dst_colorspace=Colorspace.ITU709, dst_color_range=ColorRange.MPEG,
                          interpolation=Interpolation.BILINEAR | Interpolation.ACCURATE_RND)


def encode_clip(path: Path, codec: str, pix_fmt: str, *, frames: int = 8, size: tuple[int, int] = (64, 48),
                rate: Fraction | int = 25, timecode: str | None = None, audio: str | None = None,
                options: dict[str, str] | None = None, container: str | None = None,
                pts_steps: list[int] | None = None, faststart: bool = False) -> Path:
    """Encode ``frames`` of :func:`frame_picture` into ``path``.

    ``audio``: an audio codec (e.g. ``"pcm_s16le"``) for a stereo track running as long as the
    video; ``pts_steps``: explicit frame timestamps in 1/rate units (for variable-rate files);
    ``faststart``: the index (moov) before the frame data, as streaming MP4s have it.
    """
    width, height = size
    alpha = pix_fmt.startswith("yuva")
    out = av.open(str(path), "w", format=container, options={"movflags": "faststart"} if faststart else None)
    video = out.add_stream(codec, rate=Fraction(rate))
    video.width, video.height, video.pix_fmt = width, height, pix_fmt
    video.codec_context.color_range = 1
    video.codec_context.colorspace = 1
    video.codec_context.color_primaries = 1
    video.codec_context.color_trc = 1
    if options:
        video.options = dict(options)
    if timecode:
        video.metadata["timecode"] = timecode
    sound = None
    if audio:
        sound = out.add_stream(audio, rate=AUDIO_RATE, layout="stereo")
    samples_per_frame = int(AUDIO_RATE / Fraction(rate))
    for i in range(frames):
        picture = _video_frame(frame_picture(i, width, height, alpha=alpha), pix_fmt)
        picture.pts = pts_steps[i] if pts_steps else i
        for packet in video.encode(picture):
            out.mux(packet)
        if sound is not None:
            t = np.arange(i * samples_per_frame, (i + 1) * samples_per_frame)
            wave = (np.sin(t * 0.031) * 9000).astype(np.int16)
            chunk = av.AudioFrame.from_ndarray(np.stack([wave, -wave]).T.reshape(1, -1).copy(), format="s16",
                                               layout="stereo")
            chunk.sample_rate = AUDIO_RATE
            chunk.pts = i * samples_per_frame
            for packet in sound.encode(chunk):
                out.mux(packet)
    for packet in video.encode(None):
        out.mux(packet)
    if sound is not None:
        for packet in sound.encode(None):
            out.mux(packet)
    out.close()
    return path


def decode_all(path: Path) -> list[av.VideoFrame]:
    """Every frame of the first video stream, decoded start to end by PyAV (the reference)."""
    with av.open(str(path)) as container:
        return [frame for frame in container.decode(video=0)]


def plane_codes(frame: av.VideoFrame, index: int) -> np.ndarray:
    """One plane of a decoded frame as integer codes (height, width)."""
    plane = frame.planes[index]
    itemsize = 1 if frame.format.components[0].bits <= 8 else 2
    data = np.frombuffer(plane, dtype=np.uint8 if itemsize == 1 else np.dtype("<u2"))
    stride = plane.line_size // itemsize
    return data[: stride * plane.height].reshape(plane.height, stride)[:, : plane.width].copy()


def swscale_rgb(frame: av.VideoFrame) -> np.ndarray:
    """PyAV's own float conversion of a frame (BT.709, video range, accurate rounding)."""
    from av.video.reformatter import ColorRange, Colorspace, Interpolation

    converted = frame.reformat(format="gbrpf32le", src_colorspace=Colorspace.ITU709, src_color_range=ColorRange.MPEG,
                               interpolation=Interpolation.BILINEAR | Interpolation.ACCURATE_RND
                               | Interpolation.FULL_CHR_H_INT)
    return converted.to_ndarray()


def audio_packets(path: Path) -> list[tuple[int, int | None, bytes]]:
    """(pts, duration, payload) of every audio packet."""
    with av.open(str(path)) as container:
        if not container.streams.audio:
            return []
        return [(p.pts, p.duration, bytes(p)) for p in container.demux(audio=0) if p.size]
