"""Keep the plate's tonal key under a look: its black, mid-grey and highlight levels and contrast.

A look repaints a frame's light as well as its texture: a low-key night shot comes back bright and
flat. :func:`keep_tone` puts the plate's key back while the look's texture and palette stay:

1. Linear luminance ``Y`` of the stylized frame and of the plate (working space decoded to linear;
   Rec.709 weights), in log2 stops.
2. A monotone tone curve ``T`` that sends the stylized frame's luminance quantiles
   (:data:`TONE_QUANTILES`, 0.5 % … 99.5 %) onto the plate's: a piecewise monotone cubic through
   those points (Fritsch–Carlson tangents, so it never overshoots) and slope 1 (a constant ratio)
   beyond the end points. Quantiles in between keep the look's own tonal shape, so texture and
   local contrast stay; black level, mid-grey, highlight level and overall contrast become the
   plate's. Matching ranks is independent of the encoding, so the 5/50/95 % points of the result
   equal the plate's in stops and in working-space code values alike.
3. Each pixel's linear RGB is scaled by ``2^(amount * (T(log2 Y) - log2 Y))``: an exposure change
   per pixel, so its chromaticity (the look's palette) is untouched. Pure black cannot be scaled,
   so luminance it needs is added neutrally.

Arrays are ``(H, W, 3)`` float32 working-space code values; ``decode``/``encode`` convert them to and
from linear (the display shaper's curve for scene-linear plates, sRGB's for display-referred ones).

:func:`keep_highlights` is the other half, applied to every look on a plate brighter than diffuse
white (linear 1.0), tone or not: there the pixels go to the plate's own values, fully from one
stop above white (a smooth step, in linear light, over that stop), so a lamp or the sun keeps its
scene value instead of the level the look painted; the look shows up to white and fades out over
the stop above it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from filmstyle.color.pixels import LUMA_WEIGHTS
from filmstyle.errors import InputError

__all__ = ["TONE_QUANTILES", "luminance", "log_luminance_quantiles", "tone_curve",
           "keep_tone", "keep_highlights"]

#: Quantiles whose levels are matched (the curve's control points).
TONE_QUANTILES = (0.005, 0.02, 0.05, 0.15, 0.3, 0.5, 0.7, 0.85, 0.95, 0.98, 0.995)
#: Luminance below this is treated as black (about 16 stops below diffuse white).
_FLOOR = 2.0 ** -16
#: Statistics come from at most this many evenly strided pixels (8K costs what 2K does).
_MAX_SAMPLES = 1 << 18

Codec = Callable[[np.ndarray], np.ndarray]


def luminance(linear: np.ndarray) -> np.ndarray:
    """Rec.709 luminance ``(H, W)`` float32 of linear RGB ``(H, W, 3)``."""
    return np.asarray(linear, dtype=np.float32) @ LUMA_WEIGHTS


def log_luminance_quantiles(y: np.ndarray, quantiles=TONE_QUANTILES) -> np.ndarray:
    """log2 of the luminance quantiles of ``y`` (any shape), floored at black; ``(len(quantiles),)``."""
    flat = np.asarray(y, dtype=np.float32).reshape(-1)
    flat = flat[:: max(1, flat.size // _MAX_SAMPLES)]
    return np.log2(np.maximum(np.quantile(flat, quantiles), _FLOOR))


def _tangents(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    d = np.diff(y) / np.diff(x)
    m = np.empty_like(x)
    m[0], m[-1] = d[0], d[-1]
    for k in range(1, len(x) - 1):
        a, b = d[k - 1], d[k]
        if a * b <= 0:
            m[k] = 0.0
        else:
            h0, h1 = x[k] - x[k - 1], x[k + 1] - x[k]
            w1, w2 = 2 * h1 + h0, h1 + 2 * h0
            m[k] = (w1 + w2) / (w1 / a + w2 / b)
    return m


def tone_curve(levels_from: np.ndarray, levels_to: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """The monotone map sending ``levels_from`` onto ``levels_to`` (both increasing, log2 stops).

    Between the points a monotone cubic; beyond them slope 1 (a constant luminance ratio). Flat
    runs of ``levels_from`` (a frame with many equal pixels) are spread by a hair so the map stays
    a function.
    """
    x = np.maximum.accumulate(np.asarray(levels_from, dtype=np.float64))
    x = x + np.arange(len(x)) * 1e-6
    y = np.maximum.accumulate(np.asarray(levels_to, dtype=np.float64))
    m = _tangents(x, y)

    def curve(v: np.ndarray) -> np.ndarray:
        v = np.asarray(v, dtype=np.float64)
        out = np.empty_like(v)
        low, high = v < x[0], v > x[-1]
        out[low] = y[0] + (v[low] - x[0])
        out[high] = y[-1] + (v[high] - x[-1])
        mid = ~(low | high)
        vm = v[mid]
        i = np.clip(np.searchsorted(x, vm, side="right") - 1, 0, len(x) - 2)
        h = x[i + 1] - x[i]
        t = (vm - x[i]) / h
        t2, t3 = t * t, t * t * t
        cubic = ((2 * t3 - 3 * t2 + 1) * y[i] + (t3 - 2 * t2 + t) * h * m[i]
                 + (-2 * t3 + 3 * t2) * y[i + 1] + (t3 - t2) * h * m[i + 1])
        out[mid] = np.clip(cubic, y[i], y[i + 1])
        return out

    return curve


def keep_tone(source_working: np.ndarray, stylized_working: np.ndarray, amount: float = 1.0, *,
              decode: Codec, encode: Codec) -> np.ndarray:
    """The stylized frame with the plate's tonal key; see the module docstring.

    Args:
        source_working: the plate ``(H, W, 3)`` in working-space codes (highlights above 1.0 kept).
        stylized_working: the look's frame, same shape and space.
        amount: 0 = unchanged, 1 = the plate's key; in between, linear in stops.
        decode, encode: working-space codes ↔ linear RGB.

    Returns:
        ``(H, W, 3)`` float32 working-space codes.
    """
    src, sty = np.asarray(source_working), np.asarray(stylized_working)
    if src.shape != sty.shape or src.shape[-1:] != (3,):
        raise InputError(f"tone: expected two (H, W, 3) images of one shape, got {src.shape} and {sty.shape}")
    if not 0.0 <= float(amount) <= 1.0:
        raise InputError(f"tone: amount must be within 0..1, got {amount!r}")
    if amount == 0.0:
        return np.array(sty, dtype=np.float32)
    lin_src = decode(np.array(src, dtype=np.float32))
    lin_sty = decode(np.array(sty, dtype=np.float32))
    y_src = np.maximum(luminance(lin_src), 0.0)
    y_sty = np.maximum(luminance(lin_sty), 0.0)
    curve = tone_curve(log_luminance_quantiles(y_sty), log_luminance_quantiles(y_src))
    log_sty = np.log2(np.maximum(y_sty, _FLOOR))
    target = log_sty + np.float64(amount) * (curve(log_sty) - log_sty)
    return encode(_expose(lin_sty, y_sty, log_sty, target))


def _expose(linear: np.ndarray, y: np.ndarray, log_y: np.ndarray, target: np.ndarray) -> np.ndarray:
    """``linear`` (..., 3) scaled per pixel so its luminance is ``2^target``; black, which a ratio
    cannot brighten, gets the missing luminance added neutrally."""
    gain = np.exp2(target - log_y).astype(np.float32)
    out = linear * gain[..., None]
    missing = np.exp2(target).astype(np.float32) - y * gain
    lift = np.maximum(missing, 0.0) * (y < _FLOOR)
    if lift.any():
        out += lift[..., None]
    return out


def keep_highlights(source_working: np.ndarray, stylized_working: np.ndarray, *, decode: Codec,
                    encode: Codec, white: float = 1.0) -> np.ndarray:
    """The stylized frame with the plate's own values wherever the plate is brighter than ``white``
    (fully from one stop above it, blended in linear light over that stop); see the module docstring.

    Only pixels where the plate's brightest channel is above ``white`` are touched (the rest of
    the frame is returned as it is). Arrays as in :func:`keep_tone`.
    """
    src, sty = np.asarray(source_working), np.array(stylized_working, dtype=np.float32)
    if src.shape != sty.shape or src.shape[-1:] != (3,):
        raise InputError(f"highlights: expected two (H, W, 3) images of one shape, got {src.shape} and {sty.shape}")
    code_white = float(encode(np.array([white], np.float32))[0])
    hot = src.max(axis=-1) > code_white
    if not hot.any():
        return sty
    lin_src = decode(np.array(src[hot], dtype=np.float32))
    y_src = np.maximum(luminance(lin_src), 0.0)
    over = np.clip(np.log2(np.maximum(y_src, _FLOOR) / white), 0.0, 1.0)
    weight = (over * over * (3.0 - 2.0 * over))[..., None]
    lin = decode(np.array(sty[hot], dtype=np.float32))
    sty[hot] = encode(lin + weight * (lin_src - lin))
    return sty
