"""Mattes drawn and combined: float32 ``(H, W)`` arrays in ``[0, 1]``, pure functions.

Coordinates are pixels of the image: origin at the top-left corner, x to the right, y down, and the
centre of pixel ``(row, col)`` at ``(col + 0.5, row + 0.5)``. So ``rectangle(h, w, 10, 0, 20, h)``
covers exactly columns 10..19. Nuke measures y from the *bottom* of the format; convert Nuke
positions with :func:`nuke_to_image_y` before using them here (job files take image coordinates
too).

Shapes (:func:`ellipse`, :func:`rectangle`, :func:`polygon`) are drawn from their exact signed
distance to the edge, evaluated at pixel centres, so a feather means the same number of pixels at
any resolution and with any rotation:

* ``feather = f > 1``: a linear ramp of width ``f`` centred on the edge — 0.5 exactly on the edge,
  1 at ``f/2`` inside, 0 at ``f/2`` outside.
* ``feather <= 1`` (including 0): a one-pixel ramp, i.e. an anti-aliased hard edge. Pixels whose
  centre is at least half a pixel inside are exactly 1, at least half a pixel outside exactly 0; for
  axis-aligned edges the ramp equals the pixel's area coverage.

Keys (:func:`luma_key`, :func:`hue_key`) read an RGB frame in the working space; operations
(:func:`invert`, :func:`multiply`, :func:`maximum`, :func:`subtract`, :func:`blur`,
:func:`grow_shrink`) combine or reshape mattes. A mask that is exactly 0 everywhere stays exactly 0
through :func:`blur` and :func:`grow_shrink`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np

from filmstyle.color.pixels import REC709_LUMA
from filmstyle.errors import InputError

__all__ = [
    "REC709_LUMA",
    "nuke_to_image_y",
    "ellipse",
    "rectangle",
    "polygon",
    "luma_key",
    "hue_key",
    "invert",
    "multiply",
    "maximum",
    "subtract",
    "blur",
    "grow_shrink",
]

#: Rec.709 / sRGB luma weights (R, G, B).


def nuke_to_image_y(y: float, height: float) -> float:
    """Convert a Nuke y (bottom-up, 0 at the bottom edge) to an image y (top-down) for a format height."""
    return float(height) - float(y)


# ------------------------------------------------------------------------------------------------ shapes


def _window(height: int, width: int, x0: float, y0: float, x1: float, y1: float, margin: float):
    """Pixel window that can be non-zero, and its pixel-centre coordinates.

    Pixels farther than ``margin`` outside the shape's box are exactly 0, so only the window is
    evaluated — a small roto on a 4K plate costs what its box costs.
    """
    c0 = max(0, int(math.floor(x0 - margin)))
    c1 = min(width, int(math.ceil(x1 + margin)) + 1)
    r0 = max(0, int(math.floor(y0 - margin)))
    r1 = min(height, int(math.ceil(y1 + margin)) + 1)
    if c0 >= c1 or r0 >= r1:
        return None
    xs = np.arange(c0, c1, dtype=np.float64) + 0.5
    ys = np.arange(r0, r1, dtype=np.float64) + 0.5
    return (r0, r1, c0, c1), xs[None, :], ys[:, None]


def _ramp(inside_dist: np.ndarray, feather: float) -> np.ndarray:
    """Signed distance (positive inside, pixels) → matte with a linear edge ``max(feather, 1)`` wide."""
    w = max(float(feather), 1.0)
    return np.clip(0.5 + inside_dist / w, 0.0, 1.0)


def _check_size(height: int, width: int) -> None:
    if int(height) <= 0 or int(width) <= 0:
        raise InputError(f"mask size: expected positive height and width, got {height}x{width}")


def _paste(height: int, width: int, win, values: np.ndarray) -> np.ndarray:
    out = np.zeros((int(height), int(width)), dtype=np.float32)
    r0, r1, c0, c1 = win
    out[r0:r1, c0:c1] = values
    return out


def ellipse(
    height: int,
    width: int,
    cx: float,
    cy: float,
    rx: float,
    ry: float,
    rotation_deg: float = 0.0,
    feather: float = 0.0,
) -> np.ndarray:
    """Filled ellipse, ``(H, W)`` float32.

    Args:
        cx, cy: centre in pixels. rx, ry: radii along the ellipse's own axes (before rotation).
        rotation_deg: rotation of the x axis towards +y (clockwise on screen, since y points down).
        feather: soft-edge width in pixels, centred on the ellipse outline.

    A radius <= 0 gives an all-zero matte (an animated shape may shrink away).
    """
    _check_size(height, width)
    if rx <= 0 or ry <= 0:
        return np.zeros((int(height), int(width)), dtype=np.float32)
    margin = max(float(feather), 1.0) / 2 + 1
    r = max(rx, ry)
    win = _window(height, width, cx - r, cy - r, cx + r, cy + r, margin)
    if win is None:
        return np.zeros((int(height), int(width)), dtype=np.float32)
    box, xs, ys = win
    th = math.radians(rotation_deg)
    c, s = math.cos(th), math.sin(th)
    dx, dy = xs - cx, ys - cy
    u = dx * c + dy * s  # into the ellipse's own frame
    v = -dx * s + dy * c
    u, v = np.broadcast_arrays(u, v)
    f = np.sqrt((u / rx) ** 2 + (v / ry) ** 2)
    # Scaling to the unit circle shrinks distances by at most min(rx, ry), so |f - 1| * min(rx, ry)
    # is a lower bound of the true distance: only pixels within the ramp need the exact solve.
    half = max(float(feather), 1.0) / 2
    band = np.abs(f - 1.0) * min(rx, ry) < half + 0.5
    values = (f <= 1.0).astype(np.float64)
    dist = _ellipse_distance(np.abs(u[band]), np.abs(v[band]), float(rx), float(ry))
    values[band] = _ramp(np.where(f[band] <= 1.0, dist, -dist), feather)
    return _paste(height, width, box, values)


def _ellipse_distance(px: np.ndarray, py: np.ndarray, a: float, b: float) -> np.ndarray:
    """Euclidean distance from points (first quadrant) to the ellipse ``x²/a² + y²/b² = 1``.

    Iterates the closest point along the ellipse through its evolute (a trig-free Newton-like
    scheme); four rounds are far below a hundredth of a pixel for any practical radii.
    """
    px, py = np.broadcast_arrays(px, py)
    tx = np.full(px.shape, math.sqrt(0.5))
    ty = np.full(px.shape, math.sqrt(0.5))
    for _ in range(4):
        x, y = a * tx, b * ty
        ex = (a * a - b * b) * tx**3 / a
        ey = (b * b - a * a) * ty**3 / b
        rx_, ry_ = x - ex, y - ey
        qx, qy = px - ex, py - ey
        rr = np.hypot(rx_, ry_)
        q = np.maximum(np.hypot(qx, qy), 1e-12)
        tx = np.clip((qx * rr / q + ex) / a, 0.0, 1.0)
        ty = np.clip((qy * rr / q + ey) / b, 0.0, 1.0)
        t = np.maximum(np.hypot(tx, ty), 1e-12)
        tx, ty = tx / t, ty / t
    return np.hypot(px - a * tx, py - b * ty)


def rectangle(
    height: int, width: int, x0: float, y0: float, x1: float, y1: float, feather: float = 0.0
) -> np.ndarray:
    """Filled axis-aligned rectangle between corners ``(x0, y0)`` and ``(x1, y1)``, ``(H, W)`` float32.

    Corners may be given in any order. With integer corners and ``feather <= 1`` the result is exactly
    1 on the covered pixels and exactly 0 elsewhere; corners are rounded by the feather (it is the
    distance to the rectangle, not to each edge separately).
    """
    _check_size(height, width)
    xa, xb = sorted((float(x0), float(x1)))
    ya, yb = sorted((float(y0), float(y1)))
    margin = max(float(feather), 1.0) / 2 + 1
    win = _window(height, width, xa, ya, xb, yb, margin)
    if win is None or xb <= xa or yb <= ya:
        return np.zeros((int(height), int(width)), dtype=np.float32)
    box, xs, ys = win
    hx, hy = (xb - xa) / 2, (yb - ya) / 2
    qx = np.abs(xs - (xa + hx)) - hx
    qy = np.abs(ys - (ya + hy)) - hy
    outside = np.hypot(np.maximum(qx, 0.0), np.maximum(qy, 0.0))
    inside = np.minimum(np.maximum(qx, qy), 0.0)
    return _paste(height, width, box, _ramp(-(outside + inside), feather))


def polygon(height: int, width: int, points: Sequence[Sequence[float]], feather: float = 0.0) -> np.ndarray:
    """Filled polygon through ``points`` (``(N, 2)`` x, y; closed automatically), ``(H, W)`` float32.

    Inside is decided by the even-odd rule (a self-crossing outline leaves holes, as cv2.fillPoly
    does); the edge distance is exact to the nearest segment. Each edge costs what its own box
    (grown by the ramp) and the rows it crosses cost, so many short edges stay cheap.
    """
    _check_size(height, width)
    pts = np.asarray(points, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[1] != 2 or len(pts) < 3:
        raise InputError(f"polygon points: expected at least 3 [x, y] points, got shape {pts.shape}")
    if not np.all(np.isfinite(pts)):
        raise InputError("polygon points: expected finite coordinates, got NaN or infinity")
    margin = max(float(feather), 1.0) / 2 + 1
    (xa, ya), (xb, yb) = pts.min(axis=0), pts.max(axis=0)
    win = _window(height, width, xa, ya, xb, yb, margin)
    if win is None:
        return np.zeros((int(height), int(width)), dtype=np.float32)
    box, xs, ys = win
    col_x, row_y = xs[0], ys[:, 0]
    best = np.full((len(row_y), len(col_x)), np.inf)
    # crossings[r, c]: edges crossing row r left of column c's centre... counted at c, so a
    # pixel's parity is the number of crossings to its right (one suffix sum at the end).
    crossings = np.zeros((len(row_y), len(col_x) + 1), dtype=np.int32)
    for (ax, ay), (bx, by) in zip(pts, np.roll(pts, -1, axis=0)):
        ex, ey = bx - ax, by - ay
        # Farther than ``margin`` from an edge the ramp is flat, so distances are needed only in
        # the edge's box grown by it (pixels outside every such box keep +inf: fully in or out).
        r0, r1 = np.searchsorted(row_y, [min(ay, by) - margin, max(ay, by) + margin])
        c0, c1 = np.searchsorted(col_x, [min(ax, bx) - margin, max(ax, bx) + margin])
        if r0 < r1 and c0 < c1:
            wx, wy = col_x[None, c0:c1] - ax, row_y[r0:r1, None] - ay
            length2 = ex * ex + ey * ey
            t = np.clip((wx * ex + wy * ey) / length2, 0.0, 1.0) if length2 > 0 else 0.0
            np.minimum(best[r0:r1, c0:c1], np.hypot(wx - t * ex, wy - t * ey), out=best[r0:r1, c0:c1])
        if ay != by:
            # Rows whose centre y satisfies (ay > y) != (by > y), i.e. min <= y < max.
            lo, hi = np.searchsorted(row_y, [min(ay, by), max(ay, by)], side="left")
            if lo < hi:
                x_hit = ax + (row_y[lo:hi] - ay) * ex / ey
                np.add.at(crossings, (np.arange(lo, hi), np.searchsorted(col_x, x_hit, side="left")), 1)
    # A pixel is inside when an odd number of crossings lie right of its centre (x < x_hit).
    right = np.cumsum(crossings[:, ::-1], axis=1)[:, ::-1][:, 1:]
    inside = (right & 1).astype(bool)
    return _paste(height, width, box, _ramp(np.where(inside, best, -best), feather))


# -------------------------------------------------------------------------------------------------- keys


def _rgb(rgb: np.ndarray, name: str) -> np.ndarray:
    a = np.asarray(rgb)
    if a.ndim != 3 or a.shape[2] < 3:
        raise InputError(f"{name}: expected an (H, W, 3) RGB image, got shape {a.shape}")
    return np.nan_to_num(a[..., :3].astype(np.float32, copy=False), nan=0.0, posinf=0.0, neginf=0.0)


def luma_key(
    rgb: np.ndarray,
    low: float,
    high: float,
    softness: float = 0.0,
    luma_coeffs: Sequence[float] = REC709_LUMA,
) -> np.ndarray:
    """Key on luma: 1 where ``low <= Y <= high``, falling linearly to 0 ``softness`` beyond each end.

    Args:
        rgb: ``(H, W, 3)`` image in the working space (scene-linear values above 1 are fine; use
            ``high=inf`` to keep all highlights).
        luma_coeffs: weights giving ``Y = r*wr + g*wg + b*wb``; default Rec.709.

    Returns:
        ``(H, W)`` float32 in ``[0, 1]``.
    """
    if not low <= high:
        raise InputError(f"luma key: expected low <= high, got low={low}, high={high}")
    if softness < 0:
        raise InputError(f"luma key softness: expected >= 0, got {softness}")
    img = _rgb(rgb, "luma key")
    w = np.asarray(luma_coeffs, dtype=np.float32).reshape(3)
    y = img @ w
    # Distance outside [low, high]; 0 inside.
    below = np.maximum(low - y, 0.0)
    above = np.maximum(y - high, 0.0) if math.isfinite(high) else np.zeros_like(y)
    out = np.maximum(below, above)
    if softness == 0:
        return (out <= 0).astype(np.float32)
    return np.clip(1.0 - out / softness, 0.0, 1.0).astype(np.float32)


def hue_key(
    rgb: np.ndarray,
    hue_deg: float,
    width_deg: float,
    softness_deg: float = 0.0,
    min_saturation: float = 0.05,
) -> np.ndarray:
    """Key on hue (HSV hexcone hue, degrees: 0 red, 120 green, 240 blue).

    1 within ``width_deg / 2`` of ``hue_deg`` (wrapping round 360), falling linearly to 0 over
    ``softness_deg`` beyond. Hue is meaningless on greys, so the key is scaled by a saturation gate:
    0 at HSV saturation ``<= min_saturation / 2``, 1 at ``>= min_saturation``, linear between (a
    soft gate keeps grain near the threshold from chattering). Pixels with max(r, g, b) <= 0 are 0.

    Returns:
        ``(H, W)`` float32 in ``[0, 1]``.
    """
    if width_deg < 0 or softness_deg < 0 or min_saturation < 0:
        raise InputError(
            f"hue key: expected width, softness, min_saturation >= 0, got {width_deg}, {softness_deg}, {min_saturation}"
        )
    img = _rgb(rgb, "hue key").astype(np.float64)
    r, g, b = img[..., 0], img[..., 1], img[..., 2]
    mx, mn = img.max(axis=2), img.min(axis=2)
    delta = mx - mn
    safe = np.where(delta > 0, delta, 1.0)
    h = np.where(mx == r, (g - b) / safe, np.where(mx == g, 2.0 + (b - r) / safe, 4.0 + (r - g) / safe))
    h = (h * 60.0) % 360.0
    sat = np.where(mx > 0, delta / np.where(mx > 0, mx, 1.0), 0.0)
    dist = np.abs((h - hue_deg + 180.0) % 360.0 - 180.0)
    over = np.maximum(dist - width_deg / 2.0, 0.0)
    if softness_deg > 0:
        key = np.clip(1.0 - over / softness_deg, 0.0, 1.0)
    else:
        key = (over <= 0).astype(np.float64)
    if min_saturation > 0:
        gate = np.clip((sat - min_saturation / 2) / (min_saturation / 2), 0.0, 1.0)
    else:
        gate = (sat > 0).astype(np.float64)
    return (key * gate * (delta > 0)).astype(np.float32)


# ---------------------------------------------------------------------------------------------------- ops


def _m(m: np.ndarray, name: str) -> np.ndarray:
    a = np.asarray(m, dtype=np.float32)
    if a.ndim != 2:
        raise InputError(f"{name}: expected an (H, W) mask, got shape {a.shape}")
    return a


def _same(a: np.ndarray, b: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray]:
    a, b = _m(a, name), _m(b, name)
    if a.shape != b.shape:
        raise InputError(f"{name}: masks differ in size, {a.shape[1]}x{a.shape[0]} vs {b.shape[1]}x{b.shape[0]}")
    return a, b


def invert(m: np.ndarray) -> np.ndarray:
    """``1 - m``."""
    return np.clip(1.0 - _m(m, "invert"), 0.0, 1.0).astype(np.float32)


def multiply(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Intersection: ``a * b``."""
    a, b = _same(a, b, "multiply")
    return (a * b).astype(np.float32)


