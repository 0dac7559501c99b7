"""DPX headers and pixel packing, read and written from the SMPTE 268M layout itself.

A DPX frame that goes through filmstyle in its own format comes back as the same bytes with only
the image element's pixel data replaced: header, user data, other elements, padding and the packing
("filled, method A/B" or "packed"), bit depth and byte order of the element are the source's
(:func:`write_like_source`). OpenImageIO decodes the source (its reader handles every layout);
this module encodes, because OIIO's writer knows only some layouts (12-bit is always rewritten
"packed") and writes a header of its own.

:func:`validate_dpx` checks a header before any decoder sees it: the magic number, element count,
sizes, bit depths, packings and that every element's pixel data lies inside the file.

Field offsets are those of SMPTE 268M-2003 (the generic header is 1664 bytes, the industry
headers bring it to 2048; user data follows).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from filmstyle.errors import InputError

__all__ = [
    "DPX_FIELDS",
    "ELEMENT_FIELDS",
    "DpxHeader",
    "ElementLayout",
    "read_header",
    "validate_dpx",
    "encode_element",
    "write_like_source",
    "restore_fields",
]

#: ``(name, offset, size, kind)`` of every field of the generic and industry headers; kind is
#: ``u8``/``u16``/``u32``/``r32`` (in the file's byte order), ``str`` (NUL-padded ASCII) or
#: ``raw`` (reserved bytes). The eight image elements are listed by :data:`ELEMENT_FIELDS`.
DPX_FIELDS: tuple[tuple[str, int, int, str], ...] = (
    ("magic", 0, 4, "raw"),
    ("image_offset", 4, 4, "u32"),
    ("version", 8, 8, "str"),
    ("file_size", 16, 4, "u32"),
    ("ditto_key", 20, 4, "u32"),
    ("generic_size", 24, 4, "u32"),
    ("industry_size", 28, 4, "u32"),
    ("user_size", 32, 4, "u32"),
    ("file_name", 36, 100, "str"),
    ("creation_time", 136, 24, "str"),
    ("creator", 160, 100, "str"),
    ("project", 260, 200, "str"),
    ("copyright", 460, 200, "str"),
    ("encryption_key", 660, 4, "u32"),
    ("file_reserved", 664, 104, "raw"),
    ("orientation", 768, 2, "u16"),
    ("element_count", 770, 2, "u16"),
    ("pixels_per_line", 772, 4, "u32"),
    ("lines_per_element", 776, 4, "u32"),
    ("image_reserved", 1356, 52, "raw"),
    ("x_offset", 1408, 4, "u32"),
    ("y_offset", 1412, 4, "u32"),
    ("x_center", 1416, 4, "r32"),
    ("y_center", 1420, 4, "r32"),
    ("x_original_size", 1424, 4, "u32"),
    ("y_original_size", 1428, 4, "u32"),
    ("source_file_name", 1432, 100, "str"),
    ("source_time", 1532, 24, "str"),
    ("input_device", 1556, 32, "str"),
    ("input_serial", 1588, 32, "str"),
    ("border", 1620, 8, "raw"),
    ("aspect_ratio", 1628, 8, "raw"),
    ("x_scanned_size", 1636, 4, "r32"),
    ("y_scanned_size", 1640, 4, "r32"),
    ("source_reserved", 1644, 20, "raw"),
    ("film_mfg_id", 1664, 2, "str"),
    ("film_type", 1666, 2, "str"),
    ("perfs_offset", 1668, 2, "str"),
    ("prefix", 1670, 6, "str"),
    ("count", 1676, 4, "str"),
    ("format", 1680, 32, "str"),
    ("frame_position", 1712, 4, "u32"),
    ("sequence_length", 1716, 4, "u32"),
    ("held_count", 1720, 4, "u32"),
    ("film_frame_rate", 1724, 4, "r32"),
    ("shutter_angle", 1728, 4, "r32"),
    ("frame_id", 1732, 32, "str"),
    ("slate_info", 1764, 100, "str"),
    ("film_reserved", 1864, 56, "raw"),
    ("time_code", 1920, 4, "u32"),
    ("user_bits", 1924, 4, "u32"),
    ("interlace", 1928, 1, "u8"),
    ("field_number", 1929, 1, "u8"),
    ("video_signal", 1930, 1, "u8"),
    ("tv_padding", 1931, 1, "u8"),
    ("horizontal_sample_rate", 1932, 4, "r32"),
    ("vertical_sample_rate", 1936, 4, "r32"),
    ("tv_frame_rate", 1940, 4, "r32"),
    ("time_offset", 1944, 4, "r32"),
    ("gamma", 1948, 4, "r32"),
    ("black_level", 1952, 4, "r32"),
    ("black_gain", 1956, 4, "r32"),
    ("break_point", 1960, 4, "r32"),
    ("white_level", 1964, 4, "r32"),
    ("integration_times", 1968, 4, "r32"),
    ("tv_reserved", 1972, 76, "raw"),
)

#: Fields of one image element, as offsets inside its 72-byte record (records start at 780).
ELEMENT_FIELDS: tuple[tuple[str, int, int, str], ...] = (
    ("data_sign", 0, 4, "u32"),
    ("low_data", 4, 4, "u32"),
    ("low_quantity", 8, 4, "r32"),
    ("high_data", 12, 4, "u32"),
    ("high_quantity", 16, 4, "r32"),
    ("descriptor", 20, 1, "u8"),
    ("transfer", 21, 1, "u8"),
    ("colorimetric", 22, 1, "u8"),
    ("bit_size", 23, 1, "u8"),
    ("packing", 24, 2, "u16"),
    ("encoding", 26, 2, "u16"),
    ("data_offset", 28, 4, "u32"),
    ("eol_padding", 32, 4, "u32"),
    ("eoi_padding", 36, 4, "u32"),
    ("description", 40, 32, "str"),
)
ELEMENT_BASE = 780
ELEMENT_SIZE = 72
GENERIC_END = 2048
_UNDEFINED32 = 0xFFFFFFFF
#: Components per pixel of each image descriptor (SMPTE 268M table 1).
_COMPONENTS = {0: 1, 1: 1, 2: 1, 3: 1, 4: 1, 5: 1, 6: 1, 7: 1, 8: 1, 50: 3, 51: 4, 52: 4,
               100: 2, 101: 3, 102: 3, 103: 4, 150: 2, 151: 3, 152: 4, 153: 5, 154: 6, 155: 7, 156: 8}
_BIT_SIZES = (1, 8, 10, 12, 16, 32, 64)
#: Bounds that keep a damaged header from asking for unbounded memory.
MAX_SIDE = 1 << 16
MAX_PIXELS = 1 << 28
#: Layouts filmstyle writes itself (descriptor RGB/RGBA, no RLE).
_WRITABLE_BITS = (8, 10, 12, 16)
_WRITABLE_DESCRIPTORS = (50, 51)


class DpxHeaderError(InputError):
    """A DPX file whose header is damaged or out of bounds."""


@dataclass(frozen=True)
class ElementLayout:
    """Where and how one image element's pixels are stored."""

    index: int
    width: int
    height: int
    components: int
    bits: int
    packing: int
    encoding: int
    offset: int
    eol_padding: int
    descriptor: int

    @property
    def line_bytes(self) -> int:
        """Bytes of one line's pixels, without end-of-line padding (as libdpx lays them out)."""
        n = self.width * self.components
        if self.bits == 8:
            return n
        if self.bits == 16 or (self.bits == 12 and self.packing != 0):
            return 2 * n
        if self.bits == 10 and self.packing != 0:
            return 4 * (-(-n // 3))
        if self.bits in (32, 64):
            return n * self.bits // 8
        return 4 * (-(-(n * self.bits) // 32))

    @property
    def size(self) -> int:
        return self.height * (self.line_bytes + self.eol_padding)

    @property
    def writable(self) -> bool:
        # OIIO's reader takes 10-bit filled RGBA words in an order of its own (not SMPTE's): such
        # frames are left to its writer.
        odd_rgba = self.bits == 10 and self.packing != 0 and self.components == 4
        return (self.encoding == 0 and self.bits in _WRITABLE_BITS and self.packing in (0, 1, 2)
                and self.descriptor in _WRITABLE_DESCRIPTORS and not odd_rgba)


@dataclass(frozen=True)
class DpxHeader:
    """A parsed DPX header: byte order, the raw bytes up to the image data, every field."""

    endian: str  # "big" | "little"
    raw: bytes
    file_size: int

    @property
    def order(self) -> str:
        return ">" if self.endian == "big" else "<"

    def field(self, name: str, *, element: int | None = None) -> Any:
        table, base = (DPX_FIELDS, 0) if element is None else (ELEMENT_FIELDS, ELEMENT_BASE + ELEMENT_SIZE * element)
        for fname, offset, size, kind in table:
            if fname == name:
                return _decode(self.raw[base + offset:base + offset + size], kind, self.order)
        raise KeyError(name)

    def fields(self) -> dict[str, Any]:
        """Every field (elements as ``element<i>.<name>``, for the elements in use) and the user data."""
        out = {name: _decode(self.raw[o:o + s], kind, self.order) for name, o, s, kind in DPX_FIELDS}
        for e in range(self.element_count):
            base = ELEMENT_BASE + ELEMENT_SIZE * e
            for name, o, s, kind in ELEMENT_FIELDS:
                out[f"element{e}.{name}"] = _decode(self.raw[base + o:base + o + s], kind, self.order)
        user = self.user_data
        if user:
            ident = user[:32].split(b"\0", 1)[0].decode("latin-1")
            out["user_data"] = f"<{len(user)} bytes, user id {ident!r}>"
        return out

    def raw_fields(self) -> dict[str, bytes]:
        """Every field's raw bytes, named as in :meth:`fields` (user data whole)."""
        out = {name: self.raw[o:o + s] for name, o, s, _ in DPX_FIELDS}
        for e in range(self.element_count):
            base = ELEMENT_BASE + ELEMENT_SIZE * e
            for name, o, s, _ in ELEMENT_FIELDS:
                out[f"element{e}.{name}"] = self.raw[base + o:base + o + s]
        if self.user_data:
            out["user_data"] = self.user_data
        return out

    @property
    def element_count(self) -> int:
        n = self.field("element_count") or 0
        return n if 1 <= n <= 8 else 0

    @property
    def user_data(self) -> bytes:
        size = self.field("user_size")
        if not size or size == _UNDEFINED32:
            return b""
        return self.raw[GENERIC_END:GENERIC_END + size]

    def element(self, index: int) -> ElementLayout:
        f = {name: self.field(name, element=index) for name, *_ in ELEMENT_FIELDS}
        eol = f["eol_padding"] if f["eol_padding"] not in (None, _UNDEFINED32) else 0
        offset = f["data_offset"]
        if offset in (None, 0, _UNDEFINED32) and index == 0:
            offset = self.field("image_offset")
        return ElementLayout(
            index=index,
            width=self.field("pixels_per_line") or 0,
            height=self.field("lines_per_element") or 0,
            components=_COMPONENTS.get(f["descriptor"], 0),
            bits=f["bit_size"] or 0,
            packing=f["packing"] if f["packing"] is not None else 0,
            encoding=f["encoding"] if f["encoding"] is not None else 0,
            offset=offset or 0,
            eol_padding=eol,
            descriptor=f["descriptor"] if f["descriptor"] is not None else -1,
        )


def _decode(data: bytes, kind: str, order: str) -> Any:
    if kind == "str":
        text = data.split(b"\0", 1)[0]
        return None if not text or set(text) == {0xFF} else text.decode("latin-1")
    if kind == "raw":
        return None if set(data) <= {0xFF} or set(data) <= {0} else data.hex()
    if kind == "r32":
        if data == b"\xff\xff\xff\xff":
            return None
        (v,) = struct.unpack(order + "f", data)
        return v if v == v else None  # NaN is how some writers say "undefined"
    fmt = {"u8": "B", "u16": "H", "u32": "I"}[kind]
    (v,) = struct.unpack(order + fmt, data)
    return None if v == (1 << (8 * len(data))) - 1 else v


def read_header(path: str | Path) -> DpxHeader:
    """Parse the header of a DPX file (up to its image data). Raises :class:`DpxHeaderError`."""
    path = Path(path)
    try:
        with path.open("rb") as fh:
            size = fh.seek(0, 2)
            fh.seek(0)
            head = fh.read(8)
            if len(head) < 8 or head[:4] not in (b"SDPX", b"XPDS"):
                raise DpxHeaderError(f"{path}: not a DPX file (bad magic number)")
            endian = "big" if head[:4] == b"SDPX" else "little"
            (offset,) = struct.unpack((">" if endian == "big" else "<") + "I", head[4:8])
            if not GENERIC_END <= offset <= size:
                raise DpxHeaderError(
                    f"{path}: damaged DPX header: image data offset {offset} outside 2048..{size} (file size)")
            fh.seek(0)
            raw = fh.read(offset)
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
    return DpxHeader(endian, raw, size)


def validate_dpx(path: str | Path) -> DpxHeader:
    """Check a DPX header before a decoder sees it; one :class:`InputError` line if it is damaged.

    Refused: a bad magic number or image offset, 0 or more than 8 elements, a size of 0 or more
    than 65536 a side (2**28 pixels), unknown descriptors, bit depths, packings or encodings, and
    uncompressed element data that reaches past the end of the file (a truncated frame).
    """
    path = Path(path)
    header = read_header(path)
    n = header.field("element_count")
    w, h = header.field("pixels_per_line"), header.field("lines_per_element")

    def bad(what: str) -> DpxHeaderError:
        return DpxHeaderError(f"{path}: damaged DPX header: {what}")

    if n is None or not 1 <= n <= 8:
        raise bad(f"{n} image elements (1 to 8 allowed)")
    if not (w and h and w <= MAX_SIDE and h <= MAX_SIDE and w * h <= MAX_PIXELS):
        raise bad(f"image is {w}x{h} pixels (1 to {MAX_SIDE} a side)")
    for e in range(n):
        el = header.element(e)
        if el.components == 0:
            raise bad(f"element {e} has unknown descriptor {el.descriptor}")
        if el.bits not in _BIT_SIZES:
            raise bad(f"element {e} has bit depth {el.bits}")
        sign = header.field("data_sign", element=e)
        if sign not in (0, None):
            raise DpxHeaderError(f"{path}: element {e} holds signed data, which filmstyle does not read")
        if el.packing not in (0, 1, 2) or el.encoding not in (0, 1):
            raise bad(f"element {e} has packing {el.packing}, encoding {el.encoding}")
        if el.eol_padding > MAX_SIDE * 8:
            raise bad(f"element {e} has end-of-line padding {el.eol_padding}")
        if not GENERIC_END <= el.offset <= header.file_size:
            raise bad(f"element {e} data offset {el.offset} lies outside the file")
        if el.encoding == 0 and el.offset + el.height * el.line_bytes > header.file_size:
            raise DpxHeaderError(
                f"{path}: truncated DPX: element {e} needs {el.height * el.line_bytes} bytes of pixels "
                f"from byte {el.offset}, the file has {header.file_size - el.offset}")
    return header


# -- encoding -----------------------------------------------------------------------------------


def _pack_filled10(codes: np.ndarray, method: int) -> np.ndarray:
    """(H, N) codes -> (H, ceil(N/3)) uint32 words, first datum in the high bits."""
    h, n = codes.shape
    k = -(-n // 3)
    padded = np.zeros((h, 3 * k), np.uint32)
    padded[:, :n] = codes
    shift = 2 if method == 1 else 0
    trio = padded.reshape(h, k, 3)
    return (trio[..., 0] << (20 + shift)) | (trio[..., 1] << (10 + shift)) | (trio[..., 2] << shift)


def _pack_bits(codes: np.ndarray, bits: int) -> np.ndarray:
    """(H, N) codes -> (H, ceil(N*bits/32)) uint32 words: each line a little-endian bit stream
    (datum i at bit i*bits), as libdpx packs 10- and 12-bit data."""
    h, n = codes.shape
    group = 32 // np.gcd(bits, 32)  # datums per whole number of words
    words_per_group = group * bits // 32
    g = -(-n // group)
    padded = np.zeros((h, g * group), np.uint64)
    padded[:, :n] = codes
    datums = padded.reshape(h, g, group)
    words = np.zeros((h, g, words_per_group + 1), np.uint64)
    for j in range(group):
        pos = j * bits
        word, shift = divmod(pos, 32)
        value = datums[..., j] << np.uint64(shift)
        words[..., word] |= value & np.uint64(0xFFFFFFFF)
        words[..., word + 1] |= value >> np.uint64(32)
    flat = words[..., :words_per_group].reshape(h, g * words_per_group)
    return flat[:, : -(-(n * bits) // 32)].astype(np.uint32)


def encode_element(codes: np.ndarray, layout: ElementLayout, endian: str) -> bytes:
    """Pixel codes ``(H, W, C)`` (integers in ``0 .. 2**bits-1``) as the element stores them,
    end-of-line padding as zero bytes."""
    h = layout.height
    flat = np.ascontiguousarray(codes, dtype=np.uint32).reshape(h, layout.width * layout.components)
    e = ">" if endian == "big" else "<"
    if layout.bits == 8:
        rows = flat.astype(np.uint8)
    elif layout.bits == 16:
        rows = flat.astype(e + "u2").view(np.uint8).reshape(h, -1)
    elif layout.bits == 12 and layout.packing != 0:
        words = (flat << 4) if layout.packing == 1 else flat
        rows = words.astype(e + "u2").view(np.uint8).reshape(h, -1)
    elif layout.bits == 10 and layout.packing != 0:
        rows = _pack_filled10(flat, layout.packing).astype(e + "u4").view(np.uint8).reshape(h, -1)
    else:
        rows = _pack_bits(flat, layout.bits).astype(e + "u4").view(np.uint8).reshape(h, -1)
    if layout.eol_padding:
        rows = np.concatenate([rows, np.zeros((h, layout.eol_padding), np.uint8)], axis=1)
    return rows.tobytes()


def codes_from_float(pixels: np.ndarray, layout: ElementLayout) -> np.ndarray:
    """Integer codes (uint32) of ``pixels`` as OIIO decodes this layout: ``code / (2**bits - 1)``,
    except 12-bit "filled, method A", which its reader hands over as the raw 16-bit word / 65535.
    Values are clipped to 0..1 first; NaN becomes 0."""
    a12 = layout.bits == 12 and layout.packing == 1
    scale = np.float32(65535 if a12 else (1 << layout.bits) - 1)
    codes = np.multiply(np.asarray(pixels, np.float32), scale, dtype=np.float32)
    np.clip(codes, 0, scale, out=codes)
    nan = np.isnan(codes)
    if nan.any():
        codes[nan] = 0
    np.rint(codes, out=codes)
    out = codes.astype(np.uint32)
    if a12:
        out >>= 4
    return out


def write_like_source(source: Path, pixels: np.ndarray, out: Path, element: int = 0,
                      original: np.ndarray | None = None) -> np.ndarray | None:
    """Write ``out`` as a byte copy of ``source`` with element ``element``'s pixels replaced.

    ``pixels``: ``(H, W, C)`` float in 0..1 (code / max code), channel order as stored. Bits of
    the element that hold no pixel data (fill bits, end-of-line padding) keep the source's values,
    so a frame with unchanged pixels is the source byte for byte. ``original``: the source's pixels
    as OIIO decoded them; when given, the source must re-encode to its own data bits, which proves
    this encoding is the exact inverse of the decoding for this very file. Returns the codes
    written, or None (nothing written) when the element's layout is not one filmstyle encodes (RLE,
    not RGB/RGBA, 1/32/64-bit) or the file's data does not re-encode to itself.
    """
    header = validate_dpx(source)
    if element >= header.element_count:
        return None
    layout = header.element(element)
    if not layout.writable or pixels.shape != (layout.height, layout.width, layout.components):
        return None
    data = bytearray(source.read_bytes())
    if len(data) != header.file_size:
        raise InputError(f"{source}: changed while it was copied")
    maximum = (1 << layout.bits) - 1
    codes = codes_from_float(pixels, layout)
    encoded = np.frombuffer(encode_element(codes, layout, header.endian), np.uint8)
    mask = np.frombuffer(encode_element(np.full(codes.shape, maximum, np.uint32), layout, header.endian), np.uint8)
    start, end = layout.offset, layout.offset + len(encoded)
    if end > len(data):
        return None
    stored = np.frombuffer(bytes(data[start:end]), np.uint8)
    if original is not None:
        again = np.frombuffer(encode_element(codes_from_float(original, layout), layout, header.endian), np.uint8)
        if not np.array_equal(again, stored & mask):
            return None
    data[start:end] = ((stored & ~mask) | encoded).tobytes()
    out.write_bytes(bytes(data))
    return codes


#: Fields a DPX written by another writer gets back from its source: everything that does not
#: describe the pixel layout (offsets, sizes, depth, packing, descriptor, data range).
_LAYOUT_FREE = {"version", "ditto_key", "file_name", "creation_time", "creator", "project", "copyright",
                "encryption_key", "file_reserved", "orientation", "image_reserved"} | {
    name for name, offset, _, _ in DPX_FIELDS if offset >= 1408}
_ELEMENT_LAYOUT_FREE = {"transfer", "colorimetric", "description"}


def restore_fields(source: Path, written: Path) -> None:
    """Copy every layout-free header field of ``source`` into ``written`` (same byte order), so a
    DPX that had to be re-encoded by another writer keeps the source's version, names, times, time
    zones, centre, aspect ratio, film/TV fields and colour tags, and gains no field of its own."""
    src, out = read_header(source), read_header(written)
    if src.endian != out.endian or len(out.raw) < GENERIC_END or len(src.raw) < GENERIC_END:
        return
    data = bytearray(written.read_bytes())
    for name, offset, size, _ in DPX_FIELDS:
        if name in _LAYOUT_FREE:
            data[offset:offset + size] = src.raw[offset:offset + size]
    for e in range(min(src.element_count, out.element_count)):
        base = ELEMENT_BASE + ELEMENT_SIZE * e
        for name, offset, size, _ in ELEMENT_FIELDS:
            if name in _ELEMENT_LAYOUT_FREE:
                data[base + offset:base + offset + size] = src.raw[base + offset:base + offset + size]
    written.write_bytes(bytes(data))
