"""Movies through real renders (real weights): movie → EXR sequence, movie → ProRes movie with
timecode and audio, EXR → movie, resume/overwrite rules, a YAML job, the worker over HTTP, and the
real H.264 clip from ``shared/media``."""

from __future__ import annotations

import json
import os
from pathlib import Path

import av
import numpy as np
import OpenImageIO as oiio
import PyOpenColorIO as OCIO
import pytest
import yaml
from typer.testing import CliRunner

from filmstyle import io
from filmstyle.cli import app
from filmstyle.errors import RenderCancelled
from filmstyle.io._oiio import decode_timecode
from filmstyle.engine.sequence import render_sequence
from filmstyle.job.plan import build_plan
from filmstyle.job.source import load_job
from tests.core.movie_fixtures import audio_packets, decode_all, encode_clip, plane_codes
from filmstyle.io.targets import temp_path_for
from filmstyle.io.timecode import frame_to_timecode, smpte_packed
from tests.core.plates import make_plate_sequence, photo_linear
from tests.core.test_server import worker  # noqa: F401 - the real worker fixture

runner = CliRunner()
CLIP = Path(__file__).resolve().parents[3] / "shared" / "media" / "bigbuckbunny-720p-132f.mp4"


def cli(*args):
    return runner.invoke(app, [str(a) for a in args])


def exr(path: Path) -> tuple[np.ndarray, oiio.ImageSpec]:
    inp = oiio.ImageInput.open(str(path))
    assert inp is not None, oiio.geterror()
    spec = inp.spec().copy()
    pixels = np.asarray(inp.read_image(0, 0, 0, spec.nchannels, "float"), dtype=np.float32)
    inp.close()
    return pixels, spec


def stream_facts(path: Path) -> dict:
    with av.open(str(path)) as c:
        v = c.streams.video[0]
        return {"codec": v.codec_context.name, "profile": v.codec_context.profile, "pix_fmt": v.codec_context.pix_fmt,
                "timecode": v.metadata.get("timecode"), "frames": sum(1 for _ in c.decode(video=0)),
                "rate": v.average_rate}


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


@pytest.fixture(scope="module")
def prores(tmp_path_factory) -> Path:
    """10 frames of ProRes 422 HQ, timecode 01:00:00:00 (frames 90000-90009), stereo PCM audio."""
    return encode_clip(tmp_path_factory.mktemp("src") / "clip.mov", "prores_ks", "yuv422p10le", frames=10,
                       options={"profile": "3"}, timecode="01:00:00:00", audio="pcm_s16le")


def test_movie_to_exr_sequence_keeps_frames_timecode_and_colour(prores, tmp_path):
    out = tmp_path / "out"
    result = cli("stylize", prores, out / "clip.####.exr", "--style", "starry-blue", "--frames", "90001-90003")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["clip.90001.exr", "clip.90002.exr", "clip.90003.exr"]
    config = OCIO.Config.CreateFromFile("ocio://studio-config-latest")
    to_acescg = config.getProcessor("Gamma 2.4 Encoded Rec.709", "ACEScg").getDefaultCPUProcessor()
    for number, tc in [(90001, "01:00:00:01"), (90002, "01:00:00:02"), (90003, "01:00:00:03")]:
        pixels, spec = exr(out / f"clip.{number}.exr")
        assert decode_timecode(spec.getattribute("smpte:TimeCode")) == tc
        assert tuple(spec.getattribute("FramesPerSecond")) == (25, 1)
        assert spec.get_string_attribute("oiio:ColorSpace") in ("ACEScg", "lin_ap1_scene")
        source = io.read_frame(io.find_sequence(prores).path(number)).rgb.copy()
        to_acescg.applyRGB(source)
        assert np.abs(pixels - source).mean() > 0.02, "the frame was not stylized"
    # At strength 0 the EXR is the decoded frame, Rec.709 gamma 2.4 → ACEScg, at half precision.
    plain = tmp_path / "plain"
    assert cli("stylize", prores, plain / "clip.####.exr", "--style", "starry-blue", "--strength", "0",
               "--frames", "90005").exit_code == 0
    pixels, _ = exr(plain / "clip.90005.exr")
    source = io.read_frame(io.find_sequence(prores).path(90005)).rgb.copy()
    to_acescg.applyRGB(source)
    np.testing.assert_allclose(pixels, source, rtol=2e-3, atol=1e-4)


