"""Looks a colorist can grade with: tone, highlights that follow the plate, cut-aware metrics,
painted keyframes and stroke-scale enlargement.

Footage: an excerpt of *Big Buck Bunny* (c) 2008 Blender Foundation, www.bigbuckbunny.org,
CC BY 3.0, decoded small and written as scene-linear EXR plates. Frames stay tiny (160x90) so the
whole file runs in well under a minute of CPU; the full-size measurements are `filmstyle metrics`
runs reported in the README.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from filmstyle import io
from filmstyle.color import shaper
from filmstyle.engine.keyframes import composite
from filmstyle.engine.temporal import CutDetector
from filmstyle.engine.tone import keep_highlights, keep_tone, luminance
from filmstyle.engine.upscale import detail_gain, remove_grid_pattern
from filmstyle.errors import FilmStyleError, JobError
from filmstyle.job import load_job
from filmstyle.job.options import job_from_options, plan_from_cli
from filmstyle.tools.metrics import evaluate_sequence
from filmstyle.tools.report import write_report
from tests.core.plates import photo_linear
from tests.core.test_shot_quality import CLIP, STYLE, cli, decode, frames_of, write_exr, write_shot

needs_clip = pytest.mark.skipif(not CLIP.is_file(), reason=f"real footage {CLIP.name} not found beside the repository")


def levels(linear: np.ndarray) -> np.ndarray:
    """5/50/95 % luminance levels in log2 stops."""
    return np.log2(np.maximum(np.percentile(luminance(linear), [5, 50, 95]), 2.0 ** -16))


@pytest.fixture(scope="module")
def dark_shot(tmp_path_factory) -> str:
    """Four frames of the clip graded 2.5 stops down: a low-key shot."""
    if not CLIP.is_file():
        pytest.skip(f"real footage {CLIP.name} not found beside the repository")
    frames = [f * np.float32(2 ** -2.5) for f in decode(40, 4)]
    return write_shot(tmp_path_factory.mktemp("dark"), frames)


def read(pattern: str, n: int) -> np.ndarray:
    return io.read_frame(Path(pattern.replace("####", f"{n:04d}"))).rgb


# ------------------------------------------------------------------------------------------------ tone


def test_keep_tone_sends_the_levels_to_the_plates_and_keeps_the_palette():
    plate = photo_linear(96, 64) * np.float32(0.1)  # low key
    look = np.clip(photo_linear(96, 64)[::-1] * np.float32([1.4, 0.9, 0.5]) * 3, 0, 4)  # bright, warm
    out = shaper.decode(keep_tone(shaper.encode(plate), shaper.encode(look), 1.0,
                                  decode=shaper.decode, encode=shaper.encode))
    np.testing.assert_allclose(levels(out), levels(plate), atol=0.02)
    # Per-pixel exposure: chromaticity (the look's palette) unchanged.
    ratio = lambda rgb: rgb / np.maximum(rgb.sum(-1, keepdims=True), 1e-6)  # noqa: E731
    keep = luminance(look) > 1e-3
    assert np.abs(ratio(out)[keep] - ratio(look)[keep]).max() < 1e-3
    # Half the amount is half the way, in stops.
    half = shaper.decode(keep_tone(shaper.encode(plate), shaper.encode(look), 0.5,
                                   decode=shaper.decode, encode=shaper.encode))
    np.testing.assert_allclose(levels(half), (levels(plate) + levels(look)) / 2, atol=0.1)
    same = keep_tone(shaper.encode(plate), shaper.encode(look), 0.0, decode=shaper.decode, encode=shaper.encode)
    np.testing.assert_array_equal(same, shaper.encode(look))


def test_plate_highlights_keep_their_scene_values_under_the_look():
    plate = photo_linear(96, 64).copy()
    plate[20:30, 40:60] = 25.0  # a lamp
    look = np.clip(photo_linear(96, 64)[:, ::-1] * 1.5, 0, 1)
    kept = keep_highlights(shaper.encode(plate), shaper.encode(look), decode=shaper.decode, encode=shaper.encode)
    np.testing.assert_allclose(shaper.decode(kept)[20:30, 40:60], 25.0, rtol=1e-3)
    below = luminance(plate) < 1.0
    np.testing.assert_array_equal(kept[below], shaper.encode(look)[below])


@needs_clip
def test_tone_in_a_render_keeps_a_low_key_shot_low_key(dark_shot, tmp_path):
    plain, toned = str(tmp_path / "p" / "o.####.exr"), str(tmp_path / "t" / "o.####.exr")
    cli("stylize", dark_shot, plain, "--style", STYLE, "--frames", "1-2")
    cli("stylize", dark_shot, toned, "--style", STYLE, "--frames", "1-2", "--tone", "1")
    for n in (1, 2):
        src = levels(read(dark_shot, n))
        assert np.abs(levels(read(plain, n)) - src).max() > 1.0  # the look alone brightens it by stops
        np.testing.assert_allclose(levels(read(toned, n)), src, atol=0.05)
    # tone 0 is off: the same pixels as without it.
    off = str(tmp_path / "z" / "o.####.exr")
    cli("stylize", dark_shot, off, "--style", STYLE, "--frames", "1", "--tone", "0")
    np.testing.assert_array_equal(read(off, 1), read(plain, 1))


def test_tone_measures_light_in_a_forced_log_working_space_through_the_config():
    from filmstyle import color
    from filmstyle.engine.look_render import working_codec

    config = color.load_config(None)
    decode, encode = working_codec(color.ColorTransform(config, "ACEScg", "ACEScct"))
    grey = np.full((1, 1, 3), 0.18, np.float32)
    # ACEScct codes are not sRGB codes: mid grey is code 0.414, which the sRGB curve reads as 0.143.
    assert encode(grey)[0, 0, 0] == pytest.approx(0.4136, abs=1e-3)
    np.testing.assert_allclose(decode(encode(grey)), grey, rtol=1e-4)
    from filmstyle.engine.color_match import srgb_decode

    assert working_codec(color.ColorTransform(config, "sRGB - Texture", None))[0] is srgb_decode


def test_tone_is_one_table_entry_everywhere(tmp_path):
    job = job_from_options(style=STYLE, input="a.####.exr", output="b.####.exr", tone="1001:0, 1040:1")
    assert job.compiled.params["tone"](1020) == pytest.approx(0.4872, abs=1e-3)
    assert job_from_options(style=STYLE, input="a.exr", output="b.exr").compiled.params["tone"] is None
    schema = json.loads((Path(__file__).parents[2] / "plugin" / "filmstyle_plugin" / "schema.json").read_text())
    assert "tone" in json.dumps(schema)
    with pytest.raises(JobError, match="tone"):
        job_from_options(style=STYLE, input="a.exr", output="b.exr", tone=1.5)


# ------------------------------------------------------------------------------------------ highlights


def test_roll_off_is_the_identity_below_the_shoulder_and_lands_on_the_ceiling():
    codes = np.linspace(0.0, 1.0, 1001, dtype=np.float32)
    out = shaper.roll_off(codes, shaper.WHITE_CODE)
    knee = codes <= shaper.encode(np.array(shaper.SHOULDER_START))
    np.testing.assert_array_equal(out[knee], codes[knee])
    assert np.all(np.diff(out) >= 0) and out[-1] == pytest.approx(shaper.WHITE_CODE, abs=1e-6)
    assert shaper.stylized_ceiling(shaper.encode(np.full((4, 4, 3), 0.2, np.float32))) == shaper.WHITE_CODE
    assert shaper.stylized_ceiling(shaper.encode(np.full((4, 4, 3), 40.0, np.float32))) == pytest.approx(
        float(shaper.encode(np.array(40.0))))


@needs_clip
@pytest.mark.parametrize("extra", [[], ["--preserve-color", "1"]])
def test_a_display_referred_frame_read_as_linear_gets_no_invented_highlights(tmp_path, extra):
    # Video decoded to linear: every value in 0..1, read as Linear Rec.709.
    shot = write_shot(tmp_path / "v", decode(40, 1))
    out = str(tmp_path / "o" / "o.####.exr")
    cli("stylize", shot, out, "--style", STYLE, "--input-colorspace", "lin_rec709",
        "--frames", "1", *extra)
    rgb = read(out, 1)
    assert rgb.max() <= 1.0 + 1e-3, rgb.max()


def test_an_hdr_plate_keeps_its_highlights_and_the_look_stays_under_them(tmp_path):
    plate = photo_linear(96, 64).copy()
    plate[10:20, 10:30] = 40.0
    write_exr(tmp_path / "hdr.0001.exr", plate)
    out = tmp_path / "o.####.exr"
    for strength in ("0.5", "1"):
        cli("stylize", tmp_path / "hdr.####.exr", out, "--style", STYLE, "--strength", strength, "--overwrite")
        rgb = read(str(out), 1)
        assert rgb.max() <= 40.0 * 1.001
        np.testing.assert_allclose(luminance(rgb[12:18, 12:28]), 40.0, rtol=0.02)  # kept, not repainted
        assert np.abs(rgb - plate)[30:].mean() > 0.02  # the rest is stylized


# --------------------------------------------------------------------------------------------- metrics


@needs_clip
def test_metrics_find_the_cut_skip_pairs_across_it_and_mark_it(tmp_path):
    clip = decode(40, 5)
    photo = photo_linear(160 + 20, 90)
    other = [np.ascontiguousarray(photo[:, 4 * k: 4 * k + 160]) for k in range(5)]  # an unrelated pan: a cut
    src = [np.clip(shaper.encode(f), 0, 1) for f in clip + other]
    out = [np.clip(s * 0.9 + 0.05, 0, 1) for s in src]
    report = evaluate_sequence(src, out, flow_size=None, long_gap=3, decode=shaper.decode)
    assert report.cuts == [5]
    assert report.frames[5].warp_error is None and report.frames[5].warp_error_long is None
    assert report.frames[7].warp_error_long is None and report.frames[8].warp_error_long is not None
    shots = report.shots()
    assert [(s["first"], s["last"]) for s in shots] == [(0, 4), (5, 9)]
    # Floors measured within shots only: the cut no longer dominates the source's figure.
    assert report.summary()["source_warp_error"] < 0.01
    paths = write_report(report, tmp_path / "r", source_frames=src, output_frames=out)
    page = paths["html"].read_text()
    assert "Cuts" in page and "before frames: 5" in page
    data = json.loads(paths["json"].read_text())
    assert data["cuts"] == [5] and len(data["shots"]) == 2 and data["summary"]["warp_error_long"] is not None


def test_metrics_command_reads_frames_as_it_goes_and_refuses_bad_options_first(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from filmstyle import io as fio
    from filmstyle.cli import app

    frames = [np.ascontiguousarray(photo_linear(96 + 24, 64)[:, 2 * k: 2 * k + 96]) for k in range(12)]
    shot = write_shot(tmp_path / "p", frames)
    out = write_shot(tmp_path / "o", [f * np.float32(0.8) for f in frames])
    runner = CliRunner()
    for option, value, needle in (("--flow-size", "-5", "--flow-size: expected 0 (full size) or 16..8192"),
                                  ("--cut-threshold", "3", "--cut-threshold: expected a number in (0, 2]")):
        # refused before the (missing) sequences are looked at
        result = runner.invoke(app, ["metrics", str(tmp_path / "absent.####.exr"), out, option, value])
        assert result.exit_code != 0 and needle in result.output and len(result.output.strip().splitlines()) == 1
    reads = []
    real_read = fio.read_frame
    monkeypatch.setattr(fio, "read_frame", lambda path, *a, **k: reads.append(path) or real_read(path, *a, **k))
    alive = []
    real_eval = evaluate_sequence

    def watching(src, res, *a, **k):
        def counted(frames):
            for i, frame in enumerate(frames):
                alive.append(len(reads))  # reads so far when frame i is handed over
                yield frame
        return real_eval(counted(src), res, *a, **k)

    monkeypatch.setattr("filmstyle.tools.metrics.evaluate_sequence", watching)
    result = runner.invoke(app, ["metrics", shot, out, "--out", str(tmp_path / "r"), "--flow-size", "0"])
    assert result.exit_code == 0, result.output
    # Frame i is read when the measurement reaches it, not all 24 files up front.
    assert alive[0] <= 3 and alive[5] <= 3 + 2 * 5
    assert json.loads((tmp_path / "r" / "metrics.json").read_text())["summary"]["warp_error"] is not None


def test_cut_detector_is_the_renders_rule():
    det = CutDetector(0.35)
    grey = np.full((32, 32, 3), 0.4, np.float32)
    assert det.step(grey) == (True, 0.0)
    assert det.step(grey)[0] is False
    cut, distance = det.step(np.full((32, 32, 3), 0.9, np.float32))
    assert cut and distance == pytest.approx(2.0)


# ------------------------------------------------------------------------------------------- keyframes


def painted(rgb: np.ndarray) -> np.ndarray:
    """A hand-made look on a linear frame: OpenCV's edge-preserving stylization."""
    disp = (np.clip(rgb, 0, 1) ** (1 / 2.2) * 255).astype(np.uint8)
    return (cv2.stylization(disp, sigma_s=30, sigma_r=0.4).astype(np.float32) / 255) ** 2.2