def maximum(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Union: ``max(a, b)``."""
    a, b = _same(a, b, "max")
    return np.maximum(a, b).astype(np.float32)


def subtract(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a`` with ``b`` cut out: ``clip(a - b, 0, 1)``."""
    a, b = _same(a, b, "subtract")
    return np.clip(a - b, 0.0, 1.0).astype(np.float32)


#: Above this sigma a blur runs on a reduced copy (as compositing packages do for large blurs):
#: the cost no longer grows with the radius, and the result stays within 1 % of the exact blur.
_DIRECT_SIGMA = 16.0
#: Grow/shrink radii up to this run as one exact disk; larger ones as a chain of disks this size.
_DIRECT_DISK = 32


def blur(m: np.ndarray, radius_px: float) -> np.ndarray:
    """Gaussian blur with ``sigma = radius_px / 2`` (the visible falloff reaches about ``radius_px``).

    Edges extend by reflection, so a matte touching the frame edge stays solid there. Sigmas above
    16 px blur a copy reduced so that its sigma is 8 px (area-averaged down, bilinear up, the
    extra spread of both subtracted): the same cost for any radius, within 1 % of the direct
    result.
    """
    a = _m(m, "blur")
    if radius_px < 0:
        raise InputError(f"blur radius: expected >= 0 pixels, got {radius_px}")
    if radius_px == 0:
        return a.astype(np.float32, copy=True)
    sigma = radius_px / 2.0
    if sigma <= _DIRECT_SIGMA:
        return _gaussian(a, sigma)
    h, w = a.shape
    f = sigma / (_DIRECT_SIGMA / 2)
    sw, sh = max(1, int(round(w / f))), max(1, int(round(h / f)))
    small = cv2.resize(a, (sw, sh), interpolation=cv2.INTER_AREA)
    # Box-averaging down and interpolating up each spread the matte (variance about f²/12 and
    # f²/6 in full-size pixels); the small blur supplies only the rest.
    scale = 0.5 * (w / sw + h / sh)
    rest = math.sqrt(max(sigma * sigma - scale * scale / 4.0, 1e-6)) / scale
    out = cv2.resize(_gaussian(small, rest), (w, h), interpolation=cv2.INTER_LINEAR)
    return np.clip(out, 0.0, 1.0).astype(np.float32)


def _gaussian(a: np.ndarray, sigma: float) -> np.ndarray:
    k = 2 * int(math.ceil(3 * sigma)) + 1
    out = cv2.GaussianBlur(a, (k, k), sigmaX=sigma, sigmaY=sigma, borderType=cv2.BORDER_REFLECT)
    return np.clip(out, 0.0, 1.0).astype(np.float32)


def _disk_morph(a: np.ndarray, r: int, grow: bool) -> np.ndarray:
    if r == 0:
        return a
    # A disk of radius r is the sum of disks whose radii add up to r, so a large one is a chain
    # of small ones: cost linear in r instead of quadratic (the discrete edge may differ by a
    # pixel from one large disk's).
    steps = max(1, math.ceil(r / _DIRECT_DISK))
    for i in range(steps):
        size = r // steps + (1 if i < r % steps else 0)
        se = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * size + 1, 2 * size + 1))
        # cv2's default border counts as "neutral" for each op, so the frame edge neither grows nor eats the matte.
        a = cv2.dilate(a, se) if grow else cv2.erode(a, se)
    return a


def grow_shrink(m: np.ndarray, px: float) -> np.ndarray:
    """Grow (``px > 0``, dilate) or shrink (``px < 0``, erode) a matte by ``|px|`` pixels.

    Grey-scale morphology with a disk keeps soft edges soft. Fractional sizes blend the results for
    the two neighbouring whole-pixel disks, so animating ``px`` moves the edge smoothly. Beyond
    32 px the disk is applied as a chain of smaller disks (the edge within a pixel of one disk's).
    """
    a = _m(m, "grow")
    if px == 0:
        return a.astype(np.float32, copy=True)
    n = abs(float(px))
    lo, frac = int(math.floor(n)), n - math.floor(n)
    grow = px > 0
    base = _disk_morph(a, lo, grow)
    if frac > 0:
        base = (1.0 - frac) * base + frac * _disk_morph(a, lo + 1, grow)
    return np.clip(base, 0.0, 1.0).astype(np.float32)
