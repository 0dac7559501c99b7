"""OpenEXR headers read and written byte for byte, without OpenImageIO.

OIIO presents a header through its own attribute names and drops what it has no name for (preview
images, other plugins' namespaces), and its writer adds what the source never had (``DateTime``,
``colorInteropID``). This module reads the file layout itself (magic, version flags, every part's
attributes as raw bytes, the chunk offset tables), so that

* :func:`validate_exr` can refuse a damaged header before OIIO sees it (bounded sizes, windows,
  chunk tables inside the file), and
* :mod:`filmstyle.io.exr_rewrite` can give a file OIIO wrote the source's own attributes back,
  only the structural ones (channels, compression, tiling, chunk count...) taken from what was
  written.

Layout (OpenEXR file layout documentation): magic ``76 2f 31 01``, a 4-byte version field (low
byte 2, flags above), one header per part (``name\\0 type\\0 int32 size, value``... then ``\\0``;
a multi-part file ends its header list with one more ``\\0``), one table of uint64 chunk offsets
per part, then the chunks.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from filmstyle.errors import InputError

__all__ = [
    "MAGIC",
    "ExrAttribute",
    "ExrHeader",
    "ExrLayout",
    "read_layout",
    "validate_exr",
    "ExrHeaderError",
    "COMPRESSIONS",
    "parse_layout",
    "parse_channel_list",
]

MAGIC = b"\x76\x2f\x31\x01"
FLAG_TILED = 0x200
FLAG_LONG_NAMES = 0x400
FLAG_NON_IMAGE = 0x800
FLAG_MULTIPART = 0x1000
_KNOWN_FLAGS = FLAG_TILED | FLAG_LONG_NAMES | FLAG_NON_IMAGE | FLAG_MULTIPART

COMPRESSIONS = ("none", "rle", "zips", "zip", "piz", "pxr24", "b44", "b44a", "dwaa", "dwab",
                "htj2k256", "htj2k32")
#: Scanlines per chunk of each compression code (OpenEXR's table).
_LINES_PER_CHUNK = (1, 1, 1, 16, 32, 16, 32, 32, 32, 256, 256, 32)
LINE_ORDERS = ("increasingY", "decreasingY", "randomY")
LEVEL_MODES = ("one level", "mipmap", "ripmap")
ROUNDING_MODES = ("down", "up")
PIXEL_TYPES = ("uint", "half", "float")

#: Bounds that keep a damaged or hostile header from asking for unbounded memory or time.
MAX_HEADER_BYTES = 256 << 20
MAX_ATTRIBUTES = 4096
MAX_PARTS = 1024
MAX_CHANNELS = 4096
MAX_SIDE = 1 << 20
MAX_PIXELS = 1 << 30
MAX_CHUNKS = 1 << 24
_REQUIRED = ("channels", "compression", "dataWindow", "displayWindow", "lineOrder",
             "pixelAspectRatio", "screenWindowCenter", "screenWindowWidth")


#: Type (and size) each standard attribute must have.
_REQUIRED_TYPES: dict[str, tuple[str, int | None]] = {
    "channels": ("chlist", None), "compression": ("compression", 1), "dataWindow": ("box2i", 16),
    "displayWindow": ("box2i", 16), "lineOrder": ("lineOrder", 1), "pixelAspectRatio": ("float", 4),
    "screenWindowCenter": ("v2f", 8), "screenWindowWidth": ("float", 4), "tiles": ("tiledesc", 9),
    "chunkCount": ("int", 4), "name": ("string", None), "type": ("string", None),
}


class ExrHeaderError(InputError):
    """An EXR file whose layout is damaged or out of bounds."""


class _Short(ExrHeaderError):
    """The bytes read so far end before the layout does (read more, or the file is truncated)."""


@dataclass(frozen=True)
class ExrAttribute:
    """One header attribute as stored: name, type name and the raw value bytes."""

    name: str
    type: str
    data: bytes = field(repr=False)

    def encode(self) -> bytes:
        return (self.name.encode("latin-1") + b"\0" + self.type.encode("latin-1") + b"\0"
                + struct.pack("<i", len(self.data)) + self.data)

    def value(self) -> Any:
        """The value as plain Python data (lists, numbers, strings); opaque types summarised."""
        from filmstyle.io.exr_values import decode_value

        return decode_value(self.type, self.data)


@dataclass(frozen=True)
class Channel:
    name: str
    pixel_type: int
    linear: int
    x_sampling: int
    y_sampling: int

    @property
    def type_name(self) -> str:
        return PIXEL_TYPES[self.pixel_type] if 0 <= self.pixel_type < 3 else f"type{self.pixel_type}"


@dataclass(frozen=True)
class ExrHeader:
    """One part's attributes in file order."""

    attributes: tuple[ExrAttribute, ...]

    def get(self, name: str) -> ExrAttribute | None:
        for a in self.attributes:
            if a.name == name:
                return a
        return None

    def names(self) -> list[str]:
        return [a.name for a in self.attributes]

    @property
    def data_window(self) -> tuple[int, int, int, int]:
        return _box2i(self._need("dataWindow"))

    @property
    def display_window(self) -> tuple[int, int, int, int]:
        return _box2i(self._need("displayWindow"))

    @property
    def compression(self) -> int:
        data = self._need("compression").data
        if len(data) != 1:
            raise ExrHeaderError("compression attribute is not one byte")
        return data[0]

    @property
    def tiles(self) -> tuple[int, int, int, int] | None:
        """``(tile width, tile height, level mode, rounding mode)`` or None for scanlines."""
        a = self.get("tiles")
        if a is None or len(a.data) != 9:
            return None
        w, h, mode = struct.unpack("<IIB", a.data)
        return w, h, mode & 0xF, mode >> 4

    @property
    def channels(self) -> list[Channel]:
        return parse_channel_list(self._need("channels").data)

    @property
    def part_type(self) -> str | None:
        a = self.get("type")
        return a.data.decode("latin-1") if a is not None else None

    @property
    def tiled(self) -> bool:
        """Tiled part (``type`` says so, or, in a single-part file without ``type``, a ``tiles``)."""
        t = self.part_type
        return t in ("tiledimage", "deeptile") if t is not None else self.get("tiles") is not None

    @property
    def deep(self) -> bool:
        return (self.part_type or "").startswith("deep")

    def _need(self, name: str) -> ExrAttribute:
        a = self.get(name)
        if a is None:
            raise ExrHeaderError(f"required attribute {name!r} is missing")
        return a

    def level_sizes(self) -> list[tuple[int, int]]:
        """Pixel size of every level that holds chunks (one for scanline or one-level parts)."""
        x0, y0, x1, y1 = self.data_window
        w, h = x1 - x0 + 1, y1 - y0 + 1
        if not (1 <= w <= MAX_SIDE and 1 <= h <= MAX_SIDE):
            raise ExrHeaderError(f"data window is {w}x{h} pixels (1 to {MAX_SIDE} a side)")
        tiles = self.tiles
        if tiles is None or tiles[2] == 0:
            return [(w, h)]
        rnd = tiles[3]
        if tiles[2] == 1:
            n = _level_count(max(w, h), rnd)
            return [(_level_size(w, i, rnd), _level_size(h, i, rnd)) for i in range(n)]
        nx, ny = _level_count(w, rnd), _level_count(h, rnd)
        return [(_level_size(w, lx, rnd), _level_size(h, ly, rnd)) for ly in range(ny) for lx in range(nx)]

    def chunk_count(self) -> int | None:
        """Chunks this part's header implies (None when the compression's chunk size is unknown)."""
        a = self.get("chunkCount")
        tiles = self.tiles
        if self.tiled and tiles is not None:
            tw, th = tiles[0], tiles[1]
            if tw < 1 or th < 1 or tiles[2] > 2 or tiles[3] > 1:
                raise ExrHeaderError(f"bad tile description {tw}x{th}, level mode {tiles[2]}, rounding {tiles[3]}")
            return sum(-(-w // tw) * -(-h // th) for w, h in self.level_sizes())
        comp = self.compression
        if comp >= len(_LINES_PER_CHUNK):
            return struct.unpack("<i", a.data)[0] if a is not None and len(a.data) == 4 else None
        _, h = self.level_sizes()[0]
        return -(-h // _LINES_PER_CHUNK[comp])


@dataclass(frozen=True)
class ExrLayout:
    """Everything before the chunks: version flags, headers, offset tables."""

    flags: int
    headers: tuple[ExrHeader, ...]
    header_end: int  # file offset of the first offset table
    tables: tuple[tuple[int, ...], ...] = ()
    file_size: int = 0

    @property
    def multipart(self) -> bool:
        return bool(self.flags & FLAG_MULTIPART)


def _level_count(n: int, rounding: int) -> int:
    return (math.ceil(math.log2(n)) if rounding else int(math.floor(math.log2(n)))) + 1 if n > 1 else 1


def _level_size(n: int, level: int, rounding: int) -> int:
    size = -(-n // (1 << level)) if rounding else n >> level
    return max(size, 1)


def _box2i(a: ExrAttribute) -> tuple[int, int, int, int]:
    if a.type != "box2i" or len(a.data) != 16:
        raise ExrHeaderError(f"attribute {a.name!r} is not a box2i")
    return struct.unpack("<4i", a.data)  # type: ignore[return-value]


def parse_channel_list(data: bytes) -> list[Channel]:
    out: list[Channel] = []
    pos = 0
    while True:
        end = data.find(b"\0", pos)
        if end < 0:
            raise ExrHeaderError("channel list is not terminated")
        if end == pos:
            return out
        name = data[pos:end].decode("latin-1")
        if end + 17 > len(data):
            raise ExrHeaderError(f"channel {name!r} is cut short")
        ptype, linear, xs, ys = struct.unpack("<iB3xii", data[end + 1:end + 17])
        out.append(Channel(name, ptype, linear, xs, ys))
        pos = end + 17
        if len(out) > MAX_CHANNELS:
            raise ExrHeaderError(f"more than {MAX_CHANNELS} channels")


def _cstring(buf: bytes, pos: int, limit: int, what: str) -> tuple[str, int]:
    end = buf.find(b"\0", pos, min(len(buf), pos + limit + 1))
    if end < 0:
        raise _Short(f"{what} longer than {limit} bytes or cut short at byte {pos}")
    return buf[pos:end].decode("latin-1"), end + 1


def _read_header(buf: bytes, pos: int, long_names: bool) -> tuple[ExrHeader, int]:
    limit = 255 if long_names else 31
    attrs: list[ExrAttribute] = []
    while True:
        if pos >= len(buf):
            raise _Short("header is cut short")
        if buf[pos] == 0:
            return ExrHeader(tuple(attrs)), pos + 1
        name, pos = _cstring(buf, pos, limit, "attribute name")
        type_name, pos = _cstring(buf, pos, limit, f"type of attribute {name!r}")
        if pos + 4 > len(buf):
            raise _Short(f"attribute {name!r} is cut short")
        (size,) = struct.unpack_from("<i", buf, pos)
        pos += 4
        if size < 0:
            raise ExrHeaderError(f"attribute {name!r} claims {size} bytes")
        if pos + size > len(buf):
            raise _Short(f"attribute {name!r} claims {size} bytes, beyond the end of the file")
        attrs.append(ExrAttribute(name, type_name, bytes(buf[pos:pos + size])))
        pos += size
        if len(attrs) > MAX_ATTRIBUTES:
            raise ExrHeaderError(f"more than {MAX_ATTRIBUTES} attributes")


def parse_layout(buf: bytes, file_size: int, *, tables: bool) -> ExrLayout:
    """Parse headers (and chunk tables) from the first bytes ``buf`` of a file of ``file_size``."""
    if buf[:4] != MAGIC:
        raise ExrHeaderError("not an OpenEXR file (bad magic number)")
    if len(buf) < 8:
        raise _Short("file is cut short")
    (version,) = struct.unpack_from("<I", buf, 4)
    flags = version & ~0xFF
    if version & 0xFF != 2:
        raise ExrHeaderError(f"unsupported OpenEXR version {version & 0xFF}")
    if flags & ~_KNOWN_FLAGS:
        raise ExrHeaderError(f"unknown version flags 0x{flags & ~_KNOWN_FLAGS:x}")
    pos = 8
    headers: list[ExrHeader] = []
    long_names = bool(flags & FLAG_LONG_NAMES)
    if flags & FLAG_MULTIPART:
        while True:
            if pos >= len(buf):
                raise _Short("header list is cut short")
            if buf[pos] == 0:
                pos += 1
                break
            header, pos = _read_header(buf, pos, long_names)
            headers.append(header)
            if len(headers) > MAX_PARTS:
                raise ExrHeaderError(f"more than {MAX_PARTS} parts")
        if not headers:
            raise ExrHeaderError("multi-part file without parts")
    else:
        header, pos = _read_header(buf, pos, long_names)
        headers.append(header)
    layout = ExrLayout(flags, tuple(headers), pos, (), file_size)
    if not tables:
        return layout
    try:
        counts = [h.chunk_count() for h in headers]
    except (struct.error, IndexError, ValueError, OverflowError) as exc:
        raise ExrHeaderError(f"malformed attribute ({exc})") from None
    if any(c is None for c in counts):
        return layout
    if any(c < 0 for c in counts):  # type: ignore[operator]
        raise ExrHeaderError("negative chunk count")
    total = sum(counts)  # type: ignore[arg-type]
    if total > MAX_CHUNKS or pos + 8 * total > len(buf):
        raise _Short("chunk offset table reaches past the end of the file (truncated?)")
    out: list[tuple[int, ...]] = []
    for c in counts:
        out.append(struct.unpack_from(f"<{c}Q", buf, pos))
        pos += 8 * c  # type: ignore[operator]
    return replace(layout, tables=tuple(out))


def read_layout(path: str | Path, *, tables: bool = True) -> ExrLayout:
    """Parse an EXR file's headers (and chunk offset tables). Raises :class:`ExrHeaderError`.

    Reads 64 KiB first and more only when the headers and tables need it (previews, many parts,
    many tiles), up to :data:`MAX_HEADER_BYTES`.
    """
    path = Path(path)
    want = 1 << 16
    try:
        with path.open("rb") as fh:
            size = fh.seek(0, 2)
            while True:
                fh.seek(0)
                buf = fh.read(min(size, want))
                try:
                    return parse_layout(buf, size, tables=tables)
                except _Short as exc:
                    if len(buf) >= size or want >= MAX_HEADER_BYTES:
                        raise ExrHeaderError(f"{path}: damaged EXR header: {exc} (truncated file?)") from None
                    want *= 8
                except ExrHeaderError as exc:
                    raise ExrHeaderError(f"{path}: damaged EXR header: {exc}") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None


def _check_window(name: str, box: tuple[int, int, int, int]) -> tuple[int, int]:
    x0, y0, x1, y1 = box
    w, h = x1 - x0 + 1, y1 - y0 + 1
    if not (1 <= w <= MAX_SIDE and 1 <= h <= MAX_SIDE):
        raise ExrHeaderError(f"{name} is {w}x{h} pixels (at most {MAX_SIDE} a side)")
    return w, h


def _check_header(header: ExrHeader, index: int, multipart: bool, tiled_flag: bool) -> None:
    where = f"part {index}: " if multipart else ""
    try:
        for name in _REQUIRED + (("name", "type", "chunkCount") if multipart else ()):
            header._need(name)
        w, h = _check_window("data window", header.data_window)
        _check_window("display window", header.display_window)
        if header.compression >= len(COMPRESSIONS) + 2:
            raise ExrHeaderError(f"unknown compression code {header.compression}")
        line_order = header._need("lineOrder").data
        if len(line_order) != 1 or line_order[0] > 2:
            raise ExrHeaderError("bad lineOrder")
        channels = header.channels
        if not channels:
            raise ExrHeaderError("no channels")
        # Names reach OIIO's Python API as str: bytes that are not UTF-8 cannot cross it.
        for name, (type_name, size) in _REQUIRED_TYPES.items():
            a = header.get(name)
            if a is not None and (a.type != type_name or (size is not None and len(a.data) != size)):
                raise ExrHeaderError(f"attribute {name!r} has type {a.type!r} ({len(a.data)} bytes), "
                                     f"expected {type_name}")
        part_name = header.get("name")
        for text, what in ([(a.name, "attribute name") for a in header.attributes]
                           + [(a.type, "attribute type") for a in header.attributes]
                           + [(c.name, "channel name") for c in channels]
                           + ([(part_name.data.decode("latin-1"), "part name")] if part_name else [])):
            try:
                text.encode("latin-1").decode("utf-8")
            except UnicodeDecodeError:
                raise ExrHeaderError(f"{what} {text!r} is not UTF-8 text") from None
        for c in channels:
            if not 0 <= c.pixel_type <= 2:
                raise ExrHeaderError(f"channel {c.name!r} has unknown pixel type {c.pixel_type}")
            if not (1 <= c.x_sampling <= w and 1 <= c.y_sampling <= h):
                raise ExrHeaderError(f"channel {c.name!r} has sampling {c.x_sampling}x{c.y_sampling}")
        if w * h > MAX_PIXELS or w * h * len(channels) > 4 * MAX_PIXELS:
            raise ExrHeaderError(f"{w}x{h} pixels x {len(channels)} channels is beyond filmstyle's limit")
        tiled = header.tiled or (tiled_flag and header.part_type is None)
        tiles_attr = header.get("tiles")
        if tiled or tiles_attr is not None:
            if tiles_attr is None or len(tiles_attr.data) != 9:
                raise ExrHeaderError("tiled part without a valid tile description")
            tw, th, mode, rnd = header.tiles  # type: ignore[misc]
            if not (1 <= tw <= MAX_SIDE and 1 <= th <= MAX_SIDE) or mode > 2 or rnd > 1:
                raise ExrHeaderError(f"bad tile description {tw}x{th}, level mode {mode}, rounding {rnd}")
        if multipart:
            (count,) = struct.unpack("<i", header._need("chunkCount").data[:4].ljust(4, b"\0"))
            implied = header.chunk_count()
            if header.deep:
                pass  # deep parts: OpenEXR checks sample tables itself
            elif implied is not None and count != implied:
                raise ExrHeaderError(f"chunkCount {count} does not match the {implied} chunks the header implies")
    except ExrHeaderError as exc:
        raise ExrHeaderError(f"{where}{exc}") from None
    except (struct.error, IndexError, UnicodeDecodeError) as exc:
        raise ExrHeaderError(f"{where}malformed attribute ({exc})") from None


def validate_exr(path: str | Path) -> ExrLayout:
    """Check an EXR's layout before handing it to a decoder.

    Refuses (one :class:`~filmstyle.errors.InputError` line naming the file): a bad magic or
    version, attributes running past the end, missing required attributes, empty or absurd
    windows (more than 2**20 a side or 2**30 pixels), unknown pixel types or compressions, bad
    tile descriptions, and chunk tables that reach past the end of the file or point outside it.
    """
    path = Path(path)
    layout = read_layout(path, tables=True)
    try:
        for i, header in enumerate(layout.headers):
            _check_header(header, i, layout.multipart, bool(layout.flags & FLAG_TILED))
        table_end = layout.header_end + 8 * sum(len(t) for t in layout.tables)
        for i, table in enumerate(layout.tables):
            for offset in table:
                if not table_end <= offset < layout.file_size:
                    raise ExrHeaderError(
                        f"{'part %d: ' % i if layout.multipart else ''}chunk offset {offset} lies outside "
                        f"the file ({layout.file_size} bytes; truncated or incomplete?)")
        _check_last_chunk(path, layout)
    except ExrHeaderError as exc:
        raise ExrHeaderError(f"{path}: damaged EXR header: {exc}") from None
    return layout


def _check_last_chunk(path: Path, layout: ExrLayout) -> None:
    """The chunk furthest into the file ends inside it. A copy cut short loses its end while the
    offset tables, written first, still point inside what is left; one read finds it here, so a
    check of headers alone (``validate``) refuses the file rather than the render that decodes it."""
    last = [(max(table), i) for i, table in enumerate(layout.tables) if table and not layout.headers[i].deep]
    if not last:
        return
    offset, part = max(last)
    # before the packed size: the part number (multi-part), then a scanline's y or a tile's 4 ints
    start = offset + (4 if layout.multipart else 0) + (16 if layout.headers[part].tiled else 4)
    with path.open("rb") as fh:
        fh.seek(start)
        raw = fh.read(4)
    size = struct.unpack("<i", raw)[0] if len(raw) == 4 else -1
    if size < 0 or start + 4 + size > layout.file_size:
        raise ExrHeaderError(f"the last chunk (at byte {offset}) runs past the end of the file "
                             f"({layout.file_size} bytes; truncated or incomplete?)")