@pytest.fixture(scope="module")
def keyed(tmp_path_factory):
    if not CLIP.is_file():
        pytest.skip(f"real footage {CLIP.name} not found beside the repository")
    root = tmp_path_factory.mktemp("keys")
    shot = write_shot(root / "plate", decode(40, 6))
    key = root / "paint.0003.exr"
    write_exr(key, painted(read(shot, 3)).astype(np.float32))
    out = str(root / "o" / "o.####.exr")
    cli("stylize", shot, out, "--keyframe", f"3={key}")
    return shot, key, out


def test_a_keyframe_frame_is_the_keyframe_bit_for_bit(keyed):
    shot, key, out = keyed
    np.testing.assert_array_equal(read(out, 3), io.read_frame(key).rgb)


def test_frames_near_a_keyframe_follow_it_along_the_motion(keyed, tmp_path):
    shot, key, out = keyed
    # Against stylizing every frame with the keyframe as the style image.
    per_frame = str(tmp_path / "s" / "o.####.exr")
    cli("stylize", shot, per_frame, "--style", key)
    src = frames_of(shot, range(1, 7))
    kf = frames_of(out, range(1, 7))
    pf = frames_of(per_frame, range(1, 7))
    from filmstyle.engine.temporal import dis_flow, warp

    for n in (2, 4):  # one before, one after the keyframe
        flow = dis_flow(src[n - 1], src[2], flow_size=None)
        target = warp(frames_of(str(key).replace("0003", "####"), (3,))[0], flow)
        assert np.abs(kf[n - 1] - target).mean() < 0.6 * np.abs(pf[n - 1] - target).mean()


