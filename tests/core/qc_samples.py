"""Real sample files for the fidelity and QC tests, each written by OpenImageIO.

Where OIIO's writer cannot make what facilities receive (a preview image, attributes of another
plugin's namespace, an EXR without ``capDate``, a V1.0 scanner DPX header with time zones and
user data, 12-bit "filled, method A" packing, a complete rip-map), the OIIO-written file is then
edited the way such a file differs, with filmstyle's own header tools or by SMPTE 268M offsets.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import OpenImageIO as oiio

from filmstyle.io import exr_header, exr_rewrite
from filmstyle.io.exr_header import ExrAttribute, ExrHeader
from tests.core.io_fixtures import make_dpx, make_exr_frame, make_exr_multipart
from tests.core.plates import make_plate, photo_linear

__all__ = ["edit_exr_attributes", "make_mip_exr", "make_rip_exr", "make_scanner_dpx", "make_filled12_dpx",
           "make_samples", "preview_attribute", "dpx_put"]


def preview_attribute(w: int = 8, h: int = 6) -> ExrAttribute:
    """An EXR ``preview`` attribute (8-bit RGBA thumbnail), as OpenEXR stores one."""
    rgba = (np.arange(w * h * 4) * 7 % 256).astype(np.uint8).tobytes()
    return ExrAttribute("preview", "preview", struct.pack("<II", w, h) + rgba)


def edit_exr_attributes(path: Path, *, add: list[ExrAttribute] = (), remove: tuple[str, ...] = (),
                        part: int | None = None) -> Path:
    """Add/replace and remove header attributes of an EXR (every part, or one), in place."""
    layout = exr_header.read_layout(path)
    headers = []
    for i, h in enumerate(layout.headers):
        if part is not None and i != part:
            headers.append(h)
            continue
        names = {a.name for a in add}
        attrs = [a for a in h.attributes if a.name not in remove and a.name not in names] + list(add)
        headers.append(ExrHeader(tuple(attrs)))
    exr_rewrite.rewrite_headers(path, headers)
    return path


def make_mip_exr(path: Path, w: int = 64, h: int = 48, *, tile: int = 16) -> Path:
    """A MIP-mapped, tiled half RGBA + float Z texture made by OIIO's make_texture (maketx)."""
    rgb = photo_linear(w, h)
    pixels = np.dstack([rgb, np.ones((h, w), np.float32), np.linspace(1, 9, w * h, dtype=np.float32).reshape(h, w)])
    spec = oiio.ImageSpec(w, h, 5, "float")
    spec.channelnames = ("R", "G", "B", "A", "Z")
    spec.alpha_channel = 3
    spec.attribute("studio:shot", "sq010_sh030")
    buf = oiio.ImageBuf(spec)
    buf.set_pixels(oiio.ROI(), pixels)
    config = oiio.ImageSpec()
    config.tile_width = config.tile_height = tile
    config.attribute("compression", "zip")
    config.set_format(oiio.HALF)
    assert oiio.ImageBufAlgo.make_texture(oiio.MakeTxTexture, buf, str(path), config), oiio.geterror()
    return path


