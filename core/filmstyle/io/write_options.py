"""What a write may be asked for: :class:`WriteOptions` and the depths and codecs each format takes.

Checked once before the first frame (:func:`check_write_options`, from the plan) and again by the
writer per frame, so a codec OIIO would ignore or misread is never written silently; the
writer (:mod:`filmstyle.io.write`) re-exports these.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from filmstyle.choices import BIT_DEPTHS
from filmstyle.errors import OutputError, clip

__all__ = ["WriteOptions", "check_write_options", "check_depth", "check_compression", "FORMAT_DEPTHS",
           "BIT_DEPTHS", "EXR_COMPRESSIONS", "LOSSY_EXR_COMPRESSIONS"]

#: EXR codecs OIIO can write (a DWA level may follow, e.g. ``"dwaa:45"``).
EXR_COMPRESSIONS = ("none", "rle", "zips", "zip", "piz", "pxr24", "b44", "b44a", "dwaa", "dwab")
#: Codecs that would re-encode untouched half channels lossily (pxr24 only touches float).
LOSSY_EXR_COMPRESSIONS = ("b44", "b44a", "dwaa", "dwab")

#: Depths each writable format accepts.
FORMAT_DEPTHS: dict[str, tuple[object, ...]] = {
    "openexr": ("half", "float"),
    "dpx": (8, 10, 12, 16),
    "tiff": (8, 16, "float"),  # OIIO widens half TIFF to float unless asked otherwise
    "png": (8, 16),
    "jpeg": (8,),
}


@dataclass(frozen=True)
class WriteOptions:
    """Overrides for :func:`write_frame`; ``None`` keeps the source's choice.

    ``bit_depth``: ``"half"``, ``"float"``, 8, 10, 12 or 16.  For EXR it applies to the
    restyled RGB channels only (every other channel keeps its type); for single-type formats
    (DPX, TIFF, PNG) to the whole image.  ``compression``: codec name as OIIO spells it
    (EXR: ``piz``, ``zip``, ``dwaa:45``...; TIFF: ``lzw``, ``zip``...).

    For a write in another format than the source's only: ``colorspace`` tags the file with the
    colourspace its RGB is in (``oiio:ColorSpace``: EXR ``colorInteropID``, PNG/TIFF/JPEG tags),
    and ``dpx_transfer`` sets a DPX's transfer characteristic (e.g. ``"Printing density"``), the
    only colour tag DPX has. The caller converts the pixels; the writer only labels them.
    """

    bit_depth: str | int | None = None
    compression: str | None = None
    colorspace: str | None = None
    dpx_transfer: str | None = None

    def __post_init__(self) -> None:
        if self.bit_depth is not None and (
            isinstance(self.bit_depth, bool) or self.bit_depth not in BIT_DEPTHS
        ):
            raise OutputError(
                f"bit_depth: expected one of {', '.join(map(str, BIT_DEPTHS))}, got {self.bit_depth!r}"
            )
        if self.compression is not None and (not isinstance(self.compression, str) or not self.compression.strip()):
            raise OutputError(f"compression: expected a codec name, got {self.compression!r}")


def check_depth(fmt: str, depth: object, out_path: Path) -> None:
    allowed = FORMAT_DEPTHS.get(fmt)
    if allowed is not None and depth not in allowed:
        raise OutputError(
            f"{out_path}: bit depth {depth!r} not possible for {fmt}, valid: {', '.join(map(str, allowed))}"
        )


#: Codecs OIIO writes per format (OIIO's spelling); others it would ignore without a word.
_FORMAT_COMPRESSIONS: dict[str, tuple[str, ...]] = {
    "openexr": EXR_COMPRESSIONS,
    "dpx": ("none",),
    "tiff": ("none", "lzw", "zip", "packbits", "jpeg"),
    "png": ("zip", "default", "filtered", "huffman", "rle", "fixed"),
    "jpeg": ("jpeg",),
}
#: ``codec:level`` ranges: zlib levels, JPEG quality and DWA's quantisation level (default 45).
_LEVELS: dict[tuple[str, str], tuple[float, float, bool]] = {  # (low, high, integer)
    ("openexr", "zip"): (1, 9, True), ("openexr", "zips"): (1, 9, True),
    ("openexr", "dwaa"): (0, 1e6, False), ("openexr", "dwab"): (0, 1e6, False),
    ("tiff", "zip"): (1, 9, True), ("tiff", "jpeg"): (1, 100, True),
    ("png", "zip"): (0, 9, True), ("jpeg", "jpeg"): (1, 100, True),
}


def check_compression(fmt: str, compression: str, out_path: Path) -> None:
    codec, colon, level = compression.partition(":")
    codec = codec.strip().lower()
    valid = _FORMAT_COMPRESSIONS.get(fmt)
    if valid is None:
        return
    label = "EXR" if fmt == "openexr" else fmt.upper()
    if codec not in valid:
        raise OutputError(f"{out_path}: unknown {label} compression {clip(compression, 40)!r}, valid: {', '.join(valid)}")
    if not colon:
        return
    bounds = _LEVELS.get((fmt, codec))
    if bounds is None:
        raise OutputError(f"{out_path}: {label} compression {codec!r} takes no level ({clip(compression, 40)!r})")
    low, high, integer = bounds
    text = level.strip()
    ok = text.isascii() and (text.isdigit() if integer else _is_plain_number(text))
    if not ok or not (low <= float(text) <= high if integer else low < float(text) <= high):
        want = f"a whole number from {low:g} to {high:g}" if integer else f"a number above {low:g}, at most {high:.0f}"
        raise OutputError(f"{out_path}: {label} compression level {clip(text, 20)!r} for {codec}: expected {want}")


def _is_plain_number(text: str) -> bool:
    """Digits with at most one point: no exponent, sign, nan or inf, and short."""
    digits = text.replace(".", "", 1)
    return 0 < len(text) <= 20 and digits.isdigit()


def check_write_options(options: WriteOptions, out_path: Path, fmt: str) -> None:
    """Refuse a bit depth or EXR compression that OIIO format ``fmt`` cannot write, before any
    frame is rendered (the writer checks the same again per frame)."""
    if options.bit_depth is not None:
        check_depth(fmt, options.bit_depth, out_path)
    if options.compression is not None:
        check_compression(fmt, options.compression, out_path)
