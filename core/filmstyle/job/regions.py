"""Regions: different looks on different parts of the frame, composited with soft mattes.

A :class:`RegionSet` is an ordered list of :class:`Region` s — each a mask
(:class:`~filmstyle.job.masks.MaskSpec`) and a look (:class:`~filmstyle.job.look.Look`, by its index
in the plan) — plus an optional ``default`` look for the pixels outside every mask (None: those
pixels stay untouched).

Compositing rules (see :func:`filmstyle.engine.compositing.composite`):

* Looks are rendered full frame and composited in the *source's* colourspace, straight
  (un-premultiplied) colour: after the working space has been left, before alpha is multiplied
  back in. Later regions go over earlier ones: ``out = lerp(out, region_result, mask)``.
* A pixel whose masks are all exactly 0 (with no default look, or a default at strength 0) is the
  source pixel itself, bit for bit; where a mask is exactly 1 the region's look replaces what was
  under it exactly.
* Per frame, the network runs only for regions whose mask is non-zero somewhere, and each distinct
  look (same styles, weights and strength at that frame) runs once however many regions use it.

Coordinates: shape masks (ellipse, rectangle, polygon) are given in *display-window* pixels —
what the artist sees in the viewer, origin at the display window's top-left corner, y down — and are
drawn onto the frame's data window, which may be offset from the display window, smaller (a crop)
or larger (overscan). Channel and file mattes are images already: they cover the data window
pixel for pixel (a file matte of another size needs ``fit``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from filmstyle.errors import InputError
from filmstyle.job.curves import Curve, Key
from filmstyle.job.limits import absolute_path
from filmstyle.job.masks import (
    EllipseMask,
    FileMask,
    HueMask,
    LumaMask,
    MaskContext,
    MaskSpec,
    OpMask,
    PolygonMask,
    RectangleMask,
)

__all__ = ["Region", "RegionSet", "shift_mask", "resolve_mask_paths", "mask_needs_rgb", "matte_loader"]


@dataclass(frozen=True)
class Region:
    """One region: where (``mask``) and what (``look``, an index into the plan's looks).
    ``name`` is for summaries only."""

    mask: MaskSpec
    look: int
    name: str | None = None


@dataclass(frozen=True)
class RegionSet:
    """Ordered regions (later over earlier) and the look outside them (an index into the plan's
    looks; None: untouched)."""

    regions: tuple[Region, ...]
    default: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "regions", tuple(self.regions))

    @property
    def needs_rgb(self) -> bool:
        """True when some mask keys on the picture (luma/hue) and so needs working-space RGB."""
        return any(mask_needs_rgb(r.mask) for r in self.regions)

    def masks_at(self, frame: float, ctx: MaskContext, offset: tuple[float, float] = (0.0, 0.0)) -> list[np.ndarray]:
        """Every region's matte at ``frame`` over the data window, ``(H, W)`` float32 in [0, 1].

        ``offset``: display-window coordinates minus data-window pixel coordinates, i.e.
        ``(data.x - display.x, data.y - display.y)``; shapes are moved by minus that.
        """
        dx, dy = -float(offset[0]), -float(offset[1])
        out = []
        for region in self.regions:
            m = shift_mask(region.mask, dx, dy).evaluate(frame, ctx)
            if m.shape != (ctx.height, ctx.width):
                raise InputError(
                    f"{region.mask.field}: matte is {m.shape[1]}x{m.shape[0]}, frame is {ctx.width}x{ctx.height}"
                )
            out.append(m)
        return out


def _shift(c: Curve, d: float) -> Curve:
    # Adding a constant to every key moves every interpolated value by that constant (the smooth
    # tangents depend only on differences), so an animated shape is translated, not re-timed.
    return c if d == 0 else Curve([Key(k.frame, k.value + d, k.interp) for k in c.keys])


def shift_mask(spec: MaskSpec, dx: float, dy: float) -> MaskSpec:
    """The same mask with its shapes moved by ``(dx, dy)`` pixels; image mattes are unchanged."""
    if dx == 0 and dy == 0:
        return spec
    if isinstance(spec, EllipseMask):
        return dataclasses.replace(spec, center=(_shift(spec.center[0], dx), _shift(spec.center[1], dy)))
    if isinstance(spec, RectangleMask):
        if spec.box is not None:
            x0, y0, x1, y1 = spec.box
            return dataclasses.replace(spec, box=(_shift(x0, dx), _shift(y0, dy), _shift(x1, dx), _shift(y1, dy)))
        assert spec.center is not None
        return dataclasses.replace(spec, center=(_shift(spec.center[0], dx), _shift(spec.center[1], dy)))
    if isinstance(spec, PolygonMask):
        return dataclasses.replace(spec, points=tuple((_shift(x, dx), _shift(y, dy)) for x, y in spec.points))
    if isinstance(spec, OpMask):
        return dataclasses.replace(spec, masks=tuple(shift_mask(m, dx, dy) for m in spec.masks))
    return spec


def resolve_mask_paths(spec: MaskSpec, base_dir: Path) -> MaskSpec:
    """The mask with relative ``file`` matte patterns made absolute from ``base_dir``."""
    if isinstance(spec, FileMask):
        return dataclasses.replace(spec, path=str(absolute_path(spec.path, Path(base_dir), f"{spec.field}.file")))
    if isinstance(spec, OpMask):
        return dataclasses.replace(spec, masks=tuple(resolve_mask_paths(m, base_dir) for m in spec.masks))
    return spec


def mask_needs_rgb(spec: MaskSpec) -> bool:
    if isinstance(spec, (LumaMask, HueMask)):
        return True
    if isinstance(spec, OpMask):
        return any(mask_needs_rgb(m) for m in spec.masks)
    return False


def matte_loader(*, part: int | str | None = None) -> Callable[[str, float, str], np.ndarray]:
    """A ``MaskContext.load_matte`` reading one channel of frame ``round(frame)`` of a matte
    sequence (``####``/``%04d``/``$F4`` patterns, or one still file) with OpenImageIO."""
    from filmstyle import io

    def load(pattern: str, frame: float, channel: str) -> np.ndarray:
        number = int(round(frame))
        path = io.FrameSequence(pattern, (number,)).path(number)
        return io.read_channels(path, [channel], part=part)[channel]

    return load
