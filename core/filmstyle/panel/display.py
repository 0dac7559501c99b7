"""What the viewer shows: frames read with OpenImageIO, reduced, and turned into display pixels by OCIO.

Before and after go through the same :class:`DisplayTransform`: the job's OCIO config (its
``color.ocio``, else ``$OCIO``, else the built-in ACES studio config), from the source's
colourspace (``color.input_colorspace``, else the format's default, as the render picks it) to
the config's default display and view. A display-referred source (an sRGB PNG) uses the
display's ``Un-tone-mapped`` view where the config has one, so it is shown as it is rather than
tone-mapped twice. Previews come back from the worker in the source's colourspace (see
:mod:`filmstyle.panel.preview`), so they need nothing else.

:func:`load_source_view` also evaluates the job's region masks on that frame at full size, as the
render does (keys on the working-space picture, channels of the input, fitted matte files), and
reduces them for the overlay.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import PyOpenColorIO as OCIO

from filmstyle import io
from filmstyle.color import (ColorTransform, colorspace_encoding, default_input_colorspace, list_colorspaces,
                             load_config)
from filmstyle.color.spaces import resolve_colorspace
from filmstyle.errors import ColorError
from filmstyle.job.masks import MaskContext
from filmstyle.job.model import Job
from filmstyle.job.regions import RegionSet, matte_loader
from filmstyle.job.styles import check_style_image
from filmstyle.panel.preview import auto_factor
from filmstyle.panel.relocate import absolute

__all__ = ["DisplayTransform", "SourceView", "load_source_view", "read_display", "image_thumbnail", "reduce"]

_UNTONEMAPPED = ("Un-tone-mapped", "Standard")
_SLICE = 1 << 14


class DisplayTransform:
    """``colorspace`` of ``config`` → the default display and view, as 8-bit RGB."""

    def __init__(self, config: OCIO.Config, colorspace: str) -> None:
        self.config = config
        self.colorspace = resolve_colorspace(config, colorspace, "input_colorspace")
        self.display = config.getDefaultDisplay()
        views = list(config.getViews(self.display))
        self.view = config.getDefaultView(self.display)
        if colorspace_encoding(config, self.colorspace) == "sdr-video":
            self.view = next((v for v in _UNTONEMAPPED if v in views), self.view)
        transform = OCIO.DisplayViewTransform(src=self.colorspace, display=self.display, view=self.view)
        try:
            self._cpu = config.getProcessor(transform).getDefaultCPUProcessor()
        except OCIO.Exception as exc:
            raise ColorError(f"display: cannot show {self.colorspace!r} on {self.display!r}: {exc}") from None

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        """``(H, W, 3)`` float32 in the source colourspace → ``(H, W, 3)`` uint8 display RGB."""
        px = np.ascontiguousarray(np.nan_to_num(rgb, nan=0.0, posinf=65504.0, neginf=0.0), dtype=np.float32)
        flat = px.reshape(-1, 3)
        # OCIO keeps the GIL while it runs: slices of 16k pixels let the UI thread in between.
        for start in range(0, len(flat), _SLICE):
            self._cpu.applyRGB(flat[start:start + _SLICE])
        return np.ascontiguousarray(np.clip(px * 255.0 + 0.5, 0, 255).astype(np.uint8))

    def __repr__(self) -> str:
        return f"DisplayTransform({self.colorspace!r} → {self.display!r} / {self.view!r})"


def reduce(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Area-filtered resize to ``size`` = (width, height); the image itself when it already fits."""
    h, w = image.shape[:2]
    if (w, h) == tuple(size):
        return image
    return cv2.resize(image, tuple(size), interpolation=cv2.INTER_AREA)


@dataclass(frozen=True, eq=False)
class SourceView:
    """One source frame as the viewer shows it (``display`` is ``(h, w, 3)`` uint8 at proxy size)."""

    frame: int
    path: Path
    factor: int
    full_size: tuple[int, int]
    size: tuple[int, int]
    format_name: str
    colorspace: str
    display: np.ndarray = field(repr=False)
    transform: DisplayTransform = field(repr=False)
    masks: tuple[tuple[str, np.ndarray], ...] = field(default=(), repr=False)
    mask_error: str | None = None
    colorspaces: tuple[str, ...] = field(default=(), repr=False)  # every colourspace of the config


