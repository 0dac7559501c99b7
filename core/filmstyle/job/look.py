"""A look: a keyable blend of styles at a keyable strength, and how the network runs it.

Plain immutable values that the job model builds and the engine consumes. Strength semantics
(the same number means the same thing on every frame, in every host):

* ``0`` — the source passes through untouched; the network does not run.
* ``0 < s <= 1`` — a mix in the working space between the source and the full stylization:
  ``out = src + s * (stylized - src)``. Linear in ``s`` for both models, so a keyed ramp fades
  the look in evenly.
* ``1 < s <= 2`` — arbitrary (image) styles only: the style vector is pushed past the style,
  away from the content's own vector, ``v = v_content + s * (v_style - v_content)``, which
  exaggerates the style's textures and palette. The 26 built-in looks and user models stop at 1.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from filmstyle.errors import StyleError
from filmstyle.job.params import AUTO_TILE_PIXELS, DEFAULT_TILE_SIZE
from filmstyle.job.styles import StyleRef

__all__ = [
    "MAX_STRENGTH",
    "Param",
    "constant",
    "StyleWeight",
    "StyleLayer",
    "Look",
    "NetworkOptions",
    "blend_model",
]

#: Largest strength per model; see the module docstring.
MAX_STRENGTH = {"cin26": 1.0, "arbitrary": 2.0, "custom": 1.0}


#: A per-frame number: a constant or a keyed curve's ``value_at``.
Param = Callable[[float], float]


def constant(value: float) -> Param:
    """A :data:`Param` that is ``value`` on every frame."""
    value = float(value)
    return lambda frame: value


@dataclass(frozen=True)
class StyleWeight:
    """One style of a blend and its (not yet normalised) weight for the current frame."""

    style: StyleRef
    weight: float


def blend_model(blend: Sequence[StyleWeight], *, field: str = "styles") -> str:
    """The single model a blend runs on; styles of the two models cannot be mixed in one blend."""
    models = {sw.style.model for sw in blend}
    if not models:
        raise StyleError(f"{field}: no style given")
    if "custom" in models and len({sw.style for sw in blend}) > 1:
        # Two user networks have nothing in common to blend; regions can put them side by side.
        raise StyleError(f"{field}: a custom model cannot be blended with other styles; put it in a region of its own")
    if len(models) > 1:
        raise StyleError(
            f"{field}: cannot blend built-in looks with image styles in one blend (built-ins run on the "
            "26-style network, images on the arbitrary network); put them in separate regions"
        )
    return models.pop()


@dataclass(frozen=True)
class NetworkOptions:
    """How the network runs on a frame (see :mod:`filmstyle.engine.tiling`).

    Attributes:
        tiling: ``"auto"`` (tile frames above ``min_pixels``), ``"on"`` or ``"off"``.
        tile_size: tile side in pixels (before the halo).
        stroke_scale: None = the network at the frame's own resolution (strokes fixed in
            pixels); a number = strokes sized as at 1080 rows times this, see
            :func:`filmstyle.engine.tiling.stroke_scaled`.
        stroke_detail: weight of the source's fine luminance detail added back (0..1).
        shot_stats: freeze instance-norm statistics at the first frame of each shot.
        min_pixels: the ``auto`` threshold.
        proxy: 1 = the full network; 2 or 4 = a preview on a frame that many times smaller
            (:mod:`filmstyle.engine.preview`).
    """

    tiling: str = "auto"
    tile_size: int = DEFAULT_TILE_SIZE
    stroke_scale: float | None = None
    stroke_detail: float = 1.0
    shot_stats: bool = False
    min_pixels: int = AUTO_TILE_PIXELS
    proxy: int = 1

    def tiled(self, height: int, width: int) -> bool:
        if self.tiling == "auto":
            return height * width > self.min_pixels
        return self.tiling == "on"


@dataclass(frozen=True)
class StyleLayer:
    """One style of a look with its (keyable) blend weight."""

    style: StyleRef
    weight: Param = field(default_factory=lambda: constant(1.0))


@dataclass(frozen=True)
class Look:
    """A keyable style blend at a keyable strength: what the whole frame, or one region, gets.

    Weights are normalised per frame (``[A: 1, B: 3]`` is 25 % A, 75 % B); every style of one look
    runs on the same model (:func:`blend_model`, checked where looks are built: the job model).
    ``field`` names the look in messages (``"regions[1]"``).
    """

    styles: tuple[StyleLayer, ...]
    strength: Param = field(default_factory=lambda: constant(1.0))
    field: str = "styles"

    def __post_init__(self) -> None:
        object.__setattr__(self, "styles", tuple(self.styles))

    @property
    def model(self) -> str:
        return self.styles[0].style.model

    def blend_at(self, frame: float) -> list[StyleWeight]:
        """The styles with their normalised weights at ``frame``."""
        raw = [max(float(s.weight(frame)), 0.0) for s in self.styles]
        total = sum(raw)
        if total <= 0:
            raise StyleError(f"{self.field}: every style weight is 0 at frame {frame:g}")
        return [StyleWeight(s.style, w / total) for s, w in zip(self.styles, raw)]

    def strength_at(self, frame: float) -> float:
        """Strength at ``frame`` (within the model's range: the job model checks every key)."""
        return float(self.strength(frame))

    def key_at(self, frame: float) -> tuple | None:
        """What the look does at ``frame`` as a hashable value (equal keys, equal pixels);
        None when the strength is 0 (the source passes through)."""
        strength = self.strength_at(frame)
        if strength == 0.0:
            return None
        merged: dict[StyleRef, float] = {}
        for sw in self.blend_at(frame):
            merged[sw.style] = merged.get(sw.style, 0.0) + sw.weight
        return (self.model, strength, tuple(merged.items()))
