"""DaVinci Resolve's timeline colourspaces, for OCIO configs that lack them.

A Resolve timeline hands Fusion (and renders) pixels in its timeline colourspace. The usual ones:

* **Rec.709 Gamma 2.4** — the default of a DaVinci YRGB project: Rec.709 primaries, a pure 2.4
  power (BT.1886 with a zero black level);
* **DaVinci Wide Gamut / DaVinci Intermediate** — the colour-managed default ("DaVinci YRGB Color
  Managed", wide gamut presets): Blackmagic's wide gamut with its log encoding;
* **Linear DaVinci Wide Gamut** — the same gamut, scene-linear (Fusion linear workflows).

OCIO's ACES studio config (the default, ``ocio://studio-config-latest``) has all three
(``DaVinci Intermediate WideGamut``, ``Linear DaVinci WideGamut``, ``Gamma 2.4 Encoded Rec.709``);
the CG config and many studio configs do not. :func:`add_resolve_spaces` adds whichever are missing
to a copy of a config, defined against the config's linear Rec.709 space, so the same names work
whatever config a job uses.

The formulas are Blackmagic Design's published ones ("DaVinci Resolve 17 Wide Gamut Intermediate",
2021). DaVinci Intermediate, linear ``L`` to code ``V``::

    V = L * M                         for L <= LIN_CUT
    V = (log2(L + A) + B) * C         otherwise

with ``A = 0.0075, B = 7.0, C = 0.07329248, M = 10.44426855, LIN_CUT = 0.00262409``
(code 0.02740668 at the cut): linear 0 → 0, 0.18 → 0.336, 1 → 0.514, 100 → 1.0.
DaVinci Wide Gamut primaries (CIE xy): R (0.8000, 0.3130), G (0.1682, 0.9877),
B (0.0790, −0.1155), white D65 (0.3127, 0.3290).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import PyOpenColorIO as OCIO

__all__ = [
    "DI_A",
    "DI_B",
    "DI_C",
    "DI_M",
    "DI_LIN_CUT",
    "DI_LOG_CUT",
    "DWG_PRIMARIES",
    "REC709_PRIMARIES",
    "D65",
    "RESOLVE_SPACES",
    "ResolveSpace",
    "davinci_intermediate_encode",
    "davinci_intermediate_decode",
    "rgb_to_xyz_matrix",
    "dwg_to_rec709_matrix",
    "add_resolve_spaces",
]

DI_A = 0.0075
DI_B = 7.0
DI_C = 0.07329248
DI_M = 10.44426855
DI_LIN_CUT = 0.00262409
DI_LOG_CUT = 0.02740668

#: CIE xy of the red, green and blue primaries.
DWG_PRIMARIES = ((0.8000, 0.3130), (0.1682, 0.9877), (0.0790, -0.1155))
REC709_PRIMARIES = ((0.640, 0.330), (0.300, 0.600), (0.150, 0.060))
D65 = (0.3127, 0.3290)

#: Candidate names of a config's linear Rec.709 space, the anchor the added spaces are defined on.
_LINEAR_REC709 = ("Linear Rec.709 (sRGB)", "lin_rec709", "lin_rec709_srgb", "Utility - Linear - sRGB",
                  "linear_srgb", "lin_srgb")


def davinci_intermediate_encode(linear: np.ndarray | float) -> np.ndarray:
    """Scene-linear (DaVinci Wide Gamut) → DaVinci Intermediate code, element-wise."""
    x = np.asarray(linear, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        log = (np.log2(np.maximum(x, DI_LIN_CUT) + DI_A) + DI_B) * DI_C
    return np.where(x <= DI_LIN_CUT, x * DI_M, log)


def davinci_intermediate_decode(code: np.ndarray | float) -> np.ndarray:
    """DaVinci Intermediate code → scene-linear, element-wise (the inverse of the encode)."""
    v = np.asarray(code, dtype=np.float64)
    return np.where(v <= DI_LOG_CUT, v / DI_M, np.exp2(np.maximum(v, DI_LOG_CUT) / DI_C - DI_B) - DI_A)


def rgb_to_xyz_matrix(primaries: tuple[tuple[float, float], ...], white: tuple[float, float]) -> np.ndarray:
    """The 3x3 RGB → CIE XYZ matrix of an RGB space from its primaries and white point (xy).

    The standard construction (SMPTE RP 177): columns are the primaries' XYZ (at Y = 1), scaled so
    that RGB (1, 1, 1) lands on the white point at Y = 1.
    """
    def xyz(xy: tuple[float, float]) -> np.ndarray:
        x, y = xy
        return np.array([x / y, 1.0, (1.0 - x - y) / y])

    columns = np.stack([xyz(p) for p in primaries], axis=1)
    scale = np.linalg.solve(columns, xyz(white))
    return columns * scale


def dwg_to_rec709_matrix() -> np.ndarray:
    """Linear DaVinci Wide Gamut → linear Rec.709 (both D65, so no chromatic adaptation)."""
    return np.linalg.inv(rgb_to_xyz_matrix(REC709_PRIMARIES, D65)) @ rgb_to_xyz_matrix(DWG_PRIMARIES, D65)


@dataclass(frozen=True)
class ResolveSpace:
    """One Resolve timeline colourspace: its OCIO name, aliases, encoding and how it decodes."""

    name: str
    aliases: tuple[str, ...]
    encoding: str
    description: str


RESOLVE_SPACES: tuple[ResolveSpace, ...] = (
    ResolveSpace("DaVinci Intermediate WideGamut", ("davinci_intermediate_widegamut", "DaVinci Intermediate"),
                 "log", "DaVinci Wide Gamut primaries, DaVinci Intermediate log encoding (Blackmagic Design)"),
    ResolveSpace("Linear DaVinci WideGamut", ("lin_davinci_widegamut", "Linear DaVinci Wide Gamut"),
                 "scene-linear", "DaVinci Wide Gamut primaries, scene-linear (Blackmagic Design)"),
    ResolveSpace("Gamma 2.4 Encoded Rec.709", ("g24_rec709", "Rec.709 Gamma 2.4"),
                 "sdr-video", "Rec.709 primaries, pure 2.4 power (Resolve's default timeline space)"),
)


def _known(config: OCIO.Config, name: str) -> bool:
    return config.getColorSpace(name) is not None


def _to_reference(config: OCIO.Config, anchor: str) -> OCIO.Transform | None:
    """The anchor colourspace's own transform to the config's reference space (None = identity)."""
    cs = config.getColorSpace(anchor)
    forward = cs.getTransform(OCIO.COLORSPACE_DIR_TO_REFERENCE)
    if forward is not None:
        return forward
    backward = cs.getTransform(OCIO.COLORSPACE_DIR_FROM_REFERENCE)
    if backward is None:
        return None  # the anchor is the reference itself
    inverse = copy.deepcopy(backward)
    inverse.setDirection(OCIO.TRANSFORM_DIR_INVERSE)
    return inverse


def _matrix44(m3: np.ndarray) -> list[float]:
    m = np.eye(4)
    m[:3, :3] = m3
    return [float(v) for v in m.ravel()]


def _decode_steps(space: ResolveSpace) -> list[OCIO.Transform]:
    """Transforms from ``space``'s code values to linear Rec.709."""
    to_709 = OCIO.MatrixTransform(_matrix44(dwg_to_rec709_matrix()))
    if space.name.startswith("DaVinci Intermediate"):
        log = OCIO.LogCameraTransform(
            base=2.0, logSideSlope=[DI_C] * 3, logSideOffset=[DI_B * DI_C] * 3, linSideSlope=[1.0] * 3,
            linSideOffset=[DI_A] * 3, linSideBreak=[DI_LIN_CUT] * 3, linearSlope=[DI_M] * 3,
            direction=OCIO.TRANSFORM_DIR_INVERSE)
        return [log, to_709]
    if space.name.startswith("Linear DaVinci"):
        return [to_709]
    # A pure power; negative codes pass through unchanged (OCIO's pass_thru, as the studio config).
    return [OCIO.ExponentTransform([2.4, 2.4, 2.4, 1.0], OCIO.NEGATIVE_PASS_THRU)]


