"""Per-frame stylization in the working space: the models, style blends and the strength rule.

This module knows nothing about files or colour; it takes working-space pixels in [0, 1] and
returns working-space pixels. Models are loaded lazily, once per :class:`FrameStylizer`.

Strength semantics (the same number means the same thing on every frame, in every host):

* ``0`` — the caller passes the source through untouched; the network does not run.
* ``0 < s <= 1`` — a mix in the working space between the source and the full stylization:
  ``out = src + s * (stylized - src)``. Linear in ``s`` for both models, so a keyed ramp fades
  the look in evenly.
* ``1 < s <= 2`` — arbitrary (image) styles only: the style vector is pushed past the style,
  away from the content's own vector, ``v = v_content + s * (v_style - v_content)``, which
  exaggerates the style's textures and palette. The 26 built-in looks and user models stop at 1.

How the network runs is a :class:`NetworkOptions` (tiling, stroke scale, per-shot frozen
instance-norm statistics); the render loop splits a look into :meth:`FrameStylizer.stylize`
(network + ceiling, no mix) and :func:`mix`, so colour preservation and temporal blending can
sit between them. :meth:`FrameStylizer.apply` is both in one call.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from filmstyle.errors import StyleError
from filmstyle.styles import StyleRef

if TYPE_CHECKING:
    from filmstyle.models import ArbitraryStylizer, Cin26Stylizer
    from filmstyle.models.custom import CustomStylizer
    from filmstyle.tiling import ShotStatsStylizer, TiledStylizer
    from filmstyle.user_styles import CustomStyleRef

__all__ = [
    "MAX_STRENGTH",
    "Param",
    "constant",
    "StyleWeight",
    "StyleLayer",
    "Look",
    "FrameStylizer",
    "NetworkOptions",
    "TILING_MODES",
    "AUTO_TILE_PIXELS",
    "blend_model",
    "mix",
]

#: Largest strength per model; see the module docstring.
MAX_STRENGTH = {"cin26": 1.0, "arbitrary": 2.0, "custom": 1.0}
#: ``tiling`` values: tile above :data:`AUTO_TILE_PIXELS`, always, never.
TILING_MODES = ("auto", "on", "off")


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
    if len(models) > 1:
        raise StyleError(
            f"{field}: cannot blend built-in looks with image styles in one blend "
            "(built-ins run on the 26-style network, images on the arbitrary network)"
        )
    if models == {"custom"} and len({sw.style for sw in blend}) > 1:
        # Two user networks have nothing in common to blend; regions can put them side by side.
        raise StyleError(f"{field}: a custom model cannot be blended with other styles; use regions")
    return models.pop()


def mix(working: np.ndarray, stylized: np.ndarray, strength: float) -> np.ndarray:
    """The strength rule for ``0 < strength``: ``working + s * (stylized - working)``, capped at 1."""
    if strength >= 1.0:
        return stylized
    # Mix against the unclipped source so highlights outside [0, 1] fade in, not jump.
    return (working + np.float32(strength) * (stylized - working)).astype(np.float32, copy=False)


#: Frames with more pixels than this are tiled by default. UHD and DCI 4K still run whole on the
#: fast runner (about 3.2 GB peak at 3840x2160 on CPU, time linear in pixels); 6K and 8K tile.
AUTO_TILE_PIXELS = 4096 * 2304


@dataclass(frozen=True)
class NetworkOptions:
    """How the network runs on a frame (see :mod:`filmstyle.tiling`).

    Attributes:
        tiling: ``"auto"`` (tile frames above ``min_pixels``), ``"on"`` or ``"off"``.
        tile_size: tile side in pixels (before the halo).
        stroke_scale: None = the network at the frame's own resolution (strokes fixed in
            pixels); a number = strokes sized as at 1080 rows times this, see
            :func:`filmstyle.tiling.stroke_scaled`.
        stroke_detail: weight of the source's fine luminance detail added back (0..1).
        shot_stats: freeze instance-norm statistics at the first frame of each shot.
        min_pixels: the ``auto`` threshold.
    """

    tiling: str = "auto"
    tile_size: int = 1024
    stroke_scale: float | None = None
    stroke_detail: float = 1.0
    shot_stats: bool = False
    min_pixels: int = AUTO_TILE_PIXELS

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
    must run on the same model. ``field`` names the look in messages (``"regions[1]"``).
    """

    styles: tuple[StyleLayer, ...]
    strength: Param = field(default_factory=lambda: constant(1.0))
    field: str = "styles"

    def __post_init__(self) -> None:
        object.__setattr__(self, "styles", tuple(self.styles))
        blend_model([StyleWeight(s.style, 1.0) for s in self.styles], field=f"{self.field}")

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
        """Strength at ``frame``, checked against the model's range."""
        value = float(self.strength(frame))
        limit = MAX_STRENGTH[self.model]
        if not 0.0 <= value <= limit + 1e-9:
            where = "strength" if self.field == "styles" else f"{self.field}.strength"
            raise StyleError(f"{where}: frame {frame:g}: expected 0..{limit:g}, got {value:g}")
        return value

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


