"""High-resolution stylization: shared instance-norm statistics, tiles, and a stroke scale.

**Tiling with frozen statistics.** Both networks normalise every feature map with its mean and
variance over the *whole* image, so running tiles independently gives each tile its own tone
(seams, colour jumps). :class:`TiledStylizer` first runs the network once on a thumbnail of the
whole frame (long side ``stats_size``) and records every norm layer's per-channel ``mu, sigma``
(:func:`filmstyle.models.norm.record_stats`), then runs tiles with a halo of real neighbouring
pixels and those statistics frozen, and crops the halo off. Tile origins sit on multiples of 4 so the two
stride-2 convolutions and the two nearest upsamplings see the same pixel grid as a full-frame
pass; a halo of 64 px covers most of the networks' analytic receptive fields (about 109 px for
the transformer, 125 px for the 26-style net). Statistics can be computed once and passed in, so
a shot can keep one set for all its frames (no pumping of the global colour).

**Backends.** On CPU the recording and frozen passes run in onnxruntime on ONNX graphs that take
or return every layer's statistics (:mod:`filmstyle.models.stats_runtime`); on CUDA, or with
``backend="torch"``, the torch body runs under :func:`~filmstyle.models.norm.record_stats` /
:func:`~filmstyle.models.norm.frozen_stats`. Both give the same pixels to float32 rounding, and
:class:`NormStats` from either feed the other. ``precision`` other than fp32 runs torch (the
ONNX graphs are float32) with the weights in that dtype and channels-last; statistics stay float32
(:func:`~filmstyle.models.layers.instance_norm_affine`). A 3840x2160 frame in 1024 tiles (2 threads) takes
about 4.5 s with onnxruntime against 6.3 s with torch (transformer), 5.6-6.5 s against 8.1-8.9 s
(26-style net); 7680x4320 about 19 s against 25 s, at 2.2-2.6 GB peak against 1.8 GB.

**Stroke scale.** A feed-forward network paints strokes of a fixed size in *pixels*, so the same
look on a 4K plate has strokes half as large, relative to the frame, as on 1080p.
:func:`stroke_scaled` makes the look resolution independent: the network always runs on the
frame resized to ``reference_height / stroke_scale`` rows (``stroke_scale = 1`` = "as at 1080
rows"), the result is resized back, and, where the frame is larger than that, the source's own
luminance detail above the processing resolution (``Y - up(down(Y))``, the octave(s) the network
never saw) is added back with weight ``detail``, so a 4K frame keeps 4K sharpness in the fine
texture while strokes, palette and layout match the 1080 render. ``detail = 0`` gives a plain
upscale. An enlarged result first loses the networks' 4-px upsampling pattern, and the detail is
added only as far as the look follows the plate's luminance locally (:mod:`filmstyle.engine.upscale`:
no blocks, no outlines along edges the look re-lit).

Example:
    >>> tiler = TiledStylizer("cin26", tile=512)
    >>> out = tiler(frame, weights)                       # (H, W, 3) in [0, 1]
    >>> stats = tiler.stats_for(first_frame_of_shot, weights)
    >>> out = tiler(frame, weights, stats=stats)         # frozen per shot
    >>> look = stroke_scaled(lambda x: tiler(x, weights), frame_4k, stroke_scale=1.0)
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable

import cv2
import numpy as np
import torch

from filmstyle.color.pixels import LUMA_WEIGHTS
from filmstyle.engine.upscale import detail_gain, remove_grid_pattern
from filmstyle.errors import InputError, ModelError, StyleError
from filmstyle.job.params import AUTO_TILE_PIXELS, DEFAULT_TILE_SIZE
from filmstyle.models.device import check_options, math_mode, out_of_memory, torch_device, torch_dtype
from filmstyle.models.norm import NormStats, frozen_stats, record_stats
from filmstyle.models.runtime import COND_DIM
from filmstyle.models.transfer import download, upload
from filmstyle.models.stats_runtime import StatsRunner, resolve_stats_backend

__all__ = ["TiledStylizer", "ShotStatsStylizer", "tile_origins", "processing_size", "stroke_scaled", "REFERENCE_HEIGHT"]

#: Frame height at which ``stroke_scale = 1`` reproduces the network's native stroke size.
REFERENCE_HEIGHT = 1080

_MODEL_NAMES = {"arbitrary": "transformer", "transformer": "transformer", "cin26": "cin26"}


def tile_origins(length: int, tile: int) -> list[tuple[int, int]]:
    """``(start, size)`` of the tiles covering ``length`` pixels (a multiple of 4) with tiles of ``tile``."""
    return [(s, min(tile, length - s)) for s in range(0, length, tile)]


def _resize(image: np.ndarray, width: int, height: int) -> np.ndarray:
    h, w = image.shape[:2]
    interp = cv2.INTER_AREA if width < w and height < h else cv2.INTER_LINEAR
    return cv2.resize(np.ascontiguousarray(image), (width, height), interpolation=interp)


class TiledStylizer:
    """Stylise frames of any size in tiles that share one set of instance-norm statistics.

    Args:
        model: ``"arbitrary"`` (style = 100-d vector) or ``"cin26"`` (style = 26 blend weights).
        tile: tile side in pixels before the halo (rounded down to a multiple of 4).
        halo: context on every side of a tile, taken from the neighbouring pixels and cropped off
            (multiple of 4, >= 0); at the frame's edges the network reflect-pads as usual.
        stats_size: long side of the thumbnail the statistics come from; a frame no larger is
            its own thumbnail (exact full-frame statistics).
        min_pixels: frames with at most this many pixels run in one pass (still with frozen
            statistics when ``stats`` is given); ``0`` always tiles.
        device: ``cpu``, ``cuda`` or ``cuda:N``.
        precision: see :mod:`filmstyle.models.device`.
        net: an already loaded float32 network (tests, custom weights); default the pretrained
            one. It is left as it is: another device or dtype works on a copy.
        backend: ``"auto"`` (onnxruntime on CPU in fp32 when it imports, else torch), ``"ort"``
            (CPU, fp32) or ``"torch"``.
        threads: onnxruntime's intra-op threads; default the number of physical cores.
    """

    def __init__(self, model: str = "arbitrary", *, tile: int = DEFAULT_TILE_SIZE, halo: int = 64, stats_size: int = 2048,
                 min_pixels: int = AUTO_TILE_PIXELS, device: str = "cpu", precision: str = "fp32",
                 net: torch.nn.Module | None = None, backend: str = "auto", threads: int | None = None) -> None:
        if model not in _MODEL_NAMES:
            raise ModelError(f"tiling: unknown model {model!r}, valid: arbitrary, cin26")
        if tile < 64 or halo < 0 or halo % 4 or stats_size < 64:
            raise InputError(f"tiling: need tile >= 64, halo a multiple of 4 >= 0 and stats_size >= 64, "
                             f"got tile={tile}, halo={halo}, stats_size={stats_size}")
        self.name = _MODEL_NAMES[model]
        self.tile = tile - tile % 4
        self.halo = halo
        self.stats_size = stats_size
        self.min_pixels = min_pixels
        device, self.precision = check_options(device, precision)
        self.backend = resolve_stats_backend(torch.device(device), backend, self.precision)
        self.device = torch_device(device)
        self.dtype = torch_dtype(self.precision)
        self.threads = threads
        self._net = net
        self._device_net: torch.nn.Module | None = None
        self._runner: StatsRunner | None = None
        self._runner_lock = threading.Lock()

    @property
    def net(self) -> torch.nn.Module:
        """The float32 CPU network (what the ONNX graphs are exported from)."""
        if self._net is None:
            from filmstyle.models import load_model

            self._net = load_model(self.name)
        return self._net

    @property
    def device_net(self) -> torch.nn.Module:
        """The network on ``device`` in ``precision``, channels-last (the torch backend's)."""
        if self._device_net is None:
            with self._runner_lock:
                if self._device_net is None:
                    net = self.net
                    if self.device.type != "cpu" or self.dtype != torch.float32:
                        net = copy.deepcopy(net)  # never change a network the caller holds
                    self._device_net = net.to(self.device, self.dtype, memory_format=torch.channels_last)
        return self._device_net

    @property
    def runner(self) -> StatsRunner:
        """The onnxruntime sessions of the ``"ort"`` backend (created on first use)."""
        if self._runner is None:
            with self._runner_lock:
                if self._runner is None:
                    self._runner = StatsRunner(self.name, self.net, threads=self.threads)
        return self._runner

    # -- helpers ---------------------------------------------------------------------------
    def _cond(self, style) -> np.ndarray:
        """``style`` checked and shaped as the networks' ``(1, D)`` float32 condition."""
        c = np.asarray(style, dtype=np.float32).reshape(-1)
        dim = COND_DIM[self.name]
        if c.shape != (dim,) or not np.all(np.isfinite(c)):
            raise StyleError(f"tiling: style must be {dim} finite values for {self.name}, got shape {np.shape(style)}")
        return c[None]

    def _torch_body(self, image: np.ndarray, cond: np.ndarray) -> np.ndarray:
        """Torch network body on (h, w, 3), h and w multiples of 4 -> (h, w, 3), under the active norm context."""
        net = self.device_net
        h, w = image.shape[:2]
        what = f"{self.name} on a {w}x{h} tile in {self.precision} on {self.device}"
        with torch.inference_mode(), math_mode(self.device, self.precision), out_of_memory(self.device, what):
            y = net.body(upload(image, self.device, self.dtype, multiple=1),
                         torch.from_numpy(cond).to(self.device, self.dtype))
            return download(y, h, w)

    @staticmethod
    def _nchw(image: np.ndarray) -> np.ndarray:
        """(h, w, 3) -> contiguous (1, 3, h, w) float32 for onnxruntime."""
        return np.ascontiguousarray(image.transpose(2, 0, 1)[None], dtype=np.float32)

    @staticmethod
    def _hwc(out: np.ndarray) -> np.ndarray:
        """(1, 3, h, w) network output -> (h, w, 3)."""
        return out[0].transpose(1, 2, 0)

    def _plain(self, image: np.ndarray, cond: np.ndarray) -> np.ndarray:
        """Body on (h, w, 3), sides multiples of 4, with its own statistics -> (h, w, 3)."""
        if self.backend == "ort":
            # The record graph is the plain network plus a few tiny outputs: no third session.
            return self._hwc(self.runner.record(self._nchw(image), cond)[0])
        return self._torch_body(image, cond)

    def _record(self, image: np.ndarray, cond: np.ndarray) -> tuple[np.ndarray, NormStats]:
        """Body on (h, w, 3), sides multiples of 4, with its own statistics -> (h, w, 3) and those statistics."""
        if self.backend == "ort":
            out, stats = self.runner.record(self._nchw(image), cond)
            return self._hwc(out), stats
        with record_stats() as stats:
            return self._torch_body(image, cond), stats

    def _frozen(self, image: np.ndarray, cond: np.ndarray, stats: NormStats) -> np.ndarray:
        """Body on (h, w, 3), sides multiples of 4, normalised with ``stats`` -> (h, w, 3)."""
        if self.backend == "ort":
            return self._hwc(self.runner.frozen(self._nchw(image), cond, stats))
        with frozen_stats(stats):
            return self._torch_body(image, cond)

    @staticmethod
    def _check(content: np.ndarray) -> np.ndarray:
        arr = np.asarray(content)
        if arr.ndim != 3 or arr.shape[2] != 3 or min(arr.shape[:2]) < 8:
            raise InputError(f"tiling: expected an (H, W, 3) image with sides >= 8, got shape {arr.shape}")
        return np.clip(arr, 0.0, 1.0).astype(np.float32, copy=False)

    @staticmethod
    def _pad4(image: np.ndarray) -> np.ndarray:
        h, w = image.shape[:2]
        ph, pw = (-h) % 4, (-w) % 4
        return np.pad(image, ((0, ph), (0, pw), (0, 0)), mode="reflect") if ph or pw else image

    # -- public ----------------------------------------------------------------------------
    def stats_for(self, content: np.ndarray, style) -> NormStats:
        """Instance-norm statistics of a thumbnail of ``content`` (H, W, 3) in [0, 1].

        The thumbnail has its long side at ``stats_size`` (area-averaged); smaller frames are
        used as they are. Returns per-layer ``(1, C, 1, 1)`` means and variances.
        """
        img = self._check(content)
        h, w = img.shape[:2]
        scale = min(1.0, self.stats_size / max(h, w))
        if scale < 1.0:
            img = _resize(img, max(8, round(w * scale)), max(8, round(h * scale)))
        return self._record(self._pad4(img), self._cond(style))[1]

    def __call__(self, content: np.ndarray, style, *, stats: NormStats | None = None,
                 tiled: bool | None = None) -> np.ndarray:
        """Stylise ``content`` (H, W, 3) float32 in [0, 1] with ``style`` ((100,) vector or (26,) weights).

        Args:
            stats: frozen statistics (e.g. from the first frame of the shot); default from
                :meth:`stats_for` on this frame when tiling, the frame's own when not.
            tiled: force tiling on/off; default tile above ``min_pixels``.

        Returns:
            ``(H, W, 3)`` float32 in [0, 1].
        """
        img = self._check(content)
        h, w = img.shape[:2]
        cond = self._cond(style)
        if tiled is None:
            tiled = h * w > self.min_pixels
        padded = self._pad4(img)
        if not tiled:
            res = self._plain(padded, cond) if stats is None else self._frozen(padded, cond, stats)
            return np.ascontiguousarray(res[:h, :w])
        if stats is None:
            stats = self.stats_for(img, style)
        hp, wp = padded.shape[:2]
        g = self.halo
        out = np.empty((h, w, 3), np.float32)
        for y0, th in tile_origins(hp, self.tile):
            for x0, tw in tile_origins(wp, self.tile):
                # The halo stops at the frame edge: there the network's own per-layer reflect
                # padding applies, exactly as in a full-frame pass.
                ya, xa = max(0, y0 - g), max(0, x0 - g)
                crop = padded[ya:min(hp, y0 + th + g), xa:min(wp, x0 + tw + g)]
                res = self._frozen(crop, cond, stats)
                yh, xw = min(th, h - y0), min(tw, w - x0)
                if yh > 0 and xw > 0:
                    out[y0:y0 + yh, x0:x0 + xw] = res[y0 - ya:y0 - ya + yh, x0 - xa:x0 - xa + xw]
        return out


def processing_size(height: int, width: int, stroke_scale: float = 1.0,
                    reference_height: int = REFERENCE_HEIGHT) -> tuple[int, int]:
    """``(rows, cols)`` the network runs at so strokes match ``reference_height`` at ``stroke_scale``.

    ``rows = reference_height / stroke_scale`` (larger scale = larger strokes = fewer rows), the
    columns follow the frame's aspect; both are rounded to multiples of 4 (>= 8).
    """
    if not (stroke_scale > 0 and np.isfinite(stroke_scale)):
        raise InputError(f"stroke_scale: expected a positive number, got {stroke_scale!r}")
    rows = reference_height / stroke_scale
    cols = rows * width / height
    return max(8, int(round(rows / 4)) * 4), max(8, int(round(cols / 4)) * 4)


def stroke_scaled(stylize: Callable[[np.ndarray], np.ndarray], content: np.ndarray, *,
                  stroke_scale: float = 1.0, reference_height: int = REFERENCE_HEIGHT,
                  detail: float = 1.0) -> np.ndarray:
    """Stylise ``content`` with strokes sized relative to the frame, not in pixels.

    Args:
        stylize: ``(h, w, 3) -> (h, w, 3)`` network call at the processing size (e.g. a
            :class:`TiledStylizer` bound to a style, or a runner from :mod:`filmstyle.models`).
        content: ``(H, W, 3)`` float32 working-space pixels in [0, 1].
        stroke_scale: 1 = strokes as the network paints them on a ``reference_height`` frame.
        reference_height: rows at which ``stroke_scale = 1`` is the identity.
        detail: weight of the source's luminance detail above the processing resolution that is
            added back when the frame is larger than the processing size (0 = none).

    Returns:
        ``(H, W, 3)`` float32.
    """
    arr = np.asarray(content, dtype=np.float32)
    if arr.ndim != 3 or arr.shape[2] != 3:
        raise InputError(f"stroke scale: expected an (H, W, 3) image, got shape {arr.shape}")
    h, w = arr.shape[:2]
    ph, pw = processing_size(h, w, stroke_scale, reference_height)
    if (ph, pw) == (h, w):
        return stylize(arr)
    small = _resize(arr, pw, ph)
    styled = stylize(small)
    if ph < h:
        # Enlarged, the networks' 4-px upsampling pattern would become blocks (see engine.upscale).
        styled = remove_grid_pattern(styled)
    up = _resize(styled, w, h)
    if detail and ph < h:
        y = arr @ LUMA_WEIGHTS
        y_small = _resize(y, pw, ph)
        low = _resize(y_small, w, h)
        # Only as much of the plate's edge as the look kept: no outlines where it re-lit an edge.
        gain = _resize(detail_gain(y_small, styled @ LUMA_WEIGHTS), w, h)
        up = up + (np.float32(detail) * gain * (y - low))[..., None]
    return up.astype(np.float32, copy=False)


class ShotStatsStylizer:
    """Per-frame helper for a render loop: statistics frozen at the first frame of each shot.

    Args:
        tiler: the :class:`TiledStylizer` that runs the network.
        smoothing: 0 = statistics fixed for the whole shot; ``s`` in (0, 1) = each frame's own
            thumbnail statistics are blended in with weight ``s`` (an exponential average, for
            shots whose light really changes).

    Call :meth:`reset` (or pass ``new_shot=True``) on a shot cut, e.g. when
    :attr:`filmstyle.engine.temporal.TemporalBlender.last` reports one. A change of ``style`` (a keyed
    blend) also starts new statistics, since they depend on it.
    """

    def __init__(self, tiler: TiledStylizer, *, smoothing: float = 0.0) -> None:
        if not 0.0 <= smoothing < 1.0:
            raise InputError(f"stats smoothing: expected 0 <= smoothing < 1, got {smoothing!r}")
        self.tiler = tiler
        self.smoothing = float(smoothing)
        self.reset()

    def reset(self) -> None:
        """Forget the shot's statistics; the next frame records new ones."""
        self.stats: NormStats | None = None
        self._style: np.ndarray | None = None

    def __call__(self, content: np.ndarray, style, *, new_shot: bool = False) -> np.ndarray:
        """Stylise one frame ``(H, W, 3)`` in [0, 1] with the shot's statistics; returns ``(H, W, 3)``."""
        cond = np.asarray(style, dtype=np.float32).reshape(-1)
        if new_shot or self.stats is None or self._style is None or not np.array_equal(cond, self._style):
            self.stats = self.tiler.stats_for(content, cond)
            self._style = cond.copy()
        elif self.smoothing > 0.0:
            self.stats = self.stats.lerp(self.tiler.stats_for(content, cond), self.smoothing)
        h, w = np.shape(content)[:2]
        return self.tiler(content, cond, stats=self.stats, tiled=h * w > self.tiler.min_pixels)
