"""Movies as sequences: probing, frame numbering, frame-accurate decoding, pixel formats, ``info``,
hostile files. Every clip is a real file encoded here with PyAV (FFmpeg's own encoders)."""

from __future__ import annotations

import json
import random
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from typer.testing import CliRunner

from filmstyle import io
from filmstyle.cli import app
from filmstyle.errors import InputError
from filmstyle.io._oiio import decode_timecode
from filmstyle.io.movie_pixels import frame_to_rgb, rgb_to_frame
from filmstyle.io.timecode import frame_to_timecode, smpte_packed, timecode_to_frame
from tests.core.movie_fixtures import decode_all, encode_clip, plane_codes, swscale_rgb

runner = CliRunner()
OPEN_GOP_H264 = {"bf": "3", "g": "6", "x264-params": "open-gop=1:keyint=6:min-keyint=6:scenecut=0:log-level=none"}
OPEN_GOP_HEVC = {"x265-params": "log-level=none:bframes=3:keyint=4:min-keyint=4:open-gop=1:scenecut=0"}


def cli(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("clips")
    return {
        "prores": encode_clip(d / "prores.mov", "prores_ks", "yuv422p10le", frames=10, options={"profile": "3"},
                              timecode="01:00:00:00", audio="pcm_s16le"),
        "h264": encode_clip(d / "h264.mp4", "libx264", "yuv420p", frames=12, options=OPEN_GOP_H264),
        "hevc": encode_clip(d / "hevc.mp4", "libx265", "yuv420p10le", frames=10, options=OPEN_GOP_HEVC),
    }


# ------------------------------------------------------------------------------------------ timecode


def test_timecode_text_frames_and_packing():
    assert timecode_to_frame("01:00:00:00", 25) == (90000, False)
    assert frame_to_timecode(90000, 25) == "01:00:00:00"
    assert timecode_to_frame("00:00:01:00", Fraction(24000, 1001)) == (24, False)  # counts at 24
    # 29.97 drop frame: frame numbers 0 and 1 are skipped at every minute but each tenth
    assert timecode_to_frame("00:01:00;02", Fraction(30000, 1001)) == (1800, True)
    assert timecode_to_frame("00:10:00;00", Fraction(30000, 1001)) == (17982, True)
    for count in range(0, 120000, 997):
        text = frame_to_timecode(count, Fraction(30000, 1001), drop=True)
        assert timecode_to_frame(text, Fraction(30000, 1001)) == (count, True), text
    for bad in ("1:00:00", "01:60:00:00", "00:00:00:25", "00:01:00;00"):
        with pytest.raises(InputError):
            timecode_to_frame(bad, Fraction(30000, 1001) if ";" in bad else 25)
    with pytest.raises(InputError):
        timecode_to_frame("00:00:00;00", 25)  # no drop frame at 25 fps
    assert decode_timecode(smpte_packed("12:34:56:21")) == "12:34:56:21"
    assert decode_timecode(smpte_packed("00:01:00;02")) == "00:01:00;02"


# ------------------------------------------------------------------------------- probing, numbering


def test_frames_are_numbered_from_the_timecode_or_1001(clips, tmp_path):
    prores = io.find_sequence(clips["prores"])
    assert prores.frames == tuple(range(90000, 90010)) and prores.is_movie
    assert io.find_sequence(clips["prores"], "90002-90004").frames == (90002, 90003, 90004)
    assert io.find_sequence(clips["prores"], "90000-90009x3").frames == (90000, 90003, 90006, 90009)
    assert io.find_sequence(clips["h264"]).frames == tuple(range(1001, 1013))
    with pytest.raises(InputError, match=r"prores\.mov: frames 1, 2, 3 are outside the clip: it has frames "
                                         r"90000-90009 \(numbered from timecode 01:00:00:00 at 25 fps\)"):
        io.find_sequence(clips["prores"], "1-3")
    drop = encode_clip(tmp_path / "ntsc.mov", "prores_ks", "yuv422p10le", frames=3, rate=Fraction(30000, 1001),
                       timecode="00:09:59;29", options={"profile": "3"})
    info = io.probe_movie(drop)
    assert info.drop_frame and info.rate == Fraction(30000, 1001)
    assert info.first_frame == timecode_to_frame("00:09:59;29", info.rate)[0] == 17981
    # the second frame crosses the tenth minute, which keeps its frame numbers 0 and 1
    assert [info.timecode_at(f) for f in io.find_sequence(drop).frames] == ["00:09:59;29", "00:10:00;00",
                                                                            "00:10:00;01"]


def test_movie_frame_paths_carry_their_frame(clips):
    seq = io.find_sequence(clips["prores"])
    path = seq.path(90004)
    assert isinstance(path, io.MovieFramePath) and path.frame == 90004 and str(path) == str(clips["prores"])
    assert path.exists() and path.is_file() and not seq.path(91000).exists()
    assert path != seq.path(90005) and path == seq.path(90004) and len({path, seq.path(90004)}) == 1
    assert io.format_for_path(path) == "movie"
    import pickle

    assert pickle.loads(pickle.dumps(path)).frame == 90004


# ------------------------------------------------------------------------------- decoding, accuracy


def _even_column_reference(frame: av.VideoFrame) -> np.ndarray:
    """ITU-T H.273 / BT.709 video-range Y'CbCr → R'G'B', float64, at the co-sited (even) columns of
    a 4:2:2 frame, computed from the integer codes alone."""
    bits = frame.format.components[0].bits
    unit = 2 ** (bits - 8)
    y = (plane_codes(frame, 0)[:, 0::2] - 16.0 * unit) / (219.0 * unit)
    cb = (plane_codes(frame, 1) - 128.0 * unit) / (224.0 * unit)
    cr = (plane_codes(frame, 2) - 128.0 * unit) / (224.0 * unit)
    r = y + 2 * (1 - 0.2126) * cr
    b = y + 2 * (1 - 0.0722) * cb
    g = (y - 0.2126 * r - 0.0722 * b) / 0.7152
    return np.stack([r, g, b], axis=-1)


def test_prores_422hq_10bit_frames_match_pyav_decode(clips):
    path = clips["prores"]
    info = io.probe_movie(path)
    assert (info.codec, info.profile, info.pix_fmt, info.bit_depth, info.chroma) == ("prores", "HQ", "yuv422p10le",
                                                                                     10, "4:2:2")
    reference = decode_all(path)
    assert len(reference) == info.frame_count == 10
    seq = io.find_sequence(path)
    for number, ref in zip(seq.frames, reference):
        frame = io.read_frame(seq.path(number))
        assert frame.format_name == "movie" and frame.bits_per_sample == 10 and frame.alpha is None
        assert frame.rgb.shape == (48, 64, 3) and frame.rgb.dtype == np.float32
        # exact to the standard's formula from the 10-bit codes: no 8-bit step on the way
        np.testing.assert_allclose(frame.rgb[:, 0::2], _even_column_reference(ref), atol=2e-6)
        assert np.any(plane_codes(ref, 0) % 4), "the clip should use codes an 8-bit path cannot hold"
        # and close to PyAV's own float conversion (which differs in chroma siting and rounding)
        diff = np.abs(np.clip(frame.rgb, 0, 1) - swscale_rgb(ref))
        assert diff.mean() < 0.01 and diff.max() < 0.05
        assert decode_timecode(frame.spec.getattribute("smpte:TimeCode")) == info.timecode_at(number)
        assert tuple(frame.spec.getattribute("FramesPerSecond")) == (25, 1)


@pytest.mark.parametrize("name", ["h264", "hevc"])
def test_long_gop_random_access_matches_a_full_sequential_decode(clips, name):
    path = clips[name]
    info = io.probe_movie(path)
    # the clip really has B-frames (decode order differs from display order) and an open GOP
    # (a keyframe followed in decode order by a picture shown before it)
    assert np.any(np.diff(info.decode_pts) < 0)
    keys = np.flatnonzero(info.decode_key)
    assert any(info.decode_pts[k + 1] < info.decode_pts[k] for k in keys[1:] if k + 1 < len(info.decode_pts))
    reference = [frame_to_rgb(f, matrix="bt709", full_range=False)[0] for f in decode_all(path)]
    assert len(reference) == info.frame_count
    assert all(not np.array_equal(a, b) for a, b in zip(reference, reference[1:])), "frames must differ"
    seq = io.find_sequence(path)
    order = list(seq.frames) * 2
    random.Random(7).shuffle(order)
    io.close_movie_readers()
    for number in [seq.frames[-2], *order, *reversed(seq.frames)]:
        got = io.read_frame(seq.path(number)).rgb
        assert np.array_equal(got, reference[number - seq.frames[0]]), f"frame {number} is not the right picture"


def test_dnxhr_mxf_and_prores_4444_alpha(tmp_path):
    dnx = encode_clip(tmp_path / "dnx.mxf", "dnxhd", "yuv422p10le", frames=4, size=(256, 144),
                      options={"profile": "dnxhr_hqx"}, container="mxf")
    info = io.probe_movie(dnx)
    assert (info.codec, info.bit_depth, info.chroma, info.intra_only) == ("dnxhd", 10, "4:2:2", True)
    for number, ref in zip(io.find_sequence(dnx).frames[::-1], decode_all(dnx)[::-1]):
        np.testing.assert_allclose(io.read_frame(io.find_sequence(dnx).path(number)).rgb[:, 0::2],
                                   _even_column_reference(ref), atol=2e-6)
    alpha = encode_clip(tmp_path / "alpha.mov", "prores_ks", "yuva444p10le", frames=3, options={"profile": "4"})
    info = io.probe_movie(alpha)
    assert info.has_alpha and info.profile == "4444"
    ref = decode_all(alpha)[1]
    frame = io.read_frame(io.find_sequence(alpha).path(1002))
    assert frame.alpha_channel == "A" and not frame.alpha_associated  # ProRes alpha is straight
    bits = ref.format.components[3].bits
    np.testing.assert_array_equal(frame.alpha, plane_codes(ref, 3) / np.float32(2 ** bits - 1))
    assert frame.alpha.min() == 0.0 and frame.alpha.max() == 1.0


@pytest.mark.parametrize("tags,pix_fmt", [
    ({"colorspace": 6, "color_range": 1}, "yuv420p"),   # BT.601 matrix, video range
    ({"colorspace": 1, "color_range": 2}, "yuv420p"),   # BT.709, full range
])
def test_the_streams_matrix_and_range_are_honoured(tmp_path, tags, pix_fmt):
    from av.video.reformatter import ColorRange, Colorspace, Interpolation

    path = tmp_path / "tagged.mp4"
    out = av.open(str(path), "w")
    video = out.add_stream("libx264", rate=25)
    video.width, video.height, video.pix_fmt = 64, 48, pix_fmt
    video.options = {"crf": "4", "x264-params": "log-level=none"}
    for key, value in tags.items():
        setattr(video.codec_context, key, value)
    space = Colorspace.ITU601 if tags["colorspace"] == 6 else Colorspace.ITU709
    rng = ColorRange.JPEG if tags["color_range"] == 2 else ColorRange.MPEG
    pictures = []
    for i in range(3):
        rgb = np.zeros((48, 64, 3), np.uint16)
        rgb[..., 0], rgb[..., 1], rgb[..., 2] = 52000, 20000 + 5000 * i, 9000  # saturated: matrices differ
        pictures.append(rgb / 65535.0)
        frame = av.VideoFrame.from_ndarray(rgb, format="rgb48le").reformat(
            format=pix_fmt, dst_colorspace=space, dst_color_range=rng, interpolation=Interpolation.ACCURATE_RND)
        frame.pts = i
        for p in video.encode(frame):
            out.mux(p)
    for p in video.encode(None):
        out.mux(p)
    out.close()
    info = io.probe_movie(path)
    assert info.colour["matrix"] == ("smpte170m" if tags["colorspace"] == 6 else "bt709")
    assert info.colour["range"] == ("pc" if tags["color_range"] == 2 else "tv")
    got = io.read_frame(io.find_sequence(path).path(1002)).rgb
    np.testing.assert_allclose(got.mean(axis=(0, 1)), pictures[1].mean(axis=(0, 1)), atol=0.01)
    # read with the other matrix or range the colour would be clearly off
    wrong = frame_to_rgb(decode_all(path)[1], matrix="bt709" if tags["colorspace"] == 6 else "smpte170m",
                         full_range=tags["color_range"] != 2)[0]
    assert np.abs(wrong.mean(axis=(0, 1)) - pictures[1].mean(axis=(0, 1))).max() > 0.03


def test_super_whites_survive_and_encoding_inverts_decoding():
    rgb = np.zeros((8, 16, 3), np.float32)
    rgb[..., 0] = np.linspace(-0.05, 1.08, 16)  # sub-black to super-white
    rgb[..., 1] = 0.5
    rgb[..., 2] = np.linspace(1.05, 0.0, 16)
    for pix_fmt in ("yuv422p10le", "yuv444p10le"):
        frame = rgb_to_frame(rgb, None, pix_fmt=pix_fmt, matrix="bt709")
        decoded, _ = frame_to_rgb(frame, matrix="bt709", full_range=False)
        assert decoded.max() > 1.03 and decoded.min() < -0.03, "values beyond black and white are kept"
        again = rgb_to_frame(decoded, None, pix_fmt=pix_fmt, matrix="bt709")
        for plane in range(3):
            np.testing.assert_array_equal(plane_codes(again, plane), plane_codes(frame, plane))
        assert plane_codes(frame, 0).max() <= 1019 and plane_codes(frame, 0).min() >= 4


# ------------------------------------------------------------------------------------------- info


def test_info_reports_container_codec_timecode_frames_and_audio(clips, tmp_path):
    result = cli("info", clips["prores"], "--json")
    assert result.exit_code == 0, result.output
    d = json.loads(result.output)
    assert d["format"] == "movie" and d["container"].startswith("QuickTime")
    assert (d["codec"], d["profile"], d["pixel_format"], d["bit_depth"], d["chroma"]) == (
        "prores", "HQ", "yuv422p10le", 10, "4:2:2")
    assert d["resolution"] == [64, 48] and d["frame_rate"] == "25" and d["timecode"] == "01:00:00:00"
    assert (d["first_frame"], d["last_frame"], d["frame_count"], d["frame_numbering"]) == (90000, 90009, 10, "timecode")
    assert d["duration_seconds"] == pytest.approx(0.4)
    assert d["colour"] == {"range": "tv", "matrix": "bt709", "primaries": "bt709", "transfer": "bt709"}
    assert d["colorspace_default"] == "Gamma 2.4 Encoded Rec.709"
    assert [(a["codec"], a["sample_rate"], a["channels"]) for a in d["audio"]] == [("pcm_s16le", 48000, 2)]
    text = cli("info", clips["h264"]).output
    assert "frames       1001-1012 (12 frames, numbered from 1001: no timecode; counted packet by packet)" in text
    assert "h264 High" in text and "8-bit 4:2:0" in text and "audio        none" in text
    # Matroska stores no frame count: it is counted, exactly
    mkv = encode_clip(tmp_path / "prores.mkv", "prores_ks", "yuv422p10le", frames=7, options={"profile": "3"})
    d = json.loads(cli("info", mkv, "--json").output)
    assert d["frame_count"] == 7 and d["frame_count_source"] == "counted"


# -------------------------------------------------------------------------------------- hostile files


def _audio_only(path: Path) -> Path:
    out = av.open(str(path), "w")
    sound = out.add_stream("pcm_s16le", rate=48000, layout="stereo")
    chunk = av.AudioFrame.from_ndarray(np.zeros((1, 2 * 4800), np.int16), format="s16", layout="stereo")
    chunk.sample_rate, chunk.pts = 48000, 0
    for p in [*sound.encode(chunk), *sound.encode(None)]:
        out.mux(p)
    out.close()
    return path


def _truncated(path: Path, fraction: float) -> Path:
    data = path.read_bytes()
    cut = path.with_name("cut_" + path.name)
    cut.write_bytes(data[: int(len(data) * fraction)])
    return cut


HOSTILE = {
    "truncated mov": (lambda d: _truncated(encode_clip(d / "a.mov", "prores_ks", "yuv422p10le", frames=6,
                                                       options={"profile": "3"}), 0.5), None,
                      "cannot read movie (truncated, or not a movie)"),
    "truncated streaming mp4": (lambda d: _truncated(encode_clip(d / "b.mp4", "libx264", "yuv420p", frames=12,
                                                                 faststart=True), 0.6), None,
                                "truncated: the container lists 12 frames"),
    "not a movie": (lambda d: (d / "c.mov").write_bytes(b"\0junk" * 300) and d / "c.mov", None,
                    "cannot read movie"),
    "no video stream": (lambda d: _audio_only(d / "d.mov"), None, "no video stream (streams: audio)"),
    "variable frame rate": (lambda d: encode_clip(d / "e.mp4", "libx264", "yuv420p", frames=8,
                                                  pts_steps=[0, 1, 2, 4, 5, 6, 8, 9]), None, "variable frame rate"),
    "unsupported codec": (lambda d: encode_clip(d / "f.mp4", "mpeg4", "yuv420p", frames=3), None,
                          "video codec mpeg4 (MPEG-4 part 2) is not supported"),
    "frames outside the clip": (lambda d: encode_clip(d / "g.mov", "prores_ks", "yuv422p10le", frames=3,
                                                      options={"profile": "3"}), "1-2",
                                "frames 1, 2 are outside the clip: it has frames 1001-1003"),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_movies_get_one_line_and_leave_nothing(tmp_path, case):
    make, frames, needle = HOSTILE[case]
    clip = make(tmp_path)
    out = tmp_path / "out"
    args = ["stylize", clip, out / "x.####.exr", "--style", "starry-blue"] + (["--frames", frames] if frames else [])
    result = cli(*args)
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("filmstyle: error: ") and clip.name in lines[0], result.output
    assert needle in lines[0] and "Traceback" not in result.output
    assert not out.exists(), "nothing may be written for a bad movie"
    if frames is None:
        info = cli("info", clip)
        assert info.exit_code == 1 and len(info.output.strip().splitlines()) == 1 and needle in info.output
