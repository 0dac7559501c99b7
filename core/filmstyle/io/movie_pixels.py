"""Video pixels ↔ float RGB: Y'CbCr matrices, video/full range, chroma siting, bit depth.

Decoded frames are converted here rather than by swscale so that a 10- or 12-bit 4:2:2 ProRes or
DNxHR frame reaches float without passing through 8 bits, super-whites and sub-blacks survive (a
video-range code above 940 becomes a value above 1.0, never clipped), and encoding is the exact
inverse of decoding: an untouched frame written back as ProRes has the codes it was read with.

* **Matrix** from the frame's tag (bt709, bt601 = bt470bg/smpte170m, bt2020, smpte240m, fcc);
  an untagged frame is read as BT.709 when it is larger than SD and BT.601 otherwise, as players do.
* **Range**: video ("tv": Y' 16-235, Cb/Cr 16-240 at 8 bits, scaled by 2^(bits-8)) or full ("pc",
  and the ``yuvj*`` formats); untagged Y'CbCr is video range. Alpha is always full range.
* **Chroma siting**: 4:2:2 and 4:2:0 chroma is co-sited with the left luma sample (MPEG-2,
  H.264, HEVC, ProRes and DNxHR all use that), and 4:2:0 chroma lies halfway between two rows.
  Upsampling interpolates linearly between chroma samples at those positions, so the samples
  themselves come back exactly; encoding 4:2:2 keeps the co-sited samples, the exact inverse.

Arrays: ``rgb`` float32 ``(H, W, 3)``, ``alpha`` float32 ``(H, W)``; planes are 2-D integer arrays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "MATRICES",
    "matrix_name",
    "ycbcr_to_rgb",
    "rgb_to_ycbcr",
    "upsample_chroma",
    "frame_to_rgb",
    "rgb_to_frame",
]

#: (Kr, Kb) of each Y'CbCr matrix, by FFmpeg's name.
MATRICES: dict[str, tuple[float, float]] = {
    "bt709": (0.2126, 0.0722),
    "bt470bg": (0.299, 0.114),
    "smpte170m": (0.299, 0.114),
    "bt2020nc": (0.2627, 0.0593),
    "bt2020c": (0.2627, 0.0593),
    "smpte240m": (0.212, 0.087),
    "fcc": (0.30, 0.11),
}
# AVColorSpace numbers (ITU-T H.273 MatrixCoefficients) to FFmpeg's names.
_MATRIX_CODES = {1: "bt709", 4: "fcc", 5: "bt470bg", 6: "smpte170m", 7: "smpte240m", 9: "bt2020nc", 10: "bt2020c"}
_SD_HEIGHT = 576


def matrix_name(code: int | None, height: int) -> str:
    """FFmpeg's name of the matrix tagged ``code``; untagged: BT.709 above SD height, else BT.601."""
    name = _MATRIX_CODES.get(int(code or 0))
    if name is not None:
        return name
    return "bt709" if height > _SD_HEIGHT else "smpte170m"


@dataclass(frozen=True)
class _Levels:
    """Code offsets and spans of one bit depth and range."""

    y_offset: float
    y_span: float
    c_offset: float
    c_span: float
    lowest: int
    highest: int

    @classmethod
    def of(cls, bits: int, full_range: bool) -> "_Levels":
        top = (1 << bits) - 1
        if full_range:
            return cls(0.0, float(top), float(1 << (bits - 1)), float(top), 0, top)
        unit = 1 << (bits - 8)
        # Codes below 1·unit and above 254·unit are reserved for timing in SDI: never written.
        return cls(16.0 * unit, 219.0 * unit, 128.0 * unit, 224.0 * unit, unit, top - unit)


def ycbcr_to_rgb(y: np.ndarray, cb: np.ndarray, cr: np.ndarray, matrix: str) -> np.ndarray:
    """Normalised Y' (0..1) and Cb, Cr (-0.5..0.5), all ``(H, W)`` float32 → R'G'B' ``(H, W, 3)``."""
    kr, kb = MATRICES[matrix]
    kg = 1.0 - kr - kb
    rgb = np.empty((*y.shape, 3), np.float32)
    rgb[..., 0] = y + np.float32(2.0 * (1.0 - kr)) * cr
    rgb[..., 2] = y + np.float32(2.0 * (1.0 - kb)) * cb
    rgb[..., 1] = (y - np.float32(kr) * rgb[..., 0] - np.float32(kb) * rgb[..., 2]) / np.float32(kg)
    return rgb


