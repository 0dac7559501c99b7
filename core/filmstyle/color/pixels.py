"""Pure numpy pixel helpers: alpha (un)premultiplication and non-finite values."""

from __future__ import annotations

import numpy as np

from filmstyle.errors import ColorError

__all__ = ["HALF_MAX", "REC709_LUMA", "LUMA_WEIGHTS", "unpremultiply", "premultiply", "count_nonfinite",
           "clean_nonfinite"]

HALF_MAX = 65504.0
"""Largest finite half float; ``+Inf`` pixels become this so they stay the brightest value."""

REC709_LUMA: tuple[float, float, float] = (0.2126, 0.7152, 0.0722)
"""Rec.709 luminance coefficients (R, G, B): luma of codes, luminance of linear light."""
LUMA_WEIGHTS = np.array(REC709_LUMA, np.float32)
""":data:`REC709_LUMA` as a float32 vector, for ``(..., 3) @ LUMA_WEIGHTS``."""


# ----------------------------------------------------------------------------------------- alpha


def _alpha_for(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    a = np.asarray(alpha)
    if a.ndim == rgb.ndim - 1:
        a = a[..., None]
    if a.shape[:-1] != rgb.shape[:-1] or a.shape[-1] != 1:
        raise ColorError(f"alpha: expected shape {rgb.shape[:-1]} or {rgb.shape[:-1] + (1,)}, got {np.shape(alpha)}")
    return a


def unpremultiply(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Divide colour by alpha before stylising, so edges are not darkened by coverage.

    Where ``alpha == 0`` the colour is returned unchanged: CG renders hold emission-only pixels
    (alpha 0, RGB > 0) that must survive, and there is nothing to divide by. ``alpha == 1`` is also
    exact. Very small alphas give large values, which :func:`premultiply` brings back.

    Args:
        rgb: ``(H, W, 3)`` float, premultiplied.
        alpha: ``(H, W)`` or ``(H, W, 1)`` float, usually in ``[0, 1]``.

    Returns:
        a new ``(H, W, 3)`` array of ``rgb``'s float dtype, straight (un-premultiplied) colour.
    """
    a = _alpha_for(rgb, alpha)
    out = np.array(rgb, copy=True)
    np.divide(rgb, a, out=out, where=np.broadcast_to(a != 0, rgb.shape))
    return out


def premultiply(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Multiply colour by alpha; the inverse of :func:`unpremultiply`.

    Where ``alpha == 0`` the colour is kept (not zeroed), so ``premultiply(unpremultiply(x, a), a)``
    is bit-exact for alpha in {0, 1} and equal to float rounding (≤ 1 ulp) otherwise.

    Args:
        rgb: ``(H, W, 3)`` float, straight colour.
        alpha: ``(H, W)`` or ``(H, W, 1)`` float.

    Returns:
        a new ``(H, W, 3)`` array of ``rgb``'s float dtype, premultiplied.
    """
    a = _alpha_for(rgb, alpha)
    out = np.array(rgb, copy=True)
    np.multiply(rgb, a, out=out, where=np.broadcast_to(a != 0, rgb.shape))
    return out


# ------------------------------------------------------------------------------------ non-finite


def count_nonfinite(rgb: np.ndarray) -> int:
    """Number of pixels with at least one NaN or ±Inf channel.

    Args:
        rgb: ``(H, W, C)`` (pixels counted) or ``(H, W)`` (values counted) float array.
    """
    # A float64 sum of float32/half values cannot overflow, so a finite sum proves a clean frame
    # with one pass and no temporary mask (the common case).
    with np.errstate(invalid="ignore", over="ignore"):  # +Inf + -Inf is NaN, which is the point
        if np.isfinite(np.sum(rgb, dtype=np.float64)):
            return 0
    bad = ~np.isfinite(rgb)
    if bad.ndim == 3:
        bad = bad.any(axis=-1)
    return int(np.count_nonzero(bad))


def clean_nonfinite(rgb: np.ndarray) -> np.ndarray:
    """Replace non-finite values: NaN → 0, +Inf → :data:`HALF_MAX` (65504), −Inf → 0.

    +Inf usually marks an over-bright render sample, so it becomes the brightest value a half EXR
    can store rather than black; NaN and −Inf carry no usable light and become 0.

    Args:
        rgb: float array of any shape.

    Returns:
        a new array of the same shape and dtype, all finite.
    """
    return np.nan_to_num(rgb, copy=True, nan=0.0, posinf=HALF_MAX, neginf=0.0)
