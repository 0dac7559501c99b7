"""Helpers that MAKE real image files with OpenImageIO for tests.

Every helper writes an actual file through OIIO (no mocks), so tests that use them exercise the
same code paths a plate from a renderer or scanner would.  Pixel content is deterministic (seeded)
and deliberately nasty where it matters: half channels sweep every half bit pattern (denormals,
infinities, NaNs), float channels hold arbitrary finite values, DPX codes cover the full range.

Reused by other test modules, e.g.::

    from tests.core.io_fixtures import make_exr_frame, make_dpx, channel_bits
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import OpenImageIO as oiio

__all__ = [
    "DEFAULT_EXR_ATTRS",
    "make_exr_frame",
    "make_exr_multipart",
    "make_exr_sequence",
    "make_dpx",
    "make_ldr",
    "channel_bits",
    "read_all_bits",
    "truncate_file",
]

#: Header attributes every fixture EXR carries, as ``name -> (type, value)``.
DEFAULT_EXR_ATTRS: dict[str, tuple[str, Any]] = {
    # 01:02:03:04 packed as SMPTE BCD, user bits 0
    "smpte:TimeCode": ("timecode", (0x01020304, 0)),
    "chromaticities": ("float[8]", (0.64, 0.33, 0.30, 0.60, 0.15, 0.06, 0.3127, 0.3290)),
    "Copyright": ("string", "Example Pictures Ltd"),  # EXR "owner"
    "DateTime": ("string", "2024:05:17 10:11:12"),  # EXR "capDate"
    "studio:shotNote": ("string", "plate with a data window, keep all AOVs"),
    "studio:exposure": ("float", 1.5),
    "studio:cameraMatrix": ("matrix", tuple(float(v) for v in range(1, 17))),
    "oiio:ColorSpace": ("string", "ACEScg"),
}

_HALF = oiio.TypeDesc("half")
_FLOAT = oiio.TypeDesc("float")


def _half_sweep(n: int, offset: int = 0) -> np.ndarray:
    """``n`` float32 values cycling through every half bit pattern (exactly representable)."""
    bits = ((np.arange(n, dtype=np.int64) * 7 + offset) % 65536).astype(np.uint16)
    return bits.view(np.float16).astype(np.float32)


def _apply_attrs(spec: oiio.ImageSpec, attrs: Mapping[str, Any]) -> None:
    for name, value in attrs.items():
        if isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], str) and (
            value[0] in {"timecode", "matrix", "string", "float", "int"} or "[" in value[0]
        ):
            spec.attribute(name, oiio.TypeDesc(value[0]), value[1])
        else:
            spec.attribute(name, value)


def _exr_spec(
    w: int,
    h: int,
    channels: list[tuple[str, oiio.TypeDesc]],
    *,
    data_window: tuple[int, int] | None,
    display_window: tuple[int, int, int, int] | None,
    compression: str,
    tiled: bool,
    attrs: Mapping[str, Any] | None,
) -> oiio.ImageSpec:
    spec = oiio.ImageSpec(w, h, len(channels), "half")
    spec.channelnames = tuple(name for name, _ in channels)
    spec.channelformats = tuple(fmt for _, fmt in channels)
    if data_window is not None:
        spec.x, spec.y = data_window
    if display_window is not None:
        spec.full_x, spec.full_y, spec.full_width, spec.full_height = display_window
    else:
        spec.full_x, spec.full_y, spec.full_width, spec.full_height = spec.x, spec.y, w, h
    if tiled:
        spec.tile_width, spec.tile_height = 16, 16
    spec.attribute("compression", compression)
    _apply_attrs(spec, DEFAULT_EXR_ATTRS if attrs is None else attrs)
    return spec


def _pixels(spec: oiio.ImageSpec, seed: int) -> np.ndarray:
    """Float32 pixels (H, W, C) valid for each channel's type: halves sweep all bit patterns."""
    rng = np.random.default_rng(seed)
    h, w, n = spec.height, spec.width, spec.nchannels
    out = np.empty((h, w, n), np.float32)
    for c in range(n):
        fmt = spec.channelformats[c] if spec.channelformats else spec.format
        name = spec.channelnames[c]
        if fmt == _HALF:
            if name in ("R", "G", "B", "A"):
                # ordinary picture values so a "stylize" changes something visible
                out[..., c] = rng.uniform(0.0, 1.5, (h, w)).astype(np.float16).astype(np.float32)
            else:
                out[..., c] = _half_sweep(h * w, offset=c * 1009 + seed).reshape(h, w)
        else:
            vals = rng.standard_normal((h, w)).astype(np.float32) * np.float32(1e3)
            vals.flat[:4] = [np.float32(1e-42), -0.0, np.inf, np.float32(3.4e38)]
            out[..., c] = vals
    return out


