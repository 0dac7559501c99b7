"""OpenColorIO 2 colour management: source colourspace → network working space → back.

Style networks were trained on display-encoded 8-bit images in ``[0, 1]``. Scene-linear plates put
mid-grey at 0.18 and highlights far above 1.0, so frames are moved into filmstyle's display
shaper first (linear Rec.709 encoded like a photograph with a smooth highlight shoulder: mid-grey
0.46, linear 1.0 → 0.88, linear 100 → 0.999; see :mod:`filmstyle.color.shaper`) and moved back
after the network. Display-referred sources (sRGB PNG/JPEG) already look like the training data and stay
as they are.

All pixel arrays are ``np.float32`` of shape ``(H, W, 3)`` (any ``(..., 3)`` works), C-contiguous.
"""

from __future__ import annotations

from filmstyle.color.pixels import (
    HALF_MAX,
    LUMA_WEIGHTS,
    REC709_LUMA,
    clean_nonfinite,
    count_nonfinite,
    premultiply,
    unpremultiply,
)
from filmstyle.color.spaces import (
    DEFAULT_CONFIG,
    colorspace_encoding,
    default_input_colorspace,
    list_colorspaces,
    list_roles,
    load_config,
    resolve_colorspace,
)
from filmstyle.color.transform import DISPLAY_SHAPER, ColorTransform

__all__ = [
    "DEFAULT_CONFIG",
    "HALF_MAX",
    "REC709_LUMA",
    "LUMA_WEIGHTS",
    "ColorTransform",
    "DISPLAY_SHAPER",
    "load_config",
    "resolve_colorspace",
    "colorspace_encoding",
    "default_input_colorspace",
    "list_colorspaces",
    "list_roles",
    "unpremultiply",
    "premultiply",
    "count_nonfinite",
    "clean_nonfinite",
]
