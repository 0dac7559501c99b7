"""``filmstyle stylize`` end to end on real EXR/DPX files with real weights."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import OpenImageIO as oiio
import pytest
from typer.testing import CliRunner

from filmstyle.cli import app
from tests.core.io_fixtures import channel_bits, make_dpx, read_all_bits, truncate_file
from tests.core.plates import make_plate, make_plate_sequence

runner = CliRunner()
FRAMES = (1001, 1002, 1003)
AOVS = ("A", "Z", "matte.R", "diffuse.R", "diffuse.G", "diffuse.B")


def cli(*args: str):
    return runner.invoke(app, [str(a) for a in args])


def spec_of(path: Path) -> oiio.ImageSpec:
    inp = oiio.ImageInput.open(str(path))
    spec = inp.spec()
    inp.close()
    return spec


def rgb_of(path: Path) -> np.ndarray:
    inp = oiio.ImageInput.open(str(path))
    pixels = np.asarray(inp.read_image(0, 0, 0, 3, "float"))
    inp.close()
    return pixels


@pytest.fixture(scope="module")
def plates(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("plates")
    make_plate_sequence(folder, FRAMES)
    return folder


def test_exr_sequence_keeps_everything_but_rgb(plates, tmp_path):
    out = tmp_path / "out" / "styled.%04d.exr"
    result = cli("stylize", plates / "shot.####.exr", out, "--style", "starry-blue", "--frames", "1001-1003")
    assert result.exit_code == 0, result.output
    for frame in FRAMES:
        src, dst = plates / f"shot.{frame}.exr", tmp_path / "out" / f"styled.{frame}.exr"
        before, after = read_all_bits(src), read_all_bits(dst)
        assert list(before) == list(after)
        for name in AOVS:
            np.testing.assert_array_equal(after[name], before[name], err_msg=name)
        changed = np.mean(rgb_of(src) != rgb_of(dst))
        assert changed > 0.5, "RGB was not stylized"
        s, d = spec_of(src), spec_of(dst)
        assert (d.x, d.y, d.width, d.height) == (s.x, s.y, s.width, s.height)
        assert (d.full_x, d.full_y, d.full_width, d.full_height) == (s.full_x, s.full_y, s.full_width, s.full_height)
        assert list(d.channelformats) == list(s.channelformats)
        for attr in ("compression", "smpte:TimeCode", "Copyright", "studio:shot"):
            assert d.getattribute(attr) == s.getattribute(attr), attr
        # Fully transparent pixels keep the source values; highlights stay finite.
        dst_rgb = rgb_of(dst)
        np.testing.assert_array_equal(dst_rgb[:, :3], rgb_of(src)[:, :3])
        assert np.isfinite(dst_rgb).all()


def test_lossy_source_is_written_lossless_so_aovs_stay_exact(tmp_path, caplog):
    src = make_plate(tmp_path / "dwa.exr", compression="dwaa")
    out = tmp_path / "dwa_styled.exr"
    result = cli("stylize", src, out, "--style", "starry-blue")
    assert result.exit_code == 0, result.output
    assert spec_of(out).getattribute("compression") == "zip"
    before, after = read_all_bits(src), read_all_bits(out)
    for name in AOVS:
        np.testing.assert_array_equal(after[name], before[name], err_msg=name)
    assert any("dwaa is lossy" in r.getMessage() for r in caplog.records)


def test_strength_zero_is_bit_identical(plates, tmp_path):
    out = tmp_path / "zero.####.exr"
    result = cli("stylize", plates / "shot.####.exr", out, "--style", "starry-blue", "--strength", "0")
    assert result.exit_code == 0, result.output
    for frame in FRAMES:
        before = read_all_bits(plates / f"shot.{frame}.exr")
        after = read_all_bits(tmp_path / f"zero.{frame}.exr")
        for name in before:
            np.testing.assert_array_equal(after[name], before[name], err_msg=name)


def test_strength_blends_linearly_in_working_space(plates, tmp_path):
    from filmstyle import color

    full, half = tmp_path / "full.####.exr", tmp_path / "half.####.exr"
    for out, s in ((full, "1"), (half, "0.5")):
        result = cli("stylize", plates / "shot.####.exr", out, "--style", "bold-outline", "--strength", s, "--frames", "1001")
        assert result.exit_code == 0, result.output
    transform = color.ColorTransform(color.load_config(None), "ACEScg")
    src_rgb = rgb_of(plates / "shot.1001.exr")
    keep = slice(None), slice(6, None)  # where alpha == 1 (see tests.core.plates)
    w_src = transform.to_working(np.ascontiguousarray(src_rgb[keep]))
    w_full = transform.to_working(np.ascontiguousarray(rgb_of(tmp_path / "full.1001.exr")[keep]))
    w_half = transform.to_working(np.ascontiguousarray(rgb_of(tmp_path / "half.1001.exr")[keep]))
    expected = (w_src + w_full) / 2
    # half-float storage of the outputs is the only error source
    assert np.median(np.abs(w_half - expected)) < 2e-3


def test_dpx_10bit_comes_back_10bit(tmp_path):
    src = make_dpx(tmp_path / "scan.1001.dpx", bits=10, endian="little", w=80, h=48)
    out = tmp_path / "out.1001.dpx"
    result = cli("stylize", src, out, "--style", "teal-mosaic")
    assert result.exit_code == 0, result.output
    s, d = spec_of(src), spec_of(out)
    assert d.get_int_attribute("oiio:BitsPerSample") == 10
    assert d.getattribute("dpx:Transfer") == s.getattribute("dpx:Transfer")
    assert d.getattribute("dpx:Colorimetric") == s.getattribute("dpx:Colorimetric")
    assert d.getattribute("smpte:TimeCode") == s.getattribute("smpte:TimeCode")
    assert np.mean(channel_bits(src, "R") != channel_bits(out, "R")) > 0.5


def test_another_output_format_is_encoded_as_that_format_reads(plates, tmp_path):
    """EXR (ACEScg) -> PNG comes out sRGB-encoded and tagged so; -> DPX as ADX10 with a printing
    density transfer; each reads back (default input colourspace) to the plate's values."""
    from filmstyle import color, io

    config = color.load_config(None)
    keep = slice(None), slice(6, None)  # alpha == 1 there (see tests.core.plates)
    src = io.read_frame(plates / "shot.1001.exr")
    # OIIO stores 10-bit DPX through 16 bits and drops the low bits: within one code
    for ext, cs, tol in (("png", "sRGB Encoded Rec.709 (sRGB)", 0.51 / 65535), ("dpx", "ADX10", 1 / 1023)):
        out = tmp_path / f"o.####.{ext}"
        result = cli("stylize", plates / "shot.####.exr", out, "--style", "starry-blue", "--strength", "0",
                     "--frames", "1001")
        assert result.exit_code == 0, result.output
        back = io.read_frame(tmp_path / f"o.1001.{ext}")
        assert color.default_input_colorspace(back.format_name, back.colorspace_hint, config) == cs
        if ext == "dpx":
            assert spec_of(tmp_path / "o.1001.dpx").get_string_attribute("dpx:Transfer") == "Printing density"
        expected = color.ColorTransform(config, "ACEScg", cs).to_working(np.ascontiguousarray(src.rgb[keep]))
        inside = (expected >= 0) & (expected <= 1)  # integer files clamp
        assert inside.mean() > 0.8  # ACEScg holds colours outside Rec.709
        np.testing.assert_allclose(back.rgb[keep][inside], expected[inside], atol=tol + 1e-6)
    # an explicit choice, and its refusal for same-format output
    result = cli("stylize", plates / "shot.####.exr", tmp_path / "c.####.dpx", "--style", "starry-blue",
                 "--strength", "0", "--frames", "1001", "--output-colorspace", "ACEScct")
    assert result.exit_code == 0, result.output
    expected = color.ColorTransform(config, "ACEScg", "ACEScct").to_working(np.ascontiguousarray(src.rgb[keep]))
    got = io.read_frame(tmp_path / "c.1001.dpx").rgb[keep]
    np.testing.assert_allclose(got, np.clip(expected, 0, 1), atol=1 / 1023 + 1e-6)
    result = cli("stylize", plates / "shot.####.exr", tmp_path / "s.####.exr", "--style", "starry-blue",
                 "--output-colorspace", "ACEScct")
    assert result.exit_code != 0
    assert "output_colorspace: only for output in another format than the source (both openexr)" in result.output
    result = cli("stylize", plates / "shot.####.exr", tmp_path / "u.####.png", "--style", "starry-blue",
                 "--output-colorspace", "nope")
    assert result.exit_code != 0 and "output_colorspace: unknown colourspace" in result.output
    assert not list(tmp_path.glob("u.*"))
    result = cli("stylize", plates / "shot.####.exr", tmp_path / "x.####.xyz", "--style", "starry-blue")
    assert result.exit_code != 0 and "unknown image extension '.xyz'" in result.output


