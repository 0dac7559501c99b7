"""filmstyle.engine.color_match: Oklab colour preservation and per-channel histogram matching (constructed images)."""

from __future__ import annotations

import numpy as np
import pytest

from filmstyle.errors import InputError
from filmstyle.engine.color_match import histogram_match, hue, oklab_to_srgb, preserve_color, srgb_to_oklab


def colours(h: int = 32, w: int = 48, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (0.15 + 0.7 * rng.random((h, w, 3))).astype(np.float32)


def test_oklab_reference_values_and_round_trip():
    # Ottosson's published values: white -> L 1, a = b = 0; sRGB red -> (0.628, 0.225, 0.126).
    assert np.allclose(srgb_to_oklab(np.array([1.0, 1.0, 1.0])), [1.0, 0.0, 0.0], atol=1e-4)
    assert np.allclose(srgb_to_oklab(np.array([1.0, 0.0, 0.0])), [0.62796, 0.22486, 0.12585], atol=1e-4)
    img = colours()
    assert np.abs(oklab_to_srgb(srgb_to_oklab(img)) - img).max() < 1e-6


def test_preserve_color_keeps_source_hue_and_stylized_lightness():
    src = colours(seed=1)
    stylized = (0.2 + 0.6 * colours(seed=2).mean(-1, keepdims=True) * np.array([1.0, 0.7, 0.4])).astype(np.float32)
    out = preserve_color(src, stylized, 1.0)
    dh = np.angle(np.exp(1j * (hue(out) - hue(src))))
    lab_out, lab_src, lab_sty = srgb_to_oklab(out), srgb_to_oklab(src), srgb_to_oklab(stylized)
    chroma = np.hypot(lab_src[..., 1], lab_src[..., 2])
    assert np.abs(dh[chroma > 0.02]).max() < 1e-3
    inside = np.all((out > 0.001) & (out < 0.999), axis=-1)  # not gamut-mapped
    assert inside.mean() > 0.5
    assert np.abs(lab_out[..., 0] - lab_sty[..., 0])[inside].max() < 1e-4
    assert np.abs(lab_out[..., 1:] - lab_src[..., 1:])[inside].max() < 1e-4
    assert out.min() >= 0.0 and out.max() <= 1.0
    # Hue is not what the stylization had.
    assert np.abs(np.angle(np.exp(1j * (hue(stylized) - hue(src)))))[chroma > 0.02].mean() > 0.3


def test_preserve_color_amount_zero_is_identity_and_half_is_a_mix():
    src, sty = colours(seed=3), colours(seed=4)
    assert np.array_equal(preserve_color(src, sty, 0.0), sty)
    full = preserve_color(src, sty, 1.0)
    assert np.allclose(preserve_color(src, sty, 0.5), 0.5 * (sty + full), atol=1e-6)
    with pytest.raises(InputError):
        preserve_color(src, sty, 1.5)
    with pytest.raises(InputError):
        preserve_color(src, sty[:4], 1.0)


def test_histogram_match_transfers_per_channel_distributions():
    rng = np.random.default_rng(5)
    sty = rng.random((64, 64, 3)).astype(np.float32) ** 2
    ref = np.stack([rng.normal(0.5, 0.05, (80, 40)), rng.beta(2, 5, (80, 40)), rng.random((80, 40)) * 0.3], -1)
    out = histogram_match(sty, ref.astype(np.float32), 1.0)
    for c in range(3):
        qs = np.linspace(0.05, 0.95, 10)
        assert np.allclose(np.quantile(out[..., c], qs), np.quantile(ref[..., c], qs), atol=0.02)
        # Monotone: pixel order within a channel is kept.
        order = np.argsort(sty[..., c].ravel())
        assert np.all(np.diff(out[..., c].ravel()[order]) >= -1e-6)
    assert np.array_equal(histogram_match(sty, ref, 0.0), sty)
    half = histogram_match(sty, ref, 0.5)
    assert np.allclose(half, 0.5 * (sty + out), atol=1e-6)
