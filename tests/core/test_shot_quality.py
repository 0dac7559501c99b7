"""Shot quality through the one render path: temporal blending, resume, cuts, colour
preservation, tiling, stroke scale, user models and the job fields.

Footage: an excerpt of *Big Buck Bunny* (c) 2008 Blender Foundation, www.bigbuckbunny.org,
CC BY 3.0, decoded small and written as scene-linear EXR plates.
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import cv2
import numpy as np
import OpenImageIO as oiio
import pytest
import torch
from typer.testing import CliRunner

from filmstyle import color, io
from filmstyle.cli import app
from filmstyle.errors import JobError
from filmstyle.job import build_plan, load_job
from filmstyle.engine.color_match import srgb_to_oklab
from filmstyle.tools.metrics import psnr, warping_error
from filmstyle.models.custom import ResnetGenerator
from tests.core.plates import photo_linear

CLIP = Path(__file__).resolve().parents[3] / "shared" / "media" / "bigbuckbunny-720p-132f.mp4"
W, H = 160, 90
FRAMES = tuple(range(1, 9))
STYLE = "starry-blue"
runner = CliRunner()


def cli(*args) -> None:
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output


def decode(start: int, count: int, size: tuple[int, int] = (W, H)) -> list[np.ndarray]:
    """``count`` frames from ``start``, resized, Rec.709 display values decoded to linear."""
    cap = cv2.VideoCapture(str(CLIP))
    cap.set(cv2.CAP_PROP_POS_FRAMES, start)
    out = []
    for _ in range(count):
        ok, bgr = cap.read()
        assert ok, f"{CLIP.name}: cannot read frame {start + len(out)}"
        rgb = cv2.resize(bgr[..., ::-1], size, interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
        out.append(np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4).astype(np.float32))
    cap.release()
    return out


def write_exr(path: Path, rgb: np.ndarray) -> None:
    spec = oiio.ImageSpec(rgb.shape[1], rgb.shape[0], 3, oiio.FLOAT)
    spec.attribute("compression", "zip")
    out = oiio.ImageOutput.create(str(path))
    assert out.open(str(path), spec) and out.write_image(np.ascontiguousarray(rgb)), oiio.geterror()
    out.close()


def write_shot(folder: Path, frames: list[np.ndarray]) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    for number, rgb in zip(FRAMES, frames):
        write_exr(folder / f"shot.{number:04d}.exr", rgb)
    return str(folder / "shot.####.exr")


def working(path: Path) -> np.ndarray:
    """A frame in filmstyle's working space, [0, 1] (as `filmstyle metrics` sees it)."""
    frame = io.read_frame(path)
    config = color.load_config(None)
    name = color.default_input_colorspace(frame.format_name, frame.colorspace_hint, config)
    rgb = np.ascontiguousarray(frame.rgb, dtype=np.float32)
    return np.clip(color.ColorTransform(config, name, None).to_working(rgb), 0, 1)


def frames_of(pattern: str, numbers=FRAMES) -> list[np.ndarray]:
    return [working(Path(pattern.replace("####", f"{n:04d}"))) for n in numbers]


needs_clip = pytest.mark.skipif(not CLIP.is_file(), reason=f"real footage {CLIP.name} not found beside the repository")


@pytest.fixture(scope="module")
def clip_shot(tmp_path_factory) -> str:
    if not CLIP.is_file():
        pytest.skip(f"real footage {CLIP.name} not found beside the repository")
    # Frames 40-47: camera pan over grass, the flicker-prone case.
    return write_shot(tmp_path_factory.mktemp("clip"), decode(40, len(FRAMES)))