def make_rip_exr(path: Path, w: int = 40, h: int = 24, *, tile: int = 16) -> Path:
    """A complete rip-mapped tiled half RGB EXR: the header is OIIO's (which can declare but not
    fill rip-maps), every level's tiles are then written uncompressed after OpenEXR's layout."""
    spec = oiio.ImageSpec(w, h, 3, "half")
    spec.tile_width = spec.tile_height = tile
    spec.attribute("compression", "none")
    spec.attribute("textureformat", "Plain Texture")
    spec.attribute("openexr:levelmode", 2)
    tmp = path.with_suffix(".oiio.exr")
    out = oiio.ImageOutput.create(str(tmp))
    assert out.open(str(tmp), spec), out.geterror()
    out.write_image(np.zeros((h, w, 3), np.float32))
    out.close()
    del out
    layout = exr_header.read_layout(tmp, tables=False)
    header = ExrHeader(tuple(a for a in layout.headers[0].attributes if a.name != "openexr:levelmode"))
    tmp.unlink()
    levels = header.level_sizes()
    nx = len({lw for lw, _ in levels})
    base = photo_linear(w, h)
    chunks: list[bytes] = []
    for index, (lw, lh) in enumerate(levels):
        lx, ly = index % nx, index // nx
        import cv2

        img = cv2.resize(base, (lw, lh), interpolation=cv2.INTER_AREA).reshape(lh, lw, 3).astype(np.float16)
        for ty in range(-(-lh // tile)):
            for tx in range(-(-lw // tile)):
                block = img[ty * tile:(ty + 1) * tile, tx * tile:(tx + 1) * tile]
                # per line: channels in the file's (alphabetical) order B, G, R
                data = b"".join(block[y, :, c].tobytes() for y in range(block.shape[0]) for c in (2, 1, 0))
                chunks.append(struct.pack("<5i", tx, ty, lx, ly, len(data)) + data)
    head = exr_rewrite.serialize_layout(layout.flags, [header])
    offset = len(head) + 8 * len(chunks)
    table = []
    for c in chunks:
        table.append(offset)
        offset += len(c)
    path.write_bytes(head + struct.pack(f"<{len(table)}Q", *table) + b"".join(chunks))
    return path


def dpx_put(path: Path, offset: int, data: bytes) -> None:
    raw = bytearray(path.read_bytes())
    raw[offset:offset + len(data)] = data
    path.write_bytes(bytes(raw))


def _pad(text: str, size: int) -> bytes:
    return text.encode("latin-1").ljust(size, b"\0")


def make_scanner_dpx(path: Path, *, bits: int = 10, endian: str = "big", w: int = 64, h: int = 48,
                     transfer: str = "Printing density", seed: int = 0) -> Path:
    """An OIIO-written DPX given a scanner's header: version V1.0, times with time zones, X/Y
    centre, aspect ratio, a film format, user data; no software field."""
    make_dpx(path, bits=bits, endian=endian, w=w, h=h, transfer=transfer, colorimetric=transfer, seed=seed)
    e = ">" if endian == "big" else "<"
    (offset,) = struct.unpack(e + "I", path.read_bytes()[4:8])
    assert offset >= 2048 + 96  # OIIO leaves room before the pixels: user data goes there
    dpx_put(path, 32, struct.pack(e + "I", 96))
    dpx_put(path, 2048, _pad("scanner-3 calibration", 32) + bytes(range(64)))
    dpx_put(path, 8, _pad("V1.0", 8))
    dpx_put(path, 136, _pad("2024:05:17:10:11:12+0100", 24))
    dpx_put(path, 160, _pad("", 100))  # the scanner wrote no creator
    dpx_put(path, 1416, struct.pack(e + "ff", w / 2, h / 2))
    dpx_put(path, 1532, _pad("2024:05:17:09:00:00-0500", 24))
    dpx_put(path, 1628, struct.pack(e + "II", 4, 3))
    dpx_put(path, 1680, _pad("Academy 4-perf", 32))
    return path


def make_filled12_dpx(path: Path, *, endian: str = "little", w: int = 64, h: int = 48, method: int = 1,
                      seed: int = 0) -> tuple[Path, np.ndarray]:
    """A 12-bit RGB DPX packed "filled, method A" (code in the high 12 bits of each 16-bit word;
    method 2: "B", low bits), as film scanners write it: OIIO writes the 16-bit file, the words
    are then re-packed and the header says 12 bits. Returns the path and the codes."""
    make_dpx(path, bits=16, endian=endian, w=w, h=h, seed=seed)
    e = ">" if endian == "big" else "<"
    codes = np.random.default_rng(seed + 100).integers(0, 4096, (h, w, 3))
    codes.flat[:2] = [0, 4095]
    raw = bytearray(path.read_bytes())
    (offset,) = struct.unpack(e + "I", raw[4:8])
    raw[780 + 23] = 12
    raw[780 + 24:780 + 26] = struct.pack(e + "H", method)
    words = (codes << 4) if method == 1 else codes
    raw[offset:offset + w * h * 6] = words.astype(e + "u2").tobytes()
    path.write_bytes(bytes(raw))
    return path, codes


def make_samples(folder: Path) -> dict[str, Path]:
    """The QC sample set: name -> file."""
    folder.mkdir(parents=True, exist_ok=True)
    s: dict[str, Path] = {}
    s["scanline_half_piz"] = make_plate(folder / "scanline_half_piz.exr", 64, 48)
    edit_exr_attributes(s["scanline_half_piz"], add=[
        preview_attribute(), ExrAttribute("tiff:Software", "string", b"ScannerSoft 2.1"),
        ExrAttribute("studio:keycode", "keycode", struct.pack("<7i", 1, 2, 3, 4, 5, 6, 7)),
    ], remove=("capDate",))
    s["tiled_float_uint"] = make_exr_frame(folder / "tiled_float_uint.exr", 64, 48, tiled=True, compression="zip",
                                           extra_channels=True, attrs={"studio:note": "tiled"})
    _make_float_plate(s["tiled_float_uint"])
    s["mip_mapped"] = make_mip_exr(folder / "mip_mapped.exr")
    s["multipart"] = _make_multipart(folder / "multipart.exr")
    s["dwaa"] = make_plate(folder / "dwaa.exr", 64, 48, compression="dwaa")
    s["dpx10_scanner"] = make_scanner_dpx(folder / "dpx10_scanner.dpx")
    s["dpx12_filled_a"] = make_filled12_dpx(folder / "dpx12_filled_a.dpx")[0]
    s["dpx16_le"] = make_dpx(folder / "dpx16_le.dpx", bits=16, endian="little")
    s["dpx8"] = make_dpx(folder / "dpx8.dpx", bits=8)
    s["dpx10_unset_transfer"] = make_dpx(folder / "dpx10_unset_transfer.dpx", transfer="User defined",
                                         colorimetric="User defined")
    dpx_put(s["dpx10_unset_transfer"], 780 + 21, b"\xff\xff")  # transfer and colorimetric: undefined
    return s


def _make_float_plate(path: Path) -> None:
    """Replace the fixture's RGB by a photograph (float), keep its other channels, add a uint id."""
    w, h = 64, 48
    spec = oiio.ImageSpec(w, h, 5, "float")
    spec.channelnames = ("R", "G", "B", "A", "id")
    spec.channelformats = (oiio.FLOAT, oiio.FLOAT, oiio.FLOAT, oiio.HALF, oiio.UINT)
    spec.alpha_channel = 3
    spec.tile_width = spec.tile_height = 16
    spec.attribute("compression", "zip")
    spec.attribute("studio:note", "tiled float with uint ids")
    pixels = np.dstack([photo_linear(w, h), np.ones((h, w), np.float32),
                        np.arange(w * h, dtype=np.float32).reshape(h, w)])
    out = oiio.ImageOutput.create(str(path))
    assert out.open(str(path), spec), out.geterror()
    assert out.write_image(pixels), out.geterror()
    out.close()


def _make_multipart(path: Path) -> Path:
    make_exr_multipart(path, 64, 48)
    # a photograph in the beauty part's RGB (the fixture sweeps every half pattern, NaN included)
    inp = oiio.ImageInput.open(str(path))
    specs, pixels = [], []
    i = 0
    while inp.seek_subimage(i, 0):
        specs.append(inp.spec().copy())
        pixels.append(np.asarray(inp.read_image(i, 0, 0, inp.spec().nchannels, "float")).copy())
        i += 1
    inp.close()
    pixels[0][..., :3] = photo_linear(64, 48)
    pixels[0][..., 3] = 1.0
    out = oiio.ImageOutput.create(str(path))
    assert out.open(str(path), specs), out.geterror()
    for k, (s, p) in enumerate(zip(specs, pixels)):
        if k:
            assert out.open(str(path), s, "AppendSubimage"), out.geterror()
        out.write_image(p)
    out.close()
    return path
