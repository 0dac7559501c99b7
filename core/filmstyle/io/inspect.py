"""``describe(path)``: everything a compositor asks about a file, as JSON-able data.

Backs ``filmstyle info FILE``.  Nothing is decoded beyond the headers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import OpenImageIO as oiio

from filmstyle.io._oiio import (
    library_quiet,
    Window,
    attributes,
    channel_format,
    decode_timecode,
    dpx_endian,
    open_input,
    rgb_channels,
    split_layers,
    subimage_specs,
)
from filmstyle.io.frame import colorspace_hint, rgb_layer_names

__all__ = ["describe"]


def _bit_depth(spec: oiio.ImageSpec) -> int:
    """Bits of the main RGB channels (what a colourist means by "bit depth"), else the widest."""
    bits = spec.get_int_attribute("oiio:BitsPerSample", 0)
    if bits:
        return bits
    rgb = rgb_channels(tuple(spec.channelnames), None)
    chans = rgb if rgb is not None else range(spec.nchannels)
    return max(channel_format(spec, c).size() for c in chans) * 8


def _part(spec: oiio.ImageSpec, index: int) -> dict[str, Any]:
    names = list(spec.channelnames)
    tiled = spec.tile_width > 0
    return {
        "index": index,
        "name": spec.get_string_attribute("oiio:subimagename", "") or None,
        "resolution": [spec.width, spec.height],
        "data_window": Window(spec.x, spec.y, spec.width, spec.height).as_dict(),
        "display_window": Window(spec.full_x, spec.full_y, spec.full_width, spec.full_height).as_dict(),
        "channels": [{"name": n, "type": str(channel_format(spec, c))} for c, n in enumerate(names)],
        # main layer listed under "" so that JSON keys stay strings
        "layers": split_layers(names),
        "rgb_layers": rgb_layer_names(names),
        "bit_depth": _bit_depth(spec),
        "compression": spec.get_string_attribute("compression", "") or None,
        "tiled": tiled,
        "tile_size": [spec.tile_width, spec.tile_height] if tiled else None,
        "deep": bool(spec.deep),
        "attributes": attributes(spec),
    }


@library_quiet
def describe(path: str | Path) -> dict[str, Any]:
    """Describe an image file without reading its pixels.

    Returns a dict of plain JSON values: ``path``, ``format`` (OIIO name, e.g. ``"openexr"``),
    ``parts`` (one dict per EXR part/subimage: name, resolution, data/display windows, channels
    with pixel types, layers, bit depth, compression, tiling, attributes) and, for convenience,
    the first part's ``resolution``, ``data_window``, ``display_window``, ``channels``,
    ``layers``, ``bit_depth``, ``compression``, ``tiled`` and ``metadata``; plus
    ``colorspace_hint``, ``timecode`` (``"HH:MM:SS:FF"`` or None) and for DPX ``dpx`` with
    ``endian``, ``transfer`` and ``colorimetric``.  Raises :class:`InputError` if unreadable.
    """
    path = Path(path)
    inp = open_input(path)
    try:
        fmt = inp.format_name()
        specs = subimage_specs(inp)
    finally:
        inp.close()
    parts = [_part(s, i) for i, s in enumerate(specs)]
    first, spec0 = parts[0], specs[0]
    tc = spec0.getattribute("smpte:TimeCode")
    info: dict[str, Any] = {
        "path": str(path),
        "format": fmt,
        "part_count": len(parts),
        "parts": parts,
        **{k: first[k] for k in ("resolution", "data_window", "display_window", "channels", "layers",
                                 "bit_depth", "compression", "tiled")},
        "metadata": first["attributes"],
        "colorspace_hint": colorspace_hint(spec0, fmt),
        "timecode": decode_timecode(tc) if tc is not None else None,
    }
    if fmt == "dpx":
        info["dpx"] = {
            "endian": dpx_endian(path),
            "transfer": spec0.get_string_attribute("dpx:Transfer", "") or None,
            "colorimetric": spec0.get_string_attribute("dpx:Colorimetric", "") or None,
        }
    return info