def test_movie_to_prores_keeps_codes_timecode_and_audio(prores, tmp_path):
    out = tmp_path / "same.mov"
    result = cli("stylize", prores, out, "--style", "starry-blue", "--strength", "0")
    assert result.exit_code == 0, result.output
    facts = stream_facts(out)
    assert facts == {"codec": "prores", "profile": "HQ", "pix_fmt": "yuv422p10le", "timecode": "01:00:00:00",
                     "frames": 10, "rate": 25}
    assert audio_packets(out) == audio_packets(prores) and len(audio_packets(prores)) > 0
    # An untouched picture reaches the encoder with the codes it was decoded with: the movie is what
    # PyAV gets by re-encoding the decoded source frames directly (ProRes itself is lossy).
    direct = tmp_path / "direct.mov"
    with av.open(str(direct), "w") as container:
        stream = container.add_stream("prores_ks", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv422p10le"
        stream.options = {"profile": "3", "vendor": "apl0"}
        for i, frame in enumerate(decode_all(prores)):
            frame.pts = i
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    for src, ours, ref in zip(decode_all(prores), decode_all(out), decode_all(direct)):
        for plane in range(3):
            np.testing.assert_array_equal(plane_codes(ours, plane), plane_codes(ref, plane))
            assert np.abs(plane_codes(ours, plane).astype(int) - plane_codes(src, plane)).max() <= 2
    direct.unlink()
    assert leftovers(tmp_path) == []

    # A stylized range: the timecode of its first frame, its frames, the audio packets inside it.
    part = tmp_path / "part.mov"
    result = cli("stylize", prores, part, "--style", "starry-blue", "--strength", "0.8", "--frames", "90003-90006")
    assert result.exit_code == 0, result.output
    facts = stream_facts(part)
    assert (facts["timecode"], facts["frames"], facts["profile"]) == ("01:00:00:03", 4, "HQ")
    assert io.find_sequence(part).frames == (90003, 90004, 90005, 90006)
    per_frame = 48000 // 25
    inside = [(pts - 3 * per_frame, dur, data) for pts, dur, data in audio_packets(prores)
              if 3 * per_frame <= pts < 7 * per_frame]
    assert audio_packets(part) == inside and inside
    src = decode_all(prores)[3]
    assert np.abs(plane_codes(decode_all(part)[0], 0).astype(int) - plane_codes(src, 0)).mean() > 10


def test_temporal_render_from_a_movie_resumes_from_disk(prores, tmp_path):
    """The render loop's resume reads the previous frame back from the movie (by frame number)."""
    out = tmp_path / "o.####.exr"
    args = ("stylize", prores, out, "--style", "starry-blue", "--temporal", "0.8", "--frames", "90000-90003")
    assert cli(*args).exit_code == 0
    full = {n: io.read_frame(tmp_path / f"o.{n}.exr").rgb.copy() for n in (90002, 90003)}
    for n in full:
        (tmp_path / f"o.{n}.exr").unlink()
    result = cli(*args)
    assert result.exit_code == 0 and "2 written, 2 skipped" in result.output, result.output
    for n, before in full.items():
        assert np.abs(io.read_frame(tmp_path / f"o.{n}.exr").rgb - before).max() < 1e-3, n
    fresh = tmp_path / "p.####.exr"
    assert cli("stylize", prores, fresh, "--style", "starry-blue", "--frames", "90002").exit_code == 0
    assert np.abs(io.read_frame(tmp_path / "p.90002.exr").rgb - full[90002]).max() > 1e-2


def test_movie_output_refusals_overwrite_and_cancel(prores, tmp_path):
    out = tmp_path / "styled.mov"
    out.write_bytes(b"an earlier render")
    result = cli("stylize", prores, out, "--style", "starry-blue", "--frames", "90000-90001")
    assert result.exit_code == 1 and "cannot be resumed frame by frame; pass --overwrite" in result.output
    assert len(result.output.strip().splitlines()) == 1 and out.read_bytes() == b"an earlier render"
    result = cli("stylize", prores, out, "--style", "starry-blue", "--frames", "90000-90001", "--overwrite",
                 "--compression", "4444")
    assert result.exit_code == 0, result.output
    assert stream_facts(out)["profile"] == "4444" and stream_facts(out)["frames"] == 2
    refusals = [
        (["--frames", "90000,90002"], tmp_path / "gaps.mov", "a movie needs consecutive frames"),
        ([], tmp_path / "wrong.mp4", "movies are written as ProRes in a QuickTime .mov"),
        (["--compression", "dwaa"], tmp_path / "codec.mov", "unknown movie codec 'dwaa', valid: 422hq, 4444"),
        (["--bit-depth", "half"], tmp_path / "depth.mov", "movie output is 10-bit ProRes"),
        ([], prores, "is a source frame"),
    ]
    for extra, target, needle in refusals:
        result = cli("stylize", prores, target, "--style", "starry-blue", *extra)
        assert result.exit_code == 1 and needle in result.output, (needle, result.output)
        assert len(result.output.strip().splitlines()) == 1 and "Traceback" not in result.output
        assert target == prores or not target.exists()
    # Cancelled (or failed) half way: nothing of the new movie is left, the old one is untouched.
    before = out.read_bytes()
    job = {"filmstyle": 1, "input": str(prores), "output": str(out), "styles": ["starry-blue"], "overwrite": True}
    (tmp_path / "job.yaml").write_text(yaml.safe_dump(job))
    plan = build_plan(load_job(tmp_path / "job.yaml"))
    calls = []
    with pytest.raises(RenderCancelled, match="the unfinished movie is discarded"):
        render_sequence(plan, should_stop=lambda: calls.append(1) or len(calls) > 3)
    assert out.read_bytes() == before and leftovers(tmp_path) == []
    # A temp file a killed render left (its process is gone) is removed by the next render of the movie.
    stale = temp_path_for(out)
    stale = stale.with_name(stale.name.replace(f"-{os.getpid()}-", "-4194000-"))
    stale.write_bytes(b"half a movie")
    assert cli("stylize", prores, out, "--style", "starry-blue", "--frames", "90000", "--overwrite").exit_code == 0
    assert leftovers(tmp_path) == [] and stream_facts(out)["frames"] == 1


def _exr_frames(folder: Path, frames, timecode: int, rate=(25, 1)) -> str:
    """RGBA half EXRs (premultiplied) with a timecode (frame count at 25 fps) and a frame rate."""
    folder.mkdir(parents=True, exist_ok=True)
    rgb = photo_linear(64, 48)
    for i, number in enumerate(frames):
        spec = oiio.ImageSpec(64, 48, 4, "half")
        spec.channelnames = ("R", "G", "B", "A")
        spec.alpha_channel = 3
        spec.attribute("smpte:TimeCode", oiio.TypeTimeCode, smpte_packed(frame_to_timecode(timecode + i, 25)))
        spec.attribute("FramesPerSecond", oiio.TypeRational, rate)
        alpha = np.tile(np.linspace(0.0, 1.0, 64, dtype=np.float32), (48, 1))
        pixels = np.dstack([rgb * alpha[..., None], alpha])
        out = oiio.ImageOutput.create(str(folder / f"plate.{number}.exr"))
        out.open(str(folder / f"plate.{number}.exr"), spec)
        out.write_image(pixels)
        out.close()
    return str(folder / "plate.####.exr")


def test_exr_sequence_to_movie_takes_timecode_rate_and_alpha(tmp_path):
    pattern = _exr_frames(tmp_path / "plates", (1001, 1002, 1003), timecode=90010)
    out = tmp_path / "plates.mov"
    result = cli("stylize", pattern, out, "--style", "starry-blue")
    assert result.exit_code == 0, result.output
    info = io.probe_movie(out)
    # alpha: ProRes 4444 (straight alpha, so the colour is un-premultiplied), the first frame's
    # timecode and the header's rate
    assert (info.profile, info.has_alpha, info.frame_count, info.rate) == ("4444", True, 3, 25)
    assert info.timecode == "01:00:00:10" and io.find_sequence(out).frames == (90010, 90011, 90012)
    frame = io.read_frame(io.find_sequence(out).path(90010))
    plate, _ = exr(tmp_path / "plates" / "plate.1001.exr")
    np.testing.assert_allclose(frame.alpha, plate[..., 3], atol=1.5 / 1023)
    # Forced to 422 HQ the alpha is dropped and the colour stays premultiplied (the picture over black).
    over_black = tmp_path / "over_black.mov"
    assert cli("stylize", pattern, over_black, "--style", "starry-blue", "--compression", "422hq").exit_code == 0
    info = io.probe_movie(over_black)
    assert (info.profile, info.has_alpha) == ("HQ", False)
    flat = io.read_frame(io.find_sequence(over_black).path(90010)).rgb
    over = frame.rgb * frame.alpha[..., None]
    luma = np.array([0.2126, 0.7152, 0.0722], np.float32)  # full resolution in both; chroma is 4:2:2 in HQ
    # where the straight colour fits the 10-bit video range (dividing by a small alpha can exceed it)
    fits = np.all((frame.rgb > -0.06) & (frame.rgb < 1.08), axis=-1)
    assert fits.mean() > 0.8
    diff = np.abs((flat @ luma)[fits] - (over @ luma)[fits])  # ProRes noise on fine stylized texture
    assert diff.mean() < 0.01 and np.percentile(diff, 99) < 0.04, (diff.mean(), diff.max())
    # Headers without a frame rate or with a timecode that is not valid at the rate: 24 fps, no timecode.
    odd = make_plate_sequence(tmp_path / "odd", (1001, 1002), width=64, height=48)
    assert cli("stylize", odd, tmp_path / "odd.mov", "--style", "starry-blue", "--strength", "0").exit_code == 0
    info = io.probe_movie(tmp_path / "odd.mov")
    assert (info.rate, info.timecode, info.frame_count) == (24, None, 2)


def test_yaml_job_renders_a_movie(prores, tmp_path):
    job = {"filmstyle": 1, "input": str(prores), "output": "render/clip.####.exr", "frames": "90008-90009",
           "styles": [{"style": "starry-blue", "weight": 1.0}], "strength": 0.7}
    path = tmp_path / "job.yaml"
    path.write_text(yaml.safe_dump(job))
    result = cli("validate", path)
    assert result.exit_code == 0 and "90008" in result.output, result.output
    result = cli("render", path)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "render").iterdir()) == ["clip.90008.exr", "clip.90009.exr"]


