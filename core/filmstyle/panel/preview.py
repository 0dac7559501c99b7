"""Preview and thumbnail jobs: the edited job reduced to one frame at proxy size, for the worker.

The panel never runs a network itself; a preview is an ordinary job sent to the local worker:
the current frame only (``frames``), written to the panel's own temp folder (``output``, with
``overwrite``), and without temporal blending, which needs the frames before it (the render has
it; a single-frame preview cannot). Proxy size comes one of two ways:

* **the job's ``proxy`` field**, when the parameter table has one with that choice (``"1/2"``,
  ``"1/4"``: the worker runs the network on a reduced frame and enlarges the result guided by the
  plate; the preview of a full-size choice leaves the field out, whatever the job says);
* otherwise **a reduced plate**: the panel writes the current frame at ``1/N`` size (every
  channel of the chosen part, same file format and header, so channel masks and the format's
  default colourspace still apply; OpenImageIO's filtered resize), points the job at it, and
  moves every region shape into the reduced frame (positions, radii, sizes, feathers, blur and
  grow amounts scaled; display-window offsets removed, since the reduced plate covers the
  frame's data window). A ``file`` matte is evaluated at full size as the render would (its
  ``fit`` included) and written reduced beside the plate.

Either way the network sees a reduced frame, so a look's strokes are larger relative to the
frame than in a full-resolution render without ``stroke_scale`` (with ``stroke_scale`` the
network runs at the same size in both). Thumbnails of looks are the same job on a plate of
about 120 pixels with one style and no regions.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import OpenImageIO as oiio

from filmstyle import io
from filmstyle.errors import FilmStyleError, InputError
from filmstyle.job.curves import Curve, Key, parse_curve
from filmstyle.job.masks import MaskContext, parse_mask
from filmstyle.job.params import BY_NAME
from filmstyle.job.regions import matte_loader
from filmstyle.panel.keys import curve_text

__all__ = ["preview_suffix", "PROXY_CHOICES", "auto_factor", "proxy_field_available", "proxy_value", "ProxyPlate", "write_plate",
           "scale_mask_data", "preview_job", "thumbnail_job", "PREVIEW_ROWS"]

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


def proxy_field_available() -> bool:
    """True when the parameter table has the ``proxy`` job field (the worker reduces the frame)."""
    param = BY_NAME.get("proxy")
    return param is not None and param.path is not None


def proxy_value(factor: int) -> str | None:
    """The ``proxy`` field's value for a reduction by ``factor`` (``"1/2"``), None when the table has
    no such field or no such choice."""
    if not proxy_field_available():
        return None
    value = f"1/{factor}"
    return value if value in BY_NAME["proxy"].choices else None


@dataclass(frozen=True)
class ProxyPlate:
    """A reduced copy of one frame: ``pattern`` for the job, scale and offset for shapes."""

    pattern: str
    frame: int
    width: int
    height: int
    scale: tuple[float, float]
    offset: tuple[int, int]  # data window minus display window origin, in source pixels
    mattes: dict[str, str]  # full-size matte pattern -> reduced matte pattern
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
    return ProxyPlate(pattern, frame, w, h, (w / src.width, h / src.height), (0, 0), {}, colorspace)


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
    return ProxyPlate(pattern, frame, w, h, (w / spec.width, h / spec.height), offset, {})


def _affine(value: Any, scale: float, offset: float = 0.0) -> Any:
    """A number or curve (any job form) moved by ``-offset`` then scaled: ``(v - offset) * scale``."""
    curve = parse_curve(value)
    keys = [Key(k.frame, (k.value - offset) * scale, k.interp) for k in curve.keys]
    return curve_text(Curve(keys))


def _pair(value: Any, sx: float, sy: float, ox: float = 0.0, oy: float = 0.0) -> list[Any]:
    x, y = value
    return [_affine(x, sx, ox), _affine(y, sy, oy)]


def scale_mask_data(mask: dict[str, Any], sx: float, sy: float, ox: float = 0.0, oy: float = 0.0,
                    mattes: dict[str, str] | None = None) -> dict[str, Any]:
    """A mask's plain data moved into a reduced frame: ``x' = (x - ox) * sx``, ``y' = (y - oy) * sy``;
    lengths (radii, sizes, feathers, blur and grow amounts) scaled. ``file`` mattes are replaced by
    their reduced copies named in ``mattes`` (already fitted, so ``fit`` goes)."""
    s = math.sqrt(sx * sy)
    m = copy.deepcopy(mask)
    if "op" in m:
        if "radius" in m:
            m["radius"] = _affine(m["radius"], s)
        if "pixels" in m:
            m["pixels"] = _affine(m["pixels"], s)
        if "mask" in m:
            m["mask"] = scale_mask_data(m["mask"], sx, sy, ox, oy, mattes)
        if "masks" in m:
            m["masks"] = [scale_mask_data(x, sx, sy, ox, oy, mattes) for x in m["masks"]]
        return m
    if "file" in m:
        reduced = (mattes or {}).get(m["file"])
        return {"file": reduced, "channel": "A"} if reduced else m
    for kind in ("ellipse", "rectangle", "polygon"):
        body = m.get(kind)
        if not isinstance(body, dict):
            continue
        if "center" in body:
            body["center"] = _pair(body["center"], sx, sy, ox, oy)
        if "radius" in body:
            r = body["radius"]
            body["radius"] = _pair(r, sx, sy) if isinstance(r, list) else _pair([r, r], sx, sy)
        if "size" in body:
            body["size"] = _pair(body["size"], sx, sy)
        if "box" in body:
            x0, y0, x1, y1 = body["box"]
            body["box"] = _pair([x0, y0], sx, sy, ox, oy) + _pair([x1, y1], sx, sy, ox, oy)
        if "points" in body:
            body["points"] = [_pair(p, sx, sy, ox, oy) for p in body["points"]]
        if "feather" in body:
            body["feather"] = _affine(body["feather"], s)
    return m


def _mattes_of(mask: Any) -> list[dict[str, Any]]:
    if not isinstance(mask, dict):
        return []
    if "file" in mask:
        return [mask]
    inner = mask.get("masks") if isinstance(mask.get("masks"), list) else [mask.get("mask")]
    return [f for m in inner for f in _mattes_of(m)]


def write_mattes(data: dict[str, Any], plate: ProxyPlate, source_size: tuple[int, int], folder: Path,
                 part: int | str | None = None) -> dict[str, str]:
    """Every ``file`` matte of the job's regions at ``plate.frame``, fitted to the source frame as
    the render fits it, reduced to the plate's size; returns full pattern -> reduced pattern."""
    out: dict[str, str] = {}
    Path(folder).mkdir(parents=True, exist_ok=True)
    load = matte_loader(part=None)
    w, h = source_size
    for region in data.get("regions") or []:
        for spec_data in _mattes_of(region.get("mask") if isinstance(region, dict) else None):
            pattern = spec_data["file"]
            if pattern in out:
                continue
            spec = parse_mask(spec_data, field="mask")
            full = spec.evaluate(plate.frame, MaskContext(height=h, width=w, load_matte=load))
            small = cv2.resize(full, (plate.width, plate.height), interpolation=cv2.INTER_AREA)
            reduced = str(Path(folder) / f"matte{len(out)}.####.exr")
            path = io.FrameSequence(reduced, (plate.frame,)).path(plate.frame)
            spec_out = oiio.ImageSpec(plate.width, plate.height, 1, "float")
            spec_out.channelnames = ("A",)
            buf = oiio.ImageBuf(spec_out)
            buf.set_pixels(oiio.ROI(), np.ascontiguousarray(small[..., None], dtype=np.float32))
            if not buf.write(str(path)):
                raise InputError(f"{path}: cannot write the reduced matte: {buf.geterror().strip()}")
            out[pattern] = reduced
    return out


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
                plate: ProxyPlate | None = None, colorspace: str | None = None) -> dict[str, Any]:
    """The job (``data`` with absolute paths) reduced to ``frame`` at ``1/factor`` size.

    With ``factor`` 1 the frame renders at full size; with the ``proxy`` field available it is
    set; otherwise ``plate`` (from :func:`write_plate`, mattes from :func:`write_mattes`) is used.
    ``output`` is an image sequence (see :func:`preview_suffix`); for a movie source it is written
    in the movie's ``colorspace``, so previews always come back in the source's colourspace.
    """
    d = _single_frame(data, frame, output)
    if io.is_movie_path(str(d.get("input", ""))) and colorspace is not None:
        d.setdefault("color", {})["output_colorspace"] = colorspace
    if factor == 1:
        if proxy_field_available():
            d.pop("proxy", None)  # the preview is asked for at full size
        return d
    value = proxy_value(factor)
    if value is not None:
        d["proxy"] = value
        return d
    if plate is None:
        raise FilmStyleError("preview: a reduced plate is needed (the job format has no proxy field)")
    _plate_input(d, plate)
    (sx, sy), (ox, oy) = plate.scale, plate.offset
    for region in d.get("regions") or []:
        if isinstance(region, dict) and isinstance(region.get("mask"), dict):
            region["mask"] = scale_mask_data(region["mask"], sx, sy, ox, oy, plate.mattes)
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
