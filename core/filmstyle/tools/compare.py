"""QC diff of a source frame and its output: every difference other than the stylized RGB.

``filmstyle compare SRC OUT`` (files or sequences) backs onto :func:`compare_files`. What is
compared:

* EXR, from the file itself (:mod:`filmstyle.io.exr_header`): version flags, part count, every
  header attribute of every part byte for byte (channels with pixel types and sampling, windows,
  tiling and MIP/rip levels, compression, chunk counts, previews, custom attributes); then, through
  OIIO, the stored bits of every channel of every part at every MIP level.
* DPX, from the file itself (:mod:`filmstyle.io.dpx_header`, SMPTE 268M): every header field
  byte for byte, user data, file size, the bytes outside the pixel data and the fill bits inside
  it; then the codes of every component.
* Other formats: OIIO's view (channels, types, windows, attributes) and every channel's values.

Pixel changes in the R, G, B of one layer of one part (the stylized layer: the first whose RGB
differs, or the one named) are intended; so is what :data:`INTENDED` lists. Anything else makes
the comparison fail.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import OpenImageIO as oiio

from filmstyle.errors import InputError
from filmstyle.io import dpx_header, exr_header
from filmstyle.io._oiio import channel_format, condense, format_for_path, library_quiet, open_input, rgb_channels

__all__ = ["INTENDED", "Difference", "FileComparison", "compare_files", "intended_markdown"]


@dataclass(frozen=True)
class Intended:
    """One kind of difference between a source and filmstyle's output that is meant to be there."""

    id: str
    text: str


#: The differences filmstyle's same-format output is meant to have: the one list README quotes
#: (see :func:`intended_markdown`) and ``filmstyle compare`` accepts.
INTENDED: tuple[Intended, ...] = (
    Intended("stylized-rgb", "The R, G, B pixels of the stylized layer (one RGB layer of one part), at every "
             "MIP level; fully transparent pixels of a premultiplied plate keep their values."),
    Intended("lossy-codec", "EXR parts compressed with a lossy codec (DWAA, DWAB, B44, B44A) are written "
             "with ZIP, so untouched channels stay bit-exact (a warning says so; `--compression` keeps "
             "the codec): `compression`, `dwaCompressionLevel` and `chunkCount` change with it."),
    Intended("mixed-tiling", "A multi-part EXR that mixes tiled and scanline parts is written with every "
             "part as scanlines (OIIO cannot append one kind after the other): `tiles`, `type` and "
             "`chunkCount` of its tiled parts change; pixels are exact."),
    Intended("rip-map", "A rip-mapped EXR part is written with its full-size level only (OIIO cannot "
             "write rip-maps; a warning says so): `tiles` says one level, `chunkCount` follows."),
    Intended("tiled-flag", "The single-part tiled flag in the version field follows the part's tiling "
             "(with `mixed-tiling` / `rip-map`)."),
)
_LOSSY = {"b44", "b44a", "dwaa", "dwab"}


def intended_markdown() -> str:
    """The :data:`INTENDED` list as the Markdown bullet list README carries."""
    return "\n".join(f"- `{i.id}`: {i.text}" for i in INTENDED)


@dataclass(frozen=True)
class Difference:
    """One difference: where, what, both values, and the :data:`INTENDED` id covering it (or None)."""

    where: str
    what: str
    source: Any
    output: Any
    intended: str | None = None


@dataclass
class FileComparison:
    source: str
    output: str
    differences: list[Difference]

    @property
    def unintended(self) -> list[Difference]:
        return [d for d in self.differences if d.intended is None]

    def as_dict(self) -> dict[str, Any]:
        return {"source": self.source, "output": self.output,
                "unintended": len(self.unintended),
                "differences": [asdict(d) for d in self.differences]}


# -- EXR -------------------------------------------------------------------------------------------


