"""Colour preservation and histogram matching of stylized frames (working-space pixels).

**Why Oklab.** Keeping the source's colour while taking the stylization's light and texture is a
split into lightness and chroma. Y'CbCr on code values is the classic recipe, but its lightness
axis is not perceptual (a saturated blue has a low Y' yet looks bright) and keeping Cb/Cr while Y'
changes shifts saturation. Oklab (Ottosson 2020) is built so that ``L`` predicts lightness and
``atan2(b, a)`` hue across the gamut, so putting the stylization's ``L`` under the source's
``(a, b)`` keeps the source's hue *and* chroma exactly. Oklab is defined on linear sRGB/Rec.709;
the working space is display-encoded, so code values are linearised with the sRGB curve first
(extended to negative values by symmetry) and encoded again afterwards. Results that leave the
[0, 1] cube are brought back by reducing chroma at constant ``L`` and hue.

All arrays are ``(H, W, 3)`` float32 working-space code values (any ``(..., 3)`` works).
"""

from __future__ import annotations

import numpy as np

from filmstyle.errors import InputError

__all__ = ["srgb_decode", "srgb_encode", "srgb_to_oklab", "oklab_to_srgb", "preserve_color", "histogram_match", "hue"]

# Ottosson's published matrices: linear sRGB -> LMS, cube root, LMS' -> Lab, and their inverses.
_M1 = np.array([[0.4122214708, 0.5363325363, 0.0514459929],
                [0.2119034982, 0.6806995451, 0.1073969566],
                [0.0883024619, 0.2817188376, 0.6299787005]])
_M2 = np.array([[0.2104542553, 0.7936177850, -0.0040720468],
                [1.9779984951, -2.4285922050, 0.4505937099],
                [0.0259040371, 0.7827717662, -0.8086757660]])
_M1_INV = np.array([[4.0767416621, -3.3077115913, 0.2309699292],
                    [-1.2684380046, 2.6097574011, -0.3413193965],
                    [-0.0041960863, -0.7034186147, 1.7076147010]])
_M2_INV = np.array([[1.0, 0.3963377774, 0.2158037573],
                    [1.0, -0.1055613458, -0.0638541728],
                    [1.0, -0.0894841775, -1.2914855480]])


def srgb_decode(c: np.ndarray) -> np.ndarray:
    a = np.abs(c)
    lin = np.where(a <= 0.04045, a / 12.92, ((a + 0.055) / 1.055) ** 2.4)
    return np.sign(c) * lin


def srgb_encode(x: np.ndarray) -> np.ndarray:
    a = np.abs(x)
    enc = np.where(a <= 0.0031308, a * 12.92, 1.055 * a ** (1 / 2.4) - 0.055)
    return np.sign(x) * enc


def srgb_to_oklab(rgb: np.ndarray) -> np.ndarray:
    """Oklab ``(..., 3)`` float64 (L, a, b) of sRGB-encoded code values ``(..., 3)``."""
    lms = srgb_decode(np.asarray(rgb, dtype=np.float64)) @ _M1.T
    return np.cbrt(lms) @ _M2.T


def oklab_to_srgb(lab: np.ndarray) -> np.ndarray:
    """sRGB-encoded code values ``(..., 3)`` float64 of Oklab ``(..., 3)``; inverse of :func:`srgb_to_oklab`."""
    lms = (np.asarray(lab, dtype=np.float64) @ _M2_INV.T) ** 3
    return srgb_encode(lms @ _M1_INV.T)


def hue(rgb: np.ndarray) -> np.ndarray:
    """Oklab hue angle ``atan2(b, a)`` in radians, ``(...)``, of code values ``(..., 3)``."""
    lab = srgb_to_oklab(rgb)
    return np.arctan2(lab[..., 2], lab[..., 1])


def _check(a: np.ndarray, b: np.ndarray, what: str) -> tuple[np.ndarray, np.ndarray]:
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape or a.shape[-1:] != (3,):
        raise InputError(f"{what}: expected two (H, W, 3) images of one shape, got {a.shape} and {b.shape}")
    return a, b


def _check_amount(amount: float, what: str) -> float:
    if not 0.0 <= float(amount) <= 1.0:
        raise InputError(f"{what}: amount must be within 0..1, got {amount!r}")
    return float(amount)