def test_keyframe_errors_are_one_line(tmp_path):
    write_exr(tmp_path / "p.0001.exr", photo_linear(32, 16))
    write_exr(tmp_path / "small.exr", photo_linear(16, 8))
    with pytest.raises(FilmStyleError, match=r"keyframes\[1\].*not found"):
        plan_from_cli(input=str(tmp_path / "p.####.exr"), output=str(tmp_path / "o.####.exr"),
                      keyframes=["1=missing.exr"])
    with pytest.raises(FilmStyleError, match="no frame 7"):
        plan_from_cli(input=str(tmp_path / "p.####.exr"), output=str(tmp_path / "o.####.exr"),
                      keyframes=[f"7={tmp_path / 'small.exr'}"])
    with pytest.raises(JobError, match="FRAME=FILE"):
        job_from_options(input="a.exr", output="b.exr", keyframes=["paint.exr"])
    job = tmp_path / "job.yaml"
    job.write_text("filmstyle: 2\ninput: p.####.exr\noutput: o.####.exr\nkeyframes: {1: small.exr}\n"
                   "regions:\n  - mask: {ellipse: {center: [8, 8], radius: [4, 4]}}\n    styles: [starry-blue]\n")
    with pytest.raises(JobError, match=r"keyframes \(line 4\): .*whole-frame"):
        load_job(job)
    # Refused from the headers, before a frame is rendered (not when the render reaches it).
    with pytest.raises(FilmStyleError, match=r"keyframes\[1\]: small.exr is 16x8, the plate is 32x16"):
        plan_from_cli(input=str(tmp_path / "p.####.exr"), output=str(tmp_path / "o.####.exr"),
                      keyframes=[f"1={tmp_path / 'small.exr'}"])
    assert not (tmp_path / "o.0001.exr").exists()