def _exr_headers(src: Path, out: Path, diffs: list[Difference]) -> tuple[exr_header.ExrLayout, exr_header.ExrLayout]:
    a, b = exr_header.read_layout(src), exr_header.read_layout(out)
    lossy = {i for i, h in enumerate(a.headers)
             if h.get("compression") is not None and h.get("compression").value() in _LOSSY}  # type: ignore[union-attr]
    mixed = len(a.headers) > 1 and len({h.tiled for h in a.headers}) > 1
    rip = {i for i, h in enumerate(a.headers) if h.tiled and (h.tiles or (0, 0, 0, 0))[2] == 2}
    if a.flags != b.flags:
        rule = "tiled-flag" if (a.flags ^ b.flags) == exr_header.FLAG_TILED and (mixed or rip) else None
        diffs.append(Difference("file", "version flags", hex(a.flags), hex(b.flags), rule))
    if len(a.headers) != len(b.headers):
        diffs.append(Difference("file", "part count", len(a.headers), len(b.headers)))
    for i, (ha, hb) in enumerate(zip(a.headers, b.headers)):
        where = f"part {i}"
        names = ha.names() + [n for n in hb.names() if ha.get(n) is None]
        if [n for n in ha.names() if hb.get(n) is not None] != [n for n in hb.names() if ha.get(n) is not None]:
            diffs.append(Difference(where, "attribute order", ha.names(), hb.names()))
        for name in names:
            x, y = ha.get(name), hb.get(name)
            if x is not None and y is not None and (x.type, x.data) == (y.type, y.data):
                continue
            rule = None
            if name in ("compression", "dwaCompressionLevel") and i in lossy and (
                    y is None or name != "compression" or y.value() == "zip"):
                rule = "lossy-codec"
            elif name == "chunkCount" and (i in lossy or mixed or i in rip):
                rule = "lossy-codec" if i in lossy else ("rip-map" if i in rip else "mixed-tiling")
            elif name in ("tiles", "type") and mixed and ha.tiled:
                rule = "mixed-tiling"
            elif name == "tiles" and i in rip and y is not None and (hb.tiles or (0, 0, 9, 0))[2] == 0 and (
                    x.data[:8] == y.data[:8]):
                rule = "rip-map"
            diffs.append(Difference(where, f"attribute {name}", None if x is None else x.value(),
                                    None if y is None else y.value(), rule))
    return a, b


def _native_bits(inp: oiio.ImageInput, part: int, level: int, c: int, fmt: oiio.TypeDesc) -> np.ndarray | None:
    pixels = inp.read_image(part, level, c, c + 1, fmt)
    if pixels is None:
        return None
    arr = np.ascontiguousarray(np.asarray(pixels))
    view = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}.get(arr.dtype.itemsize)
    return arr.view(view) if view is not None else arr


def _levels(inp: oiio.ImageInput, part: int) -> list[oiio.ImageSpec]:
    specs = []
    while len(specs) < 64 and inp.seek_subimage(part, len(specs)):
        specs.append(inp.spec().copy())
    inp.geterror()
    return specs


def _pixels(src: Path, out: Path, diffs: list[Difference], layer: str | None, part: int | None,
            dpx_layouts: tuple[Any, Any] | None = None) -> None:
    """Every channel of every part and level, stored bits (DPX: codes) compared."""
    a, b = open_input(src), open_input(out)
    try:
        stylized: tuple[int, str] | None = None
        parts = 0
        while a.seek_subimage(parts, 0) and b.seek_subimage(parts, 0):
            parts += 1
        a.geterror(), b.geterror()
        _check_choice(a, src, parts, layer, part)
        for i in range(parts):
            la, lb = _levels(a, i), _levels(b, i)
            if len(la) != len(lb):
                diffs.append(Difference(f"part {i}", "MIP levels readable", len(la), len(lb)))
            for m, (sa, sb) in enumerate(zip(la, lb)):
                where = f"part {i}" + (f" level {m}" if m else "")
                if (sa.width, sa.height) != (sb.width, sb.height):
                    diffs.append(Difference(where, "size", [sa.width, sa.height], [sb.width, sb.height]))
                    continue
                names_a, names_b = list(sa.channelnames), list(sb.channelnames)
                if names_a != names_b:
                    diffs.append(Difference(where, "channels", names_a, names_b))
                changed: list[str] = []
                for c, name in enumerate(names_a):
                    if name not in names_b:
                        continue
                    d = names_b.index(name)
                    fa, fb = channel_format(sa, c), channel_format(sb, d)
                    if str(fa) != str(fb):
                        diffs.append(Difference(where, f"channel {name} type", str(fa), str(fb)))
                        continue
                    if dpx_layouts is not None:
                        x = _dpx_codes(a, i, c, dpx_layouts[0])
                        y = _dpx_codes(b, i, d, dpx_layouts[1])
                    else:
                        x, y = _native_bits(a, i, m, c, fa), _native_bits(b, i, m, d, fb)
                    if x is None or y is None:
                        diffs.append(Difference(where, f"channel {name} pixels", "readable" if x is not None else
                                                condense(a.geterror()), "readable" if y is not None else
                                                condense(b.geterror())))
                    elif not np.array_equal(x, y):
                        changed.append(name)
                        count = int(np.count_nonzero(x != y))
                        diffs.append(Difference(where, f"channel {name} pixels", "",
                                                f"{count} of {x.size} values differ"))
                rgb = _stylized_rgb(names_a, changed, layer)
                if rgb is not None and (part is None or part == i):
                    key = (i, rgb[0])
                    if stylized is None:
                        stylized = key
                    if stylized == key:
                        for k, diff in enumerate(diffs):
                            if diff.where == where and diff.what in {f"channel {n} pixels" for n in rgb[1]}:
                                diffs[k] = Difference(diff.where, diff.what, diff.source, diff.output, "stylized-rgb")
    finally:
        a.close()
        b.close()


