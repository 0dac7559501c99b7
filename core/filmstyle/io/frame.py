"""Reading one frame: the chosen part and layer's RGB (+ alpha) and what is needed to write back.

Only the colour the network will restyle is loaded into memory.  Everything else (other
channels, layers, parts, header) stays on disk and is copied from the source file again by
:func:`filmstyle.io.write.write_frame`, which is why :class:`SourceFrame` remembers the file's
size and modification time: writing from a source that changed in between is refused.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import OpenImageIO as oiio

from filmstyle.errors import InputError
from filmstyle.io.movie import is_movie_path
from filmstyle.io._oiio import (
    library_quiet,
    Window,
    all_half,
    alpha_channel,
    condense,
    dpx_endian,
    open_input,
    rgb_channels,
    split_layers,
    subimage_specs,
)

__all__ = ["SourceFrame", "read_frame", "read_header", "read_channels", "rgb_layer_names", "colorspace_hint"]


def rgb_layer_names(names: tuple[str, ...] | list[str]) -> list[str]:
    """Layers with a complete RGB triplet; the main layer is ``""`` and comes first."""
    return [layer for layer in split_layers(names) if rgb_channels(names, layer) is not None]


def colorspace_hint(spec: oiio.ImageSpec, format_name: str) -> str | None:
    """What the file says about its colour encoding, for choosing a default input space.

    ``oiio:ColorSpace`` when present (OIIO derives it from EXR ``colorInteropID``, PNG sRGB
    chunks, ...); for a DPX without it, the ``dpx:Transfer`` characteristic name
    (e.g. ``"Printing density"``, ``"Logarithmic"``, ``"Linear"``); otherwise None.
    """
    cs = spec.get_string_attribute("oiio:ColorSpace", "")
    if cs:
        return cs
    if format_name == "dpx":
        transfer = spec.get_string_attribute("dpx:Transfer", "")
        if transfer and transfer not in ("Undefined", "User defined"):
            return transfer
    return None


@dataclass(frozen=True, eq=False)
class SourceFrame:
    """One decoded frame plus the facts needed to write a faithful copy of its file.

    Arrays cover the DATA window of the chosen part:
    ``rgb`` float32 ``(H, W, 3)``, values as stored (half/float unchanged; integer formats
    normalised to 0..1, e.g. 10-bit code 1023 -> 1.0; colour premultiplied or straight exactly as
    the file has it, see :attr:`alpha_associated`); ``alpha`` float32 ``(H, W)`` or None.
    """

    path: Path
    format_name: str
    part: int
    part_name: str | None
    part_count: int
    layer: str | None
    rgb_channels: tuple[str, str, str]
    alpha_channel: str | None
    rgb: np.ndarray = field(repr=False)
    alpha: np.ndarray | None = field(repr=False)
    spec: oiio.ImageSpec = field(repr=False)
    colorspace_hint: str | None
    endian: str | None = None
    file_stamp: tuple[int, int] = field(default=(0, 0), repr=False)
    #: Every channel of the part ``(H, W, C)``, kept so writing needs no second decode: float16
    #: when every channel of an EXR part is half (the stored bits, no conversion either way),
    #: else float32.
    pixels: np.ndarray | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        h, w = self.spec.height, self.spec.width
        if self.rgb.shape != (h, w, 3) or self.rgb.dtype != np.float32:
            raise InputError(
                f"{self.path}: rgb must be float32 ({h}, {w}, 3), got {self.rgb.dtype} {self.rgb.shape}"
            )
        if self.alpha is not None and (self.alpha.shape != (h, w) or self.alpha.dtype != np.float32):
            raise InputError(f"{self.path}: alpha must be float32 ({h}, {w}), got {self.alpha.shape}")
        names = tuple(self.spec.channelnames)
        for ch in (*self.rgb_channels, *([self.alpha_channel] if self.alpha_channel else [])):
            if ch not in names:
                raise InputError(f"{self.path}: channel {ch!r} not in {', '.join(names)}")

    @property
    def width(self) -> int:
        return self.spec.width

    @property
    def height(self) -> int:
        return self.spec.height

    @property
    def data_window(self) -> Window:
        """Where the pixels are (may be offset from, smaller or larger than the display)."""
        s = self.spec
        return Window(s.x, s.y, s.width, s.height)

    @property
    def display_window(self) -> Window:
        """The intended frame (EXR displayWindow, DPX original size)."""
        s = self.spec
        return Window(s.full_x, s.full_y, s.full_width, s.full_height)

    @property
    def channel_names(self) -> tuple[str, ...]:
        return tuple(self.spec.channelnames)

    @property
    def bits_per_sample(self) -> int:
        """Stored bits of the RGB channels (10 for a 10-bit DPX, 16 for half)."""
        bits = self.spec.get_int_attribute("oiio:BitsPerSample", 0)
        if bits:
            return bits
        idx = self.channel_names.index(self.rgb_channels[0])
        fmt = self.spec.channelformats[idx] if self.spec.channelformats else self.spec.format
        return fmt.size() * 8

    @property
    def alpha_associated(self) -> bool:
        """True when ``rgb`` is premultiplied by ``alpha`` (EXR, DPX); False for straight alpha
        as PNG and most TIFFs store it.  Meaningless when ``alpha`` is None."""
        return not self.spec.get_int_attribute("oiio:UnassociatedAlpha", 0)

    @property
    def rgb_indices(self) -> tuple[int, int, int]:
        names = self.channel_names
        return tuple(names.index(c) for c in self.rgb_channels)  # type: ignore[return-value]


def _stamp(path: Path) -> tuple[int, int]:
    st = os.stat(path)
    return st.st_size, st.st_mtime_ns


def _part_label(spec: oiio.ImageSpec, index: int) -> str:
    name = spec.get_string_attribute("oiio:subimagename", "")
    return f"{index} ({name})" if name else str(index)


def _choose_part(path: Path, specs: list[oiio.ImageSpec], part: int | str | None, layer: str | None) -> int:
    valid = ", ".join(_part_label(s, i) for i, s in enumerate(specs))
    if isinstance(part, bool):
        raise InputError(f"{path}: part must be an index or a name, got {part!r}")
    if isinstance(part, int):
        if not 0 <= part < len(specs):
            raise InputError(f"{path}: no part {part}, valid: {valid}")
        return part
    if isinstance(part, str):
        for i, s in enumerate(specs):
            if s.get_string_attribute("oiio:subimagename", "") == part:
                return i
        if part.isdigit() and int(part) < len(specs):
            return int(part)
        raise InputError(f"{path}: no part named {part!r}, valid: {valid}")
    if layer:
        # Multi-part files often keep each layer in its own part: use the first that has it,
        # either as "layer.R" channels or as a part named after the layer.
        for i, s in enumerate(specs):
            if rgb_channels(tuple(s.channelnames), layer) is not None:
                return i
        for i, s in enumerate(specs):
            if s.get_string_attribute("oiio:subimagename", "") == layer:
                return i
    return 0


def _chosen_part(path: Path, inp: oiio.ImageInput, layer: str | None,
                 part: int | str | None) -> tuple[list[oiio.ImageSpec], int, tuple[int, int, int], str | None]:
    """``(specs, index of the part read, RGB channel indices, layer used)`` from the headers of an
    open file, with read_frame's one-line refusals (no image, unknown part, deep data, no RGB)."""
    specs = subimage_specs(inp)
    if not specs:
        raise InputError(f"{path}: no readable image: {condense(inp.geterror())}")
    index = _choose_part(path, specs, part, layer)
    spec = specs[index]
    part_name = spec.get_string_attribute("oiio:subimagename", "") or None
    if spec.deep:
        raise InputError(f"{path}: part {_part_label(spec, index)} holds deep data, which is not supported")
    names = tuple(spec.channelnames)
    rgb_idx = rgb_channels(names, layer)
    used_layer = layer or None
    if rgb_idx is None and layer and part_name == layer:
        rgb_idx, used_layer = rgb_channels(names, None), None
    if rgb_idx is None:
        valid = ", ".join(n or "(main)" for n in rgb_layer_names(names)) or "none"
        what = f"layer {layer!r}" if layer else "R, G, B channels"
        raise InputError(
            f"{path}: part {_part_label(spec, index)} has no {what} "
            f"(channels: {', '.join(names)}; RGB layers: {valid})"
        )
    return specs, index, rgb_idx, used_layer