def test_a_keyframe_with_nan_is_refused_before_any_frame_or_cleaned_with_clean_nans(tmp_path):
    from tests.core.hostile import cli as run, one_line

    for n in (1, 2, 3):
        write_exr(tmp_path / f"p.{n:04d}.exr", photo_linear(32, 16))
    write_exr(tmp_path / "clean.exr", photo_linear(32, 16))
    nan = photo_linear(32, 16).copy()
    nan[2, 3], nan[5, 6] = np.nan, np.inf
    write_exr(tmp_path / "nan.exr", nan)
    keys = ["--keyframe", f"1={tmp_path / 'clean.exr'}", "--keyframe", f"3={tmp_path / 'nan.exr'}"]
    for style in ([], ["--style", STYLE]):  # the keyframes as the style, or a style of its own
        out = tmp_path / "o" / "o.####.exr"
        # Frame 1 needs only its own keyframe: refused before it is written, not at frame 2.
        one_line(run("stylize", tmp_path / "p.####.exr", out, *keys, *style), "keyframes[3]", "nan.exr", "NaN/Inf",
                 "--clean-nans")
        assert not out.parent.exists()
        cli("stylize", tmp_path / "p.####.exr", out, *keys, *style, "--clean-nans")
        assert all(np.isfinite(io.read_frame(out.parent / f"o.{n:04d}.exr").rgb).all() for n in (1, 2, 3))
        shutil.rmtree(out.parent)


