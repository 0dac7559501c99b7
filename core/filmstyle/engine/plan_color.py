"""A plan's colour management: source ↔ working space ↔ output file, and the alpha convention.

Premultiplied sources are stylized un-premultiplied (edges take the style's colour rather than a
darkened one) and premultiplied again afterwards. Output in the source's format stays in the
source's colourspace; output in another format is converted, on straight colour, to that format's
colourspace (the plan's ``output_colorspace``, else the one filmstyle reads that format in by
default) and tagged, so it reads back as written.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from filmstyle import color, io
from filmstyle.cpu import physical_cores
from filmstyle.errors import InputError
from filmstyle.job.plan import RenderPlan
from filmstyle.job.styles import check_style_image

__all__ = ["PlanColor", "associated_alpha", "straight", "finite_rgb"]


def associated_alpha(frame: io.SourceFrame) -> np.ndarray | None:
    """The alpha ``frame``'s RGB is premultiplied by, or None."""
    return frame.alpha if frame.alpha is not None and frame.alpha_associated else None


def straight(frame: io.SourceFrame, rgb: np.ndarray) -> np.ndarray:
    """``rgb`` un-premultiplied when ``frame`` has associated alpha (else ``rgb`` itself)."""
    alpha = associated_alpha(frame)
    return color.unpremultiply(rgb, alpha) if alpha is not None else rgb


def finite_rgb(rgb: np.ndarray, clean: bool, what: str) -> np.ndarray:
    """``rgb`` when every value is finite; else refused naming ``what`` (an image the job reads,
    as a plate with NaN/Inf is), or with ``clean`` (the job's ``clean_nans``) cleaned."""
    bad = color.count_nonfinite(rgb)
    if not bad:
        return rgb
    if not clean:
        raise InputError(f"{what} has {bad} NaN/Inf pixel values in RGB (use --clean-nans to replace them)")
    return color.clean_nonfinite(rgb)


class PlanColor:
    """The colour transforms of one plan, made once per colourspace and reused across frames."""

    def __init__(self, plan: RenderPlan) -> None:
        self.plan = plan
        self.config = color.load_config(plan.ocio)
        self._transforms: dict[tuple[str, str | None], color.ColorTransform] = {}
        self._output_transforms: dict[str, color.ColorTransform] = {}  # by source colourspace
        self._output_format = plan.output_format
        # Checked here, before any frame is read; None = the output format's default.
        self._output_colorspace = (None if plan.output_colorspace is None else
                                   color.resolve_colorspace(self.config, plan.output_colorspace, "output_colorspace"))

    def input_colorspace_for(self, frame: io.SourceFrame) -> str:
        """The colourspace ``frame``'s pixels are in: the plan's, else the file's tag or format default."""
        return self.plan.input_colorspace or color.default_input_colorspace(
            frame.format_name, frame.colorspace_hint, self.config
        )

    def transform_for(self, frame: io.SourceFrame) -> color.ColorTransform:
        """Source colourspace ↔ working space for ``frame``."""
        name = self.input_colorspace_for(frame)
        key = (name, self.plan.working_space)
        if key not in self._transforms:
            self._transforms[key] = color.ColorTransform(self.config, name, self.plan.working_space,
                                                         threads=physical_cores())
        return self._transforms[key]

    def working(self, frame: io.SourceFrame, straight_rgb: np.ndarray) -> np.ndarray:
        """Straight source RGB in the working space, ``(H, W, 3)`` float32 (a new array)."""
        # np.array always copies, so converting in place spares a full-frame buffer.
        return self.transform_for(frame).to_working(np.array(straight_rgb, dtype=np.float32, order="C"), inplace=True)

    def straight_working(self, frame: io.SourceFrame, rgb: np.ndarray) -> np.ndarray:
        """``rgb`` (``frame``'s alpha convention) straight, cleaned of NaN/Inf, in the working space."""
        flat = straight(frame, rgb)
        if color.count_nonfinite(flat):
            flat = color.clean_nonfinite(flat)
        return self.working(frame, flat)

    def output_transform(self, frame: io.SourceFrame) -> color.ColorTransform | None:
        """Source colourspace → the output file's, when the output is in another format; else None."""
        if self._output_format == frame.format_name:
            return None
        source_cs = self.input_colorspace_for(frame)
        if source_cs not in self._output_transforms:
            name = self._output_colorspace or color.default_input_colorspace(self._output_format, None, self.config)
            self._output_transforms[source_cs] = color.ColorTransform(self.config, source_cs, name,
                                                                      threads=physical_cores())
        return self._output_transforms[source_cs]

    def to_output(self, frame: io.SourceFrame, rgb: np.ndarray) -> tuple[np.ndarray, io.WriteOptions | None]:
        """``rgb`` (the source's colourspace and alpha) as the output file holds it, and the write options.

        Same-format output is returned as it is. Another format gets the pixels converted to its
        colourspace (on straight colour, premultiplied again as the source was) and a tag saying so.
        """
        conv = self.output_transform(frame)
        if conv is None:
            return rgb, self.plan.write_options
        film_log = self._output_format == "dpx" and conv.working_space == color.default_input_colorspace(
            "dpx", None, self.config)
        options = replace(self.plan.write_options or io.WriteOptions(), colorspace=conv.working_space,
                          dpx_transfer="Printing density" if film_log else None)
        if conv.is_identity:
            return rgb, options
        alpha = associated_alpha(frame)
        out = conv.to_working(np.array(straight(frame, rgb), dtype=np.float32, order="C"), inplace=True)
        return (color.premultiply(out, alpha) if alpha is not None else out), options

    def from_output(self, frame: io.SourceFrame, output: io.SourceFrame) -> np.ndarray:
        """``output`` (a frame this plan wrote for ``frame``, read back) as ``frame``'s RGB would
        hold it: the source's colourspace and alpha convention (the inverse of :meth:`to_output`)."""
        conv = self.output_transform(frame)
        if conv is None:
            return output.rgb
        flat = np.array(straight(output, output.rgb), dtype=np.float32, order="C")
        if not conv.is_identity:
            flat = conv.from_working(flat, inplace=True)
        alpha = associated_alpha(frame)
        return color.premultiply(flat, alpha) if alpha is not None else flat

    def load_style_image(self, path: Path) -> np.ndarray:
        """A style image in the working space, colour-managed like a plate of its own format.

        NaN/Inf follow the plate's rule (refused, or cleaned with ``clean_nans``): cleaned
        silently, an image of NaN became a black style and a wrong render nobody asked for.
        """
        keyframe = next((f for f, file in self.plan.keyframes if file.resolve() == path.resolve()), None)
        if keyframe is None:  # a keyframe has the plate's size, and the render reads it whole anyway
            check_style_image(path)
        what = f"style image {path}" if keyframe is None else f"keyframes[{keyframe}]: {path.name}"
        frame = io.read_frame(path)
        rgb = finite_rgb(frame.rgb, bool(self.plan.clean_nans), what)
        working = self.transform_for(frame).to_working(np.ascontiguousarray(rgb, dtype=np.float32))
        return np.clip(working, 0.0, 1.0)