def test_resume_from_outputs_in_another_format(plates, tmp_path):
    """Temporal state rebuilt from sRGB PNG outputs is converted back to the plate's colourspace
    first: a resumed frame matches the uninterrupted render up to 16-bit rounding."""
    from filmstyle import io

    out = tmp_path / "t.####.png"
    args = ("stylize", plates / "shot.####.exr", out, "--style", "starry-blue", "--temporal", "0.6")
    assert cli(*args).exit_code == 0
    whole = io.read_frame(tmp_path / "t.1003.png").rgb
    (tmp_path / "t.1003.png").unlink()
    result = cli(*args)
    assert result.exit_code == 0, result.output
    resumed = io.read_frame(tmp_path / "t.1003.png").rgb
    close = np.abs(resumed - whole) <= 2e-3
    # what the PNG clipped (out-of-gamut colour, highlights) cannot come back: 97.8 % here,
    # against 22 % when the state is rebuilt from the sRGB codes as if they were the plate's
    assert close.mean() > 0.95


def test_odd_size_frame_with_image_style(tmp_path):
    from filmstyle.tools.sheets import sample_photograph

    src = make_plate(tmp_path / "odd.exr", width=53, height=37, origin=(0, 0))
    out = tmp_path / "odd_styled.exr"
    result = cli("stylize", src, out, "--style", sample_photograph(), "--strength", "1.5")
    assert result.exit_code == 0, result.output
    assert rgb_of(out).shape == (37, 53, 3)
    assert np.isfinite(rgb_of(out)).all()