def _into_gamut(lab: np.ndarray, steps: int = 12) -> np.ndarray:
    """Scale chroma down (constant L and hue) wherever the colour leaves the [0, 1] code cube."""
    rgb = oklab_to_srgb(lab)
    bad = np.any((rgb < 0) | (rgb > 1), axis=-1)
    if not bad.any():
        return rgb
    sub = lab[bad]
    sub[:, 0] = np.clip(sub[:, 0], 0.0, 1.0)
    lo, hi = np.zeros(len(sub)), np.ones(len(sub))
    for _ in range(steps):  # bisection on the chroma factor
        mid = 0.5 * (lo + hi)
        test = sub.copy()
        test[:, 1:] *= mid[:, None]
        t = oklab_to_srgb(test)
        ok = np.all((t >= -1e-6) & (t <= 1 + 1e-6), axis=-1)
        lo, hi = np.where(ok, mid, lo), np.where(ok, hi, mid)
    sub[:, 1:] *= lo[:, None]
    rgb[bad] = np.clip(oklab_to_srgb(sub), 0.0, 1.0)
    return rgb


def preserve_color(source_working: np.ndarray, stylized_working: np.ndarray, amount: float = 1.0,
                   *, gamut_map: bool = True) -> np.ndarray:
    """Keep the source's colour, take the stylization's lightness (Oklab ``L``) and texture.

    Args:
        source_working: source frame ``(H, W, 3)`` code values.
        stylized_working: stylized frame, same shape.
        amount: 0 returns ``stylized_working``; 1 returns source ``(a, b)`` under stylized ``L``;
            in between, a linear mix of the two in code values.
        gamut_map: bring colours outside [0, 1] back at constant lightness and hue (else return them).

    Returns:
        ``(H, W, 3)`` float32.
    """
    src, sty = _check(source_working, stylized_working, "preserve colour")
    a = _check_amount(amount, "preserve colour")
    sty32 = sty.astype(np.float32, copy=False)
    if a == 0.0:
        return sty32.copy()
    lab = srgb_to_oklab(sty)
    lab[..., 1:] = srgb_to_oklab(src)[..., 1:]
    kept = _into_gamut(lab) if gamut_map else oklab_to_srgb(lab)
    kept = kept.astype(np.float32)
    if a == 1.0:
        return kept
    return (sty32 + np.float32(a) * (kept - sty32)).astype(np.float32)


def histogram_match(stylized: np.ndarray, source: np.ndarray, amount: float = 1.0, *,
                    quantiles: int = 1024, max_samples: int = 1 << 22) -> np.ndarray:
    """Match each channel's distribution of ``stylized`` to ``source`` (CDF matching, working space).

    Each channel goes through the monotone piecewise-linear map that sends the stylized frame's
    quantiles to the source's (``quantiles`` points; statistics from at most ``max_samples``
    evenly strided pixels, so 8K frames cost the same as 2K).

    Args:
        stylized: ``(H, W, 3)`` frame to change.
        source: ``(h, w, 3)`` reference whose per-channel histograms are taken (any size).
        amount: 0 = ``stylized`` unchanged, 1 = fully matched, linear in between.

    Returns:
        ``(H, W, 3)`` float32.
    """
    sty, ref = np.asarray(stylized), np.asarray(source)
    if sty.shape[-1:] != (3,) or ref.shape[-1:] != (3,):
        raise InputError(f"histogram match: expected (H, W, 3) images, got {sty.shape} and {ref.shape}")
    a = _check_amount(amount, "histogram match")
    sty32 = sty.astype(np.float32, copy=False)
    if a == 0.0:
        return sty32.copy()
    qs = np.linspace(0.0, 1.0, quantiles + 1)
    flat_s, flat_r = sty32.reshape(-1, 3), ref.reshape(-1, 3).astype(np.float32, copy=False)
    step_s = max(1, len(flat_s) // max_samples)
    step_r = max(1, len(flat_r) // max_samples)
    out = np.empty_like(sty32)
    for c in range(3):
        q_s = np.quantile(flat_s[::step_s, c], qs)
        q_r = np.quantile(flat_r[::step_r, c], qs)
        # Strictly increasing x for np.interp where the stylized channel has flat runs.
        q_s = q_s + np.arange(len(q_s)) * 1e-9
        out[..., c] = np.interp(sty32[..., c], q_s, q_r)
    if a == 1.0:
        return out
    return (sty32 + np.float32(a) * (out - sty32)).astype(np.float32)
