"""Quality metrics for stylized frames and sequences (all on display-encoded RGB in [0, 1]).

* :func:`psnr` — on RGB in [0, 1], peak 1.
* :func:`ssim` — Wang et al. 2004 on **Rec.709 luma** (of the display-encoded values), Gaussian
  window 11x11, sigma 1.5, ``C1 = (0.01)^2``, ``C2 = (0.03)^2``, mean of the SSIM map.
* :func:`warping_error` — Lai et al. 2018: mean squared RGB difference between ``O_t`` and the
  previous output warped onto it, over the pixels the forward-backward check keeps (flow from the
  **source** frames, DIS); averaged over channels and reliable pixels (MSE, not RMSE).
* :class:`StyleFeatures` — the style predictor (MobileNetV2) as a feature extractor: the 100-d
  style vector (style distance: L2 and cosine to the style image's vector) and Gram matrices of
  four intermediate blocks (SSI = ``1 - ||G(x) - G(y)|| / ||G(y)||``, averaged over blocks).
* :func:`tone_levels` — the 5/50/95 % luminance levels of a frame, in log2 stops of linear
  luminance and in working-space code units (Rec.709 luma of the codes).
* :func:`evaluate_sequence` — all of the above per frame, with short-term (t-1) and long-term
  (t-10) warping errors, as a :class:`MetricsReport`. Shot cuts are found with the render's own
  detector (:class:`~filmstyle.engine.temporal.CutDetector` on the same thumbnails), pairs across
  a cut are skipped, and the report has a summary per shot.

Values produced with other flow methods, resolutions or scales are not comparable.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field

import cv2
import numpy as np
import torch

from filmstyle.engine.color_match import srgb_decode
from filmstyle.engine.temporal import LUMA_WEIGHTS, CutDetector, cut_thumbnail, dis_flow, occlusion_mask, warp
from filmstyle.errors import InputError
from filmstyle.job.params import DEFAULT_CUT_THRESHOLD

__all__ = ["psnr", "ssim", "warping_error", "tone_levels", "StyleFeatures", "FrameMetrics", "MetricsReport",
           "evaluate_sequence", "measurable", "GRAM_BLOCKS", "LONG_TERM_GAP", "TONE_PERCENTILES"]

#: Predictor blocks whose outputs give the Gram matrices (24, 32, 64 and 96 channels).
GRAM_BLOCKS = (2, 5, 9, 12)
#: Frame gap of the long-term warping error.
LONG_TERM_GAP = 10
#: Luminance percentiles of the tone levels (black, mid-grey, highlight).
TONE_PERCENTILES = (5.0, 50.0, 95.0)
_BLACK = 2.0 ** -16
_log = logging.getLogger("filmstyle.metrics")


def _pair(a: np.ndarray, b: np.ndarray, what: str) -> tuple[np.ndarray, np.ndarray]:
    a, b = np.asarray(a, dtype=np.float32), np.asarray(b, dtype=np.float32)
    if a.shape != b.shape or a.ndim != 3 or a.shape[2] != 3:
        raise InputError(f"{what}: expected two (H, W, 3) images of one shape, got {a.shape} and {b.shape}")
    return a, b


def measurable(rgb: np.ndarray, label: str, *, warn: bool = True) -> np.ndarray:
    """``rgb`` ``(H, W, C)`` with its NaN/Inf pixels replaced by the mean of their finite neighbours
    (5x5), and one warning naming ``label`` when there were any (and ``warn``); ``rgb`` itself when
    all its values are finite.

    A QC tool should still measure a shot with a few bad pixels (the render refuses them, or cleans
    them with --clean-nans, so they may well be in a source), but not let them decide the figures:
    a NaN makes every mean NaN (warping errors null, the cut detector's histogram empty), and
    black, what the render's cleaning puts there, is flicker that is not in the shot. Neighbours
    keep the frame what it looks like around the hole.
    """
    rgb = np.asarray(rgb)
    with np.errstate(invalid="ignore", over="ignore"):
        if np.isfinite(np.sum(rgb, dtype=np.float64)):
            return rgb
    bad = ~np.isfinite(rgb)
    bad = bad.any(axis=-1) if bad.ndim == 3 else bad
    count = int(np.count_nonzero(bad))
    if warn:
        _log.warning("%s: %d NaN/Inf pixel%s, measured with their neighbours' values", label, count,
                     "" if count == 1 else "s")
    good = (~bad).astype(np.float32)
    values = np.where(bad[..., None] if rgb.ndim == 3 else bad, 0.0, rgb).astype(np.float32)
    weight = cv2.blur(good, (5, 5), borderType=cv2.BORDER_REFLECT)
    total = cv2.blur(values, (5, 5), borderType=cv2.BORDER_REFLECT)
    if total.ndim < values.ndim:
        total = total[..., None]
    wide = weight[..., None] if values.ndim == 3 else weight
    mean = float(values[~bad].mean()) if count < bad.size else 0.0
    with np.errstate(invalid="ignore", divide="ignore"):
        fill = np.where(wide > 0, total / np.maximum(wide, 1e-12), mean)
    hole = bad[..., None] if values.ndim == 3 else bad
    return np.where(hole, fill, values).astype(np.float32)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB of two ``(H, W, 3)`` images in [0, 1] (``inf`` if equal)."""
    a, b = _pair(a, b, "psnr")
    mse = float(np.mean((a.astype(np.float64) - b) ** 2))
    return math.inf if mse == 0 else 10.0 * math.log10(1.0 / mse)


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Mean SSIM of the Rec.709 luma of two ``(H, W, 3)`` images in [0, 1] (11x11 Gaussian, sigma 1.5)."""
    a, b = _pair(a, b, "ssim")
    x = (a @ LUMA_WEIGHTS).astype(np.float64)
    y = (b @ LUMA_WEIGHTS).astype(np.float64)
    c1, c2 = 0.01 ** 2, 0.03 ** 2

    def blur(z: np.ndarray) -> np.ndarray:
        return cv2.GaussianBlur(z, (11, 11), 1.5, borderType=cv2.BORDER_REFLECT)

    mx, my = blur(x), blur(y)
    sxx = blur(x * x) - mx * mx
    syy = blur(y * y) - my * my
    sxy = blur(x * y) - mx * my
    num = (2 * mx * my + c1) * (2 * sxy + c2)
    den = (mx * mx + my * my + c1) * (sxx + syy + c2)
    return float(np.mean(num / den))


def warping_error(out_t: np.ndarray, out_prev: np.ndarray, src_t: np.ndarray, src_prev: np.ndarray, *,
                  flow_size: int | None = 640, preset: str = "medium") -> tuple[float, float]:
    """Warping error between output frames, with flow and occlusion from the source frames.

    Args:
        out_t, out_prev: outputs ``O_t`` and ``O_{t-k}`` ``(H, W, 3)`` in [0, 1].
        src_t, src_prev: the matching source frames.
        flow_size, preset: see :func:`filmstyle.engine.temporal.dis_flow`.

    Returns:
        ``(error, reliable_fraction)``: MSE over reliable pixels and channels, and the fraction of
        pixels that were reliable (error is ``nan`` when none are).
    """
    out_t, out_prev = _pair(out_t, out_prev, "warping error")
    src_t, src_prev = _pair(src_t, src_prev, "warping error")
    if src_t.shape != out_t.shape:
        raise InputError(f"warping error: source {src_t.shape} and output {out_t.shape} differ in shape")
    back = dis_flow(src_t, src_prev, preset=preset, flow_size=flow_size)
    fwd = dis_flow(src_prev, src_t, preset=preset, flow_size=flow_size)
    mask = occlusion_mask(back, fwd)
    n = float(mask.sum())
    if n == 0:
        return math.nan, 0.0
    diff = out_t - warp(out_prev, back)
    err = float((mask[..., None] * diff * diff).sum() / (3.0 * n))
    return err, n / mask.size


def tone_levels(image: np.ndarray, decode=srgb_decode) -> tuple[list[float], list[float]]:
    """``(stops, codes)``: the :data:`TONE_PERCENTILES` of the frame's luminance, as log2 stops of
    linear Rec.709 luminance (``decode`` turns the working codes into linear; black floored at
    2^-16) and as Rec.709 luma of the working codes themselves."""
    arr = np.asarray(image, dtype=np.float32)
    lin = decode(np.array(arr, dtype=np.float32))
    y = np.maximum(np.asarray(lin, dtype=np.float32) @ LUMA_WEIGHTS, 0.0)
    stops = np.log2(np.maximum(np.percentile(y, TONE_PERCENTILES), _BLACK))
    codes = np.percentile(arr @ LUMA_WEIGHTS, TONE_PERCENTILES)
    return [float(v) for v in stops], [float(v) for v in codes]


class StyleFeatures:
    """The pretrained style predictor as a style-statistics probe.

    Args:
        predictor: a loaded :class:`~filmstyle.models.StylePredictor` (default: the pretrained one).
        size: short side images are resized to for Gram matrices (the predictor saw 256).
    """

    def __init__(self, predictor: torch.nn.Module | None = None, size: int = 256) -> None:
        if predictor is None:
            from filmstyle.models import load_model

            predictor = load_model("predictor")
        self.net = predictor.eval()
        self.size = size

    def vector(self, image: np.ndarray) -> np.ndarray:
        """Style vector ``(100,)`` of ``image`` (H, W, 3) in [0, 1], resized whole to 256x256 like a style image."""
        from filmstyle.models import prepare_style_image

        x = torch.from_numpy(prepare_style_image(image).transpose(2, 0, 1).copy())[None]
        with torch.inference_mode():
            return self.net(x)[0].numpy()

    def grams(self, image: np.ndarray) -> list[np.ndarray]:
        """Gram matrices ``G = F F^T / (C H W)`` of the :data:`GRAM_BLOCKS` outputs, each ``(C, C)``."""
        arr = np.clip(np.asarray(image, dtype=np.float32), 0, 1)
        h, w = arr.shape[:2]
        s = self.size / min(h, w)
        arr = cv2.resize(arr, (max(32, round(w * s)), max(32, round(h * s))),
                         interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
        x = torch.from_numpy(arr.transpose(2, 0, 1).copy())[None]
        out = []
        with torch.inference_mode():
            f = torch.nn.functional.relu6(self.net.stem(x))
            for i, block in enumerate(self.net.blocks):
                f = block(f)
                if i in GRAM_BLOCKS:
                    c = f.shape[1]
                    flat = f.reshape(c, -1)
                    out.append((flat @ flat.T / flat.shape[1] / c).numpy())
                if i >= max(GRAM_BLOCKS):
                    break
        return out

    @staticmethod
    def ssi(grams_x: Sequence[np.ndarray], grams_y: Sequence[np.ndarray]) -> float:
        """Style similarity ``mean_l (1 - ||G_l(x) - G_l(y)|| / ||G_l(y)||)`` (1 = identical statistics)."""
        vals = [1.0 - float(np.linalg.norm(gx - gy) / max(np.linalg.norm(gy), 1e-12))
                for gx, gy in zip(grams_x, grams_y)]
        return float(np.mean(vals))

    @staticmethod
    def distance(vx: np.ndarray, vy: np.ndarray) -> tuple[float, float]:
        """``(L2, cosine distance)`` of two style vectors; cosine distance is ``1 - cos``."""
        l2 = float(np.linalg.norm(vx - vy))
        cos = float(np.dot(vx, vy) / max(np.linalg.norm(vx) * np.linalg.norm(vy), 1e-12))
        return l2, 1.0 - cos


@dataclass
class FrameMetrics:
    """Metrics of one output frame (``None`` where not computable, e.g. no previous frame)."""

    index: int
    psnr: float
    ssim: float
    cut: bool = False
    shot: int = 0
    warp_error: float | None = None
    warp_reliable: float | None = None
    warp_error_long: float | None = None
    source_warp_error: float | None = None
    ssi: float | None = None
    style_l2: float | None = None
    style_cosine: float | None = None
    source_levels: list[float] | None = None
    output_levels: list[float] | None = None
    tone_stops: float | None = None
    tone_codes: float | None = None


#: Per-frame values averaged in summaries.
SUMMARY_KEYS = ("psnr", "ssim", "warp_error", "warp_error_long", "source_warp_error", "ssi", "style_l2",
                "style_cosine", "warp_reliable", "tone_stops", "tone_codes")


def _mean(values: Iterable[float | None]) -> float | None:
    vals = [v for v in values if v is not None and math.isfinite(v)]
    return float(np.mean(vals)) if vals else None


@dataclass
class MetricsReport:
    """Per-frame metrics of a sequence and their means.

    ``psnr``/``ssim`` compare each output with its source (content kept); ``warp_error`` is the
    short-term (t-1) and ``warp_error_long`` the long-term (t-10) warping error;
    ``source_warp_error`` is the same measure on the source itself (the floor set by the flow).
    Pairs across a shot cut are not measured. ``tone_stops``/``tone_codes`` are the largest
    difference between the output's and the source's 5/50/95 % luminance levels, in stops and in
    working-space code units.
    """

    frames: list[FrameMetrics] = field(default_factory=list)
    width: int = 0
    height: int = 0
    flow: str = "DIS medium"

    @property
    def cuts(self) -> list[int]:
        """Indices of the frames that start a shot after the first."""
        return [f.index for f in self.frames if f.cut and f.index > 0]

    def summary(self) -> dict[str, float | None]:
        return {k: _mean(getattr(f, k) for f in self.frames) for k in SUMMARY_KEYS}

    def shots(self) -> list[dict]:
        """Per shot: first and last frame index, frame count and the means of :data:`SUMMARY_KEYS`."""
        out = []
        for shot in sorted({f.shot for f in self.frames}):
            frames = [f for f in self.frames if f.shot == shot]
            row: dict = {"shot": shot, "first": frames[0].index, "last": frames[-1].index, "frames": len(frames)}
            row.update({k: _mean(getattr(f, k) for f in frames) for k in SUMMARY_KEYS})
            row["tone_stops_max"] = max((f.tone_stops for f in frames if f.tone_stops is not None), default=None)
            out.append(row)
        return out

    def to_dict(self) -> dict:
        return {"width": self.width, "height": self.height, "flow": self.flow, "frames": len(self.frames),
                "cuts": self.cuts, "summary": self.summary(), "shots": self.shots(),
                "per_frame": [asdict(f) for f in self.frames]}


def evaluate_sequence(source_frames: Iterable[np.ndarray], output_frames: Iterable[np.ndarray],
                      style_image: np.ndarray | None = None, *, features: StyleFeatures | None = None,
                      long_gap: int = LONG_TERM_GAP, flow_size: int | None = 640,
                      cut_threshold: float = DEFAULT_CUT_THRESHOLD, decode=srgb_decode) -> MetricsReport:
    """Per-frame metrics of a stylized sequence.

    Args:
        source_frames: source frames ``(H, W, 3)`` display-encoded in [0, 1] (for EXR plates,
            the colour module's working space), in order.
        output_frames: the stylized frames, same shapes and order.
        style_image: the style exemplar ``(h, w, 3)`` in [0, 1]; enables SSI and style distance.
        features: a :class:`StyleFeatures` to reuse (default: built when ``style_image`` is given).
        long_gap: frame distance of the long-term warping error.
        flow_size: long side of the flow computation.
        cut_threshold: the cut detector's histogram threshold (as the render's
            ``temporal_cut_threshold``).
        decode: working codes → linear light, for the tone levels (default sRGB's curve; the
            display shaper's :func:`filmstyle.color.shaper.decode` for scene-linear plates).

    Returns:
        A :class:`MetricsReport`.
    """
    report = MetricsReport(flow=f"DIS medium @ {flow_size or 'full'} px")
    gy = vy = None
    if style_image is not None:
        features = features or StyleFeatures()
        style = np.clip(np.asarray(style_image, dtype=np.float32), 0, 1)
        gy, vy = features.grams(style), features.vector(style)
    history: list[tuple[np.ndarray, np.ndarray]] = []
    detector = CutDetector(cut_threshold)
    shot = -1
    count = 0
    pairs = zip(source_frames, output_frames, strict=True)
    i = -1
    while True:
        try:
            src, out = next(pairs)
        except StopIteration:
            break
        except ValueError:
            raise InputError(f"metrics: source and output sequences differ in length (after {i + 1} frames)") from None
        i += 1
        src, out = _pair(src, out, f"frame {i}")
        src, out = measurable(src, f"source frame {i}"), measurable(out, f"output frame {i}")
        src_levels, src_codes = tone_levels(src, decode)
        out_levels, out_codes = tone_levels(out, decode)
        src, out = np.clip(src, 0, 1), np.clip(out, 0, 1)
        if i == 0:
            report.height, report.width = src.shape[:2]
        elif src.shape[:2] != (report.height, report.width):
            raise InputError(f"frame {i}: size {src.shape[1]}x{src.shape[0]} differs from the first frame's")
        cut, _ = detector.step(cut_thumbnail(src))
        if cut:
            shot += 1
            history.clear()
        fm = FrameMetrics(i, psnr(out, src), ssim(out, src), cut=cut, shot=shot)
        fm.source_levels, fm.output_levels = src_levels, out_levels
        fm.tone_stops = max(abs(a - b) for a, b in zip(src_levels, out_levels))
        fm.tone_codes = max(abs(a - b) for a, b in zip(src_codes, out_codes))
        if history:
            ps, po = history[-1]
            fm.warp_error, fm.warp_reliable = warping_error(out, po, src, ps, flow_size=flow_size)
            fm.source_warp_error, _ = warping_error(src, ps, src, ps, flow_size=flow_size)
        if len(history) >= long_gap:
            ps, po = history[-long_gap]
            fm.warp_error_long, _ = warping_error(out, po, src, ps, flow_size=flow_size)
        if gy is not None and features is not None:
            fm.ssi = features.ssi(features.grams(out), gy)
            fm.style_l2, fm.style_cosine = features.distance(features.vector(out), vy)
        report.frames.append(fm)
        history.append((src, out))
        if len(history) > long_gap:
            history.pop(0)
        count += 1
    if count == 0:
        raise InputError("metrics: no frames to evaluate")
    return report