def test_existing_outputs_are_skipped_unless_overwrite(plates, tmp_path):
    out = tmp_path / "resume.####.exr"
    assert cli("stylize", plates / "shot.####.exr", out, "--style", "umber-ink", "--frames", "1001").exit_code == 0
    stamp = (tmp_path / "resume.1001.exr").stat().st_mtime_ns
    result = cli("stylize", plates / "shot.####.exr", out, "--style", "umber-ink")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "resume.1001.exr").stat().st_mtime_ns == stamp
    assert all((tmp_path / f"resume.{f}.exr").exists() for f in FRAMES)
    assert cli("stylize", plates / "shot.####.exr", out, "--style", "umber-ink", "--frames", "1001", "--overwrite").exit_code == 0
    assert (tmp_path / "resume.1001.exr").stat().st_mtime_ns != stamp


def _one_line_error(result, *needles: str) -> None:
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("filmstyle: error:")]
    assert len(errors) == 1, result.output
    for needle in needles:
        assert needle in errors[0], errors[0]


def _no_outputs(folder: Path) -> None:
    leftovers = sorted(p.name for p in folder.iterdir()) if folder.exists() else []
    assert leftovers == [], leftovers


def test_missing_frame(plates, tmp_path):
    out = tmp_path / "o"
    result = cli("stylize", plates / "shot.####.exr", out / "o.####.exr", "--style", "umber-ink", "--frames", "1001-1004")
    _one_line_error(result, "1004", "shot.1004.exr")
    _no_outputs(out)


