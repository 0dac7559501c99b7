"""Resolve's timeline colourspaces: Blackmagic's formulas, and the spaces added to configs that lack them."""

from __future__ import annotations

import numpy as np
import PyOpenColorIO as OCIO
import pytest

from filmstyle.color import ColorTransform, load_config
from filmstyle.color.resolve_spaces import (
    D65,
    DI_LIN_CUT,
    DI_LOG_CUT,
    DWG_PRIMARIES,
    RESOLVE_SPACES,
    add_resolve_spaces,
    davinci_intermediate_decode,
    davinci_intermediate_encode,
    dwg_to_rec709_matrix,
    rgb_to_xyz_matrix,
)
from filmstyle_plugin.fuse_gen import RESOLVE_COLOURSPACES


def test_davinci_intermediate_known_values():
    # Blackmagic's white paper: 0 -> 0, 18 % grey -> 0.336, 1.0 -> 0.514, 100 -> 1.0.
    codes = davinci_intermediate_encode([0.0, 0.18, 1.0, 100.0])
    np.testing.assert_allclose(codes, [0.0, 0.33604, 0.51384, 1.0], atol=5e-5)
    # The two pieces meet at the cut, and decode inverts encode on both sides of it.
    assert davinci_intermediate_encode(DI_LIN_CUT) == pytest.approx(DI_LOG_CUT, abs=1e-7)
    x = np.array([-0.01, 0.0, 0.001, DI_LIN_CUT, 0.01, 0.18, 5.0, 90.0])
    np.testing.assert_allclose(davinci_intermediate_decode(davinci_intermediate_encode(x)), x, rtol=1e-7, atol=1e-12)


def test_dwg_matrix_is_blackmagics():
    # DaVinci Wide Gamut RGB -> CIE XYZ as published by Blackmagic Design.
    published = [[0.70062239, 0.14877482, 0.10105872],
                 [0.27411851, 0.87363190, -0.14775041],
                 [-0.09896291, -0.13789533, 1.32591599]]
    np.testing.assert_allclose(rgb_to_xyz_matrix(DWG_PRIMARIES, D65), published, atol=2e-8)
    # White stays white between the two D65 spaces.
    np.testing.assert_allclose(dwg_to_rec709_matrix() @ np.ones(3), np.ones(3), atol=1e-12)


def _convert(config: OCIO.Config, src: str, dst: str, px: np.ndarray) -> np.ndarray:
    out = np.array(px, np.float32)
    config.getProcessor(src, dst).getDefaultCPUProcessor().applyRGB(out)
    return out


PIXELS = np.array([[0.0, 0.18, 1.0], [0.5, 0.02, 0.9], [-0.01, 0.3, 0.7], [0.001, 0.002, 0.0026]], np.float32)


def test_studio_config_has_them_and_is_left_alone():
    studio = OCIO.Config.CreateFromFile("ocio://studio-config-latest")
    assert add_resolve_spaces(studio) is studio
    for space in RESOLVE_SPACES:
        assert studio.getColorSpace(space.name) is not None


