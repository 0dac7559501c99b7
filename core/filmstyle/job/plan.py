"""The render plan: everything a render needs, validated; what the engine consumes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from filmstyle import io
from filmstyle.errors import OutputError, StyleError
from filmstyle.job.look import Look, NetworkOptions, Param, StyleLayer, StyleWeight, blend_model, constant
from filmstyle.job.regions import Region, RegionSet

__all__ = ["RenderPlan"]


@dataclass
class RenderPlan:
    """Everything a render needs, validated; built by the CLI or a job file (one code path).

    Without ``regions`` the look (``styles`` at ``strength``) covers the whole frame. With
    ``regions`` each region gets its own look inside its mask and ``default`` (None: untouched)
    covers the rest; ``styles``/``strength`` are then unused (jobs fill regions from them).
    """

    source: io.FrameSequence
    output: io.FrameSequence
    styles: Sequence[StyleLayer] = ()
    strength: Param = field(default_factory=lambda: constant(1.0))
    layer: str | None = None
    part: int | str | None = None
    ocio: str | None = None
    input_colorspace: str | None = None
    working_space: str | None = None
    clean_nans: bool = False
    overwrite: bool = False
    device: str = "cpu"
    precision: str = "fp32"
    write_options: io.WriteOptions | None = None
    regions: Sequence[Region] = ()
    default: Look | None = None
    #: Temporal blend amount ``a`` per frame (0..1, below 1); None = off.
    temporal: Param | None = None
    #: Luma-histogram distance (0..2) above which a frame may be a cut; None = the blender's default.
    temporal_cut_threshold: float | None = None
    #: Keep the source's Oklab chroma under the stylized lightness (0..1 per frame); None = off.
    preserve_colour: Param | None = None
    #: Match the stylized channels' histograms to the source (0..1 per frame); None = off.
    histogram_match: Param | None = None
    network: NetworkOptions = field(default_factory=NetworkOptions)
    #: Colourspace of an output in another format than the source (None: that format's default
    #: input colourspace, so the file reads back as written); refused for same-format output.
    output_colorspace: str | None = None

    def __post_init__(self) -> None:
        self.styles = tuple(self.styles)
        self.regions = tuple(self.regions)
        if not self.regions:
            if self.default is not None:
                raise StyleError("default: a look for outside the regions needs at least one region")
            blend_model([StyleWeight(s.style, 1.0) for s in self.styles], field="styles")
        if self.output_format is None:
            first_out = self.output.path(self.output.frames[0])
            raise OutputError(f"{first_out}: unknown image extension {first_out.suffix!r}")
        if self.output_colorspace is not None:
            src_fmt = io.format_for_path(self.source.path(self.source.frames[0]))
            if src_fmt == self.output_format:
                raise OutputError(
                    f"output_colorspace: only for output in another format than the source (both "
                    f"{src_fmt}); same-format output keeps the source's colourspace and every channel")
        sources = {self.source.path(f).resolve() for f in self.source.frames}
        for frame in self.output.frames:
            out = self.output.path(frame).resolve()
            if out in sources:
                raise OutputError(f"output {out} is a source frame; choose another output path")

    @property
    def look(self) -> Look | None:
        """The whole-frame look (None when the plan has regions and no top-level styles)."""
        return Look(tuple(self.styles), self.strength) if self.styles else None

    @property
    def region_set(self) -> RegionSet | None:
        return RegionSet(tuple(self.regions), self.default) if self.regions else None

    @property
    def looks(self) -> list[Look]:
        """Every look the render may run."""
        if self.regions:
            return self.region_set.looks  # type: ignore[union-attr]
        return [self.look]  # type: ignore[list-item]

    @property
    def model(self) -> str:
        """The model of the first look (whole-frame plans have one)."""
        return self.looks[0].model

    @property
    def output_format(self) -> str | None:
        """OIIO format name of the output frames (from the pattern's extension)."""
        return io.format_for_path(self.output.path(self.output.frames[0]))

    @property
    def tracks_shots(self) -> bool:
        """True when frames depend on earlier frames (temporal blending or per-shot statistics)."""
        return self.temporal is not None or self.network.shot_stats
