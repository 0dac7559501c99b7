"""Tests for filmstyle.color against OCIO's real built-in ACES configs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import PyOpenColorIO as OCIO

from filmstyle.color import (
    DISPLAY_SHAPER,
    HALF_MAX,
    ColorTransform,
    clean_nonfinite,
    colorspace_encoding,
    count_nonfinite,
    default_input_colorspace,
    list_colorspaces,
    list_roles,
    load_config,
    premultiply,
    resolve_colorspace,
    unpremultiply,
)
from filmstyle.color import shaper
from filmstyle.errors import ColorError


@pytest.fixture(scope="module")
def studio() -> OCIO.Config:
    return OCIO.Config.CreateFromFile("ocio://studio-config-latest")


@pytest.fixture(scope="module")
def cg() -> OCIO.Config:
    return OCIO.Config.CreateFromFile("ocio://cg-config-latest")


@pytest.fixture
def cg_file(tmp_path: Path, cg: OCIO.Config) -> Path:
    path = tmp_path / "cg.ocio"
    path.write_text(cg.serialize())
    return path


def acescct(lin: np.ndarray) -> np.ndarray:
    """ACEScct encoding written out from its published formula (independent of OCIO)."""
    lin = np.asarray(lin, dtype=np.float64)
    safe = np.maximum(lin, 1e-30)
    return np.where(lin > 0.0078125, (np.log2(safe) + 9.72) / 17.52, 10.5402377416545 * lin + 0.0729055341958355)


def display_code(lin: np.ndarray) -> np.ndarray:
    """The display shaper written out from its documented formula (independent of the module).

    ``r = x`` up to 0.5, ``r = 0.5 + 0.5 * u / (u + 0.5)`` with ``u = x - 0.5`` above, then the
    sRGB OETF (IEC 61966-2-1) with its linear toe carried on below zero.
    """
    x = np.asarray(lin, dtype=np.float64)
    u = np.maximum(x - 0.5, 0.0)
    r = np.where(x > 0.5, 0.5 + 0.5 * u / (u + 0.5), x)
    return np.where(r <= 0.0031308, 12.92 * r, 1.055 * np.maximum(r, 0.0031308) ** (1 / 2.4) - 0.055)


def linear_frame() -> np.ndarray:
    """Linear values −0.01…100 (fine steps through zero, log steps above), neutral and tinted."""
    ramp = np.concatenate([np.linspace(-0.01, 0.01, 801), np.geomspace(0.01, 100.0, 1600)])
    tints = np.array([[1, 1, 1], [1, 0.5, 0.25], [0.3, 1, 1.2], [1, 1, 0.02]])
    return np.ascontiguousarray((ramp[:, None, None] * tints[None]).astype(np.float32))


def shaper_frame(config: OCIO.Config, space: str) -> np.ndarray:
    """Source values −0.01…100 for the display shaper, neutral first, then three tints.

    Dense through zero, through the shoulder joint (linear 0.5) and log-spaced over 1…100. Each
    tint is scaled so that no channel passes linear Rec.709 100 (the shaper's decode cap) once
    the source gamut is converted; the last one is nearly saturated (one channel at 2 %).
    """
    ramp = np.concatenate(
        [
            np.linspace(-0.01, 0.01, 801),
            np.linspace(0.01, 1.0, 1000),
            np.linspace(0.49, 0.51, 401),
            np.geomspace(1.0, 100.0, 2000),
        ]
    )
    tints = np.array([[1, 1, 1], [1, 0.5, 0.25], [0.3, 1, 0.8], [1, 1, 0.02]], np.float32)
    rec709 = np.array(tints)
    config.getProcessor(space, "Linear Rec.709 (sRGB)").getDefaultCPUProcessor().applyRGB(rec709)
    tints /= np.maximum(rec709.max(axis=1, keepdims=True), 1.0)
    return np.ascontiguousarray((ramp[:, None, None] * tints[None]).astype(np.float32))


# ---------------------------------------------------------------------------------------- config


def test_default_config_is_studio(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OCIO", raising=False)
    assert load_config().getName().startswith("studio-config")


def test_env_config_used(monkeypatch: pytest.MonkeyPatch, cg_file: Path, cg: OCIO.Config) -> None:
    monkeypatch.setenv("OCIO", str(cg_file))
    config = load_config()
    assert config.getName() == cg.getName()
    assert config.getColorSpace("ADX10") is None  # the cg config has no film log: not the studio one


def test_explicit_path_beats_env(monkeypatch: pytest.MonkeyPatch, cg_file: Path) -> None:
    monkeypatch.setenv("OCIO", str(cg_file))
    assert load_config("ocio://studio-config-latest").getName().startswith("studio-config")
    monkeypatch.setenv("OCIO", "ocio://studio-config-latest")
    assert load_config(str(cg_file)).getName().startswith("cg-config")


def test_missing_files_name_their_source(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    missing = tmp_path / "nope.ocio"
    with pytest.raises(ColorError, match=r"^--ocio: .*nope\.ocio"):
        load_config(str(missing))
    monkeypatch.setenv("OCIO", str(missing))
    with pytest.raises(ColorError, match=r"^\$OCIO: .*nope\.ocio"):
        load_config()


def test_broken_config_file(tmp_path: Path) -> None:
    bad = tmp_path / "broken.ocio"
    bad.write_text("ocio_profile_version: 2\ncolorspaces: [ {{{\n")
    with pytest.raises(ColorError, match="broken.ocio") as info:
        load_config(str(bad))
    assert "\n" not in str(info.value)


def test_unknown_builtin_uri_suggests() -> None:
    with pytest.raises(ColorError, match="ocio://studio-config-latest"):
        load_config("ocio://studio-config-lates")


# ---------------------------------------------------------------------------------- colourspaces


@pytest.mark.parametrize(
    ("name", "canonical"),
    [
        ("ACEScg", "ACEScg"),
        ("lin_rec709", "Linear Rec.709 (sRGB)"),
        ("Linear Rec.709 (sRGB)", "Linear Rec.709 (sRGB)"),
        ("ACES2065-1", "ACES2065-1"),
        ("ACEScct", "ACEScct"),
        ("ADX10", "ADX10"),
        ("arri_logc4", "ARRI LogC4"),
        ("slog3_sgamut3cine", "S-Log3 S-Gamut3.Cine"),
        ("sRGB - Texture", "sRGB Encoded Rec.709 (sRGB)"),
        ("sRGB Encoded Rec.709 (sRGB)", "sRGB Encoded Rec.709 (sRGB)"),
        ("scene_linear", "ACEScg"),
        ("compositing_log", "ACEScct"),
    ],
)
def test_names_aliases_roles(studio: OCIO.Config, name: str, canonical: str) -> None:
    assert resolve_colorspace(studio, name) == canonical


def test_unknown_name_lists_close_matches(studio: OCIO.Config) -> None:
    with pytest.raises(ColorError) as info:
        resolve_colorspace(studio, "ACESgc", "input_colorspace")
    msg = str(info.value)
    assert msg.startswith("input_colorspace: ")
    assert "got 'ACESgc'" in msg and "'ACEScg'" in msg
    assert "\n" not in msg and "S-Log3" not in msg  # a few suggestions, not the whole config


def test_encodings(studio: OCIO.Config) -> None:
    assert colorspace_encoding(studio, "scene_linear") == "scene-linear"
    assert colorspace_encoding(studio, "ADX10") == "log"
    assert colorspace_encoding(studio, "srgb_tx") == "sdr-video"
    assert colorspace_encoding(studio, "Raw") == "data"


def test_list_colorspaces(studio: OCIO.Config) -> None:
    rows = {name: (family, aliases) for name, family, aliases in list_colorspaces(studio)}
    assert rows["ACEScg"][0] == "ACES"
    assert "lin_ap1" in rows["ACEScg"][1]
    assert len(rows) == len(studio.getColorSpaceNames())
    assert ("scene_linear", "ACEScg") in list_roles(studio)


@pytest.mark.parametrize(
    ("fmt", "hint", "expected"),
    [
        ("openexr", None, "ACEScg"),
        ("exr", "", "ACEScg"),
        ("openexr", "lin_rec709_scene", "Linear Rec.709 (sRGB)"),
        ("openexr", "ACES2065-1", "ACES2065-1"),
        ("openexr", "not a colourspace", "ACEScg"),
        ("dpx", None, "ADX10"),
        ("dpx", "Undefined", "ADX10"),
        ("dpx", "Printing density", "ADX10"),
        ("dpx", "Logarithmic", "ADX10"),
        ("dpx", "Linear", "ACEScg"),
        ("dpx", "ITU-R 709-4", "Gamma 2.4 Encoded Rec.709"),
        ("dpx", "sRGB", "sRGB Encoded Rec.709 (sRGB)"),
        ("png", None, "sRGB Encoded Rec.709 (sRGB)"),
        ("png", "srgb_rec709_scene", "sRGB Encoded Rec.709 (sRGB)"),
        ("jpeg", None, "sRGB Encoded Rec.709 (sRGB)"),
        (".jpg", None, "sRGB Encoded Rec.709 (sRGB)"),
        ("tiff", None, "sRGB Encoded Rec.709 (sRGB)"),
        ("tiff", "ACEScg", "ACEScg"),
    ],
)
def test_default_input_colorspace(studio: OCIO.Config, fmt: str, hint: str | None, expected: str) -> None:
    assert default_input_colorspace(fmt, hint, studio) == expected


def test_dpx_falls_back_to_compositing_log(cg: OCIO.Config) -> None:
    assert default_input_colorspace("dpx", "Printing density", cg) == cg.getRoleColorSpace("compositing_log")


def test_unknown_format(studio: OCIO.Config) -> None:
    with pytest.raises(ColorError, match=r"got 'xyz'.*--input-colorspace"):
        default_input_colorspace("xyz", None, studio)


# ------------------------------------------------------------------------------------ transforms
# The default ("auto") working space of scene-linear and log sources is the display shaper.


@pytest.mark.parametrize("space", ["ACEScg", "ACES2065-1", "lin_rec709"])
def test_default_working_space_is_display_shaper(studio: OCIO.Config, space: str) -> None:
    for working in (None, "", "auto", DISPLAY_SHAPER):
        transform = ColorTransform(studio, space, working)
        assert transform.working_space == DISPLAY_SHAPER == "filmstyle-display"
        assert not transform.is_identity
        assert "filmstyle-display" in repr(transform)


@pytest.mark.parametrize("space", ["ACEScg", "ACES2065-1", "lin_rec709"])
def test_shaper_round_trip(studio: OCIO.Config, space: str) -> None:
    transform = ColorTransform(studio, space)
    frame = shaper_frame(studio, space)
    back = transform.from_working(transform.to_working(frame))
    assert back.dtype == np.float32 and back.shape == frame.shape
    # Neutral and moderately tinted pixels: every channel within 1e-4 of itself; values within
    # ±0.01 get a 1e-6 absolute allowance instead (the gamut matrices leave ~1e-8 there).
    np.testing.assert_allclose(back[:, :3], frame[:, :3], rtol=1e-4, atol=1e-6)
    # The nearly saturated tint: a float32 code near 1 carries ~3e-5 of its channel, and the way
    # back out of Rec.709 mixes that into the 2 % channel, so that channel is held to 1e-4 of its
    # pixel's brightest channel (lin_rec709 has no matrix: held to itself as well).
    err = np.abs(back - frame)
    scale = np.abs(frame).max(axis=-1, keepdims=True)
    assert np.all(err <= 1e-4 * scale + 1e-6)
    if space == "lin_rec709":
        np.testing.assert_allclose(back, frame, rtol=1e-4, atol=1e-6)


def test_shaper_matches_formula(studio: OCIO.Config) -> None:
    lin = np.concatenate([np.linspace(-0.01, 1.0, 2001), np.linspace(0.49, 0.51, 201), np.geomspace(1, 100, 500)])
    np.testing.assert_allclose(shaper.encode(lin), display_code(lin), rtol=0, atol=2e-7)
    frame = np.repeat(lin.astype(np.float32)[:, None], 3, axis=1).reshape(1, -1, 3)
    work = ColorTransform(studio, "lin_rec709").to_working(frame)  # no OCIO step: shaper only
    np.testing.assert_allclose(work[0, :, 1], display_code(frame[0, :, 1]), rtol=0, atol=2e-7)


def test_shaper_landmarks() -> None:
    expected = display_code([0.18, 1.0])
    assert abs(expected[0] - 0.4614) < 1e-4 and abs(expected[1] - 0.8808) < 1e-4
    np.testing.assert_allclose(shaper.encode(np.array([0.18, 1.0])), expected, atol=1e-6)
    # the rounder landmarks the module documents
    codes = shaper.encode(np.array([0.0, 2.2, 10.9, 100.0]))
    assert codes[0] == 0.0
    np.testing.assert_allclose(codes[1:], [0.95, 0.99, 0.999], atol=2e-3)
    # below the joint the curve is plain sRGB: an 8-bit photograph's grey of 0.18 looks like one
    assert shaper.encode(np.array(0.5)) == pytest.approx(1.055 * 0.5 ** (1 / 2.4) - 0.055, abs=1e-6)


def test_shaper_monotone_and_smooth_at_joint() -> None:
    lin = np.concatenate([np.linspace(-0.01, 0.01, 2000, endpoint=False), np.geomspace(0.01, 100.0, 4000)])
    codes = shaper.encode(lin)
    assert np.all(np.diff(codes) > 0)  # strictly increasing: every value keeps its own code
    far = shaper.encode(np.geomspace(100.0, 1e9, 200))
    assert np.all(np.diff(far) >= 0) and far.max() <= 1.0
    # C1 at the joint: one-sided slopes agree (curvature alone leaves ~0.3 % at this step)
    step = 1e-3
    joint = shaper.SHOULDER_START
    below, at, above = shaper.encode(np.array([joint - step, joint, joint + step], np.float64))
    left, right = (at - below) / step, (above - at) / step
    assert right == pytest.approx(left, rel=0.02)
    # a kinked shoulder of the same shape (slope 2 at the joint) would show up plainly
    kinked = 1.055 * (joint + joint * step / (step + joint / 2)) ** (1 / 2.4) - 0.055
    assert (kinked - at) / step > 1.5 * left


def test_shaper_highlights_survive(studio: OCIO.Config) -> None:
    transform = ColorTransform(studio, "ACEScg")
    frame = np.full((4, 4, 3), 50.0, np.float32)
    frame[0, 0] = [60.0, 80.0, 95.0]
    work = transform.to_working(frame)
    assert np.all(work < 1.0) and 0.99 < work[1, 1, 0] < 1.0
    assert work[0, 0, 0] < work[0, 0, 1] < work[0, 0, 2]  # each highlight keeps a distinct code
    np.testing.assert_allclose(transform.from_working(work), frame, rtol=1e-4)


def test_shaper_highlights_above_100_survive(studio: OCIO.Config) -> None:
    transform = ColorTransform(studio, "lin_rec709")
    frame = np.array([[[100.0] * 3, [1000.0, 5000.0, HALF_MAX]]], np.float32)
    work = transform.to_working(frame)
    assert np.all(work < 1.0) and work[0, 0, 0] < work[0, 1, 0] < work[0, 1, 1] < work[0, 1, 2]
    back = transform.from_working(work)
    # float32 resolution near code 1 is the only loss: ~0.5 % at 5000, a few % at half max.
    np.testing.assert_allclose(back[0, :, :2].ravel(), frame[0, :, :2].ravel(), rtol=5e-3)
    assert np.isfinite(back).all() and back[0, 1, 2] > 20000


def test_shaper_negatives_invertible(studio: OCIO.Config) -> None:
    transform = ColorTransform(studio, "lin_rec709")
    frame = np.array([[[-0.005] * 3, [-0.01] * 3, [-0.5, 0.2, 0.1]]], np.float32)
    work = transform.to_working(frame)
    np.testing.assert_allclose(work[0, :2, 0], [-0.0646, -0.1292], rtol=1e-5)  # sRGB's toe, 12.92·x
    assert work[0, 2, 0] == pytest.approx(-0.5 * 12.92, rel=1e-6)
    np.testing.assert_allclose(transform.from_working(work), frame, rtol=1e-5, atol=1e-7)
    gamut = ColorTransform(studio, "ACEScg")
    np.testing.assert_allclose(gamut.from_working(gamut.to_working(frame)), frame, rtol=1e-4, atol=1e-6)


def test_shaper_network_output_range(studio: OCIO.Config) -> None:
    transform = ColorTransform(studio, "lin_rec709")
    assert transform.network_ceiling == shaper.NETWORK_CEILING
    assert ColorTransform(studio, "lin_rec709", "ACEScct").network_ceiling is None
    assert shaper.decode(np.array(0.0)) == 0.0
    assert abs(shaper.decode(np.array(shaper.NETWORK_CEILING)) - shaper.MAX_STYLIZED) < 1e-2
    assert shaper.decode(np.array(1.0)) == shaper.HALF_MAX  # the curve's infinity, kept finite
    assert shaper.decode(np.array(2.0)) == shaper.HALF_MAX
    codes = np.random.default_rng(5).random((64, 64, 3), dtype=np.float32)
    codes[0, 0], codes[0, 1] = 0.0, 1.0
    capped = np.minimum(codes, np.float32(transform.network_ceiling))
    decoded = shaper.decode(capped)
    assert decoded.dtype == np.float32
    assert decoded.min() == 0.0 and decoded.max() <= shaper.MAX_STYLIZED * (1 + 1e-5)
    assert np.all(np.diff(shaper.decode(np.linspace(0, 0.99999, 10001))) > 0)
    linear = transform.from_working(capped)
    assert linear.min() >= 0.0 and linear.max() <= 100.0 * (1 + 1e-5)
    np.testing.assert_array_equal(linear, decoded)


def test_dpx_log_round_trip(studio: OCIO.Config) -> None:
    transform = ColorTransform(studio, default_input_colorspace("dpx", "Printing density", studio))
    assert (transform.input_colorspace, transform.working_space) == ("ADX10", DISPLAY_SHAPER)
    assert not transform.is_identity
    codes = np.linspace(0.0, 1.0, 1024 * 3, dtype=np.float32).reshape(32, 32, 3)
    work = transform.to_working(codes)
    assert not np.allclose(work, codes, atol=1e-2)
    assert 0.0 <= work.min() and work.max() < 1.0  # ADX10's full range fits under the shoulder
    np.testing.assert_allclose(transform.from_working(work), codes, rtol=1e-4, atol=2e-5)


def test_srgb_png_is_identity(studio: OCIO.Config) -> None:
    transform = ColorTransform(studio, default_input_colorspace("png", None, studio), "auto")
    assert transform.is_identity and transform.working_space == "sRGB Encoded Rec.709 (sRGB)"
    frame = np.random.default_rng(1).random((8, 8, 3), dtype=np.float32)
    out = transform.to_working(frame)
    assert out is not frame and np.array_equal(out, frame)
    for working in ("ACEScct", DISPLAY_SHAPER):
        forced = ColorTransform(studio, "sRGB - Texture", working)
        assert not forced.is_identity
        np.testing.assert_allclose(forced.from_working(forced.to_working(frame)), frame, atol=1e-5)


def test_shaper_needs_linear_rec709() -> None:
    config = OCIO.Config.CreateRaw()
    lin = OCIO.ColorSpace(name="plate_linear", encoding="scene-linear")
    config.addColorSpace(lin)
    assert ColorTransform(config, "plate_linear", "raw").working_space == "raw"
    with pytest.raises(ColorError, match=r"^working_space: .*no linear Rec\.709") as info:
        ColorTransform(config, "plate_linear")
    assert "--working-space" in str(info.value)


def test_cg_config_default(cg: OCIO.Config) -> None:
    transform = ColorTransform(cg, "ACEScg")
    assert transform.working_space == DISPLAY_SHAPER
    frame = np.full((2, 2, 3), 0.18, np.float32)
    np.testing.assert_allclose(transform.to_working(frame), display_code(0.18), atol=1e-5)


def test_inplace_and_conversion(studio: OCIO.Config) -> None:
    transform = ColorTransform(studio, "ACEScg")
    frame = np.full((2, 3, 3), 0.18, np.float32)
    assert transform.to_working(frame, inplace=True) is frame
    assert abs(frame[0, 0, 0] - 0.4614) < 1e-3
    assert transform.from_working(frame, inplace=True) is frame
    np.testing.assert_allclose(frame, 0.18, rtol=1e-5)
    doubles = np.full((2, 3, 3), 0.18)
    out = transform.to_working(doubles, inplace=True)
    assert out.dtype == np.float32 and doubles[0, 0, 0] == 0.18
    codes = np.full((2, 3, 3), 0.5, np.float32)
    back = transform.from_working(codes)  # not in place: the network output is left alone
    assert back is not codes and np.all(codes == 0.5)
    cct = ColorTransform(studio, "ACEScg", "ACEScct")
    frame = np.full((2, 3, 3), 0.18, np.float32)
    assert cct.to_working(frame, inplace=True) is frame
    assert abs(frame[0, 0, 0] - 0.4136) < 1e-3
    for t in (transform, cct):
        with pytest.raises(ColorError, match=r"rgb: .*\(2, 3, 4\)"):
            t.to_working(np.zeros((2, 3, 4), np.float32))
        with pytest.raises(ColorError, match=r"rgb: .*\(2, 3, 4\)"):
            t.from_working(np.zeros((2, 3, 4), np.float32))


@pytest.mark.parametrize("working", [None, "ACEScct"])
def test_threads_match_single(studio: OCIO.Config, working: str | None) -> None:
    frame = np.random.default_rng(2).uniform(-0.01, 100, (300, 400, 3)).astype(np.float32)
    single = ColorTransform(studio, "ACEScg", working)
    with ColorTransform(studio, "ACEScg", working, threads=2) as threaded:
        work = threaded.to_working(frame)
        assert np.array_equal(work, single.to_working(frame))
        assert np.array_equal(threaded.from_working(work), single.from_working(work))


def test_forced_working_space_unknown(studio: OCIO.Config) -> None:
    with pytest.raises(ColorError, match="^working_space: "):
        ColorTransform(studio, "ACEScg", "ACESct")


# -------------------------------------------------------------------------------- forced ACEScct
# ACEScct is no longer the default, but stays available as a forced log working space.


@pytest.mark.parametrize("space", ["ACEScg", "ACES2065-1", "lin_rec709"])
def test_acescct_round_trip(studio: OCIO.Config, space: str) -> None:
    transform = ColorTransform(studio, space, working_space="ACEScct")
    assert transform.working_space == "ACEScct" and not transform.is_identity
    frame = linear_frame()
    back = transform.from_working(transform.to_working(frame))
    assert back.dtype == np.float32 and back.shape == frame.shape
    # Relative error is meaningless at 0 and float32 cancellation in the gamut matrices leaves
    # ~1e-8 absolute there, so values within ±0.01 get a 1e-6 absolute allowance instead.
    np.testing.assert_allclose(back, frame, rtol=1e-4, atol=1e-6)


def test_acescg_matches_acescct_formula(studio: OCIO.Config) -> None:
    lin = np.array([-0.01, -0.005, 0.0, 0.005, 0.18, 1.0, 50.0, 100.0, 222.86, HALF_MAX], np.float32)
    frame = np.repeat(lin[:, None], 3, axis=1).reshape(1, -1, 3)
    work = ColorTransform(studio, "ACEScg", working_space="ACEScct").to_working(frame)
    np.testing.assert_allclose(work[0, :, 1], acescct(lin), atol=2e-5)


def test_acescct_highlights_survive(studio: OCIO.Config) -> None:
    transform = ColorTransform(studio, "ACEScg", working_space="ACEScct")
    frame = np.full((4, 4, 3), 50.0, np.float32)
    frame[0, 0] = [1000.0, 5000.0, HALF_MAX]
    work = transform.to_working(frame)
    assert 0.8 < work[1, 1, 0] < 1.0
    assert np.all(work[0, 0] > 1.0)  # beyond the network's range, but still carried
    np.testing.assert_allclose(transform.from_working(work), frame, rtol=1e-4)


def test_acescct_negatives_invertible(studio: OCIO.Config) -> None:
    transform = ColorTransform(studio, "ACEScg", working_space="ACEScct")
    frame = np.array([[[-0.005] * 3, [-0.01] * 3, [-0.5, 0.2, 0.1]]], np.float32)
    work = transform.to_working(frame)
    assert 0.0 < work[0, 0, 0] < 0.0729  # on the linear toe, still inside the network range
    assert work[0, 1, 0] < 0.0  # below −0.0069: outside [0, 1]
    np.testing.assert_allclose(transform.from_working(work), frame, rtol=1e-4, atol=1e-6)


def test_acescct_network_output_range(studio: OCIO.Config) -> None:
    transform = ColorTransform(studio, "ACEScg", working_space="ACEScct")
    ends = transform.from_working(np.array([[[0.0] * 3, [1.0] * 3]], np.float32))
    np.testing.assert_allclose(ends[0, :, 0], [-0.00692, 222.86], rtol=1e-3)


def test_dpx_log_round_trip_acescct(studio: OCIO.Config) -> None:
    transform = ColorTransform(studio, "ADX10", working_space="ACEScct")
    assert transform.working_space == "ACEScct"
    codes = np.linspace(0.0, 1.0, 1024 * 3, dtype=np.float32).reshape(32, 32, 3)
    work = transform.to_working(codes)
    assert not np.allclose(work, codes, atol=1e-2)
    np.testing.assert_allclose(transform.from_working(work), codes, rtol=1e-4, atol=2e-5)


# ----------------------------------------------------------------------------------------- alpha


def test_premult_round_trip_exact_for_0_and_1() -> None:
    rng = np.random.default_rng(3)
    rgb = rng.uniform(0, 5, (16, 16, 3)).astype(np.float32)
    alpha = rng.choice(np.array([0.0, 1.0], np.float32), (16, 16))
    straight = unpremultiply(rgb, alpha)
    assert np.array_equal(straight, rgb)  # nothing to divide: emission pixels (alpha 0) kept
    assert np.array_equal(premultiply(straight, alpha), rgb)


def test_premult_round_trip_partial_alpha() -> None:
    rng = np.random.default_rng(4)
    alpha = rng.uniform(0.001, 1, (16, 16, 1)).astype(np.float32)
    rgb = (rng.uniform(0, 5, (16, 16, 3)) * alpha).astype(np.float32)
    straight = unpremultiply(rgb, alpha)
    np.testing.assert_allclose(straight * alpha, rgb, rtol=1e-6)
    np.testing.assert_allclose(premultiply(straight, alpha), rgb, rtol=4e-7)


def test_emission_pixel_unchanged() -> None:
    rgb = np.array([[[2.0, 1.0, 0.5], [0.25, 0.25, 0.25]]], np.float32)
    alpha = np.array([[0.0, 0.5]], np.float32)
    straight = unpremultiply(rgb, alpha)
    assert straight[0, 0].tolist() == [2.0, 1.0, 0.5]
    assert straight[0, 1].tolist() == [0.5, 0.5, 0.5]
    assert np.array_equal(premultiply(straight, alpha), rgb)
    with pytest.raises(ColorError, match="alpha"):
        premultiply(rgb, np.ones((2, 1), np.float32))


# ------------------------------------------------------------------------------------ non-finite


def test_nonfinite_count_and_clean() -> None:
    rgb = np.ones((4, 5, 3), np.float32)
    assert count_nonfinite(rgb) == 0
    rgb[0, 0] = [np.nan, np.nan, 1.0]  # one pixel, two bad channels
    rgb[1, 1, 2] = np.inf
    rgb[2, 2, 0] = -np.inf
    assert count_nonfinite(rgb) == 3
    cleaned = clean_nonfinite(rgb)
    assert count_nonfinite(cleaned) == 0 and count_nonfinite(rgb) == 3  # input left alone
    assert cleaned[0, 0].tolist() == [0.0, 0.0, 1.0]
    assert cleaned[1, 1, 2] == HALF_MAX and cleaned[2, 2, 0] == 0.0
    assert cleaned.dtype == np.float32


def test_nonfinite_half_and_plane() -> None:
    half = np.full((3, 3, 3), 60000, np.float16)  # a float16 sum would overflow to inf
    assert count_nonfinite(half) == 0
    half[1, 1, 1] = np.inf
    assert count_nonfinite(half) == 1
    assert clean_nonfinite(half)[1, 1, 1] == np.float16(HALF_MAX)
    plane = np.zeros((3, 3), np.float32)
    plane[0, :2] = np.nan
    assert count_nonfinite(plane) == 2
