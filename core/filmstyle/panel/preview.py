"""Preview and thumbnail jobs: the edited job reduced to one frame, for the worker.

The panel never runs a network itself; a preview is an ordinary job sent to the local worker:
the current frame only (``frames``), written to the panel's own temp folder (``output``, with
``overwrite``), and without temporal blending, which needs the frames before it (the render has
it; a single-frame preview cannot). A preview at proxy size sets the job's ``proxy`` field
(``"1/2"``, ``"1/4"``): the worker runs the network on the reduced frame with the full render's
stroke size and enlarges the result guided by the full-size plate, so regions, mattes and
every other field apply as in the render. The preview of a full-size choice leaves the field
out, whatever the job says.

Thumbnails of looks are the same job on a plate of about 120 pixels (:func:`write_plate`: every
channel of the chosen part, same file format and header) with one style and no regions.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import OpenImageIO as oiio

from filmstyle import io
from filmstyle.errors import FilmStyleError, InputError
from filmstyle.job.params import BY_NAME

__all__ = ["preview_suffix", "PROXY_CHOICES", "auto_factor", "proxy_value", "ProxyPlate", "write_plate",
           "preview_job", "thumbnail_job", "PREVIEW_ROWS"]

#: Proxy sizes the panel offers (``"auto"``: the largest reduction that keeps :data:`PREVIEW_ROWS`).
PROXY_CHOICES = ("auto", "1", "1/2", "1/4")
#: Rows a preview aims at: enough for the viewer, small enough to render in a second or two.
PREVIEW_ROWS = 540
#: Longest side of a thumbnail plate.
THUMBNAIL_SIDE = 120


def auto_factor(height: int, choice: str = "auto") -> int:
    """The reduction for a frame ``height`` rows high: ``choice`` as a divisor, or for ``"auto"``
    the smallest of 1, 2, 4 that brings it to :data:`PREVIEW_ROWS` rows or fewer (4 at most)."""
    if choice != "auto":
        if choice not in PROXY_CHOICES:
            raise FilmStyleError(f"proxy: expected one of {', '.join(PROXY_CHOICES)}, got {choice!r}")
        return 1 if choice == "1" else int(choice.split("/")[1])
    for factor in (1, 2, 4):
        if height / factor <= PREVIEW_ROWS:
            return factor
    return 4


def proxy_value(factor: int) -> str:
    """The ``proxy`` field's value for a reduction by ``factor`` (2 -> ``"1/2"``).

    Raises:
        FilmStyleError: the parameter table has no such choice.
    """
    value = f"1/{factor}"
    if value not in BY_NAME["proxy"].choices:
        raise FilmStyleError(f"proxy: no preview at 1/{factor}; valid: {', '.join(BY_NAME['proxy'].choices)}")
    return value


@dataclass(frozen=True)
class ProxyPlate:
    """A reduced copy of one frame: ``pattern`` for the job; its scale and data-window offset
    against the source."""

    pattern: str
    frame: int
    width: int
    height: int
    scale: tuple[float, float]
    offset: tuple[int, int]  # data window minus display window origin, in source pixels
    colorspace: str | None = None  # set when the plate's format is not the source's (a movie's frame)


def _source_buf(path: Path, part: int | str | None) -> tuple[oiio.ImageBuf, int]:
    frame = io.read_frame(path, part=part)  # resolves a part name and reports bad files in one line
    buf = oiio.ImageBuf(str(path), frame.part, 0)
    if buf.has_error or not buf.read(force=True):
        raise InputError(f"{path}: cannot read: {buf.geterror().strip() or 'unknown error'}")
    return buf, frame.part


def preview_suffix(source: str | Path) -> str:
    """The extension of a preview of ``source``: its own, or ``.exr`` for a movie's frame."""
    return ".exr" if io.is_movie_path(source) else Path(source).suffix.lower()


def _movie_plate(source: Path, frame: int, folder: Path, size: tuple[int, int] | None, factor: int, name: str,
                 colorspace: str | None) -> ProxyPlate:
    """A movie's frame as a reduced float EXR (R, G, B and alpha if it has one)."""
    src = io.read_frame(source)
    w, h = size if size is not None else (max(1, round(src.width / factor)), max(1, round(src.height / factor)))
    planes = [src.rgb] + ([src.alpha[..., None]] if src.alpha is not None else [])
    px = cv2.resize(np.concatenate(planes, axis=-1), (w, h), interpolation=cv2.INTER_AREA).reshape(h, w, -1)
    spec = oiio.ImageSpec(w, h, px.shape[-1], "float")
    spec.channelnames = ("R", "G", "B", "A")[: px.shape[-1]]
    if src.alpha is not None:
        spec.alpha_channel = 3
    pattern = str(Path(folder) / f"{name}.####.exr")
    out_path = io.FrameSequence(pattern, (frame,)).path(frame)
    buf = oiio.ImageBuf(spec)
    buf.set_pixels(oiio.ROI(), np.ascontiguousarray(px, dtype=np.float32))
    if not buf.write(str(out_path)):
        raise InputError(f"{out_path}: cannot write the reduced plate: {buf.geterror().strip()}")
    return ProxyPlate(pattern, frame, w, h, (w / src.width, h / src.height), (0, 0), colorspace)