def _write(path: Path, specs: list[oiio.ImageSpec], pixels: list[np.ndarray]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    out = oiio.ImageOutput.create(str(path))
    if out is None:
        raise RuntimeError(f"no OIIO writer for {path}: {oiio.geterror()}")
    ok = out.open(str(path), specs) if len(specs) > 1 else out.open(str(path), specs[0])
    if not ok:
        raise RuntimeError(f"cannot open {path}: {out.geterror()}")
    for i, (spec, px) in enumerate(zip(specs, pixels)):
        if i > 0 and not out.open(str(path), spec, "AppendSubimage"):
            raise RuntimeError(f"cannot append part {i} to {path}: {out.geterror()}")
        if not out.write_image(px):
            raise RuntimeError(f"cannot write {path}: {out.geterror()}")
    out.close()
    return path


def make_exr_frame(
    path: str | Path,
    w: int = 64,
    h: int = 48,
    *,
    extra_channels: bool = True,
    data_window: tuple[int, int] | None = None,
    display_window: tuple[int, int, int, int] | None = None,
    compression: str = "piz",
    tiled: bool = False,
    multipart: bool = False,
    attrs: Mapping[str, Any] | None = None,
    seed: int = 0,
) -> Path:
    """Write an EXR plate of ``w`` x ``h`` data pixels and return its path.

    Channels: half ``R,G,B,A``; with ``extra_channels`` also float ``Z``, half ``matte.R`` and half
    ``diffuse.R/G/B``.  ``data_window`` is the data origin ``(x, y)``; ``display_window`` is
    ``(x, y, width, height)`` (defaults to the data window).  ``attrs`` replaces
    :data:`DEFAULT_EXR_ATTRS` (values are plain or ``(type_name, value)`` tuples).
    ``multipart=True`` delegates to :func:`make_exr_multipart` with this as the first part.
    """
    path = Path(path)
    if multipart:
        return make_exr_multipart(path, w, h, compression=compression, attrs=attrs, seed=seed,
                                  data_window=data_window, display_window=display_window)
    channels = [("R", _HALF), ("G", _HALF), ("B", _HALF), ("A", _HALF)]
    if extra_channels:
        channels += [("Z", _FLOAT), ("matte.R", _HALF),
                     ("diffuse.R", _HALF), ("diffuse.G", _HALF), ("diffuse.B", _HALF)]
    spec = _exr_spec(w, h, channels, data_window=data_window, display_window=display_window,
                     compression=compression, tiled=tiled, attrs=attrs)
    return _write(path, [spec], [_pixels(spec, seed)])


def make_exr_multipart(
    path: str | Path,
    w: int = 64,
    h: int = 48,
    *,
    compression: str = "piz",
    attrs: Mapping[str, Any] | None = None,
    seed: int = 0,
    data_window: tuple[int, int] | None = None,
    display_window: tuple[int, int, int, int] | None = None,
) -> Path:
    """Write a two-part EXR: part ``"beauty"`` (half RGBA + float Z) and part ``"utility"``
    (float ``N.X/N.Y/N.Z`` + half ``id``, ZIP).  Both parts carry the attributes."""
    beauty = _exr_spec(w, h, [("R", _HALF), ("G", _HALF), ("B", _HALF), ("A", _HALF), ("Z", _FLOAT)],
                       data_window=data_window, display_window=display_window,
                       compression=compression, tiled=False, attrs=attrs)
    beauty.attribute("oiio:subimagename", "beauty")
    utility = _exr_spec(w, h, [("N.X", _FLOAT), ("N.Y", _FLOAT), ("N.Z", _FLOAT), ("id", _HALF)],
                        data_window=data_window, display_window=display_window,
                        compression="zip", tiled=False, attrs=attrs)
    utility.attribute("oiio:subimagename", "utility")
    return _write(Path(path), [beauty, utility], [_pixels(beauty, seed), _pixels(utility, seed + 1)])


def make_exr_sequence(
    directory: str | Path,
    frames: Iterable[int],
    *,
    name: str = "shot",
    padding: int = 4,
    **kwargs: Any,
) -> list[Path]:
    """Write ``name.<frame>.exr`` for every frame (zero padded) with :func:`make_exr_frame`."""
    directory = Path(directory)
    paths = []
    for frame in frames:
        p = directory / f"{name}.{frame:0{padding}d}.exr"
        paths.append(make_exr_frame(p, seed=frame, **kwargs))
    return paths


def make_dpx(
    path: str | Path,
    bits: int = 10,
    endian: str = "big",
    w: int = 64,
    h: int = 48,
    *,
    transfer: str = "Printing density",
    colorimetric: str = "Printing density",
    timecode: tuple[int, int] = (0x01020304, 0),
    attrs: Mapping[str, Any] | None = None,
    seed: int = 0,
) -> Path:
    """Write an RGB DPX with random integer codes at ``bits`` (8/10/12/16) and ``endian``
    (``"big"``/``"little"``), the given transfer/colorimetric codes and SMPTE timecode."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    spec = oiio.ImageSpec(w, h, 3, "uint8" if bits == 8 else "uint16")
    spec.attribute("oiio:BitsPerSample", bits)
    spec.attribute("oiio:Endian", endian)
    spec.attribute("dpx:Transfer", transfer)
    spec.attribute("dpx:Colorimetric", colorimetric)
    spec.attribute("smpte:TimeCode", oiio.TypeDesc("timecode"), timecode)
    spec.attribute("dpx:FrameRate", 24.0)
    spec.attribute("dpx:InputDevice", "scanner-3")
    _apply_attrs(spec, attrs or {})
    maxcode = (1 << bits) - 1
    codes = np.random.default_rng(seed).integers(0, maxcode + 1, (h, w, 3))
    codes.flat[:2] = [0, maxcode]
    # OIIO's DPX writer turns code / max (float32) back into exactly that code
    return _write(path, [spec], [(codes / maxcode).astype(np.float32)])


def make_ldr(path: str | Path, bits: int = 16, w: int = 64, h: int = 48, *, alpha: bool = False,
             seed: int = 0) -> Path:
    """Write an 8/16-bit RGB(A) TIFF/PNG/JPEG (format from the extension) with random codes,
    stored as straight (unassociated) colour."""
    path = Path(path)
    nch = 4 if alpha else 3
    spec = oiio.ImageSpec(w, h, nch, "uint8" if bits == 8 else "uint16")
    dtype = np.uint8 if bits == 8 else np.uint16
    codes = np.random.default_rng(seed).integers(0, (1 << bits), (h, w, nch)).astype(dtype)
    # store the codes as given (PNG would otherwise un-premultiply them by alpha)
    spec.attribute("oiio:UnassociatedAlpha", 1)
    return _write(path, [spec], [codes])


def _open_as_stored(path: str | Path) -> oiio.ImageInput:
    # no premultiplication on read: the values exactly as the file stores them
    config = oiio.ImageSpec()
    config.attribute("oiio:UnassociatedAlpha", 1)
    return oiio.ImageInput.open(str(path), config)


def channel_bits(path: str | Path, channel: str, subimage: int = 0) -> np.ndarray:
    """Raw bit patterns (H, W) of one channel read in its native type, as stored (never
    premultiplied): uint16 for half/uint16 channels, uint32 for float/uint, uint8 for 8-bit.
    Raises KeyError if the channel is absent."""
    inp = _open_as_stored(path)
    if inp is None:
        raise RuntimeError(oiio.geterror())
    try:
        if not inp.seek_subimage(subimage, 0):
            raise RuntimeError(inp.geterror())
        spec = inp.spec()
        c = list(spec.channelnames).index(channel) if channel in spec.channelnames else -1
        if c < 0:
            raise KeyError(f"{path}: no channel {channel!r} in {spec.channelnames}")
        fmt = spec.channelformats[c] if spec.channelformats else spec.format
        arr = np.asarray(inp.read_image(subimage, 0, c, c + 1, fmt))[..., 0]
    finally:
        inp.close()
    view = {2: np.uint16, 4: np.uint32, 1: np.uint8}[arr.dtype.itemsize]
    return np.ascontiguousarray(arr).view(view)


def read_all_bits(path: str | Path, subimage: int = 0) -> dict[str, np.ndarray]:
    """``{channel name: raw bits}`` for every channel of one subimage (see :func:`channel_bits`)."""
    inp = _open_as_stored(path)
    if inp is None:
        raise RuntimeError(oiio.geterror())
    inp.seek_subimage(subimage, 0)
    names = list(inp.spec().channelnames)
    inp.close()
    return {n: channel_bits(path, n, subimage) for n in names}


def truncate_file(path: str | Path, keep_fraction: float = 0.5) -> Path:
    """Cut a file down to ``keep_fraction`` of its bytes (simulates an interrupted copy)."""
    path = Path(path)
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep_fraction)])
    return path
