"""The display shaper: scene-linear Rec.709 ↔ a display-like code the networks understand.

The pretrained networks learnt from ordinary photographs, i.e. sRGB-encoded pictures where
mid-grey sits near 0.46 and paper white near 1.0. A log space such as ACEScct would show them a
flat, grey picture and — worse — would read their brightest paint (0.95) back as linear ≈120.
So the working space is the sRGB curve applied after a smooth highlight shoulder:

* ``x <= 0.5``: untouched (``r = x``), so shadows and midtones look exactly like a photograph;
  negatives follow sRGB's linear toe and stay invertible.
* ``x > 0.5``: ``r = 0.5 + 0.5 * u / (u + 0.5)`` with ``u = x - 0.5`` — same slope at the joint,
  approaching 1 only at infinity, so every highlight keeps a distinct code.
* ``code = sRGB_OETF(r)`` (IEC 61966-2-1, extended linearly below zero).

Landmarks (linear → code): 0.18 → 0.46, 1.0 → 0.88, 2.2 → 0.95, 10.9 → 0.99, 100 → 0.999.
The round trip is exact to better than 1e-4 relative in float32 from −0.01 up to linear 100;
brighter highlights keep distinct codes and come back within ~0.5 % up to linear 5000 (float32
resolution near code 1), and every code below 1 decodes to a finite value.

The network's own output is a different matter: its Sigmoid can reach 1.0, which this curve
would read as an arbitrarily bright highlight, and a look paints like a picture, whose white is
paper white. So stylized pixels are brought under a per-frame ceiling that follows the plate
(:func:`stylized_ceiling`): the code of the plate's own peak, or of diffuse white (linear 1.0)
when the plate peaks lower, never above :data:`NETWORK_CEILING` (linear :data:`MAX_STYLIZED`).
:func:`roll_off` gets there smoothly: codes up to the shoulder (linear 0.5) are untouched and the
network's range above it is compressed so its top (1.0) lands on the ceiling, keeping the
highlight texture. A look on a plate that peaks at 1.0 therefore peaks at 1.0; the source's own
highlights are never capped.
"""

from __future__ import annotations

import numpy as np

__all__ = ["SHOULDER_START", "MAX_STYLIZED", "NETWORK_CEILING", "DIFFUSE_WHITE", "WHITE_CODE", "HALF_MAX",
           "encode", "decode", "stylized_ceiling", "roll_off"]

SHOULDER_START = 0.5
_SHOULDER_SCALE = 1.0 - SHOULDER_START  # same slope (1) on both sides of the joint
MAX_STYLIZED = 100.0
HALF_MAX = 65504.0


_TOE_LINEAR = 0.0031308
_TOE_CODE = 0.04045


def _shoulder_encode64(x: np.ndarray) -> np.ndarray:
    u = x - SHOULDER_START
    r = SHOULDER_START + _SHOULDER_SCALE * u / (u + _SHOULDER_SCALE)
    return 1.055 * np.power(r, 1 / 2.4) - 0.055


def _shoulder_decode64(c: np.ndarray) -> np.ndarray:
    r = np.power((np.minimum(c, 1.0) + 0.055) / 1.055, 2.4)
    q = np.clip((r - SHOULDER_START) / _SHOULDER_SCALE, 0.0, 1.0)
    with np.errstate(divide="ignore"):
        shoulder = SHOULDER_START + _SHOULDER_SCALE * q / (1.0 - q)
    return np.minimum(shoulder, HALF_MAX)


def encode(linear: np.ndarray) -> np.ndarray:
    """Scene-linear Rec.709 ``(..., 3)`` float → display-like code, float32, < 1 for finite input.

    Below the shoulder float32 arithmetic is exact enough; the few highlight values above it are
    computed in float64, where the code's last bits decide the round trip.
    """
    x = np.asarray(linear, dtype=np.float32)
    shape, x = x.shape, x.reshape(-1)
    code = np.maximum(x, np.float32(_TOE_LINEAR))
    np.power(code, np.float32(1 / 2.4), out=code)
    code *= np.float32(1.055)
    code -= np.float32(0.055)
    toe = x <= _TOE_LINEAR
    if toe.any():
        code[toe] = x[toe] * np.float32(12.92)
    high = x > SHOULDER_START
    if high.any():
        bright = np.minimum(x[high].astype(np.float64), np.finfo(np.float64).max)
        code[high] = _shoulder_encode64(bright).astype(np.float32)
    return code.reshape(shape)


def decode(code: np.ndarray) -> np.ndarray:
    """Inverse of :func:`encode`; codes at or above 1 decode to :data:`HALF_MAX` (the curve's infinity)."""
    c = np.asarray(code, dtype=np.float32)
    shape, c = c.shape, c.reshape(-1)
    linear = np.maximum(c, np.float32(_TOE_CODE))
    linear += np.float32(0.055)
    linear /= np.float32(1.055)
    np.power(linear, np.float32(2.4), out=linear)
    toe = c <= _TOE_CODE
    if toe.any():
        linear[toe] = c[toe] / np.float32(12.92)
    high = c > _CODE_OF_SHOULDER
    if high.any():
        linear[high] = _shoulder_decode64(c[high].astype(np.float64)).astype(np.float32)
    return linear.reshape(shape)


_CODE_OF_SHOULDER = float(1.055 * SHOULDER_START ** (1 / 2.4) - 0.055)

#: Highest code a stylized (network) pixel may take: the code of linear :data:`MAX_STYLIZED`.
NETWORK_CEILING = float(encode(np.array(MAX_STYLIZED)))

#: Linear diffuse white: the level a look's brightest paint stands for unless the plate is brighter.
DIFFUSE_WHITE = 1.0
#: The code of :data:`DIFFUSE_WHITE`.
WHITE_CODE = float(encode(np.array(DIFFUSE_WHITE)))


def stylized_ceiling(working: np.ndarray) -> float:
    """Highest code a stylized pixel of this frame may take: the plate's peak code (its brightest
    channel), at least :data:`WHITE_CODE`, at most :data:`NETWORK_CEILING`."""
    peak = float(np.max(working)) if np.size(working) else WHITE_CODE
    return float(min(max(peak, WHITE_CODE), NETWORK_CEILING)) if np.isfinite(peak) else NETWORK_CEILING


def roll_off(code: np.ndarray, ceiling: float, *, out: np.ndarray | None = None) -> np.ndarray:
    """Stylized codes brought under ``ceiling``: untouched up to the shoulder's code, and above it
    ``knee + b·s / (s + b)`` (``s`` = code − knee; slope 1 at the knee) with ``b`` chosen so that
    code 1.0 lands exactly on ``ceiling``; anything still above it is capped.

    Args:
        code: working-space codes (float32 array).
        ceiling: from :func:`stylized_ceiling`.
        out: write here (may be ``code``); default a new array.
    """
    code = np.asarray(code, dtype=np.float32)
    out = np.array(code) if out is None else out
    knee, span, room = _CODE_OF_SHOULDER, 1.0 - _CODE_OF_SHOULDER, float(ceiling) - _CODE_OF_SHOULDER
    if 0.0 < room < span:
        b = room * span / (span - room)
        high = code > knee
        if high.any():
            s = code[high].astype(np.float64) - knee
            out[high] = (knee + b * s / (s + b)).astype(np.float32)
    np.minimum(out, np.float32(ceiling), out=out)
    return out