@library_quiet
def read_header(path: str | Path, *, layer: str | None = None, part: int | str | None = None) -> oiio.ImageSpec:
    """The header of the part :func:`read_frame` reads from an image file (not a movie), with the
    same one-line refusals, and no pixel decoded: what a check before rendering can afford for a
    file of any size."""
    path = Path(path)
    inp = open_input(path)
    try:
        specs, index, _, _ = _chosen_part(path, inp, layer, part)
    finally:
        inp.close()
    return specs[index]


@library_quiet
def read_frame(path: str | Path, *, layer: str | None = None, part: int | str | None = None) -> SourceFrame:
    """Read the RGB (and alpha) of one layer of one part of an image file.

    ``part``: EXR part index or name (default: 0, or the first part holding ``layer``).
    ``layer``: channel-name prefix, e.g. ``"diffuse"`` reads ``diffuse.R/G/B`` (or
    ``diffuse.red/green/blue``) and ``diffuse.A`` if present; default the main ``R,G,B`` (+ ``A``).
    Raises :class:`InputError` (one line, naming the file) for missing, truncated, corrupt or
    deep files, an unknown part, or an unknown layer (listing the valid ones).

    A movie's frame (a :class:`~filmstyle.io.movie.MovieFramePath`; a movie's plain path reads its
    first frame) is decoded by :func:`filmstyle.io.movie_decode.read_movie_frame`.
    """
    if is_movie_path(path):
        from filmstyle.io.movie_decode import read_movie_frame

        return read_movie_frame(path, layer=layer, part=part)
    path = Path(path)
    inp = open_input(path)
    try:
        stamp = _stamp(path)
        specs, index, rgb_idx, used_layer = _chosen_part(path, inp, layer, part)
        spec = specs[index]
        part_name = spec.get_string_attribute("oiio:subimagename", "") or None
        names = tuple(spec.channelnames)
        a_idx = alpha_channel(names, used_layer)
        fmt = inp.format_name()
        # One read of every channel: EXR decodes whole chunks anyway, and the writer reuses them.
        stored = "half" if fmt == "openexr" and all_half(spec) else "float"
        pixels = inp.read_image(index, 0, 0, spec.nchannels, stored)
        if pixels is None or inp.has_error:
            raise InputError(f"{path}: cannot read pixels: {condense(inp.geterror(), 'read failed')}")
        dtype = np.float16 if stored == "half" else np.float32
        pixels = np.asarray(pixels, dtype=dtype).reshape(spec.height, spec.width, spec.nchannels)
        # C-contiguous float32 whatever the stored type (a fancy index or astype alone would keep
        # the channel-major strides the index leaves behind).
        rgb = np.ascontiguousarray(pixels[..., list(rgb_idx)], dtype=np.float32)
        alpha = np.ascontiguousarray(pixels[..., a_idx], dtype=np.float32) if a_idx is not None else None
    finally:
        inp.close()
    return SourceFrame(
        path=path,
        format_name=fmt,
        part=index,
        part_name=part_name,
        part_count=len(specs),
        layer=used_layer,
        rgb_channels=tuple(names[c] for c in rgb_idx),  # type: ignore[arg-type]
        alpha_channel=names[a_idx] if a_idx is not None else None,
        rgb=rgb,
        alpha=alpha,
        spec=spec,
        colorspace_hint=colorspace_hint(spec, fmt),
        endian=dpx_endian(path) if fmt == "dpx" else None,
        file_stamp=stamp,
        pixels=pixels,
    )


