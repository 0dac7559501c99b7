"""Images and single-part scanline OpenEXR files in pure Python (stdlib only, Python 3.9+).

The stand-in runs inside a bare interpreter (no numpy, no OpenImageIO), as Nuke's own Python would,
so its Read and Write nodes read and write EXR themselves: scanline, single part, NONE / ZIPS /
ZIP compression (OpenEXR's zlib codecs with the byte-delta predictor and even/odd byte split),
HALF or FLOAT channels. Anything else raises, naming the file and the feature.

An :class:`Image` holds RGBA as four flat ``array('f')`` planes, row-major, top row first.
"""

from __future__ import annotations

import os
import struct
import zlib
from array import array

__all__ = ["Image", "read_exr", "write_exr"]

_MAGIC = b"\x76\x2f\x31\x01"
_COMPRESSIONS = {0: "none", 2: "zips", 3: "zip"}
_LINES_PER_CHUNK = {0: 1, 2: 1, 3: 16}
_HALF, _FLOAT = 1, 2


class Image:
    """RGBA pixels: ``planes[c][y * width + x]`` for c in R, G, B, A."""

    def __init__(self, width: int, height: int, planes=None) -> None:
        self.width, self.height = int(width), int(height)
        n = self.width * self.height
        self.planes = planes if planes is not None else [array("f", bytes(4 * n)) for _ in range(4)]

    @classmethod
    def black(cls, width: int, height: int) -> "Image":
        return cls(width, height)

    def copy(self) -> "Image":
        return Image(self.width, self.height, [array("f", p) for p in self.planes])

    def rows(self, channels: int = 4):
        """Nested lists ``[y][x][c]`` (for tests that compare with numpy)."""
        w = self.width
        return [[[self.planes[c][y * w + x] for c in range(channels)] for x in range(w)]
                for y in range(self.height)]


def _attr(name: bytes, kind: bytes, payload: bytes) -> bytes:
    return name + b"\0" + kind + b"\0" + struct.pack("<i", len(payload)) + payload


def _predict_and_split(raw: bytes) -> bytes:
    # OpenEXR zip: bytes split into even/odd halves, then a byte-wise delta predictor.
    half = (len(raw) + 1) // 2
    t = bytearray(len(raw))
    t[:half] = raw[0::2]
    t[half:] = raw[1::2]
    out = bytearray(t)
    for i in range(len(t) - 1, 0, -1):
        out[i] = (t[i] - t[i - 1] + 128 + 256) & 0xFF
    return bytes(out)


def _unsplit(data: bytes) -> bytes:
    t = bytearray(data)
    for i in range(1, len(t)):
        t[i] = (t[i - 1] + t[i] - 128) & 0xFF
    half = (len(t) + 1) // 2
    out = bytearray(len(t))
    out[0::2] = t[:half]
    out[1::2] = t[half:]
    return bytes(out)


