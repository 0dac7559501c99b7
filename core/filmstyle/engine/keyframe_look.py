"""A plan's painted keyframes as the render uses them: images in the working space, their tracks,
and the exact keyframe pixels on keyframe frames (see :mod:`filmstyle.engine.keyframes`).

A keyframe file is read like a plate of its own format: in the source's format it is taken to be
in the source's colourspace with the source's alpha convention (a rendered frame, retouched); in
another format it is converted from that format's default colourspace (PNG/JPEG/TIFF: sRGB). It
must have the plate's size, and NaN/Inf in it are refused (or cleaned, with ``clean_nans``) as a
plate's are.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from filmstyle import color, io
from filmstyle.engine.keyframes import KeyframeTracks, composite
from filmstyle.engine.plan_color import PlanColor, associated_alpha, finite_rgb, straight
from filmstyle.errors import InputError
from filmstyle.job.plan import RenderPlan

__all__ = ["KeyframeLook"]


class KeyframeLook:
    """The keyframes of ``plan`` for the render loop."""

    def __init__(self, plan: RenderPlan, plan_color: PlanColor) -> None:
        self.plan = plan
        self.color = plan_color
        self.files: dict[int, Path] = dict(plan.keyframes)
        self.tracks = KeyframeTracks(tuple(self.files), self._plate, cut_threshold=plan.temporal_cut_threshold,
                                     wanted=frozenset(plan.source.frames))
        self._source_rgb: dict[int, np.ndarray] = {}
        self._working: dict[int, np.ndarray] = {}
        self.first = plan.source.frames[0]
        self._plate_format = io.format_for_path(plan.source.path(self.first))
        if not plan.clean_nans:
            # A keyframe is first read when the render reaches it, maybe after frames were written:
            # its NaN/Inf are refused now, before any frame is.
            for frame in self.files:
                finite_rgb(self._read(frame, self._plate_format).rgb, False, self._label(frame))

    def close(self) -> None:
        self.tracks.close()

    def _plate(self, frame: int) -> np.ndarray | None:
        path = io.FrameSequence(self.plan.source.pattern, (frame,)).path(frame)
        if not path.is_file():
            return None
        source = io.read_frame(path, layer=self.plan.layer, part=self.plan.part)
        return self.color.straight_working(source, source.rgb)

    def _label(self, frame: int) -> str:
        return f"keyframes[{frame}]: {self.files[frame].name}"

    def _read(self, frame: int, plate_format: str | None) -> io.SourceFrame:
        """The keyframe file: the plate's part and layer when it is in the plate's format."""
        path = self.files[frame]
        if io.format_for_path(path) == plate_format:
            return io.read_frame(path, layer=self.plan.layer, part=self.plan.part)
        return io.read_frame(path)

    def source_rgb(self, frame: int, source: io.SourceFrame) -> np.ndarray:
        """The keyframe's RGB as ``source`` holds its own: colourspace and alpha convention."""
        if frame not in self._source_rgb:
            path = self.files[frame]
            same = io.format_for_path(path) == source.format_name
            image = self._read(frame, source.format_name)
            if image.rgb.shape != source.rgb.shape:
                raise InputError(f"{self._label(frame)} is {image.width}x{image.height}, the plate is "
                                 f"{source.width}x{source.height}")
            rgb = finite_rgb(image.rgb, bool(self.plan.clean_nans), self._label(frame))
            if not same:
                config = self.color.config
                name = color.default_input_colorspace(image.format_name, image.colorspace_hint, config)
                flat = np.array(straight(image, rgb), dtype=np.float32, order="C")
                if color.count_nonfinite(flat):
                    flat = color.clean_nonfinite(flat)
                # A transform whose "working space" is the source's colourspace converts into it.
                flat = color.ColorTransform(config, name, self.color.input_colorspace_for(source)).to_working(flat)
                alpha = associated_alpha(source)
                rgb = color.premultiply(flat, alpha) if alpha is not None else flat
            if len(self._source_rgb) > 2:
                self._source_rgb.pop(next(iter(self._source_rgb)))
            self._source_rgb[frame] = np.ascontiguousarray(rgb, dtype=np.float32)
        return self._source_rgb[frame]

    def working(self, frame: int, source: io.SourceFrame) -> np.ndarray:
        """The keyframe in the working space (straight), ``(H, W, 3)``."""
        if frame not in self._working:
            if len(self._working) > 2:
                self._working.pop(next(iter(self._working)))
            self._working[frame] = self.color.straight_working(source, self.source_rgb(frame, source))
        return self._working[frame]

    def apply(self, frame: float, source: io.SourceFrame, fill: np.ndarray) -> np.ndarray:
        """The frame's look: the keyframe itself on a keyframe, else the nearest keyframes carried
        along the plate's motion over ``fill`` (the network's frame), all working space."""
        if not float(frame).is_integer():
            return fill
        f = int(frame)
        if f in self.files:
            return self.working(f, source).copy()  # the caller converts its result in place
        h, w = fill.shape[:2]
        carried = []
        for key, weight, track in self.tracks.tracks(f, self.first):
            map_x, map_y, valid = track.full_size(h, w)
            image = self.working(key, source)
            warped = cv2.remap(image, map_x, map_y, cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
            # Bicubic overshoots; stay within the keyframe's own range.
            lo, hi = image.min(axis=(0, 1)), image.max(axis=(0, 1))
            carried.append((weight, np.clip(warped, lo, hi), valid))
        return composite(fill, carried)
