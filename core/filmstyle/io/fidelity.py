"""Same-format output kept faithful: DPX frames copied byte for byte with new pixels, EXR headers
given back the source's attributes, MIP levels read level by level. Used by
:mod:`filmstyle.io.write`."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import OpenImageIO as oiio

from filmstyle.errors import InputError, OutputError
from filmstyle.io import dpx_header, exr_header, exr_rewrite
from filmstyle.io._oiio import condense, open_input
from filmstyle.io.frame import SourceFrame

if TYPE_CHECKING:
    from filmstyle.io.write import WriteOptions

__all__ = ["level_specs", "read_level", "level_modes", "restore_exr_header", "reads_back", "write_dpx_like_source"]

_log = logging.getLogger("filmstyle.io")


def level_specs(inp: oiio.ImageInput, part: int) -> list[oiio.ImageSpec]:
    """Specs of every MIP level of ``part`` (one for a single-level part)."""
    specs = []
    while inp.seek_subimage(part, len(specs)):
        specs.append(inp.spec().copy())
        if len(specs) > 64:
            break
    inp.geterror()  # probing one level past the last leaves an error behind
    return specs


def read_level(inp: oiio.ImageInput, path: Path, part: int, level: int, spec: oiio.ImageSpec) -> np.ndarray:
    pixels = inp.read_image(part, level, 0, spec.nchannels, "float")
    if pixels is None:
        raise InputError(f"{path}: cannot re-read part {part} level {level}: {condense(inp.geterror())}")
    return np.array(pixels, dtype=np.float32).reshape(spec.height, spec.width, spec.nchannels)


def level_modes(source: SourceFrame) -> list[int]:
    """Level mode of every part of an EXR source (0 one level, 1 mipmap, 2 ripmap)."""
    try:
        layout = exr_header.read_layout(source.path, tables=False)
    except InputError:
        return [0] * source.part_count
    return [(h.tiles or (0, 0, 0, 0))[2] if h.tiled else 0 for h in layout.headers]


def restore_exr_header(source: SourceFrame, tmp: Path, out_path: Path) -> None:
    try:
        exr_rewrite.restore_attributes(source.path, tmp)
    except OutputError as exc:
        _log.warning("%s: header attributes as OIIO writes them (%s)", out_path.name, exc)
    try:
        exr_header.validate_exr(tmp)
    except InputError as exc:
        raise OutputError(f"{out_path}: the written file does not check out: {exc}") from None


def reads_back(source: SourceFrame, pixels: np.ndarray, written: Path, skip: np.ndarray | None = None,
               codes: np.ndarray | None = None) -> bool:
    """``written`` (a DPX) decodes to the codes ``pixels`` stand for (or ``codes``), as OIIO reads
    it, ignoring values where ``skip`` is True (new values another writer may round its own way)."""
    layout = dpx_header.read_header(written).element(source.part)
    check = open_input(written)
    try:
        back = check.read_image(source.part, 0, 0, pixels.shape[2], "float")
    finally:
        check.close()
    if back is None:
        return False
    got = dpx_header.codes_from_float(np.asarray(back).reshape(pixels.shape), layout)
    want = codes if codes is not None else dpx_header.codes_from_float(pixels, layout)
    if skip is not None:
        got, want = got[~skip], want[~skip]
    return bool(np.array_equal(got, want))


#: DPX layouts whose encoding was checked against OIIO's decoding in this process.
_VERIFIED_LAYOUTS: set[tuple] = set()


def write_dpx_like_source(source: SourceFrame, pixels: np.ndarray, tmp: Path, opts: WriteOptions) -> bool:
    """The source DPX byte for byte with new pixels; False when its layout needs OIIO's writer.

    Every file must re-encode to its own data bits (a numpy check, no decode); the first file of
    each layout in a process is also read back through OIIO (which a flat frame alone could not
    prove: a datum-order mistake is invisible when every datum is the same).
    """
    if opts.compression is not None or opts.bit_depth not in (None, source.bits_per_sample):
        return False
    original = source.pixels if source.pixels is not None and source.pixels.shape == pixels.shape else None
    if original is None:
        return False
    codes = dpx_header.write_like_source(source.path, pixels, tmp, element=source.part, original=original)
    if codes is None:
        return False
    layout = dpx_header.read_header(tmp).element(source.part)
    key = (layout.bits, layout.packing, layout.components, layout.descriptor, layout.eol_padding, source.endian)
    if key in _VERIFIED_LAYOUTS or reads_back(source, pixels, tmp, codes=codes):
        _VERIFIED_LAYOUTS.add(key)
        return True
    _log.warning("%s: this DPX layout does not read back exactly; re-encoding it with OIIO", source.path.name)
    tmp.unlink(missing_ok=True)
    return False
