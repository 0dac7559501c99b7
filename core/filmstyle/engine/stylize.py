"""Per-frame stylization in the working space: the models, style blends and the strength rule.

This module knows nothing about files or colour; it takes working-space pixels in [0, 1] and
returns working-space pixels. Models are loaded lazily, once per :class:`FrameStylizer`. What a
strength means is told in :mod:`filmstyle.job.look`.

How the network runs is a :class:`~filmstyle.job.look.NetworkOptions` (tiling, stroke scale,
per-shot frozen instance-norm statistics); the render loop splits a look into
:meth:`FrameStylizer.stylize` (network + ceiling, no mix) and :func:`mix`, so colour preservation
and temporal blending can sit between them. :meth:`FrameStylizer.apply` is both in one call.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from filmstyle.color.shaper import roll_off
from filmstyle.errors import StyleError
from filmstyle.job.look import NetworkOptions, StyleWeight
from filmstyle.job.styles import StyleRef

if TYPE_CHECKING:
    from filmstyle.engine.tiling import ShotStatsStylizer, TiledStylizer
    from filmstyle.job.user_styles import CustomStyleRef
    from filmstyle.models import ArbitraryStylizer, Cin26Stylizer
    from filmstyle.models.custom import CustomStylizer

__all__ = ["FrameStylizer", "mix"]


def mix(working: np.ndarray, stylized: np.ndarray, strength: float) -> np.ndarray:
    """The strength rule for ``0 < strength``: ``working + s * (stylized - working)``, capped at 1."""
    if strength >= 1.0:
        return stylized
    # Mix against the unclipped source so highlights outside [0, 1] fade in, not jump.
    return (working + np.float32(strength) * (stylized - working)).astype(np.float32, copy=False)



class FrameStylizer:
    """Applies a style blend at a strength to working-space frames.

    Args:
        device: ``"cpu"``, ``"cuda"`` or ``"cuda:N"``; checked against this machine here, so a
            render fails before its first frame.
        precision: one of :data:`filmstyle.models.device.PRECISIONS`, used by every network the
            look runs (built-in, tiled, shot statistics, custom models).
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
        from filmstyle.models.device import check_options, torch_device

        self.device, self.precision = check_options(device, precision)
        torch_device(self.device)
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

            runner = load_custom(style.path, value_range=style.value_range, device=self.device,
                                 precision=self.precision)
            self._custom[style.path] = runner
        return runner

    def tiler(self, model: str) -> TiledStylizer:
        """The tiled runner of a built-in network (frozen-statistics capable; onnxruntime on CPU)."""
        tiler = self._tilers.get(model)
        if tiler is None:
            from filmstyle.engine.tiling import TiledStylizer

            o = self.options
            # The tiler's own size rule must agree with ``options.tiled`` (ShotStatsStylizer uses it).
            min_pixels = {"on": 0, "off": 1 << 62}.get(o.tiling, o.min_pixels)
            tiler = TiledStylizer(model, tile=o.tile_size, device=self.device, precision=self.precision,
                                  min_pixels=min_pixels)
            self._tilers[model] = tiler
        return tiler

    def shot_stylizer(self, model: str) -> ShotStatsStylizer:
        """A fresh per-look helper that keeps one shot's statistics (the caller keeps it per look)."""
        from filmstyle.engine.tiling import ShotStatsStylizer

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
            ceiling: highest code a stylized pixel may take (the frame's
                :func:`~filmstyle.color.shaper.stylized_ceiling`); the network's range above the
                shaper's shoulder is rolled off onto it (:func:`~filmstyle.color.shaper.roll_off`).
            shot: with :attr:`NetworkOptions.shot_stats`, the look's :meth:`shot_stylizer`.
            new_shot: the frame starts a shot (record new statistics).

        Returns:
            ``(H, W, 3)`` float32 working-space pixels.
        """
        # The job model checked the blend (one model) and the strength range for that model.
        model = blend[0].style.model
        weights = np.array([max(sw.weight, 0.0) for sw in blend], dtype=np.float64)
        total = weights.sum()
        if total <= 0:
            raise StyleError("styles: every blend weight is 0 on this frame")
        weights /= total
        network_in = np.clip(working, 0.0, 1.0).astype(np.float32, copy=False)
        o = self.options
        if model == "custom":
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

            def full_network(image: np.ndarray) -> np.ndarray:
                tiled = o.tiled(*image.shape[:2])
                if shot is not None:
                    # Records statistics on a new shot or a moved blend, then runs with them frozen.
                    return shot(image, cond, new_shot=new_shot)
                if tiled:
                    return self.tiler(model)(image, cond, tiled=True)
                # The default path: the fast runner (ORT or channels-last torch), unchanged.
                return runner(image, cond)

            net = full_network
            if o.proxy > 1:  # a preview: the proxy network replaces the network call
                from filmstyle.engine.preview import proxy_network

                net = proxy_network(model, cond, o.proxy, self.device)

        if o.stroke_scale is None:
            stylized = net(network_in)
        else:
            from filmstyle.engine.tiling import stroke_scaled

            stylized = stroke_scaled(net, network_in, stroke_scale=o.stroke_scale, detail=o.stroke_detail)
        if ceiling is not None:
            # The network result is a fresh array: roll it off in place (a full frame less at 8K).
            stylized = roll_off(stylized, ceiling, out=stylized)
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