def test_keyframes_round_trip_through_the_job_format(tmp_path):
    job = job_from_options(input="a.####.exr", output="b.####.exr", style=STYLE,
                           keyframes=["1040=paint.1040.exr", "1001=paint.1001.exr"])
    assert job.keyframes == ((1001, "paint.1001.exr"), (1040, "paint.1040.exr"))
    assert job.to_data()["keyframes"] == {1001: "paint.1001.exr", 1040: "paint.1040.exr"}


def test_composite_mixes_by_weight_where_valid_and_fills_the_rest():
    fill = np.zeros((2, 2, 3), np.float32)
    a, b = np.full((2, 2, 3), 1.0, np.float32), np.full((2, 2, 3), 3.0, np.float32)
    va = np.array([[1, 1], [0, 0]], np.float32)
    vb = np.array([[1, 0], [1, 0]], np.float32)
    out = composite(fill, [(0.75, a, va), (0.25, b, vb)])
    np.testing.assert_allclose(out[..., 0], [[1.5, 1.0], [3.0, 0.0]])


def panning_plates(count: int, cut_at: int | None = None) -> dict[int, np.ndarray]:
    """Working-space frames 1..count of a slow pan over the photograph; a new picture from ``cut_at``."""
    photo = np.clip(photo_linear(96 + 4 * count, 64), 0, 1) ** np.float32(1 / 2.2)
    other = np.ascontiguousarray(1.0 - photo[::-1, ::-1])
    return {n: np.ascontiguousarray((other if cut_at is not None and n >= cut_at else photo)[:, 4 * n: 4 * n + 96])
            for n in range(1, count + 1)}