def rgb_to_ycbcr(rgb: np.ndarray, matrix: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """R'G'B' ``(H, W, 3)`` → normalised Y', Cb, Cr (the inverse of :func:`ycbcr_to_rgb`)."""
    kr, kb = MATRICES[matrix]
    kg = 1.0 - kr - kb
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    y = np.float32(kr) * r + np.float32(kg) * g + np.float32(kb) * b
    cb = (b - y) / np.float32(2.0 * (1.0 - kb))
    cr = (r - y) / np.float32(2.0 * (1.0 - kr))
    return y.astype(np.float32, copy=False), cb.astype(np.float32, copy=False), cr.astype(np.float32, copy=False)


def upsample_chroma(plane: np.ndarray, height: int, width: int) -> np.ndarray:
    """A chroma plane at half (or full) width and height → ``(height, width)``, sited as above."""
    c = plane.astype(np.float32, copy=False)
    if c.shape[1] != width:
        out = np.empty((c.shape[0], width), np.float32)
        out[:, 0::2] = c[:, : (width + 1) // 2]
        odd = out[:, 1::2]
        n = odd.shape[1]
        # co-sited: odd columns lie halfway between two chroma samples (the last repeats its left)
        inner = min(n, c.shape[1] - 1)
        odd[:, :inner] = (c[:, :inner] + c[:, 1 : inner + 1]) * np.float32(0.5)
        if inner < n:
            odd[:, inner:] = c[:, -1:]
        c = out
    if c.shape[0] != height:
        above = np.concatenate([c[:1], c[:-1]])
        below = np.concatenate([c[1:], c[-1:]])
        out = np.empty((height, c.shape[1]), np.float32)
        # chroma row k lies between luma rows 2k and 2k+1: weights 3/4 and 1/4
        out[0::2] = (np.float32(0.75) * c + np.float32(0.25) * above)[: (height + 1) // 2]
        out[1::2] = (np.float32(0.75) * c + np.float32(0.25) * below)[: height // 2]
        c = out
    return c


def _plane_array(plane, width: int, height: int, itemsize: int) -> np.ndarray:
    dtype = np.uint8 if itemsize == 1 else np.dtype("<u2")
    flat = np.frombuffer(plane, dtype=dtype)
    stride = plane.line_size // itemsize
    return flat[: stride * height].reshape(height, stride)[:, :width]


def _native_layout(fmt) -> bool:
    """Planar, little-endian integer formats with one component per plane (what we convert)."""
    comps = list(fmt.components)
    return (
        fmt.is_planar
        and not fmt.is_big_endian
        and not fmt.is_bayer
        and not fmt.has_palette
        and len({c.plane for c in comps}) == len(comps)
        and all(c.bits <= 16 for c in comps)
        and "f16" not in fmt.name
        and "f32" not in fmt.name
    )


def frame_to_rgb(frame, *, matrix: str, full_range: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """A decoded ``av.VideoFrame`` as float32 R'G'B' ``(H, W, 3)`` and alpha ``(H, W)`` or None.

    Integer codes are normalised (video range: Y' 0..1 between black and white codes, values
    beyond kept), colour stays in the stream's encoding (no transfer function is applied).
    Formats outside the planar integer layouts (packed 4:2:2, NV12...) are converted by swscale to
    float with accurate rounding and full chroma interpolation, honouring the same matrix and range.
    """
    fmt = frame.format
    height, width = frame.height, frame.width
    comps = list(fmt.components)
    if not _native_layout(fmt):
        return _swscale_rgb(frame, matrix=matrix, full_range=full_range, alpha=any(c.is_alpha for c in comps))
    bits = comps[0].bits
    itemsize = 1 if bits <= 8 else 2
    planes = frame.planes
    arrays = [_plane_array(planes[c.plane], planes[c.plane].width, planes[c.plane].height, itemsize) for c in comps]
    alpha = None
    alpha_index = next((i for i, c in enumerate(comps) if c.is_alpha), None)
    if alpha_index is not None:
        top = np.float32((1 << comps[alpha_index].bits) - 1)
        alpha = arrays[alpha_index].astype(np.float32) / top
    if fmt.is_rgb:
        # planar GBR: the components are listed R, G, B whatever plane holds them
        top = np.float32((1 << bits) - 1)
        rgb = np.empty((height, width, 3), np.float32)
        for i in range(3):
            rgb[..., i] = arrays[i] / top
        return rgb, alpha
    if any(a.shape[1] not in (width, (width + 1) // 2) or a.shape[0] not in (height, (height + 1) // 2)
           for a in arrays[1:3]):
        return _swscale_rgb(frame, matrix=matrix, full_range=full_range, alpha=alpha is not None)
    full = full_range or fmt.name.startswith("yuvj")
    levels = _Levels.of(bits, full)
    y = (arrays[0].astype(np.float32) - np.float32(levels.y_offset)) / np.float32(levels.y_span)
    cb = (upsample_chroma(arrays[1], height, width) - np.float32(levels.c_offset)) / np.float32(levels.c_span)
    cr = (upsample_chroma(arrays[2], height, width) - np.float32(levels.c_offset)) / np.float32(levels.c_span)
    return ycbcr_to_rgb(y, cb, cr, matrix), alpha


def _swscale_rgb(frame, *, matrix: str, full_range: bool, alpha: bool) -> tuple[np.ndarray, np.ndarray | None]:
    from av.video.reformatter import Colorspace, ColorRange, Interpolation

    space = {"bt709": Colorspace.ITU709, "bt2020nc": Colorspace.BT2020, "bt2020c": Colorspace.BT2020,
             "smpte240m": Colorspace.SMPTE240M, "fcc": Colorspace.FCC}.get(matrix, Colorspace.ITU601)
    converted = frame.reformat(
        format="gbrapf32le" if alpha else "gbrpf32le",
        src_colorspace=space,
        src_color_range=ColorRange.JPEG if full_range else ColorRange.MPEG,
        interpolation=Interpolation.BILINEAR | Interpolation.ACCURATE_RND | Interpolation.FULL_CHR_H_INT,
    )
    planes = converted.planes
    arrays = [_plane_array(p, frame.width, frame.height, 4).view(np.float32) for p in planes]
    # gbrp plane order is G, B, R (then A)
    rgb = np.stack([arrays[2], arrays[0], arrays[1]], axis=-1).astype(np.float32)
    return rgb, (arrays[3].astype(np.float32) if alpha else None)


def rgb_to_frame(rgb: np.ndarray, alpha: np.ndarray | None, *, pix_fmt: str, matrix: str):
    """Float R'G'B' (and straight alpha) → a new video-range ``av.VideoFrame`` in ``pix_fmt``.

    ``pix_fmt``: a planar little-endian Y'CbCr(A) format at 4:4:4 or 4:2:2 (e.g. ``yuv422p10le``,
    ``yuva444p10le``). 4:2:2 chroma keeps the co-sited samples, the inverse of the decoder's
    interpolation. Values are rounded and limited to the legal codes (super-whites up to
    code 1019 at 10 bits are kept).
    """
    import av

    frame = av.VideoFrame(rgb.shape[1], rgb.shape[0], pix_fmt)
    comps = list(frame.format.components)
    bits = comps[0].bits
    itemsize = 1 if bits <= 8 else 2
    levels = _Levels.of(bits, False)
    y, cb, cr = rgb_to_ycbcr(np.asarray(rgb, dtype=np.float32), matrix)
    values = [
        y * np.float32(levels.y_span) + np.float32(levels.y_offset),
        cb * np.float32(levels.c_span) + np.float32(levels.c_offset),
        cr * np.float32(levels.c_span) + np.float32(levels.c_offset),
    ]
    if alpha is not None:
        values.append(np.asarray(alpha, np.float32) * np.float32((1 << bits) - 1))
    dtype = np.uint8 if itemsize == 1 else np.dtype("<u2")
    for i, comp in enumerate(comps):
        plane = frame.planes[comp.plane]
        target = np.frombuffer(plane, dtype=dtype)
        stride = plane.line_size // itemsize
        view = target[: stride * plane.height].reshape(plane.height, stride)[:, : plane.width]
        v = values[i] if i < len(values) else np.full(rgb.shape[:2], (1 << bits) - 1, np.float32)
        if plane.width != rgb.shape[1]:
            v = v[:, 0::2]
        if plane.height != rgb.shape[0]:
            v = v[0::2]  # only reached for 4:2:0 targets, which filmstyle does not write
        low, high = (0, (1 << bits) - 1) if comp.is_alpha else (levels.lowest, levels.highest)
        view[...] = np.clip(np.rint(np.nan_to_num(v, nan=0.0)), low, high).astype(dtype)
    frame.colorspace = {v: k for k, v in _MATRIX_CODES.items()}.get(matrix, 1)
    frame.color_range = 1  # video range
    return frame