def write_exr(path: str, image: Image, *, channels: str = "rgba", pixel_type: str = "float",
              compression: str = "zip") -> None:
    """Write ``image`` (``channels`` ``rgb`` or ``rgba``) through a temporary file, then rename."""
    names = [b"R", b"G", b"B"] + ([b"A"] if channels == "rgba" else [])
    order = sorted(range(len(names)), key=lambda i: names[i])  # EXR stores channels by name
    ptype = _HALF if pixel_type == "half" else _FLOAT
    code = {v: k for k, v in _COMPRESSIONS.items()}[compression]
    w, h = image.width, image.height
    chlist = b"".join(names[i] + b"\0" + struct.pack("<iB3xii", ptype, 0, 1, 1) for i in order) + b"\0"
    box = struct.pack("<iiii", 0, 0, w - 1, h - 1)
    header = (_MAGIC + struct.pack("<i", 2)
              + _attr(b"channels", b"chlist", chlist)
              + _attr(b"compression", b"compression", bytes([code]))
              + _attr(b"dataWindow", b"box2i", box)
              + _attr(b"displayWindow", b"box2i", box)
              + _attr(b"lineOrder", b"lineOrder", b"\0")
              + _attr(b"pixelAspectRatio", b"float", struct.pack("<f", 1.0))
              + _attr(b"screenWindowCenter", b"v2f", struct.pack("<ff", 0.0, 0.0))
              + _attr(b"screenWindowWidth", b"float", struct.pack("<f", 1.0))
              + b"\0")
    per = _LINES_PER_CHUNK[code]
    fmt = "e" if ptype == _HALF else "f"
    chunks = []
    for y0 in range(0, h, per):
        raw = bytearray()
        for y in range(y0, min(y0 + per, h)):
            for i in order:
                row = image.planes["RGBA".index(names[i].decode())][y * w:(y + 1) * w]
                raw += struct.pack("<%d%s" % (w, fmt), *row)
        data = bytes(raw)
        if code != 0:
            packed = zlib.compress(_predict_and_split(data))
            data = packed if len(packed) < len(data) else data
        chunks.append(struct.pack("<ii", y0, len(data)) + data)
    offsets, pos = [], len(header) + 8 * len(chunks)
    for chunk in chunks:
        offsets.append(pos)
        pos += len(chunk)
    tmp = "%s.tmp%d" % (path, os.getpid())
    with open(tmp, "wb") as fh:
        fh.write(header + struct.pack("<%dQ" % len(offsets), *offsets) + b"".join(chunks))
    os.replace(tmp, path)


def read_exr(path: str) -> Image:
    """Read R, G, B (and A, else 1) of a scanline single-part EXR; the data window is the image."""
    with open(path, "rb") as fh:
        data = fh.read()
    if data[:4] != _MAGIC:
        raise RuntimeError("%s: not an OpenEXR file" % path)
    if data[5] & 0x16:
        raise RuntimeError("%s: tiled, deep or multi-part EXR is not supported by the stand-in" % path)
    pos, attrs = 8, {}
    while data[pos] != 0:
        name_end = data.index(b"\0", pos)
        type_end = data.index(b"\0", name_end + 1)
        size = struct.unpack_from("<i", data, type_end + 1)[0]
        attrs[data[pos:name_end].decode()] = data[type_end + 5:type_end + 5 + size]
        pos = type_end + 5 + size
    pos += 1
    code = attrs["compression"][0]
    if code not in _COMPRESSIONS:
        raise RuntimeError("%s: EXR compression %d is not supported by the stand-in" % (path, code))
    x0, y0, x1, y1 = struct.unpack("<iiii", attrs["dataWindow"])
    w, h = x1 - x0 + 1, y1 - y0 + 1
    chans, cpos, blob = [], 0, attrs["channels"]
    while blob[cpos] != 0:
        end = blob.index(b"\0", cpos)
        ptype = struct.unpack_from("<i", blob, end + 1)[0]
        chans.append((blob[cpos:end].decode(), ptype))
        cpos = end + 17
    per = _LINES_PER_CHUNK[code]
    nchunks = (h + per - 1) // per
    offsets = struct.unpack_from("<%dQ" % nchunks, data, pos)
    image = Image(w, h)
    image.planes[3] = array("f", [1.0]) * (w * h)
    for off in offsets:
        y, size = struct.unpack_from("<ii", data, off)
        chunk = data[off + 8:off + 8 + size]
        lines = min(per, y1 - y + 1)
        expected = sum(lines * w * (2 if p == _HALF else 4) for _, p in chans)
        if code != 0 and size < expected:
            chunk = _unsplit(zlib.decompress(chunk))
        cur = 0
        for line in range(lines):
            row = y - y0 + line
            for name, ptype in chans:
                fmt, step = ("e", 2) if ptype == _HALF else ("f", 4)
                if ptype not in (_HALF, _FLOAT):
                    raise RuntimeError("%s: channel %s: UINT pixels are not supported by the stand-in" % (path, name))
                values = struct.unpack_from("<%d%s" % (w, fmt), chunk, cur)
                cur += w * step
                if name in ("R", "G", "B", "A"):
                    plane = image.planes["RGBA".index(name)]
                    plane[row * w:(row + 1) * w] = array("f", values)
    return image
