"""Rewriting EXR headers: a file OIIO wrote given back the source's own attributes.

OIIO's writer adds attributes the source never had (``capDate``, ``colorInteropID``) and drops
those it has no name for (``preview``, other plugins' namespaces, types it does not know).
:func:`restore_attributes` replaces every part's header of the written file by the source's, byte
for byte, except the :data:`STRUCTURAL_ATTRIBUTES` that describe the chunks actually written, and
shifts the chunk offset tables by the change in header length. The chunks are not touched.
"""

from __future__ import annotations

import struct
from pathlib import Path

from filmstyle.errors import OutputError
from filmstyle.io.exr_header import (
    FLAG_LONG_NAMES,
    FLAG_MULTIPART,
    MAGIC,
    ExrAttribute,
    ExrHeader,
    ExrHeaderError,
    ExrLayout,
    parse_layout,
    read_layout,
)

__all__ = ["STRUCTURAL_ATTRIBUTES", "serialize_layout", "merged_header", "restore_attributes", "rewrite_headers"]

#: Attributes that describe how the pixels are stored: a rewritten file takes these from what
#: was actually written, every other attribute from the source.
STRUCTURAL_ATTRIBUTES = frozenset({
    "channels", "compression", "dataWindow", "tiles", "lineOrder", "chunkCount", "type",
    "dwaCompressionLevel", "version", "maxSamplesPerPixel",
})


def serialize_layout(flags: int, headers: list[ExrHeader] | tuple[ExrHeader, ...]) -> bytes:
    """The bytes from the magic number to the end of the header list."""
    long_names = any(len(a.name) > 31 or len(a.type) > 31 for h in headers for a in h.attributes) or any(
        len(c.name) > 31 for h in headers if h.get("channels") is not None for c in h.channels)
    flags = (flags | FLAG_LONG_NAMES) if long_names else (flags & ~FLAG_LONG_NAMES)
    out = bytearray(MAGIC + struct.pack("<I", 2 | flags))
    for h in headers:
        out += b"".join(a.encode() for a in h.attributes) + b"\0"
    if flags & FLAG_MULTIPART:
        out += b"\0"
    return bytes(out)


def merged_header(source: ExrHeader, written: ExrHeader) -> ExrHeader:
    """``source``'s attributes in its order, the structural ones as ``written`` has them."""
    attrs: list[ExrAttribute] = []
    for a in source.attributes:
        if a.name in STRUCTURAL_ATTRIBUTES:
            w = written.get(a.name)
            if w is not None:
                attrs.append(w)
        else:
            attrs.append(a)
    have = {a.name for a in attrs}
    attrs += [a for a in written.attributes if a.name in STRUCTURAL_ATTRIBUTES and a.name not in have]
    return ExrHeader(tuple(attrs))


def restore_attributes(source: str | Path, written: str | Path, *, parts: dict[int, int] | None = None) -> None:
    """Rewrite ``written`` (an EXR filmstyle just wrote) with the source's own header attributes.

    Every attribute comes from ``source`` byte for byte, except :data:`STRUCTURAL_ATTRIBUTES`, which
    come from ``written`` (they describe the chunks that were written). ``parts`` maps each written
    part to its source part (default: the same index). The chunk offset tables are shifted by the
    change in header length; the chunks themselves are not touched.

    Raises:
        OutputError: ``written`` has a layout this function cannot rewrite safely.
    """
    source, written = Path(source), Path(written)
    src = read_layout(source, tables=False)
    try:
        data = written.read_bytes()
    except OSError as exc:
        raise OutputError(f"{written}: cannot re-read: {exc.strerror or exc}") from None
    try:
        out = parse_layout(data, len(data), tables=True)
    except ExrHeaderError as exc:
        raise OutputError(f"{written}: cannot rewrite the header OIIO wrote: {exc}") from None
    if len(out.tables) != len(out.headers):
        raise OutputError(f"{written}: chunk tables of an unknown compression; header not rewritten")
    mapping = parts or {i: i for i in range(len(out.headers))}
    headers = [merged_header(src.headers[mapping[i]], h) for i, h in enumerate(out.headers)]
    written.write_bytes(_with_headers(data, out, headers, written))


def _with_headers(data: bytes, layout: ExrLayout, headers: list[ExrHeader], path: Path) -> bytes:
    head = serialize_layout(layout.flags, headers)
    delta = len(head) - layout.header_end
    first_chunk = layout.header_end + 8 * sum(len(t) for t in layout.tables)
    for table in layout.tables:
        if any(o < first_chunk for o in table):
            raise OutputError(f"{path}: chunk table overlaps the header; header not rewritten")
    tables = b"".join(struct.pack(f"<{len(t)}Q", *(o + delta for o in t)) for t in layout.tables)
    return head + tables + data[first_chunk:]


def rewrite_headers(path: str | Path, headers: list[ExrHeader]) -> None:
    """Give the EXR at ``path`` these headers (one per part, same structure), shifting its chunk
    tables; the chunks are not touched. For tools and tests that edit attributes."""
    path = Path(path)
    data = path.read_bytes()
    layout = parse_layout(data, len(data), tables=True)
    if len(layout.tables) != len(layout.headers) or len(headers) != len(layout.headers):
        raise OutputError(f"{path}: cannot rewrite this file's headers")
    path.write_bytes(_with_headers(data, layout, headers, path))
