"""MIP levels of a rewritten part: the stylized change carried down to every level.

A MIP-mapped EXR part holds its picture at every power-of-two reduction. When level 0's RGB is
stylized, each smaller level gets the source's own level plus the change at level 0, area-averaged
down level by level:

    rgb_m = source_m + reduce(rgb_0 - source_0)

so a level is exactly what it was wherever the frame did not change (strength 0 is bit-identical
at every level, whatever filter made the source's levels), and a box-filtered source (maketx's
default) gets exactly the box-filtered stylized frame.
"""

from __future__ import annotations

import numpy as np

__all__ = ["level_change", "reduce_change"]


def level_change(new: np.ndarray, old: np.ndarray) -> np.ndarray:
    """``new - old`` (H, W, 3) float32, 0 where the two are the same bits or either is not finite."""
    new32 = np.ascontiguousarray(new, dtype=np.float32)
    old32 = np.ascontiguousarray(old, dtype=np.float32)
    with np.errstate(invalid="ignore", over="ignore"):
        change = new32 - old32
    same = new32.view(np.uint32) == old32.view(np.uint32)
    change[same | ~np.isfinite(change)] = 0.0
    return change


def reduce_change(change: np.ndarray, width: int, height: int) -> np.ndarray:
    """Area-average ``change`` (H, W, 3) down to ``(height, width, 3)``."""
    import cv2

    if change.shape[:2] == (height, width):
        return change
    return cv2.resize(change, (width, height), interpolation=cv2.INTER_AREA).reshape(height, width, -1)
