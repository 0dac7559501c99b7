"""Source colourspace ↔ network working space, with cached OCIO CPU processors."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import PyOpenColorIO as OCIO

from filmstyle.color import shaper
from filmstyle.color.spaces import first_known, one_line, colorspace_encoding, resolve_colorspace
from filmstyle.errors import ColorError

__all__ = ["DISPLAY_SHAPER", "ColorTransform"]

#: Name of filmstyle's own working space: linear Rec.709 through :mod:`filmstyle.color.shaper`.
DISPLAY_SHAPER = "filmstyle-display"
_LINEAR_REC709 = ("Linear Rec.709 (sRGB)", "lin_rec709", "lin_rec709_srgb", "Utility - Linear - sRGB")

# Pixels per applyRGB call. OCIO's CPU path stages each call through scratch buffers; slices of
# ~64k pixels stay in cache and were ~3x faster than one call over a whole 2K frame. The shaper
# runs on the same slices while they are in cache, and on the same threads (numpy releases the GIL).
_CHUNK_PIXELS = 1 << 16

_LINEARISH = {"scene-linear", "display-linear"}
# OCIO's default optimisation minus its fast log/exp approximations: those cost ~1e-4 relative
# error on a round trip (where one channel is small next to the others), the exact ones ~1e-6,
# for ~20 ms more per 2K frame.
_OPTIMIZATION = OCIO.OptimizationFlags(
    int(OCIO.OPTIMIZATION_DEFAULT) & ~int(OCIO.OPTIMIZATION_FAST_LOG_EXP_POW)
)


def _encode_into(chunk: np.ndarray) -> None:
    chunk[...] = shaper.encode(chunk)


def _decode_into(chunk: np.ndarray) -> None:
    chunk[...] = shaper.decode(chunk)


class ColorTransform:
    """Source colourspace ↔ network working space, built once per run and reused for every frame.

    The two OCIO CPU processors are built (and optimised for float32) in the constructor.

    ``working_space=None`` or ``"auto"`` picks:

    * scene-linear and log sources (EXR, DPX, camera logs) → :data:`DISPLAY_SHAPER`
      (``"filmstyle-display"``): OCIO converts the source to linear Rec.709, then
      :mod:`filmstyle.color.shaper` encodes it like a photograph with a smooth highlight
      shoulder (0.18 → 0.46, 1.0 → 0.88, 100 → 0.999), because the networks learnt from
      photographs; see that module for the curve and why a log space is the wrong choice;
    * display-encoded (``sdr-video``/``hdr-video``) and data sources → the source space itself, an
      identity: the networks were trained on such images.

    Any colourspace, alias or role of the config may be forced instead (``ACEScct`` for a log
    working space: its codes 0…1 cover linear −0.0069…222.86, so the network's brightest output
    would decode to very hot highlights).

    Every finite value — above 1.0 or negative — is carried into the working space (no clamp on
    the way in). The network's Sigmoid output lies in ``[0, 1]``; through the display shaper that
    reaches linear Rec.709 ``[0, 100]`` once capped at :attr:`network_ceiling`; the source's own
    highlights keep their codes (exact to 1e-4 up to linear 100, ~0.5 % up to 5000).

    Args:
        config: the run's OCIO config (see :func:`load_config`).
        input_colorspace: source colourspace name, alias or role.
        working_space: ``None``/``"auto"`` or a colourspace name, alias or role.
        threads: worker threads for ``applyRGB`` and the shaper (both release the GIL); 1 runs in the caller.
    """

    def __init__(
        self,
        config: OCIO.Config,
        input_colorspace: str,
        working_space: str | None = None,
        *,
        threads: int = 1,
    ) -> None:
        self.config = config
        self.input_colorspace = resolve_colorspace(config, input_colorspace, "input_colorspace")
        self.input_encoding = colorspace_encoding(config, self.input_colorspace)
        if working_space in (None, "", "auto"):
            if self.input_encoding in _LINEARISH or self.input_encoding == "log":
                working_space = DISPLAY_SHAPER
            else:
                working_space = self.input_colorspace
        self._shaped = working_space == DISPLAY_SHAPER
        if self._shaped:
            linear = first_known(config, _LINEAR_REC709)
            if linear is None:
                raise ColorError(
                    f"working_space: OCIO config {config.getName()!r} has no linear Rec.709 colourspace "
                    f"for {DISPLAY_SHAPER}, expected one of {', '.join(_LINEAR_REC709)} (pass --working-space)"
                )
            self.working_space = DISPLAY_SHAPER
            target = linear
        else:
            self.working_space = resolve_colorspace(config, working_space, "working_space")
            target = self.working_space
        self._to = self._processor(self.input_colorspace, target)
        self._from = self._processor(target, self.input_colorspace)
        self._identity = self._to is None and self._from is None and not self._shaped
        self._threads = max(1, int(threads))
        self._pool: ThreadPoolExecutor | None = None
        self._linear_codec: tuple[Callable[[np.ndarray], np.ndarray], Callable[[np.ndarray], np.ndarray]] | None = None

    def _processor(self, src: str, dst: str) -> OCIO.CPUProcessor | None:
        try:
            processor = self.config.getProcessor(src, dst)
            if processor.isNoOp():
                return None
            return processor.getOptimizedCPUProcessor(OCIO.BIT_DEPTH_F32, OCIO.BIT_DEPTH_F32, _OPTIMIZATION)
        except OCIO.Exception as exc:
            raise ColorError(
                f"OCIO config {self.config.getName()!r}: cannot convert {src!r} → {dst!r}: {one_line(exc)}"
            ) from exc

    @property
    def network_ceiling(self) -> float | None:
        """Highest working-space code a stylized pixel may take, or None for no cap.

        The display shaper reads code 1.0 as infinitely bright, so network output is capped at the
        code of linear 100 (:data:`filmstyle.color.shaper.NETWORK_CEILING`).
        """
        return shaper.NETWORK_CEILING if self._shaped else None

    @property
    def is_identity(self) -> bool:
        """True when the source already is the working space (both directions are no-ops)."""
        return self._identity

    def __repr__(self) -> str:
        return f"ColorTransform({self.input_colorspace!r} → {self.working_space!r})"

    def to_working(self, rgb: np.ndarray, *, inplace: bool = False) -> np.ndarray:
        """Source colourspace → working space.

        Args:
            rgb: ``(H, W, 3)`` float32 pixels in the source colourspace (any finite range).
            inplace: overwrite ``rgb`` when it is a writeable C-contiguous float32 array; any other
                array is converted to a new one. Always use the return value.

        Returns:
            ``(H, W, 3)`` float32 in the working space (``[0, 1]`` for the display shaper for
            every non-negative input, below 1 up to linear ~10⁶; negatives give negative codes, kept).
        """
        steps = [self._to.applyRGB] if self._to is not None else []
        if self._shaped:
            steps.append(_encode_into)
        return self._apply(steps, rgb, inplace)

    def from_working(self, rgb: np.ndarray, *, inplace: bool = False) -> np.ndarray:
        """Working space → source colourspace; the inverse of :meth:`to_working` (shaper: exact to 1e-4 up to linear 100).

        Args:
            rgb: ``(H, W, 3)`` float32 in the working space (e.g. the network output in ``[0, 1]``).
            inplace: as for :meth:`to_working`.

        Returns:
            ``(H, W, 3)`` float32 in the source colourspace.
        """
        steps = [_decode_into] if self._shaped else []
        if self._from is not None:
            steps.append(self._from.applyRGB)
        return self._apply(steps, rgb, inplace)

    def _apply(self, steps: list[Callable[[np.ndarray], object]], rgb: np.ndarray, inplace: bool) -> np.ndarray:
        """Run ``steps`` in order over ``(n, 3)`` slices of the pixels, in place, on the pool."""
        if rgb.ndim < 1 or rgb.shape[-1] != 3:
            raise ColorError(f"rgb: expected an array of shape (H, W, 3), got shape {rgb.shape}")
        fits = rgb.dtype == np.float32 and rgb.flags.c_contiguous and rgb.flags.writeable
        out = rgb if (inplace and fits) else np.array(rgb, dtype=np.float32, order="C", copy=True)
        if not steps:
            return out
        flat = out.reshape(-1, 3)
        chunks = [flat[i : i + _CHUNK_PIXELS] for i in range(0, len(flat), _CHUNK_PIXELS)]

        def run(chunk: np.ndarray) -> None:
            for step in steps:
                step(chunk)

        if self._threads > 1 and len(chunks) > 1:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self._threads, thread_name_prefix="filmstyle-ocio")
            for _ in self._pool.map(run, chunks):
                pass
        else:
            for chunk in chunks:
                run(chunk)
        return out

    @property
    def working_encoding(self) -> str:
        """How the working space encodes light (:func:`colorspace_encoding`; the shaper: ``"display"``)."""
        return "display" if self._shaped else colorspace_encoding(self.config, self.working_space)

    def linear_codec(self) -> tuple[Callable[[np.ndarray], np.ndarray], Callable[[np.ndarray], np.ndarray]]:
        """``(decode, encode)``: working codes ``(..., 3)`` ↔ linear Rec.709, through OCIO (new arrays).

        For a forced working space (``ACEScct``, a scene-linear one...) whose codes are not a
        display encoding; the tone operations measure light levels with it.
        """
        if self._linear_codec is not None:
            return self._linear_codec
        linear = first_known(self.config, _LINEAR_REC709)
        if linear is None:
            raise ColorError(f"OCIO config {self.config.getName()!r} has no linear Rec.709 colourspace, expected "
                             f"one of {', '.join(_LINEAR_REC709)}")
        steps = {"decode": self._processor(self.working_space, linear), "encode": self._processor(linear, self.working_space)}

        def codec(processor: OCIO.CPUProcessor | None) -> Callable[[np.ndarray], np.ndarray]:
            def apply(rgb: np.ndarray) -> np.ndarray:
                out = np.array(rgb, dtype=np.float32, order="C", copy=True)
                if processor is not None and out.size:
                    processor.applyRGB(out.reshape(-1, 3))
                return out
            return apply

        self._linear_codec = (codec(steps["decode"]), codec(steps["encode"]))
        return self._linear_codec

    def close(self) -> None:
        """Stop the worker threads, if any (the transform stays usable, single-threaded)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        self._threads = 1

    def __enter__(self) -> ColorTransform:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
