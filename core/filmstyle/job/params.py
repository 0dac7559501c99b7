"""The parameter table: every setting of a render, described once, as plain data.

Everything that names a setting is generated from :data:`PARAMETERS`: job-file parsing and
:meth:`~filmstyle.job.model.Job.to_data`, the JSON Schema, the commented job template, the
``stylize`` command's options, the worker's request model (its OpenAPI document) and the host
schema ``filmstyle_plugin/schema.json`` that the Nuke knobs, Fuse inputs and panel widgets are
built from. Adding a setting is one entry here plus the code that uses it.

An entry is a job field (``path`` set: ``"strength"``, ``"color.ocio"``), a command-line-only
option (``path=None`` with a ``cli`` flag: ``--blend``), or a host control that maps onto job
fields (``path=None``, ``host`` set: a built-in style picker whose value lands in
``styles[0].style``). Kinds:

==============  =================================================================================
``path``        a file or sequence path (relative paths resolve from the job file's folder)
``string``      any non-empty text
``frames``      a frame range ``1001-1100``, ``1001-1100x2``, ``1001,1005``
``part``        an EXR part name or index
``choice``      one of ``choices`` (``aliases`` map other spellings, e.g. YAML ``on`` → ``"on"``)
``device``      ``cpu``, ``cuda`` or ``cuda:N`` (:func:`filmstyle.models.device.parse_device`);
                ``choices`` are the ones host controls offer
``bool``        true or false
``number``      a plain number in ``[minimum, maximum]`` (``exclusive_minimum`` for ``> minimum``)
``integer``     a whole number, same bounds
``curve``       a number or a keyed curve (:func:`filmstyle.job.curves.parse_curve`), bounds on
                every key; ``off`` is the value that turns the feature off on every frame
``styles``      a blend: style names, image paths or ``{style, weight}`` entries
``regions``     regions: ``{name, mask, styles, strength}``
``look``        the look outside the regions: ``{styles, strength}``
``frame_files`` frames with a file each: ``{1040: paint.1040.exr}`` or ``["1040=paint.1040.exr"]``
==============  =================================================================================
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from filmstyle.choices import BIT_DEPTHS, PRECISIONS
from filmstyle.job.styles import BUILTIN_STYLES

__all__ = [
    "JOB_VERSION",
    "KINDS",
    "HOSTS",
    "Parameter",
    "PARAMETERS",
    "BY_NAME",
    "job_parameters",
    "cli_parameters",
    "host_parameters",
    "DEVICES",
    "TILING_MODES",
    "AUTO_TILE_PIXELS",
    "DEFAULT_TILE_SIZE",
    "MAX_TILE_SIZE",
    "DEFAULT_CUT_THRESHOLD",
    "PROXIES",
]

#: Version of the job format this table describes (``filmstyle: 2`` at the top of a job file).
JOB_VERSION = 2
KINDS = ("path", "string", "frames", "part", "choice", "device", "bool", "number", "integer", "curve",
         "styles", "regions", "look", "frame_files")  # fmt: skip
#: Hosts that build controls from the table: widget kinds per host are given per entry.
HOSTS = ("nuke", "fuse", "panel")
#: The devices host controls offer; a job also takes any ``cuda:N``.
DEVICES = ("cpu", "cuda")
#: ``tiling`` values: tile above :data:`AUTO_TILE_PIXELS`, always, never.
TILING_MODES = ("auto", "on", "off")
#: Frames with more pixels than this are tiled by default. UHD and DCI 4K still run whole on the
#: fast runner (about 3.2 GB peak at 3840x2160 on CPU, time linear in pixels); 6K and 8K tile.
AUTO_TILE_PIXELS = 4096 * 2304
DEFAULT_TILE_SIZE = 1024
#: Larger tiles than this would hold an 8K frame whole, which tiling exists to avoid.
MAX_TILE_SIZE = 8192
#: Luma-histogram distance (0..2) above which a frame may start a new shot.
DEFAULT_CUT_THRESHOLD = 0.35
#: ``proxy`` values and the factor a preview shrinks the frame by (see filmstyle.engine.preview).
PROXIES = {"full": 1, "1/2": 2, "1/4": 4}

#: ``--style`` and the host style pickers offer the built-in looks by name.
_STYLE_NAMES = tuple(BUILTIN_STYLES)


@dataclass(frozen=True)
class Parameter:
    """One setting: where it lives in a job, what values it takes, and how each surface shows it.

    Attributes:
        name: Python name, CLI option name (``--preserve-color``) and host control name.
        kind: one of :data:`KINDS`.
        help: one sentence for ``--help``, the JSON Schema, tooltips and the template.
        path: the job field (``"color.ocio"``); None for a CLI-only option or a host control.
        default: the value when the field is left out (None: unset).
        required: the job must give it.
        minimum, maximum: bounds of numbers and curves (every key of a curve).
        exclusive_minimum, exclusive_maximum: the bound itself is not allowed.
        choices: allowed values of a ``choice``.
        aliases: other spellings of a ``choice`` value (YAML reads ``on`` as true).
        off: for curves, the value that means "off" on every frame (the plan then holds None).
        unit: shown after values in help ("px", "stops").
        label: short human name for host controls.
        cli: the command-line flag(s); ``""`` = derived from the name; None = not on the command line;
            ``"ARGUMENT"`` = a positional argument.
        cli_type: how the command line reads the value (``str`` for curves, so keys can be typed).
        multiple: the option may be repeated (``--style A --style B``).
        template: the line's example value in ``filmstyle job init`` (None: the default, commented
            out when ``template_commented``); for structured kinds, a YAML block.
        template_commented: written as a comment in the template.
        hosts: widget kind per host (:data:`HOSTS`); a host not listed does not show the setting.
        soft_range: the slider range of host controls (the value may go beyond it where allowed).
        host: how host controls read it: for controls that are not job fields, the ``job`` path
            they land in, ``complement`` (a path given one minus the value), ``overrides`` (a
            control this one replaces when set), ``requires`` (a control that must be set),
            ``role`` (used by the host itself); for any control, ``none`` (the control value that
            means unset) and ``default`` (the control's default when it differs from the job's).
    """

    name: str
    kind: str
    help: str
    path: str | None = None
    default: Any = None
    required: bool = False
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = False
    exclusive_maximum: bool = False
    choices: tuple[Any, ...] = ()
    aliases: Mapping[Any, Any] = field(default_factory=lambda: MappingProxyType({}))
    off: float | None = None
    unit: str | None = None
    label: str | None = None
    cli: str | None = ""
    cli_short: str | None = None
    multiple: bool = False
    template: str | None = None
    template_commented: bool = False
    hosts: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    soft_range: tuple[float, float] | None = None
    host: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"parameter {self.name}: kind {self.kind!r}, valid: {', '.join(KINDS)}")
        for host in self.hosts:
            if host not in HOSTS:
                raise ValueError(f"parameter {self.name}: host {host!r}, valid: {', '.join(HOSTS)}")
        object.__setattr__(self, "aliases", MappingProxyType(dict(self.aliases)))
        object.__setattr__(self, "hosts", MappingProxyType(dict(self.hosts)))
        object.__setattr__(self, "host", MappingProxyType(dict(self.host)))

    @property
    def keyable(self) -> bool:
        """Whether the value may change over a shot (a curve)."""
        return self.kind == "curve"

    @property
    def flag(self) -> str | None:
        """The command-line flag (``--preserve-color``), None when not on the command line."""
        if self.cli is None or self.cli == "ARGUMENT":
            return None
        return self.cli or "--" + self.name.replace("_", "-")

    @property
    def key(self) -> str:
        """The last component of the job path (the YAML key)."""
        assert self.path is not None
        return self.path.rsplit(".", 1)[-1]

    @property
    def group(self) -> str | None:
        """The mapping a nested field sits in (``"color"`` for ``color.ocio``), else None."""
        assert self.path is not None
        return self.path.rsplit(".", 1)[0] if "." in self.path else None

    def bounds_text(self) -> str:
        """The range in words, for help and errors: ``0..1``, ``> 0``, ``>= 64``."""
        lo, hi = self.minimum, self.maximum
        if lo is not None and hi is not None and not self.exclusive_minimum and not self.exclusive_maximum:
            return f"{lo:g}..{hi:g}"
        parts = []
        if lo is not None:
            parts.append(f"{'>' if self.exclusive_minimum else '>='} {lo:g}")
        if hi is not None:
            parts.append(f"{'<' if self.exclusive_maximum else '<='} {hi:g}")
        return " and ".join(parts)


def _p(name: str, kind: str, help: str, **kw: Any) -> Parameter:
    kw.setdefault("path", name)
    return Parameter(name, kind, help, **kw)


_CURVE_HOSTS = {"nuke": "Double_Knob", "fuse": "SliderControl", "panel": "curve"}

#: Every setting, in the order the template, ``--help`` and host panels show them.
PARAMETERS: tuple[Parameter, ...] = (
    # -- files ---------------------------------------------------------------------------------
    _p("input", "path", "Source frame or sequence: shot.####.exr, shot.%04d.exr, shot.$F4.exr, or one file; "
       "or a movie (MOV/MP4/MXF: ProRes, DNxHR, H.264, H.265), frames numbered from its timecode or 1001.",
       required=True, cli="ARGUMENT", template="plates/shot.####.exr"),
    _p("output", "path", "Output frame or sequence pattern (never a source frame), or a ProRes .mov.",
       required=True, cli="ARGUMENT", template="render/shot_styled.####.exr"),
    _p("frames", "frames", "Frames to render: 1001-1100, 1001-1100x2 or 1001,1005,1010-1020 "
       "(default: every frame of the input on disk).", template="1001-1100", template_commented=True),
    _p("layer", "string", "EXR layer to stylize (default: the main R, G, B).", template="diffuse",
       template_commented=True),
    _p("part", "part", "Multi-part EXR: the part to stylize, by name or index.", template="beauty",
       template_commented=True),
    # -- the look --------------------------------------------------------------------------------
    _p("styles", "styles", "The styles: built-in looks (`filmstyle styles`), image files, custom:MODEL or "
       "user style names; several make a blend (all built-ins or all images), weights normalised per frame.",
       cli="--style", cli_short="-s", multiple=True,
       template="- style: pale-wash\n  weight: \"1001:1, 1100:0\"\n- style: starry-blue\n  weight: \"1001:0, 1100:1\""),
    # host controls: a style picker, an image and a second look, landing in styles[0] and styles[1]
    Parameter("style", "choice", "One of the 26 built-in looks.", choices=_STYLE_NAMES, default="starry-blue",
              cli=None, label="style", hosts={"nuke": "Enumeration_Knob", "fuse": "ComboControl", "panel": "style"},
              host={"job": "styles[0].style"}),
    Parameter("style_image", "path", "Any painting or photograph; when set it replaces the built-in look.",
              cli=None, default="", label="style image",
              hosts={"nuke": "File_Knob", "fuse": "FileControl", "panel": "file"},
              host={"job": "styles[0].style", "overrides": "style"}),
    Parameter("style2", "choice", "A second built-in look to blend towards (see blend).",
              choices=("none", *_STYLE_NAMES), default="none", cli=None, label="second style",
              hosts={"nuke": "Enumeration_Knob", "fuse": "ComboControl", "panel": "style"},
              host={"job": "styles[1].style", "none": "none"}),
    Parameter("blend", "curve", "With several --style: the weight of the LAST style (0..1, number or curve), "
              "the others sharing the rest; \"1001:0, 1100:1\" migrates from the first to the last. "
              "Default: an even mix.", minimum=0.0, maximum=1.0, label="blend",
              hosts=_CURVE_HOSTS, soft_range=(0.0, 1.0), default=0.5,
              host={"job": "styles[1].weight", "complement": "styles[0].weight", "requires": "style2"}),
    _p("strength", "curve", "0 = untouched source, 1 = full style; image styles go to 2 (exaggerated). "
       "A number or a curve: \"1001:0, 1040:1 smooth, 1100:0.3 hold\" or Nuke \"{curve x1001 0 x1040 1}\".",
       default=1.0, minimum=0.0, maximum=2.0, hosts=_CURVE_HOSTS, soft_range=(0.0, 2.0),
       template='"1001:0, 1040:1 smooth, 1100:0.3 hold"'),
    _p("regions", "regions", "Regions with looks of their own, later ones over earlier ones.", cli=None,
       template_commented=True,
       template="- name: face\n  mask:\n    ellipse: {center: [\"1001:900, 1100:1020\", 420], radius: [220, 300], "
       "feather: 60}\n  styles: [stained-glass]      # default: the top-level styles\n  strength: 1"
       "                  # default: the top-level strength\n- name: sky\n  mask: {file: mattes/sky.####.exr, "
       "channel: A}   # or {channel: matte.R} of the input"),
    _p("default", "look", "With regions: the look outside them ({} = the top-level styles and strength); "
       "left out = untouched outside.", cli=None, template="{}", template_commented=True),
    _p("keyframes", "frame_files", "Painted keyframes: frame -> the image an artist stylized or retouched for "
       "it (the plate's size and colourspace), given as 1040=paint.1040.exr. Every frame follows the nearest "
       "keyframes along the plate's motion, blended by distance; what they do not see is filled by the "
       "network with the keyframes as the style (or with the styles, when given). Whole-frame jobs only.",
       cli="--keyframe", multiple=True, template="{1040: paint/shot_styled.1040.exr}", template_commented=True),
    # -- colour ----------------------------------------------------------------------------------
    _p("ocio", "path", "OCIO config file or URI (default: $OCIO, else the built-in ACES studio config).",
       path="color.ocio", label="OCIO config", hosts={"nuke": "File_Knob", "fuse": "FileControl", "panel": "file"}),
    _p("input_colorspace", "string", "Colourspace of the source (default per format: EXR ACEScg, DPX as "
       "tagged, PNG/JPEG/TIFF sRGB).", path="color.input_colorspace", label="input colourspace",
       hosts={"nuke": "String_Knob", "fuse": "ComboControl", "panel": "colorspace"},
       host={"default": "scene_linear"}),
    _p("working_space", "string", "Space the network runs in (default: filmstyle's display shaper; or any "
       "config colourspace).", path="color.working_space"),
    _p("output_colorspace", "string", "Colourspace of output in another format than the source (default "
       "that format's: EXR ACEScg, DPX ADX10, PNG/JPEG/TIFF sRGB).", path="color.output_colorspace"),
    # -- model -----------------------------------------------------------------------------------
    _p("device", "device", "Where the network runs: cpu, cuda or cuda:N.", default="cpu", choices=DEVICES,
       hosts={"nuke": "Enumeration_Knob", "fuse": "ComboControl", "panel": "combo"}),
    _p("precision", "choice", "Network precision: fp32 (IEEE, also on CUDA), fp16 or bf16 (worth it on a GPU), "
       "tf32 (CUDA).",
       default="fp32", choices=PRECISIONS, hosts={"nuke": "Enumeration_Knob", "fuse": "ComboControl",
                                                  "panel": "combo"}),
    # -- output ----------------------------------------------------------------------------------
    _p("bit_depth", "choice", "Output depth (default: the source's).", choices=BIT_DEPTHS,
       aliases={"8": 8, "10": 10, "12": 12, "16": 16}),
    _p("compression", "string", "Output compression (default: the source's; a lossy EXR source (dwaa, "
       "dwab, b44) is written zip so untouched channels stay bit-exact)."),
    _p("overwrite", "bool", "Re-render frames whose output already exists.", default=False),
    _p("clean_nans", "bool", "Replace NaN/Inf pixels instead of refusing the frame.", default=False),
    # -- shot quality ----------------------------------------------------------------------------
    _p("temporal", "curve", "Flicker reduction 0..<1 (number or curve; 0.6-0.7 typical): weight of the "
       "flow-warped previous result; 0 = off.", default=0.0, minimum=0.0, maximum=1.0, exclusive_maximum=True,
       off=0.0, hosts=_CURVE_HOSTS, soft_range=(0.0, 0.95)),
    _p("temporal_anchor", "curve", "Long-range steadiness 0..1 (number or curve): the look's texture is held on the "
       "content along the plate's motion (re-anchored every few frames) instead of repainted each frame; the "
       "network paints only what is new. 0 = off.", default=0.0, minimum=0.0, maximum=1.0, off=0.0,
       label="temporal anchor", hosts=_CURVE_HOSTS, soft_range=(0.0, 1.0)),
    _p("temporal_cut_threshold", "number", "Luma-histogram jump (0..2) that counts as a shot cut.",
       default=DEFAULT_CUT_THRESHOLD, minimum=0.0, maximum=2.0, exclusive_minimum=True, template_commented=True),
    _p("preserve_color", "curve", "Keep the plate's colours (Oklab chroma and hue) under the style's light "
       "and texture, 0..1 (number or curve).", default=0.0, minimum=0.0, maximum=1.0, off=0.0,
       label="preserve colour", hosts=_CURVE_HOSTS, soft_range=(0.0, 1.0)),
    _p("tone", "curve", "Keep the plate's tonal key (black, mid-grey and highlight levels, contrast) under the look's "
       "texture and palette, so a low-key shot stays low-key, 0..1 (number or curve).",
       default=0.0, minimum=0.0, maximum=1.0, off=0.0, label="tone", hosts=_CURVE_HOSTS, soft_range=(0.0, 1.0)),
    _p("histogram_match", "curve", "Match the plate's per-channel histograms, 0..1 (number or curve).",
       default=0.0, minimum=0.0, maximum=1.0, off=0.0),
    # 0.25 runs the network at 4320 rows (8K) whatever the plate; beyond 135 it would run below 8.
    _p("stroke_scale", "number", "Strokes sized as at 1080 rows times this, at any resolution (default: the "
       "network at full resolution).", minimum=0.25, maximum=100.0, template="1",
       template_commented=True, label="stroke scale", soft_range=(0.0, 4.0),
       hosts={"nuke": "Double_Knob", "fuse": "SliderControl", "panel": "slider"}, host={"none": 0.0}),
    _p("stroke_detail", "number", "With stroke_scale: the plate's fine detail added back, 0..1.",
       default=1.0, minimum=0.0, maximum=1.0, template_commented=True),
    _p("tiling", "choice", f"auto (tile frames above {AUTO_TILE_PIXELS // 2304}x2304 pixels), on or off.",
       default="auto", choices=TILING_MODES, aliases={True: "on", False: "off"}),
    _p("tile_size", "integer", "Tile side in pixels.", default=DEFAULT_TILE_SIZE, minimum=64, maximum=MAX_TILE_SIZE,
       unit="px",
       template_commented=True),
    _p("proxy", "choice", "Preview: run the network on a 1/2 or 1/4 frame with the full render's stroke size "
       "and enlarge it guided by the plate (the host controls' interactive default is 1/2); full = final quality.",
       default="full", choices=tuple(PROXIES), label="preview proxy",
       hosts={"nuke": "Enumeration_Knob", "panel": "combo"}, host={"default": "1/2"}),
    _p("shot_stats", "bool", "Freeze the network's instance-norm statistics per shot (no tone pumping; "
       "reset on cuts).", default=False),
    Parameter("mask_channel", "choice", "Which channel of the Mask input limits the look.",
              choices=("rgba.alpha", "rgba.red", "rgba.green", "rgba.blue"), default="rgba.alpha", cli=None,
              label="mask channel", hosts={"nuke": "Enumeration_Knob", "fuse": "ComboControl", "panel": "combo"},
              host={"role": "mask"}),
)

BY_NAME: Mapping[str, Parameter] = MappingProxyType({p.name: p for p in PARAMETERS})


def job_parameters() -> tuple[Parameter, ...]:
    """The entries that are job fields, in table order."""
    return tuple(p for p in PARAMETERS if p.path is not None)


def cli_parameters() -> tuple[Parameter, ...]:
    """The entries the ``stylize`` command offers (arguments and options), in table order."""
    return tuple(p for p in PARAMETERS if p.cli is not None)


def host_parameters(host: str | None = None) -> tuple[Parameter, ...]:
    """The entries a host shows (any host when ``host`` is None), in table order."""
    return tuple(p for p in PARAMETERS if (p.hosts and host is None) or (host is not None and host in p.hosts))