class FrameStylizer:
    """Applies a style blend at a strength to working-space frames.

    Args:
        device: ``"cpu"`` or ``"cuda"``.
        precision: ``"fp32"``, ``"fp16"`` (CUDA) or ``"bf16"``.
        style_image_loader: turns a style image path into working-space pixels ``(H, W, 3)``
            float32 in [0, 1] (the render layer supplies one that colour-manages the image the
            same way as the plate).
        options: how the network runs (tiling, stroke scale, shot statistics).
    """

    def __init__(
        self,
        *,
        device: str = "cpu",
        precision: str = "fp32",
        style_image_loader=None,
        options: NetworkOptions | None = None,
    ) -> None:
        self.device = device
        self.precision = precision
        self.options = options or NetworkOptions()
        self._load_style_image = style_image_loader
        self._cin26: Cin26Stylizer | None = None
        self._arbitrary: ArbitraryStylizer | None = None
        self._vectors: dict[Path, np.ndarray] = {}
        self._custom: dict[Path, CustomStylizer] = {}
        self._tilers: dict[str, TiledStylizer] = {}

    # -- models, loaded on first use -------------------------------------------------------
    @property
    def cin26(self) -> Cin26Stylizer:
        if self._cin26 is None:
            from filmstyle.models import Cin26Stylizer

            self._cin26 = Cin26Stylizer(device=self.device, precision=self.precision)
        return self._cin26

    @property
    def arbitrary(self) -> ArbitraryStylizer:
        if self._arbitrary is None:
            from filmstyle.models import ArbitraryStylizer

            self._arbitrary = ArbitraryStylizer(device=self.device, precision=self.precision)
        return self._arbitrary

    def custom(self, style: CustomStyleRef) -> CustomStylizer:
        """The user model of a ``custom`` style, loaded once per path."""
        runner = self._custom.get(style.path)
        if runner is None:
            from filmstyle.models.custom import load_custom

            runner = load_custom(style.path, value_range=style.value_range, device=self.device)
            self._custom[style.path] = runner
        return runner

    def tiler(self, model: str) -> TiledStylizer:
        """The tiled runner of a built-in network (frozen-statistics capable; onnxruntime on CPU)."""
        tiler = self._tilers.get(model)
        if tiler is None:
            from filmstyle.tiling import TiledStylizer

            o = self.options
            # The tiler's own size rule must agree with ``options.tiled`` (ShotStatsStylizer uses it).
            min_pixels = {"on": 0, "off": 1 << 62}.get(o.tiling, o.min_pixels)
            tiler = TiledStylizer(model, tile=o.tile_size, device=self.device, min_pixels=min_pixels)
            self._tilers[model] = tiler
        return tiler

    def shot_stylizer(self, model: str) -> ShotStatsStylizer:
        """A fresh per-look helper that keeps one shot's statistics (the caller keeps it per look)."""
        from filmstyle.tiling import ShotStatsStylizer

        return ShotStatsStylizer(self.tiler(model))

    def prepare(self, styles: Sequence[StyleRef | CustomStyleRef]) -> None:
        """Load the models these styles need and compute image-style vectors once per run."""
        for style in styles:
            if style.model == "cin26":
                _ = self.cin26
            elif style.model == "custom":
                self.custom(style)  # type: ignore[arg-type]
            else:
                self.style_vector(style)  # type: ignore[arg-type]

    def style_vector(self, style: StyleRef) -> np.ndarray:
        """The arbitrary network's 100-d vector for an image style, cached per path."""
        assert style.path is not None
        vector = self._vectors.get(style.path)
        if vector is None:
            if self._load_style_image is None:
                raise StyleError(f"{style.path}: no loader for style images was configured")
            pixels = self._load_style_image(style.path)
            vector = self.arbitrary.style_vector(pixels)
            self._vectors[style.path] = vector
        return vector

    # -- per frame -------------------------------------------------------------------------
    def stylize(
        self,
        working: np.ndarray,
        blend: Sequence[StyleWeight],
        strength: float,
        *,
        ceiling: float | None = None,
        shot: ShotStatsStylizer | None = None,
        new_shot: bool = False,
    ) -> np.ndarray:
        """The full stylization of one frame, before the strength mix.

        Args:
            working: ``(H, W, 3)`` float32 working-space pixels, nominally [0, 1].
            blend: styles with weights for this frame (normalised here; all of one model).
            strength: see the module docstring (above 1 it changes the arbitrary style vector).
            ceiling: highest code a stylized pixel may take (the working space's
                ``network_ceiling``), so the later mix keeps source highlights intact.
            shot: with :attr:`NetworkOptions.shot_stats`, the look's :meth:`shot_stylizer`.
            new_shot: the frame starts a shot (record new statistics).

        Returns:
            ``(H, W, 3)`` float32 working-space pixels.
        """
        model = blend_model(blend)
        limit = MAX_STRENGTH[model]
        if not 0.0 < strength <= limit + 1e-9:
            raise StyleError(f"strength: expected 0..{limit:g} for {model} styles, got {strength:g}")
        weights = np.array([max(sw.weight, 0.0) for sw in blend], dtype=np.float64)
        total = weights.sum()
        if total <= 0:
            raise StyleError("styles: every blend weight is 0 on this frame")
        weights /= total
        network_in = np.clip(working, 0.0, 1.0).astype(np.float32, copy=False)
        o = self.options
        if model == "custom":
            if o.tiling == "on" or o.shot_stats:
                raise StyleError("styles: tiling on and shot_stats need a built-in network, not a custom model")
            net = self.custom(blend[0].style)  # type: ignore[arg-type]
        else:
            if model == "cin26":
                cond = np.zeros(26, dtype=np.float32)
                for sw, w in zip(blend, weights):
                    cond[sw.style.index] += w
                runner = self.cin26
            else:
                vector = sum(float(w) * self.style_vector(sw.style) for sw, w in zip(blend, weights))
                cond = np.asarray(vector, dtype=np.float32)
                if strength > 1.0:
                    own = self.arbitrary.style_vector(network_in)
                    cond = (own + strength * (cond - own)).astype(np.float32)
                runner = self.arbitrary

            def net(image: np.ndarray) -> np.ndarray:
                tiled = o.tiled(*image.shape[:2])
                if shot is not None:
                    # Records statistics on a new shot or a moved blend, then runs with them frozen.
                    return shot(image, cond, new_shot=new_shot)
                if tiled:
                    return self.tiler(model)(image, cond, tiled=True)
                # The default path: the fast runner (ORT or channels-last torch), unchanged.
                return runner(image, cond)

        if o.stroke_scale is None:
            stylized = net(network_in)
        else:
            from filmstyle.tiling import stroke_scaled

            stylized = stroke_scaled(net, network_in, stroke_scale=o.stroke_scale, detail=o.stroke_detail)
        if ceiling is not None:
            # The network result is a fresh array: cap it in place (a full frame less at 8K).
            stylized = np.minimum(stylized, np.float32(ceiling), out=stylized)
        return stylized

    def apply(
        self,
        working: np.ndarray,
        blend: Sequence[StyleWeight],
        strength: float,
        *,
        ceiling: float | None = None,
    ) -> np.ndarray:
        """Stylize one frame and mix it at ``strength``; see :meth:`stylize` and :func:`mix`.

        Returns:
            ``(H, W, 3)`` float32 working-space pixels.
        """
        return mix(working, self.stylize(working, blend, strength, ceiling=ceiling), strength)