def _check_choice(inp: oiio.ImageInput, path: Path, parts: int, layer: str | None, part: int | None) -> None:
    """Refuse a ``part``/``layer`` the source does not have: ignored, it would leave the stylized
    RGB counted as unintended, which reads as a broken render rather than a mistyped option."""
    if part is not None and not 0 <= part < parts:
        if not parts:
            raise InputError(f"--part {part}: {path} has no readable part")
        indices = "index 0" if parts == 1 else f"indices 0..{parts - 1}"
        raise InputError(f"--part {part}: {path} has {parts} part{'s' if parts != 1 else ''} ({indices})")
    if layer is None:
        return
    looked = [part] if part is not None else list(range(parts))
    layers: set[str] = set()
    for i in looked:
        if not inp.seek_subimage(i, 0):
            continue
        names = list(inp.spec().channelnames)
        if rgb_channels(names, layer or None) is not None:
            return
        layers |= {n.rsplit(".", 1)[0] if "." in n else "" for n in names
                   if rgb_channels(names, (n.rsplit(".", 1)[0] if "." in n else "") or None) is not None}
    where = f"part {part} of {path}" if part is not None else str(path)
    known = ", ".join(sorted(repr(n) if n else "'' (main)" for n in layers)) or "none"
    raise InputError(f"--layer {layer!r}: {where} has no RGB layer of that name (RGB layers: {known})")


def _stylized_rgb(names: list[str], changed: list[str], layer: str | None) -> tuple[str, tuple[str, ...]] | None:
    candidates = [layer] if layer is not None else sorted({n.rsplit(".", 1)[0] if "." in n else "" for n in changed})
    for cand in candidates:
        idx = rgb_channels(names, cand or None)
        if idx is not None and any(names[k] in changed for k in idx):
            return cand, tuple(names[k] for k in idx)
    return None


# -- DPX -------------------------------------------------------------------------------------------


def _dpx_codes(inp: oiio.ImageInput, part: int, c: int, layout: dpx_header.ElementLayout | None) -> np.ndarray | None:
    pixels = inp.read_image(part, 0, c, c + 1, "float")
    if pixels is None:
        return None
    if layout is None or not layout.writable:
        return np.asarray(pixels)
    return dpx_header.codes_from_float(np.asarray(pixels), layout)


