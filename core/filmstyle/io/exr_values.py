"""Readable values of EXR header attributes (for ``filmstyle compare`` and ``info``)."""

from __future__ import annotations

import hashlib
import struct
from typing import Any

from filmstyle.io.exr_header import (
    COMPRESSIONS,
    LEVEL_MODES,
    LINE_ORDERS,
    ROUNDING_MODES,
    ExrHeaderError,
    parse_channel_list,
)

__all__ = ["decode_value"]

_SIMPLE = {
    "int": "<i", "float": "<f", "double": "<d", "v2i": "<2i", "v2f": "<2f", "v2d": "<2d",
    "v3i": "<3i", "v3f": "<3f", "v3d": "<3d", "box2i": "<4i", "box2f": "<4f", "m33f": "<9f",
    "m33d": "<9d", "m44f": "<16f", "m44d": "<16d", "chromaticities": "<8f", "timecode": "<2I",
    "keycode": "<7i", "rational": "<iI",
}


def decode_value(type_name: str, data: bytes) -> Any:
    """A readable value for an attribute (opaque types as ``"<type, N bytes, sha1 …>"``)."""
    try:
        if type_name in _SIMPLE:
            fmt = _SIMPLE[type_name]
            if struct.calcsize(fmt) == len(data):
                vals = struct.unpack(fmt, data)
                return vals[0] if len(vals) == 1 else list(vals)
        elif type_name == "string":
            return data.decode("utf-8", "replace")
        elif type_name == "stringvector":
            items, pos = [], 0
            while pos + 4 <= len(data):
                (n,) = struct.unpack_from("<i", data, pos)
                items.append(data[pos + 4:pos + 4 + n].decode("utf-8", "replace"))
                pos += 4 + max(n, 0)
            return items
        elif type_name == "compression" and len(data) == 1:
            return COMPRESSIONS[data[0]] if data[0] < len(COMPRESSIONS) else f"code {data[0]}"
        elif type_name == "lineOrder" and len(data) == 1:
            return LINE_ORDERS[data[0]] if data[0] < 3 else f"code {data[0]}"
        elif type_name == "envmap" and len(data) == 1:
            return ("latlong", "cube")[data[0]] if data[0] < 2 else f"code {data[0]}"
        elif type_name == "tiledesc" and len(data) == 9:
            w, h, mode = struct.unpack("<IIB", data)
            level = LEVEL_MODES[mode & 0xF] if (mode & 0xF) < 3 else f"mode {mode & 0xF}"
            return {"tile": [w, h], "levels": level,
                    "rounding": ROUNDING_MODES[mode >> 4] if (mode >> 4) < 2 else mode >> 4}
        elif type_name == "chlist":
            return [{"name": c.name, "type": c.type_name, "linear": c.linear,
                     "sampling": [c.x_sampling, c.y_sampling]} for c in parse_channel_list(data)]
        elif type_name == "preview" and len(data) >= 8:
            w, h = struct.unpack_from("<II", data)
            return f"<preview {w}x{h}, sha1 {hashlib.sha1(data).hexdigest()[:12]}>"
    except (struct.error, ExrHeaderError, IndexError):
        pass
    return f"<{type_name}, {len(data)} bytes, sha1 {hashlib.sha1(data).hexdigest()[:12]}>"