@pytest.fixture(scope="module")
def renders(clip_shot, tmp_path_factory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("renders")
    out = {"per_frame": str(root / "pf" / "o.####.exr"), "temporal": str(root / "tb" / "o.####.exr")}
    cli("stylize", clip_shot, out["per_frame"], "--style", STYLE)
    cli("stylize", clip_shot, out["temporal"], "--style", STYLE, "--temporal", "0.8")
    return out


def mean_warping_error(source: list[np.ndarray], output: list[np.ndarray]) -> float:
    errors = [warping_error(output[t], output[t - 1], source[t], source[t - 1])[0] for t in range(1, len(source))]
    return float(np.mean(errors))


@needs_clip
def test_temporal_render_flickers_less_on_the_real_clip(clip_shot, renders):
    src = frames_of(clip_shot)
    per_frame = mean_warping_error(src, frames_of(renders["per_frame"]))
    temporal = mean_warping_error(src, frames_of(renders["temporal"]))
    assert temporal < 0.75 * per_frame, (temporal, per_frame)
    # The first frame has no history: the two renders agree there exactly.
    first = [Path(p.replace("####", "0001")) for p in renders.values()]
    np.testing.assert_array_equal(io.read_frame(first[0]).rgb, io.read_frame(first[1]).rgb)
    # Still stylized, not frozen to the source.
    assert psnr(frames_of(renders["temporal"])[-1], src[-1]) < 25


@needs_clip
def test_resume_rebuilds_the_temporal_state_from_disk(clip_shot, tmp_path):
    out = tmp_path / "o.####.exr"
    cli("stylize", clip_shot, out, "--style", STYLE, "--temporal", "0.8", "--frames", "1-4")
    full = {n: io.read_frame(tmp_path / f"o.{n:04d}.exr").rgb.copy() for n in (3, 4)}
    for n in (3, 4):
        (tmp_path / f"o.{n:04d}.exr").unlink()
    cli("stylize", clip_shot, out, "--style", STYLE, "--temporal", "0.8", "--frames", "1-4")
    for n in (3, 4):
        again = io.read_frame(tmp_path / f"o.{n:04d}.exr").rgb
        assert np.abs(again - full[n]).max() < 1e-3, n
    # Without priming, frame 3 would start afresh: equal to a per-frame render, far from the above.
    cli("stylize", clip_shot, tmp_path / "p.####.exr", "--style", STYLE, "--frames", "3")
    fresh = io.read_frame(tmp_path / "p.0003.exr").rgb
    assert np.abs(fresh - full[3]).max() > 1e-2


@needs_clip
def test_a_cut_restarts_the_temporal_state(tmp_path):
    clip = decode(40, 4)
    photo = photo_linear(W + 16, H)
    # Frames 5-8: an unrelated picture panning; a hard cut between 4 and 5.
    spliced = clip + [np.ascontiguousarray(photo[:, 4 * k: 4 * k + W]) for k in range(4)]
    shot = write_shot(tmp_path / "cut", spliced)
    cli("stylize", shot, tmp_path / "t" / "o.####.exr", "--style", STYLE, "--temporal", "0.8")
    cli("stylize", shot, tmp_path / "p" / "o.####.exr", "--style", STYLE)
    after_cut = [io.read_frame(tmp_path / d / "o.0005.exr").rgb for d in ("t", "p")]
    np.testing.assert_array_equal(after_cut[0], after_cut[1])
    before_cut = [io.read_frame(tmp_path / d / "o.0004.exr").rgb for d in ("t", "p")]
    assert np.abs(before_cut[0] - before_cut[1]).max() > 1e-2  # blending was on before the cut
    following = [io.read_frame(tmp_path / d / "o.0006.exr").rgb for d in ("t", "p")]
    assert np.abs(following[0] - following[1]).max() > 1e-3  # and resumes within the new shot


@needs_clip
def test_preserve_colour_keeps_the_source_hue(clip_shot, renders, tmp_path):
    out = tmp_path / "o.####.exr"
    cli("stylize", clip_shot, out, "--style", STYLE, "--preserve-color", "1", "--frames", "2")
    src = srgb_to_oklab(frames_of(clip_shot, (2,))[0])
    kept = srgb_to_oklab(frames_of(str(out), (2,))[0])
    plain = srgb_to_oklab(frames_of(renders["per_frame"], (2,))[0])
    chromatic = np.hypot(src[..., 1], src[..., 2]) > 0.03
    assert chromatic.mean() > 0.2

    def hue_error(lab: np.ndarray) -> float:
        d = np.arctan2(lab[..., 2], lab[..., 1]) - np.arctan2(src[..., 2], src[..., 1])
        return float(np.median(np.abs(np.angle(np.exp(1j * d)))[chromatic]))

    assert hue_error(kept) < 0.05
    assert hue_error(plain) > 4 * hue_error(kept)
    ab_kept = np.abs(kept[..., 1:] - src[..., 1:]).mean()
    assert ab_kept < 0.01 and np.abs(plain[..., 1:] - src[..., 1:]).mean() > 3 * ab_kept
    assert np.abs(kept[..., 0] - src[..., 0]).mean() > 0.02  # the lightness is the style's


def test_tiled_render_through_the_cli_matches_untiled(tmp_path):
    folder = tmp_path / "plate"
    folder.mkdir()
    write_exr(folder / "shot.0001.exr", photo_linear(160, 96))
    cli("stylize", folder / "shot.####.exr", tmp_path / "a.####.exr", "--style", STYLE, "--tiling", "off")
    cli("stylize", folder / "shot.####.exr", tmp_path / "b.####.exr", "--style", STYLE,
        "--tiling", "on", "--tile-size", "64")
    untiled, tiled = working(tmp_path / "a.0001.exr"), working(tmp_path / "b.0001.exr")
    assert psnr(tiled, untiled) >= 40.0
    assert psnr(untiled, working(folder / "shot.0001.exr")) < 25  # both really stylized


def job_file(tmp_path: Path, extra: str, output: str = "out/o.####.exr") -> Path:
    folder = tmp_path / "plate"
    if not folder.is_dir():
        folder.mkdir()
        write_exr(folder / "shot.0001.exr", photo_linear(160, 96))
    path = tmp_path / f"job{len(list(tmp_path.glob('job*.yaml')))}.yaml"
    path.write_text(f"filmstyle: 2\ninput: plate/shot.####.exr\noutput: {output}\nstyles: [{STYLE}]\n{extra}")
    return path


def test_stroke_scale_through_the_job(tmp_path):
    plain = job_file(tmp_path, "", "plain/o.####.exr")
    same = job_file(tmp_path, "stroke_scale: 11.25\n", "same/o.####.exr")  # 1080 / 11.25 = 96 rows
    big = job_file(tmp_path, "stroke_scale: 22.5\nstroke_detail: 0\n", "big/o.####.exr")  # 48 rows
    for job in (plain, same, big):
        cli("render", job)
    base, ident, coarse = (io.read_frame(tmp_path / d / "o.0001.exr").rgb for d in ("plain", "same", "big"))
    np.testing.assert_array_equal(ident, base)  # processing size = frame size: no resampling
    assert psnr(working(tmp_path / "big" / "o.0001.exr"), working(tmp_path / "plain" / "o.0001.exr")) < 30

    # Strokes twice as large: the network ran at half size, so the result has little energy
    # above that size's Nyquist (no detail added back) compared with the full-size render.
    def fine_energy(rgb: np.ndarray) -> float:
        y = rgb.mean(axis=2)
        return float(np.mean((y - cv2.GaussianBlur(y, (0, 0), 1.0)) ** 2))

    assert fine_energy(working(tmp_path / "big" / "o.0001.exr")) < 0.5 * fine_energy(
        working(tmp_path / "plain" / "o.0001.exr"))
    assert build_plan(load_job(big)).network.stroke_scale == 22.5


def test_plumbing_only_named_custom_style_with_random_cyclegan_weights(tmp_path, monkeypatch):
    # Random weights: this proves the wiring (styles file -> load_custom -> render), not a look.
    torch.manual_seed(0)
    torch.save(ResnetGenerator(ngf=8, n_blocks=2).state_dict(), tmp_path / "monet_cyclegan.pth")
    styles = tmp_path / "styles.yaml"
    styles.write_text("monet: monet_cyclegan.pth\n")
    monkeypatch.setenv("FILMSTYLE_STYLES", str(styles))
    folder = tmp_path / "plate"
    folder.mkdir()
    write_exr(folder / "shot.0001.exr", photo_linear(96, 64))
    cli("stylize", folder / "shot.####.exr", tmp_path / "o.####.exr", "--style", "monet")
    out, src = working(tmp_path / "o.0001.exr"), working(folder / "shot.0001.exr")
    assert np.all(np.isfinite(out)) and psnr(out, src) < 30
    # The same model by path, and refused inside a blend.
    cli("stylize", folder / "shot.####.exr", tmp_path / "p.####.exr", "--style",
        f"custom:{tmp_path / 'monet_cyclegan.pth'}")
    np.testing.assert_array_equal(io.read_frame(tmp_path / "p.0001.exr").rgb, io.read_frame(tmp_path / "o.0001.exr").rgb)
    bad = runner.invoke(app, ["stylize", str(folder / "shot.####.exr"), str(tmp_path / "q.####.exr"),
                              "--style", "monet", "--style", STYLE])
    assert bad.exit_code == 1 and "custom model cannot be blended" in bad.output


@pytest.mark.parametrize(
    "extra, needles",
    [
        ("temporal: 1.2\n", ("temporal (line 5)", "below 1")),
        ("temporal: 1\n", ("temporal (line 5)", "below 1")),
        ("temporal: \"1:0, 4:0.5 smoth\"\n", ("temporal (line 5)", "smoth")),
        ("preserve_colour: 1\n", ("preserve_colour (line 5)", "did you mean 'preserve_color'")),
        ("histogram_match: -0.5\n", ("histogram_match (line 5)", "0..1, got -0.5")),
        ("stroke_scale: 0\n", ("stroke_scale (line 5)", "0.25..100, got 0")),
        ("stroke_scale: 1\nstroke_detail: 2\n", ("stroke_detail (line 6)", "0..1, got 2")),
        ("tiling: sideways\n", ("tiling (line 5)", "auto, on, off")),
        ("tile_size: 32\n", ("tile_size (line 5)", "64..8192, got 32")),
        ("shot_stats: 3\n", ("shot_stats (line 5)", "true or false")),
        ("temporal_cut_threshold: 5\n", ("temporal_cut_threshold (line 5)", "<= 2")),
    ],
)
def test_bad_shot_quality_fields_are_line_numbered(tmp_path, extra, needles):
    with pytest.raises(JobError) as info:
        build_plan(load_job(job_file(tmp_path, extra)))
    message = str(info.value)
    assert "\n" not in message
    for needle in needles:
        assert needle in message, message


def test_good_shot_quality_job_round_trips(tmp_path):
    extra = ("temporal: \"1:0, 8:0.7\"\ntemporal_cut_threshold: 0.5\npreserve_color: 0.5\nhistogram_match: 1\n"
             "stroke_scale: 2\nstroke_detail: 0.5\ntiling: off\ntile_size: 256\nshot_stats: true\n")
    job = load_job(job_file(tmp_path, extra))
    plan = build_plan(job)
    assert plan.temporal is not None and math.isclose(plan.temporal(8), 0.7)
    assert plan.network.tiling == "off" and plan.network.tile_size == 256 and plan.network.shot_stats
    assert plan.temporal_cut_threshold == 0.5 and plan.preserve_color(1) == 0.5
    from filmstyle.job import job_from_data

    again = job_from_data(job.to_data(), base_dir=job.base_dir)
    assert again == job
    # Defaults stay out of the data (old workers and host hashes see the same jobs as before).
    plain = load_job(job_file(tmp_path, ""))
    assert not {"temporal", "preserve_color", "stroke_scale", "tiling", "shot_stats"} & set(plain.to_data())


def test_strength_zero_frames_stay_exact_with_temporal_and_shot_stats(tmp_path):
    folder = tmp_path / "plate"
    folder.mkdir()
    for n in (1, 2, 3):
        write_exr(folder / f"shot.{n:04d}.exr", np.ascontiguousarray(photo_linear(112, 64)[:, :96] * (0.9 + 0.05 * n)))
    cli("stylize", folder / "shot.####.exr", tmp_path / "o.####.exr", "--style", STYLE, "--temporal", "0.6",
        "--shot-stats", "--strength", "1:1, 2:0 hold, 3:1")
    np.testing.assert_array_equal(io.read_frame(tmp_path / "o.0002.exr").rgb, io.read_frame(folder / "shot.0002.exr").rgb)
    # Frame 3 follows a strength-0 frame: it starts afresh, like a single-frame render of it.
    shutil.copy(folder / "shot.0003.exr", tmp_path / "single.exr")
    cli("stylize", tmp_path / "single.exr", tmp_path / "single_out.exr", "--style", STYLE, "--shot-stats")
    np.testing.assert_allclose(io.read_frame(tmp_path / "o.0003.exr").rgb,
                               io.read_frame(tmp_path / "single_out.exr").rgb, atol=1e-6)


def test_bench_rejects_an_unknown_section():
    from filmstyle.tools.bench import run_bench
    from filmstyle.errors import InputError

    with pytest.raises(InputError, match=r"^--only: unknown section 'speed', valid: core, scale, memory, temporal, "
                       r"peer, preview, processes, farm, precision, gpu$"):
        run_bench(sections=["speed"])


def test_bench_core_times_ours_and_the_peer_on_a_small_sequence():
    """The ``core`` section end to end at a tiny size: every figure present, positive and consistent."""
    from filmstyle.tools.bench import format_bench, run_bench

    f = run_bench(frames=2, width=96, height=64, repeats=1, sections=["core"])
    times = [k for k in f if k.endswith("_s") and not isinstance(f[k], dict)]
    assert {"ours_arbitrary_end_to_end_s", "ours_arbitrary_half_plate_end_to_end_s",
            "peer_cin26_network_s", "ours_cin26_network_s", "ours_arbitrary_network_alone_s",
            "ours_cin26_network_alone_s"} <= set(times)
    assert all(f[k] > 0 for k in times)
    assert f["ratio_peer_net_over_ours_arbitrary_e2e"] == pytest.approx(
        f["peer_cin26_network_s"] / f["ours_arbitrary_end_to_end_s"])
    assert set(f["stages_s"]) == {"read", "colour", "alpha", "write"}
    text = format_bench(f)
    assert "all-half" in text and "goal ≥ 1.5x" in text and "96x64" in text


@needs_clip
def test_footage_to_plate_example_writes_an_acescg_plate(tmp_path):
    import importlib.util

    script = Path(__file__).resolve().parents[2] / "examples" / "footage_to_plate.py"
    spec = importlib.util.spec_from_file_location("footage_to_plate", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    count = module.write_plate(CLIP, str(tmp_path / "clip.####.exr"), start=10, count=2, width=96)
    assert count == 2
    frame = io.read_frame(tmp_path / "clip.1002.exr")
    assert (frame.width, frame.height) == (96, 54)
    assert frame.colorspace_hint in ("ACEScg", "lin_ap1_scene")
    # Back through filmstyle's default EXR transform, the plate matches the decoded video frame.
    video = cv2.resize(decode(11, 1, (1280, 720))[0], (96, 54), interpolation=cv2.INTER_AREA)
    back = np.clip(working(tmp_path / "clip.1002.exr"), 0, 1)
    srgb_video = np.where(video <= 0.0031308, video * 12.92, 1.055 * np.power(video, 1 / 2.4) - 0.055)
    assert np.median(np.abs(back - srgb_video)) < 0.05