def test_worker_renders_a_movie_job(worker, prores):  # noqa: F811 - the fixture imported above
    allowed = worker["allowed"] / "movie"
    allowed.mkdir()
    clip = allowed / "clip.mov"
    clip.write_bytes(prores.read_bytes())
    client = worker["client"]
    frames_job = {"filmstyle": 1, "input": str(clip), "output": str(allowed / "out.####.exr"),
                  "frames": "90004-90005", "styles": [{"style": "starry-blue", "weight": 1.0}], "strength": 0.8}
    movie_job = dict(frames_job, output=str(allowed / "out.mov"), frames="90000-90002")
    first, second = client.submit(frames_job), client.submit(movie_job)
    assert client.wait(first["id"], timeout=120)["state"] == "done"
    assert [f["frame"] for f in client.result(first["id"])["frames"]] == [90004, 90005]
    final = client.wait(second["id"], timeout=120)
    assert final["state"] == "done", final
    assert stream_facts(allowed / "out.mov")["frames"] == 3
    assert io.probe_movie(allowed / "out.mov").timecode == "01:00:00:00"
    bad = dict(frames_job, frames="1-2")
    with pytest.raises(Exception) as err:
        client.submit(bad)
    assert getattr(err.value, "status", None) == 422 and "outside the clip" in str(err.value)