def load_source_view(job: Job, frame: int, proxy: str = "auto") -> SourceView:
    """Read ``frame`` of ``job``'s input, reduce it (``proxy``: see
    :func:`~filmstyle.panel.preview.auto_factor`), build the display transform and
    evaluate the region masks (a mask that cannot be evaluated leaves ``mask_error``, not a failure).

    Raises:
        FilmStyleError: the frame cannot be read or the colour settings are unknown (one line).
    """
    data = absolute({"input": job.input}, job.base_dir)
    seq = io.FrameSequence(data["input"], (frame,))
    path = seq.path(frame)
    src = io.read_frame(path, layer=job.layer, part=job.part)
    config = load_config(job.ocio if job.ocio is None or job.ocio.startswith("ocio://")
                         else str(absolute({"color": {"ocio": job.ocio}}, job.base_dir)["color"]["ocio"]))
    colorspace = job.input_colorspace or default_input_colorspace(src.format_name, src.colorspace_hint, config)
    transform = DisplayTransform(config, colorspace)
    w, h = src.width, src.height
    factor = auto_factor(h, proxy)
    size = (max(1, round(w / factor)), max(1, round(h / factor)))
    rgb = src.rgb
    if src.alpha is not None and not src.alpha_associated:
        rgb = rgb * src.alpha[..., None]  # shown over black, as a comp viewer shows it
    display = transform(reduce(rgb, size))
    masks: list[tuple[str, np.ndarray]] = []
    error = None
    regions = job.compiled.regions
    if regions:
        try:
            rs = RegionSet(regions)
            working = None
            if rs.needs_rgb:
                working = ColorTransform(config, colorspace, job.working_space).to_working(src.rgb.copy())

            def channel(name: str) -> np.ndarray:
                return io.read_channels(path, [name], part=job.part)[name]

            ctx = MaskContext(height=h, width=w, rgb=working, channel=channel, load_matte=matte_loader(part=job.part))
            dw, fw = src.data_window, src.display_window
            mattes = rs.masks_at(float(frame), ctx, offset=(dw.x - fw.x, dw.y - fw.y))
            for i, (region, matte) in enumerate(zip(regions, mattes)):
                masks.append((region.name or f"region {i + 1}", reduce(matte, size)))
        except Exception as exc:  # noqa: BLE001 - shown as one line under the viewer, never fatal
            error = " ".join(str(exc).split()) or type(exc).__name__
    names = tuple(name for name, *_ in list_colorspaces(config))
    return SourceView(frame, path, factor, (w, h), size, src.format_name, colorspace, display, transform, tuple(masks),
                      error, names)


def read_display(path: Path, transform: DisplayTransform, size: tuple[int, int] | None = None) -> np.ndarray:
    """A frame (a rendered preview: in the source's colourspace) as display pixels, reduced to
    ``size`` (width, height) when given."""
    frame = io.read_frame(path)
    rgb = frame.rgb
    if frame.alpha is not None and not frame.alpha_associated:
        rgb = rgb * frame.alpha[..., None]
    return transform(reduce(rgb, size) if size is not None else rgb)


def image_thumbnail(path: Path, config: OCIO.Config, size: int) -> np.ndarray:
    """A style image as display pixels, its longer side ``size`` (its format's default colourspace)."""
    check_style_image(path)  # the decoder allocates the whole picture before it is reduced
    frame = io.read_frame(path)
    transform = DisplayTransform(config, default_input_colorspace(frame.format_name, frame.colorspace_hint, config))
    w, h = frame.width, frame.height
    scale = min(1.0, size / max(w, h))
    return read_display(path, transform, (max(1, round(w * scale)), max(1, round(h * scale))))
