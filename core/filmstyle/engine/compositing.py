"""Regions laid over each other: soft mattes composited in the source's straight colour.

See :mod:`filmstyle.job.regions` for the rules (later regions over earlier ones, exact at 0 and 1).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["composite"]


def composite(
    base: np.ndarray,
    layers: Sequence[tuple[np.ndarray, np.ndarray]],
) -> tuple[np.ndarray, np.ndarray]:
    """Lay ``(mask, result)`` pairs over ``base`` in order: ``out = lerp(out, result, mask)``.

    Exact at the ends: where a mask is 0 the pixel below is kept as is (not ``x + 0 * d``, which
    would turn ``-0.0`` into ``0.0``), where it is 1 the result replaces it.

    Returns:
        ``(out, touched)``: ``(H, W, 3)`` float32 and the ``(H, W)`` bool union of ``mask > 0``.
    """
    out = np.array(base, dtype=np.float32, copy=True)
    touched = np.zeros(out.shape[:2], dtype=bool)
    for mask, result in layers:
        m = np.asarray(mask, dtype=np.float32)
        some = m > 0
        if not some.any():
            continue
        touched |= some
        full = m >= 1.0
        soft = some & ~full
        out[full] = result[full]
        if soft.any():
            w = m[soft][:, None]
            below = out[soft]
            out[soft] = below + w * (result[soft] - below)
    return out, touched
