"""Read an OpenEXR header and fingerprint a frame's pixels, with the standard library only.

A host that writes the same pixels twice should get the same fingerprint, even when its EXR writer
stamps the file with a date, a comment or the host's version. :func:`pixel_digest` therefore hashes
only the attributes that decide the pixels (channels, windows, compression, line order, aspect,
tiling, chromaticities) and the pixel data, with the offset table made relative to the end of the
header (its absolute values move when a stamp's length changes).

Layout (OpenEXR file format, version 2): magic ``76 2f 31 01``, a 4-byte version field whose bit
0x1000 marks a multi-part file, then attributes ``name\\0 type\\0 size(int32 LE) value`` up to an
empty name; then the chunk offset table (uint64 LE per chunk) and the chunks.
"""

import hashlib
import struct
from pathlib import Path
from typing import Dict, Optional, Tuple, Union

__all__ = ["ExrHeader", "read_header", "pixel_digest", "file_digest"]

MAGIC = b"\x76\x2f\x31\x01"
_MULTIPART = 0x1000
_TILED = 0x200
#: Attributes that decide what the pixels are; everything else (dates, comments, owner, software,
#: timecode...) is left out of the fingerprint.
PIXEL_ATTRIBUTES = ("channels", "compression", "dataWindow", "displayWindow", "lineOrder",
                    "pixelAspectRatio", "tiles", "type", "chromaticities")
#: Scanlines per chunk by compression code (OpenEXR's ``Compression`` enum).
_LINES_PER_CHUNK = {0: 1, 1: 1, 2: 1, 3: 16, 4: 32, 5: 16, 6: 32, 7: 32, 8: 32, 9: 256}
_MAX_HEADER = 1 << 24  # a header larger than 16 MB is not a frame a host wrote


class ExrHeader:
    """The first part's attributes as ``{name: (type, raw bytes)}``, and where the header ends."""

    def __init__(self, attributes: Dict[str, Tuple[str, bytes]], end: int, version: int) -> None:
        self.attributes = attributes
        self.end = end
        self.version = version

    @property
    def multipart(self) -> bool:
        return bool(self.version & _MULTIPART)

    @property
    def tiled(self) -> bool:
        return bool(self.version & _TILED) or "tiles" in self.attributes

    def box(self, name: str) -> Optional[Tuple[int, int, int, int]]:
        """A ``box2i`` attribute (``dataWindow``/``displayWindow``) as (xmin, ymin, xmax, ymax), inclusive."""
        entry = self.attributes.get(name)
        if entry is None or entry[0] != "box2i" or len(entry[1]) != 16:
            return None
        x0, y0, x1, y1 = struct.unpack("<4i", entry[1])
        return int(x0), int(y0), int(x1), int(y1)

    @property
    def compression(self) -> Optional[int]:
        entry = self.attributes.get("compression")
        return entry[1][0] if entry and entry[1] else None

    @property
    def channels(self) -> Tuple[str, ...]:
        entry = self.attributes.get("channels")
        if entry is None:
            return ()
        names, raw, i = [], entry[1], 0
        while i < len(raw) and raw[i] != 0:
            end = raw.index(b"\0", i)
            names.append(raw[i:end].decode("utf-8", "replace"))
            i = end + 1 + 16  # pixel type, pLinear + reserved, x/y sampling
        return tuple(names)


def _cstring(data: bytes, pos: int, what: str) -> Tuple[str, int]:
    end = data.find(b"\0", pos)
    if end < 0:
        raise ValueError(f"EXR header: unterminated {what}")
    return data[pos:end].decode("latin-1"), end + 1


def read_header(path: Union[str, Path]) -> ExrHeader:
    """Parse the (first) header of an EXR file.

    Raises:
        ValueError: not an EXR file, or a truncated header; the message says which.
    """
    with open(path, "rb") as fh:
        head = fh.read(8)
        if len(head) < 8 or head[:4] != MAGIC:
            raise ValueError(f"{Path(path).name}: not an OpenEXR file")
        version = struct.unpack("<I", head[4:])[0]
        data = fh.read(_MAX_HEADER)
    attributes: Dict[str, Tuple[str, bytes]] = {}
    pos = 0
    while True:
        if pos >= len(data):
            raise ValueError(f"{Path(path).name}: truncated EXR header")
        if data[pos] == 0:
            pos += 1
            break
        name, pos = _cstring(data, pos, "attribute name")
        kind, pos = _cstring(data, pos, "attribute type")
        if pos + 4 > len(data):
            raise ValueError(f"{Path(path).name}: truncated EXR header")
        size = struct.unpack("<i", data[pos:pos + 4])[0]
        pos += 4
        if size < 0 or pos + size > len(data):
            raise ValueError(f"{Path(path).name}: EXR attribute {name!r} runs past the header")
        attributes[name] = (kind, data[pos:pos + size])
        pos += size
    return ExrHeader(attributes, 8 + pos, version)


def file_digest(path: Union[str, Path]) -> str:
    """SHA-256 of the whole file."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _chunk_count(header: ExrHeader) -> Optional[int]:
    entry = header.attributes.get("chunkCount")
    if entry is not None and len(entry[1]) == 4:
        return int(struct.unpack("<i", entry[1])[0])
    window, compression = header.box("dataWindow"), header.compression
    if window is None or compression not in _LINES_PER_CHUNK or header.tiled:
        return None
    lines = window[3] - window[1] + 1
    per = _LINES_PER_CHUNK[compression]
    return (lines + per - 1) // per


def pixel_digest(path: Union[str, Path]) -> str:
    """A fingerprint of an EXR frame's pixels that ignores stamps in its header.

    Multi-part files, tiled files without ``chunkCount`` and anything unexpected fall back to
    :func:`file_digest` (still correct, only less forgiving of stamps).
    """
    try:
        header = read_header(path)
    except (OSError, ValueError):
        return "file:" + file_digest(path)
    count = None if header.multipart else _chunk_count(header)
    if count is None or count <= 0:
        return "file:" + file_digest(path)
    h = hashlib.sha256(b"filmstyle-exr-pixels-1")
    for name in PIXEL_ATTRIBUTES:
        if name in header.attributes:
            kind, raw = header.attributes[name]
            h.update(name.encode() + b"\0" + kind.encode() + b"\0" + struct.pack("<i", len(raw)) + raw)
    with open(path, "rb") as fh:
        fh.seek(header.end)
        table = fh.read(8 * count)
        if len(table) != 8 * count:
            return "file:" + file_digest(path)
        for (offset,) in struct.iter_unpack("<Q", table):
            h.update(struct.pack("<q", offset - header.end))
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return "exr:" + h.hexdigest()
