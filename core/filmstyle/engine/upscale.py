"""Bringing a network result made at a lower resolution up to the plate's, without its artefacts.

Two things went wrong when a stroke-scaled look (:func:`filmstyle.engine.tiling.stroke_scaled`)
was enlarged to the plate:

* **Blocks.** Both networks end in two nearest-neighbour ×2 upsamplings, which leave a faint
  pattern locked to a 4-pixel grid in every output (measured on a 1280x720 frame of real footage
  with a painting as the style: RMS 0.010 of a 0.099 detail signal at 720, 540 and 360 rows alike;
  the input's own 4-pixel-grid content is 0.0001-0.0003). At the network's resolution it passes
  for fine texture; enlarged two to four times it becomes axis-aligned 8-16 px blocks.
  :func:`remove_grid_pattern` subtracts that pattern, estimated locally: per phase of the 4x4
  grid, the smoothed mean of that phase's pixels against the smoothed mean of all pixels.
  Everything not locked to the grid (strokes, edges, palette) stays.
* **Outlines.** The plate's own fine luminance detail, the octaves the network never saw, is
  added back so a 4K plate keeps 4K sharpness. Where the look re-lit an edge (flattened it,
  or inverted it: a bright bunny painted dark on a light sky), adding the plate's edge draws a
  thin bright and dark line along it. :func:`detail_gain` says, per neighbourhood, how much of the
  plate's luminance the stylized result follows (the local regression slope of the stylized
  luminance on the plate's, clipped to 0..1), and the detail is added in that proportion.
"""

from __future__ import annotations

import cv2
import numpy as np

__all__ = ["GRID", "remove_grid_pattern", "detail_gain"]

#: Period in pixels of the pattern two ×2 nearest-neighbour upsamplings leave.
GRID = 4


def _blur(image: np.ndarray, sigma: float) -> np.ndarray:
    return cv2.GaussianBlur(image, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)


def remove_grid_pattern(image: np.ndarray, *, period: int = GRID, sigma: float = 3.0) -> np.ndarray:
    """``image`` ``(H, W, C)`` without its component locked to a ``period``-pixel grid.

    Args:
        image: a network result at the resolution it was made at (float32).
        period: grid period in pixels.
        sigma: smoothing of the per-phase means, in grid cells (3 = the pattern is taken as
            constant over about 24x24 pixels; real texture that happens to sit on the grid
            averages out over that many cells).

    Returns:
        A new ``(H, W, C)`` float32 array; rows and columns past the last whole cell are unchanged.
    """
    arr = np.asarray(image, dtype=np.float32)
    h, w = arr.shape[0] // period * period, arr.shape[1] // period * period
    out = arr.copy()
    if h < 2 * period or w < 2 * period:
        return out
    # Gradients would bias the per-phase means (a phase sits off the cell's centre): work on the
    # detail above a 2-px blur, which keeps a 4-px pattern (attenuated by exp(-2 pi^2 sigma^2 / 16)).
    detail = arr - _blur(arr, period / 2)
    core = detail[:h, :w]
    cells = core.reshape(h // period, period, w // period, period, -1)
    local_mean = _blur(np.ascontiguousarray(cells.mean(axis=(1, 3))), sigma)
    for i in range(period):
        for j in range(period):
            phase = np.ascontiguousarray(core[i::period, j::period])
            pattern = _blur(phase, sigma) - local_mean
            out[i:h:period, j:w:period] -= pattern.reshape(phase.shape)
    return out


def detail_gain(source_luma: np.ndarray, stylized_luma: np.ndarray, *, radius: int = 2,
                eps: float = 1e-4) -> np.ndarray:
    """How much of the plate's luminance the stylized result follows, per neighbourhood.

    Args:
        source_luma: the plate's luminance ``(h, w)`` at the processing resolution.
        stylized_luma: the stylized result's, same shape.
        radius: half-size of the square neighbourhood, in pixels.
        eps: regularises flat neighbourhoods (no plate contrast: no detail either).

    Returns:
        ``(h, w)`` float32 in [0, 1]: the local least-squares slope of stylized on plate luminance
        (as in a guided filter), clipped, then averaged over the neighbourhood.
    """
    k = (2 * radius + 1, 2 * radius + 1)
    i = np.asarray(source_luma, dtype=np.float32)
    p = np.asarray(stylized_luma, dtype=np.float32)
    mean_i, mean_p = cv2.blur(i, k), cv2.blur(p, k)
    cov = cv2.blur(i * p, k) - mean_i * mean_p
    var = cv2.blur(i * i, k) - mean_i * mean_i
    a = np.clip(cov / (np.maximum(var, 0.0) + np.float32(eps)), 0.0, 1.0)
    return cv2.blur(a, k)