def test_spaces_added_to_a_config_that_lacks_them_match_blackmagic_and_the_studio_config():
    cg = OCIO.Config.CreateFromFile("ocio://cg-config-latest")
    assert cg.getColorSpace("DaVinci Intermediate WideGamut") is None
    added = add_resolve_spaces(cg)
    assert cg.getColorSpace("DaVinci Intermediate WideGamut") is None, "the caller's config was edited"
    added.validate()
    studio = OCIO.Config.CreateFromFile("ocio://studio-config-latest")
    # The log curve is exactly the studio config's (and Blackmagic's).
    np.testing.assert_allclose(_convert(added, "DaVinci Intermediate WideGamut", "Linear DaVinci WideGamut", PIXELS),
                               davinci_intermediate_decode(PIXELS), rtol=2e-5, atol=1e-7)
    np.testing.assert_allclose(
        _convert(added, "DaVinci Intermediate WideGamut", "Linear DaVinci WideGamut", PIXELS),
        _convert(studio, "DaVinci Intermediate WideGamut", "Linear DaVinci WideGamut", PIXELS), rtol=1e-6, atol=1e-7)
    # The gamut is Blackmagic's matrix exactly; the studio config's own route through ACES AP0
    # lands within 0.5 % of it (of the largest value).
    lin709 = _convert(added, "Linear DaVinci WideGamut", "Linear Rec.709 (sRGB)", PIXELS)
    np.testing.assert_allclose(lin709, PIXELS @ dwg_to_rec709_matrix().T, rtol=1e-5, atol=1e-6)
    studio709 = _convert(studio, "Linear DaVinci WideGamut", "Linear Rec.709 (sRGB)", PIXELS)
    assert np.abs(lin709 - studio709).max() < 0.005 * np.abs(lin709).max()


def test_a_config_with_only_linear_rec709_gets_all_three():
    config = OCIO.Config.CreateRaw()
    config.addColorSpace(OCIO.ColorSpace(name="Linear Rec.709 (sRGB)", encoding="scene-linear"))
    config.setRole("scene_linear", "Linear Rec.709 (sRGB)")
    added = add_resolve_spaces(config)
    added.validate()
    for space in RESOLVE_SPACES:
        assert added.getColorSpace(space.name) is not None
        assert all(added.getColorSpace(a) is not None for a in space.aliases)
    # Rec.709 Gamma 2.4: a pure 2.4 power (negatives pass through), as the studio config has it.
    g24 = _convert(added, "Gamma 2.4 Encoded Rec.709", "Linear Rec.709 (sRGB)", PIXELS)
    np.testing.assert_allclose(g24, np.where(PIXELS > 0, np.abs(PIXELS) ** 2.4, PIXELS), rtol=5e-5, atol=1e-7)
    studio = OCIO.Config.CreateFromFile("ocio://studio-config-latest")
    np.testing.assert_allclose(g24, _convert(studio, "Gamma 2.4 Encoded Rec.709", "Linear Rec.709 (sRGB)", PIXELS),
                               rtol=5e-5, atol=1e-7)
    di = _convert(added, "DaVinci Intermediate WideGamut", "Linear Rec.709 (sRGB)", PIXELS)
    np.testing.assert_allclose(di, davinci_intermediate_decode(PIXELS) @ dwg_to_rec709_matrix().T, rtol=5e-5, atol=1e-6)


def test_no_linear_rec709_means_nothing_added():
    config = OCIO.Config.CreateRaw()
    assert add_resolve_spaces(config) is config


def test_every_colourspace_the_fuse_offers_resolves_in_both_builtin_configs(monkeypatch):
    monkeypatch.delenv("OCIO", raising=False)
    for uri in (None, "ocio://cg-config-latest"):
        config = load_config(uri)
        for label, name in RESOLVE_COLOURSPACES:
            if name is None:
                continue
            if name.startswith("ACES") and config.getColorSpace(name) is None:
                continue
            transform = ColorTransform(config, name)  # the worker's own path for a job's input colourspace
            assert transform.input_colorspace == name, (uri, label)


def test_a_davinci_intermediate_plate_round_trips_through_the_working_space():
    config = load_config("ocio://cg-config-latest")
    t = ColorTransform(config, "DaVinci Intermediate WideGamut")
    # Colours inside Rec.709 (the working space's gamut): greys with a little chroma.
    rng = np.random.default_rng(1)
    grey = rng.uniform(0.1, 0.9, (8, 8, 1))
    px = np.clip(grey + rng.uniform(-0.03, 0.03, (8, 8, 3)), 0, 1).astype(np.float32)
    back = t.from_working(t.to_working(px))
    np.testing.assert_allclose(back, px, rtol=2e-4, atol=2e-5)