def add_resolve_spaces(config: OCIO.Config) -> OCIO.Config:
    """``config``, or an edited copy of it with the Resolve spaces it lacks (see :data:`RESOLVE_SPACES`).

    A space is added only when neither its name nor any alias is known to the config, and only
    when the config has a linear Rec.709 space to define it on; otherwise ``config`` is returned
    unchanged (and a job naming the space gets the usual unknown-colourspace error).
    """
    missing = [s for s in RESOLVE_SPACES if not any(_known(config, n) for n in (s.name, *s.aliases))]
    if not missing:
        return config
    anchor = next((config.getColorSpace(n).getName() for n in _LINEAR_REC709 if _known(config, n)), None)
    if anchor is None:
        return config
    edited = copy.deepcopy(config)  # the caller's config stays as it was
    to_reference = _to_reference(config, anchor)
    for space in missing:
        steps = _decode_steps(space)
        if to_reference is not None:
            steps.append(to_reference)
        cs = OCIO.ColorSpace(
            referenceSpace=config.getColorSpace(anchor).getReferenceSpaceType(),
            name=space.name, aliases=list(space.aliases), family="Input/BlackmagicDesign (filmstyle)",
            encoding=space.encoding, description=space.description,
            toReference=OCIO.GroupTransform(steps))
        edited.addColorSpace(cs)
    return edited