def test_a_keyframe_track_is_carried_once_per_frame_and_stops_for_good_at_a_cut(monkeypatch):
    from filmstyle.engine import keyframes

    plates = panning_plates(12, cut_at=5)
    steps = []
    real_carry = keyframes.carry
    monkeypatch.setattr(keyframes, "carry", lambda *a: steps.append(1) or real_carry(*a))
    tracks = keyframes.KeyframeTracks((1,), plates.get, cut_threshold=0.35)
    reached = [n for n in range(2, 13) if tracks.forward(1, n) is not None]
    assert reached == [2, 3, 4]
    # Each frame's track continues the last one: 3 carries up to the cut, none past it (asking
    # for every later frame used to recompute the track from the keyframe each time).
    assert len(steps) == 3
    tracks.close()


def test_backward_tracks_keep_only_the_renders_frames_and_go_with_the_render(tmp_path, monkeypatch):
    from filmstyle.engine.keyframes import KeyframeTracks

    plates = panning_plates(8)
    tracks = KeyframeTracks((8,), plates.get, cut_threshold=0.35, wanted=frozenset({1, 2}))
    assert tracks.backward(8, 2, first=1) is not None
    assert sorted(tracks._backward) == [1, 2]  # 3..7 carried through, not kept on disk
    folder = Path(tracks._dir.name)
    tracks.close()
    assert not folder.exists() and tracks.backward(8, 1, first=1) is not None  # rebuilt when asked again
    tracks.close()
    # A render removes its keyframe tracks when it ends.
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    frames = [photo_linear(96, 64)[:, :96]] * 3
    shot = write_shot(tmp_path / "p", frames)
    write_exr(tmp_path / "paint.exr", painted(frames[2]))
    cli("stylize", shot, str(tmp_path / "o" / "o.####.exr"), "--keyframe", f"3={tmp_path / 'paint.exr'}")
    assert not [p for p in (tmp_path / "tmp").iterdir() if p.name.startswith("filmstyle-keyframes-")]


# ----------------------------------------------------------------------------------------- stroke scale


def test_grid_pattern_is_removed_and_the_picture_kept():
    photo = np.ascontiguousarray(np.clip(photo_linear(64, 48), 0, 1) ** (1 / 2.2), dtype=np.float32)
    photo = cv2.resize(photo, (128, 96), interpolation=cv2.INTER_LINEAR)  # as smooth as a network result
    yy, xx = np.mgrid[0:96, 0:128]
    grid = (0.04 * np.cos(np.pi * xx / 2) * np.cos(np.pi * yy / 2)).astype(np.float32)[..., None]
    inner = (slice(8, -8), slice(8, -8))
    # The filter is linear: the pattern goes entirely, whatever the picture.
    assert np.abs(remove_grid_pattern(photo + grid) - remove_grid_pattern(photo))[inner].mean() < 1e-3
    assert np.abs(remove_grid_pattern(photo) - photo)[inner].mean() < 0.3 * np.abs(grid).mean()


def test_detail_gain_follows_the_look_and_drops_where_it_inverted_an_edge():
    plate = np.zeros((32, 32), np.float32)
    plate[:, 16:] = 1.0
    edge = (slice(None), slice(15, 17))
    assert 0.25 < detail_gain(plate, 0.5 * plate + 0.2)[edge].min() <= 0.5
    assert detail_gain(plate, plate)[edge].min() > 0.5
    assert detail_gain(plate, 1.0 - plate).max() == 0.0