def write_plate(source: Path, frame: int, folder: Path, *, size: tuple[int, int] | None = None,
                factor: int = 1, part: int | str | None = None, name: str = "plate",
                colorspace: str | None = None) -> ProxyPlate:
    """Write ``source`` (one frame) reduced by ``factor`` or to ``size`` into ``folder``.

    The copy has every channel of the chosen part, the source's pixel types and header, and its
    data window at the origin of its display window. A movie's frame is written as a float EXR
    instead, which the job then reads in ``colorspace`` (the source's, which the caller knows).

    Raises:
        InputError: the source cannot be read or the copy cannot be written.
    """
    if io.is_movie_path(source):
        Path(folder).mkdir(parents=True, exist_ok=True)
        return _movie_plate(source, frame, Path(folder), size, factor, name, colorspace)  # keeps its frame
    buf, _ = _source_buf(Path(source), part)
    Path(folder).mkdir(parents=True, exist_ok=True)
    spec = oiio.ImageSpec(buf.spec())
    offset = (spec.x - spec.full_x, spec.y - spec.full_y)
    w, h = size if size is not None else (max(1, round(spec.width / factor)), max(1, round(spec.height / factor)))
    out_spec = oiio.ImageSpec(spec)
    out_spec.width, out_spec.height, out_spec.x, out_spec.y = w, h, 0, 0
    out_spec.full_x, out_spec.full_y, out_spec.full_width, out_spec.full_height = 0, 0, w, h
    out_spec.tile_width = out_spec.tile_height = 0
    out_spec.erase_attribute("oiio:subimages")
    dst = oiio.ImageBuf(out_spec)
    # resize maps the display windows onto each other: make the source's its data window.
    buf.set_full(spec.x, spec.x + spec.width, spec.y, spec.y + spec.height, 0, 1)
    if not oiio.ImageBufAlgo.resize(dst, buf):
        raise InputError(f"{source}: cannot make a reduced copy: {oiio.geterror() or dst.geterror()}")
    suffix = Path(source).suffix.lower()
    pattern = str(Path(folder) / f"{name}.####{suffix}")
    out_path = io.FrameSequence(pattern, (frame,)).path(frame)
    formats = list(spec.channelformats) if spec.channelformats else None
    dst.set_write_format(formats if formats else spec.format)
    if not dst.write(str(out_path)):
        raise InputError(f"{out_path}: cannot write the reduced plate: {dst.geterror().strip()}")
    return ProxyPlate(pattern, frame, w, h, (w / spec.width, h / spec.height), offset)


def _single_frame(data: dict[str, Any], frame: int, output: str) -> dict[str, Any]:
    d = copy.deepcopy(data)
    d["frames"] = str(frame)
    d["output"] = output
    d["overwrite"] = True
    d.pop("temporal", None)  # a single frame has no history to blend with
    return d


def _plate_input(d: dict[str, Any], plate: ProxyPlate) -> None:
    d["input"] = plate.pattern
    d.pop("part", None)  # the plate holds the chosen part only
    if plate.colorspace is not None:  # a movie's frame as EXR: read it in the movie's colourspace
        color = d.setdefault("color", {})
        color["input_colorspace"] = plate.colorspace
        color.pop("output_colorspace", None)


def preview_job(data: dict[str, Any], frame: int, output: str, *, factor: int,
                colorspace: str | None = None) -> dict[str, Any]:
    """The job (``data`` with absolute paths) reduced to ``frame``, previewed at ``1/factor``.

    ``output`` is an image sequence (see :func:`preview_suffix`); for a movie source it is written
    in the movie's ``colorspace``, so previews always come back in the source's colourspace.
    """
    d = _single_frame(data, frame, output)
    if io.is_movie_path(str(d.get("input", ""))) and colorspace is not None:
        d.setdefault("color", {})["output_colorspace"] = colorspace
    if factor == 1:
        d.pop("proxy", None)  # the preview is asked for at full size
    else:
        d["proxy"] = proxy_value(factor)
    return d


def thumbnail_job(data: dict[str, Any], style: str, plate: ProxyPlate, output: str) -> dict[str, Any]:
    """One look (``style``) at full strength on a thumbnail ``plate``, without regions."""
    d = _single_frame(data, plate.frame, output)
    d.get("color", {}).pop("output_colorspace", None)
    _plate_input(d, plate)
    for key in ("regions", "default", "strength", "proxy", "stroke_scale", "tiling", "shot_stats"):
        d.pop(key, None)
    d["styles"] = [style]
    return d