# --------------------------------------------------------------------------------- the real clip


@pytest.fixture(scope="module")
def real_clip():
    if not CLIP.is_file():
        pytest.skip(f"real footage {CLIP.name} not found beside the repository (shared/media)")
    return CLIP


def _with_timecode(clip: Path, target: Path, timecode: str) -> Path:
    """The clip remuxed (every packet copied, nothing re-encoded) with a start timecode."""
    with av.open(str(clip)) as src, av.open(str(target), "w") as dst:
        streams = {}
        for s in src.streams:
            if s.type in ("video", "audio"):
                streams[s.index] = dst.add_stream_from_template(s)
        streams[src.streams.video[0].index].metadata["timecode"] = timecode
        for packet in src.demux():
            if packet.size and packet.stream.index in streams:
                packet.stream = streams[packet.stream.index]
                dst.mux(packet)
    return target


def test_real_h264_clip_frames_and_timecode_kept(real_clip, tmp_path):
    d = json.loads(cli("info", real_clip, "--json").output)
    assert (d["codec"], d["resolution"], d["frame_rate"], d["frame_count"]) == ("h264", [1280, 720], "25", 132)
    assert (d["first_frame"], d["last_frame"], d["timecode"]) == (1001, 1132, None)
    out = tmp_path / "exr"
    result = cli("stylize", real_clip, out / "bbb.####.exr", "--style", "starry-blue", "--frames", "1064-1066",
                 "--stroke-scale", "6")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["bbb.1064.exr", "bbb.1065.exr", "bbb.1066.exr"]
    pixels, spec = exr(out / "bbb.1065.exr")
    assert pixels.shape == (720, 1280, 3) and spec.getattribute("smpte:TimeCode") is None

    # With a start timecode (same packets): frames are numbered from it and every output keeps it.
    timed = _with_timecode(real_clip, tmp_path / "bbb_tc.mp4", "10:00:00:00")
    info = io.probe_movie(timed)
    assert (info.first_frame, info.frame_count, info.last_frame) == (900000, 132, 900131)
    result = cli("stylize", timed, out / "tc.####.exr", "--style", "starry-blue", "--frames", "900100-900102",
                 "--stroke-scale", "6")
    assert result.exit_code == 0, result.output
    for number in (900100, 900101, 900102):
        _, spec = exr(out / f"tc.{number}.exr")
        assert decode_timecode(spec.getattribute("smpte:TimeCode")) == f"10:00:04:{number - 900100:02d}"
    movie = tmp_path / "bbb_tc.mov"
    result = cli("stylize", timed, movie, "--style", "starry-blue", "--frames", "900100-900102", "--strength", "0")
    assert result.exit_code == 0, result.output
    d = json.loads(cli("info", movie, "--json").output)
    assert (d["codec"], d["profile"], d["timecode"], d["frame_count"], d["first_frame"]) == (
        "prores", "HQ", "10:00:04:00", 3, 900100)
    assert d["audio"][0]["codec"] == "aac" and d["audio"][0]["channels"] == 6