def test_keyframe_files_are_paths_the_worker_checks(tmp_path):
    from filmstyle.job.paths import job_paths

    job = job_from_options(input="a.####.exr", output="b.####.exr", style=STYLE, keyframes=["1040=paint.1040.exr"],
                           base_dir=tmp_path)
    assert ("keyframes[1040]", tmp_path / "paint.1040.exr") in job_paths(job)


# ------------------------------------------------------------------------------------------ anchoring


@needs_clip
def test_anchor_holds_the_texture_within_a_shot_and_starts_over_at_a_cut(tmp_path):
    from filmstyle.tools.metrics import warping_error

    clip = decode(40, 4)
    photo = photo_linear(160 + 16, 90)
    spliced = clip + [np.ascontiguousarray(photo[:, 4 * k: 4 * k + 160]) for k in range(4)]
    shot = write_shot(tmp_path / "cut", spliced)
    held, plain = str(tmp_path / "a" / "o.####.exr"), str(tmp_path / "p" / "o.####.exr")
    cli("stylize", shot, held, "--style", STYLE, "--temporal-anchor", "1")
    cli("stylize", shot, plain, "--style", STYLE)
    np.testing.assert_array_equal(read(held, 5), read(plain, 5))  # a new shot: nothing carried over
    np.testing.assert_array_equal(read(held, 1), read(plain, 1))
    src = frames_of(shot, range(1, 9))
    a, p = frames_of(held, range(1, 9)), frames_of(plain, range(1, 9))
    # Three frames apart within the first shot, the held texture moved with the content.
    assert warping_error(a[3], a[0], src[3], src[0])[0] < 0.7 * warping_error(p[3], p[0], src[3], src[0])[0]
    # Resumed after frame 6, the held texture is rebuilt from the output on disk.
    Path(held.replace("####", "0007")).unlink()
    Path(held.replace("####", "0008")).unlink()
    before = a[6]
    cli("stylize", shot, held, "--style", STYLE, "--temporal-anchor", "1")
    again = frames_of(held, (7,))[0]
    assert np.abs(again - before).mean() < 0.5 * np.abs(p[6] - before).mean()


@needs_clip
def test_a_resumed_render_below_full_strength_applies_the_strength_once(tmp_path):
    # The anchor hold and the temporal blender keep the look before the strength mix; primed
    # from the mixed output on disk they would mix it in again (a resumed frame nearer the plate).
    shot = write_shot(tmp_path / "plate", decode(40, 4))
    out = str(tmp_path / "o" / "o.####.exr")
    args = ("stylize", shot, out, "--style", STYLE, "--strength", "0.5", "--temporal", "0.6",
            "--temporal-anchor", "1")
    cli(*args)
    whole = frames_of(out, range(1, 5))
    src = frames_of(shot, range(1, 5))
    for n in (3, 4):
        Path(out.replace("####", f"{n:04d}")).unlink()
    cli(*args)
    resumed = frames_of(out, (3,))[0]
    # The look's own contribution at frame 3: resumed within 10 % of the uninterrupted one's size.
    look = np.abs(whole[2] - src[2]).mean()
    assert abs(np.abs(resumed - src[2]).mean() - look) < 0.1 * look
    assert np.abs(resumed - whole[2]).mean() < 0.25 * look


def test_keyframe_files_outside_the_allow_list_are_refused_before_they_are_looked_at(tmp_path):
    from filmstyle.errors import PathRefused
    from filmstyle.job.model import job_from_data

    asked = []

    def check(field, path):
        asked.append((field, path))
        return f"{field}: {path} is outside the worker's allowed folders" if "secret" in str(path) else None

    data = {"filmstyle": 2, "input": "p.####.exr", "output": "o.####.exr", "keyframes": {1001: "/secret/k.exr"}}
    with pytest.raises(PathRefused, match=r"keyframes\[1001\].*outside"):
        job_from_data(data, base_dir=tmp_path, check_path=check)
    assert any(field.startswith("keyframes[1001]") for field, _ in asked)