def _dpx(src: Path, out: Path, diffs: list[Difference]) -> tuple[Any, Any]:
    a, b = dpx_header.read_header(src), dpx_header.read_header(out)
    if a.endian != b.endian:
        diffs.append(Difference("dpx", "byte order", a.endian, b.endian))
    if a.file_size != b.file_size:
        diffs.append(Difference("dpx", "file size", a.file_size, b.file_size))
    fa, fb = a.raw_fields(), b.raw_fields()
    va, vb = a.fields(), b.fields()
    for name in list(fa) + [n for n in fb if n not in fa]:
        if fa.get(name) != fb.get(name):
            diffs.append(Difference("dpx", f"field {name}", va.get(name), vb.get(name)))
    layouts = (a.element(0) if a.element_count else None, b.element(0) if b.element_count else None)
    la, lb = layouts
    if la is not None and lb is not None and la == lb and la.writable:
        # Bytes outside the pixel data, and the fill bits inside it.
        da, db = src.read_bytes(), out.read_bytes()
        start, end = la.offset, la.offset + la.size
        if da[len(a.raw):start] != db[len(b.raw):start] or da[end:] != db[end:]:
            diffs.append(Difference("dpx", "bytes outside the pixel data", "", "differ"))
        full = np.full((la.height, la.width, la.components), (1 << la.bits) - 1, np.uint32)
        mask = np.frombuffer(dpx_header.encode_element(full, la, a.endian), np.uint8)
        xa = np.frombuffer(da[start:start + mask.size], np.uint8) & ~mask
        xb = np.frombuffer(db[start:start + mask.size], np.uint8) & ~mask
        if xa.size == xb.size == mask.size and not np.array_equal(xa, xb):
            diffs.append(Difference("dpx", "fill bits of the pixel data", "", "differ"))
    return layouts


# -- other formats ---------------------------------------------------------------------------------


def _oiio_headers(src: Path, out: Path, diffs: list[Difference]) -> None:
    a, b = open_input(src), open_input(out)
    try:
        sa, sb = a.spec(), b.spec()
        for what, x, y in (("format", a.format_name(), b.format_name()),
                           ("data window", [sa.x, sa.y, sa.width, sa.height], [sb.x, sb.y, sb.width, sb.height]),
                           ("display window", [sa.full_x, sa.full_y, sa.full_width, sa.full_height],
                            [sb.full_x, sb.full_y, sb.full_width, sb.full_height])):
            if x != y:
                diffs.append(Difference("part 0", what, x, y))
        attrs_a = {p.name: p.value for p in sa.extra_attribs}
        attrs_b = {p.name: p.value for p in sb.extra_attribs}
        for name in list(attrs_a) + [n for n in attrs_b if n not in attrs_a]:
            if str(attrs_a.get(name)) != str(attrs_b.get(name)):
                diffs.append(Difference("part 0", f"attribute {name}", attrs_a.get(name), attrs_b.get(name)))
    finally:
        a.close()
        b.close()


@library_quiet
def compare_files(src: str | Path, out: str | Path, *, layer: str | None = None,
                  part: int | None = None) -> FileComparison:
    """Every difference between ``src`` and ``out`` (see the module docstring).

    ``layer``/``part``: the stylized layer and part when known (default: the first RGB layer
    whose pixels differ). Raises :class:`InputError` for a missing or unreadable file.
    """
    src, out = Path(src), Path(out)
    for p in (src, out):
        if not p.is_file():
            raise InputError(f"{p}: file not found")
    diffs: list[Difference] = []
    fmt_a, fmt_b = format_for_path(src), format_for_path(out)
    head_a, head_b = src.read_bytes()[:4], out.read_bytes()[:4]
    if fmt_a != fmt_b:
        diffs.append(Difference("file", "format", fmt_a, fmt_b))
    layouts = None
    if head_a == head_b == exr_header.MAGIC:
        _exr_headers(src, out, diffs)
    elif head_a in (b"SDPX", b"XPDS") and head_b in (b"SDPX", b"XPDS"):
        layouts = _dpx(src, out, diffs)
    else:
        _oiio_headers(src, out, diffs)
    _pixels(src, out, diffs, layer, part, layouts)
    if head_a == exr_header.MAGIC:
        rip = {f"part {i}" for i, h in enumerate(exr_header.read_layout(src, tables=False).headers)
               if h.tiled and (h.tiles or (0, 0, 0, 0))[2] == 2}
        diffs = [Difference(d.where, d.what, d.source, d.output, "rip-map")
                 if d.what == "MIP levels readable" and d.where in rip else d for d in diffs]
    return FileComparison(str(src), str(out), diffs)