def test_truncated_frame(tmp_path):
    src = make_plate(tmp_path / "in" / "cut.exr", width=64, height=48)
    truncate_file(src, 0.5)
    result = cli("stylize", src, tmp_path / "o" / "cut.exr", "--style", "umber-ink")
    _one_line_error(result, "cut.exr")
    _no_outputs(tmp_path / "o")


def test_unknown_style(plates, tmp_path):
    result = cli("stylize", plates / "shot.####.exr", tmp_path / "o" / "o.####.exr", "--style", "starry-bleu")
    _one_line_error(result, "starry-bleu", "starry-blue")
    _no_outputs(tmp_path / "o")


def test_unknown_colourspace(plates, tmp_path):
    result = cli(
        "stylize", plates / "shot.####.exr", tmp_path / "o" / "o.####.exr", "--style", "umber-ink",
        "--input-colorspace", "ACESgc",
    )
    _one_line_error(result, "ACESgc")
    _no_outputs(tmp_path / "o")


def test_nan_pixels_refused_then_cleaned(tmp_path):
    clean = make_plate(tmp_path / "clean.exr", width=48, height=32)
    src = tmp_path / "in" / "nan.exr"
    src.parent.mkdir()
    buf = oiio.ImageBuf(str(clean))
    pixels = buf.get_pixels(oiio.FLOAT).copy()
    pixels[5, 10:17, 0] = np.nan
    buf.set_pixels(buf.roi, pixels)
    assert buf.write(str(src)), buf.geterror()
    result = cli("stylize", src, tmp_path / "o" / "nan.exr", "--style", "umber-ink")
    _one_line_error(result, "nan.exr", "7 NaN/Inf")
    _no_outputs(tmp_path / "o")
    result = cli("stylize", src, tmp_path / "o" / "nan.exr", "--style", "umber-ink", "--clean-nans")
    assert result.exit_code == 0, result.output
    assert np.isfinite(rgb_of(tmp_path / "o" / "nan.exr")).all()


def test_output_is_input_is_refused(plates):
    before = (plates / "shot.1001.exr").read_bytes()
    result = cli("stylize", plates / "shot.####.exr", plates / "shot.####.exr", "--style", "umber-ink")
    _one_line_error(result, "shot.1001.exr")
    assert (plates / "shot.1001.exr").read_bytes() == before


def test_styles_list_and_sheet(tmp_path):
    result = cli("styles", "--sheet", tmp_path / "sheet.png")
    assert result.exit_code == 0, result.output
    assert "starry-blue" in result.output and "26" not in result.output.split()[0]
    spec = spec_of(tmp_path / "sheet.png")
    assert spec.width > 1000 and spec.nchannels == 3


def test_info_json(plates):
    import json

    result = cli("info", plates / "shot.1001.exr", "--json")
    assert result.exit_code == 0, result.output
    text = result.output
    data = json.loads(text[text.index("{") :])
    assert "diffuse.R" in json.dumps(data)


def test_console_script_runs_as_a_user_would(plates, tmp_path):
    exe = Path(sys.executable).with_name("filmstyle")
    out = tmp_path / "cli.####.exr"
    proc = subprocess.run(
        [str(exe), "stylize", str(plates / "shot.####.exr"), str(out), "--style", "pale-wash", "--frames", "1002"],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "cli.1002.exr").exists()
    bad = subprocess.run([str(exe), "stylize", str(plates / "nope.####.exr"), str(out), "--style", "pale-wash"],
                         capture_output=True, text=True, timeout=300)
    assert bad.returncode == 1
    assert bad.stderr.strip().count("\n") == 0 and "nope" in bad.stderr
