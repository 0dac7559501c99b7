"""Region masks: where on the frame a style applies, as float32 ``(H, W)`` mattes in ``[0, 1]``.

* :mod:`~filmstyle.job.masks.raster` — shapes, keys and operations as pure functions on arrays.
* :mod:`~filmstyle.job.masks.spec` — :class:`MaskSpec` descriptions evaluated per frame against a
  :class:`MaskContext` (every shape number may be a curve, so shapes animate).
* :mod:`~filmstyle.job.masks.parse` — :func:`parse_mask` reads the plain dicts of a job.
"""

from filmstyle.job.masks.parse import parse_mask
from filmstyle.job.masks.raster import (
    REC709_LUMA,
    blur,
    ellipse,
    grow_shrink,
    hue_key,
    invert,
    luma_key,
    maximum,
    multiply,
    nuke_to_image_y,
    polygon,
    rectangle,
    subtract,
)
from filmstyle.job.masks.spec import (
    FIT_MODES,
    OPS,
    ChannelMask,
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
    "FIT_MODES",
    "OPS",
    "MaskContext",
    "MaskSpec",
    "EllipseMask",
    "RectangleMask",
    "PolygonMask",
    "ChannelMask",
    "FileMask",
    "LumaMask",
    "HueMask",
    "OpMask",
    "parse_mask",
]