@library_quiet
def read_channels(path: str | Path, names, *, part: int | str | None = None) -> dict[str, np.ndarray]:
    """Named channels of one part of an image file, over its data window.

    Used for mattes (``A``, ``matte.R``, an external matte's channel). Returns ``{name: (H, W)
    float32}`` in the order asked; integer formats are normalised to 0..1 as in :func:`read_frame`.

    Raises:
        InputError: missing/unreadable file, unknown part, or a channel the part does not have
            (naming the file and channel and listing the part's channels).
    """
    if is_movie_path(path):
        from filmstyle.io.movie_decode import read_movie_channels

        return read_movie_channels(path, names, part=part)
    path = Path(path)
    wanted = [str(n) for n in names]
    if not wanted:
        raise InputError(f"{path}: no channel names given")
    inp = open_input(path)
    try:
        specs = subimage_specs(inp)
        if not specs:
            raise InputError(f"{path}: no readable image: {condense(inp.geterror())}")
        index = _choose_part(path, specs, part, None)
        spec = specs[index]
        if spec.deep:
            raise InputError(f"{path}: part {_part_label(spec, index)} holds deep data, which is not supported")
        have = tuple(spec.channelnames)
        for name in wanted:
            if name not in have:
                raise InputError(
                    f"{path}: part {_part_label(spec, index)} has no channel {name!r}, valid: {', '.join(have)}"
                )
        idx = [have.index(n) for n in wanted]
        lo, hi = min(idx), max(idx) + 1
        pixels = inp.read_image(index, 0, lo, hi, "float")
        if pixels is None or inp.has_error:
            raise InputError(f"{path}: cannot read pixels: {condense(inp.geterror(), 'read failed')}")
        pixels = np.asarray(pixels, dtype=np.float32).reshape(spec.height, spec.width, hi - lo)
    finally:
        inp.close()
    return {n: np.ascontiguousarray(pixels[..., i - lo]) for n, i in zip(wanted, idx)}
