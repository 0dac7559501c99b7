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
The round trip is exact to better than 1e-4 relative in float32 from −0.01 up to linear 100.
Network outputs are decoded with the code clamped below 1 so no pixel decodes past
:data:`MAX_DECODED` (linear 100).
"""

from __future__ import annotations

import numpy as np

__all__ = ["SHOULDER_START", "MAX_DECODED", "encode", "decode"]

SHOULDER_START = 0.5
_SHOULDER_SCALE = 1.0 - SHOULDER_START  # same slope (1) on both sides of the joint
MAX_DECODED = 100.0


def _srgb_encode(r: np.ndarray) -> np.ndarray:
    return np.where(r <= 0.0031308, 12.92 * r, 1.055 * np.power(np.maximum(r, 0.0031308), 1 / 2.4) - 0.055)


def _srgb_decode(c: np.ndarray) -> np.ndarray:
    return np.where(c <= 0.04045, c / 12.92, np.power((np.maximum(c, 0.04045) + 0.055) / 1.055, 2.4))


def encode(linear: np.ndarray) -> np.ndarray:
    """Scene-linear Rec.709 ``(..., 3)`` float → display-like code, float32, < 1 for finite input."""
    x = np.asarray(linear, dtype=np.float64)
    u = np.maximum(x - SHOULDER_START, 0.0)
    shoulder = SHOULDER_START + _SHOULDER_SCALE * u / (u + _SHOULDER_SCALE)
    r = np.where(x > SHOULDER_START, shoulder, x)
    return _srgb_encode(r).astype(np.float32)


def decode(code: np.ndarray) -> np.ndarray:
    """Inverse of :func:`encode`; codes at or above the code of linear 100 decode to 100."""
    c = np.minimum(np.asarray(code, dtype=np.float64), _CODE_OF_MAX)
    r = _srgb_decode(c)
    q = np.clip((r - SHOULDER_START) / _SHOULDER_SCALE, 0.0, None)
    shoulder = SHOULDER_START + _SHOULDER_SCALE * q / np.maximum(1.0 - q, 1e-12)
    return np.where(r > SHOULDER_START, shoulder, r).astype(np.float32)


_CODE_OF_MAX = float(encode(np.array(MAX_DECODED)))
