"""How far fp16, bf16 (and on CUDA tf32) move a frame from fp32: the ``precision`` bench section.

Both built-in networks run on the same working-space frame (the sample photograph) with the
torch backend, once in IEEE fp32 and once per other precision on the same device; the outputs
are compared where a user sees them:

* ``code``: the network output (display-like code, [0, 1], capped at the network ceiling as the
  render caps it): mean, 99th percentile and max absolute difference.
* ``linear``: after the working-space inverse (the display shaper's decode, in float64):
  relative difference ``|a - b| / max(b, 0.01)``, its mean over the frame and its max over the
  highlights (fp32 pixels at linear 1 or above), where a coarse output step would show as bands.

:data:`BOUNDS` are the limits the tests and the GPU check hold each precision to, set from these
figures with a margin (see the README's precision section for the measured values).
"""

from __future__ import annotations

import time

import numpy as np

__all__ = ["BOUNDS", "compare", "conditions", "precision_figures", "format_precision", "within_bounds", "working_frame"]

#: Upper limits of :func:`compare`'s figures against fp32 on the same device.
#: fp16 keeps 11 significant bits (unit roundoff 4.9e-4), bf16 8 (3.9e-3). Through the 16-18
#: convolution layers the measured mean code error is about the unit roundoff (CPU, 1080p: fp16
#: 2.6-3.9e-4, bf16 2.2-3.2e-3), with rare larger outliers where a norm amplifies a small feature
#: difference (max fp16 0.047, bf16 0.18). The limits are those worst figures, over both networks
#: and every size tested, times 2-2.5. tf32 rounds products to fp16's 10 stored bits but keeps
#: float32 activations, so it is held to fp16's limits.
BOUNDS: dict[str, dict[str, float]] = {
    "tf32": {"code_mean": 1e-3, "code_max": 0.1},
    "fp16": {"code_mean": 1e-3, "code_max": 0.1},
    "bf16": {"code_mean": 8e-3, "code_max": 0.4},
}


def compare(reference: np.ndarray, other: np.ndarray) -> dict[str, float]:
    """Figures of ``other`` against ``reference``, both network outputs ``(H, W, 3)`` in code."""
    from filmstyle.color import shaper

    ceiling = np.float32(shaper.NETWORK_CEILING)
    ref = np.minimum(reference, ceiling)
    got = np.minimum(other, ceiling)
    diff = np.abs(got.astype(np.float64) - ref)
    lin_ref = shaper.decode(ref).astype(np.float64)
    lin_got = shaper.decode(got).astype(np.float64)
    rel = np.abs(lin_got - lin_ref) / np.maximum(lin_ref, 0.01)
    bright = lin_ref >= 1.0
    return {
        "code_mean": float(diff.mean()),
        "code_p99": float(np.percentile(diff, 99)),
        "code_max": float(diff.max()),
        "linear_rel_mean": float(rel.mean()),
        "highlight_pixels": int(bright.sum()),
        "linear_rel_max_highlights": float(rel[bright].max()) if bright.any() else 0.0,
    }


def within_bounds(precision: str, figures: dict[str, float]) -> bool:
    """Whether ``figures`` (from :func:`compare`) are inside :data:`BOUNDS` for ``precision``."""
    limits = BOUNDS.get(precision)
    return limits is None or all(figures[k] <= v for k, v in limits.items())


def working_frame(width: int, height: int) -> np.ndarray:
    """The sample photograph at ``width x height``, display-encoded [0, 1] (a working-space frame)."""
    import cv2

    from filmstyle import io
    from filmstyle.tools.sheets import sample_photograph

    photo = np.clip(io.read_frame(sample_photograph()).rgb, 0, 1).astype(np.float32)
    return np.ascontiguousarray(cv2.resize(photo, (width, height), interpolation=cv2.INTER_LINEAR))


def conditions(device: str) -> dict[str, np.ndarray]:
    """The network condition per model: starry-blue for cin26, the sample photograph's vector."""
    from filmstyle.job.styles import resolve_style
    from filmstyle.models import ArbitraryStylizer

    weights = np.zeros(26, np.float32)
    index = resolve_style("starry-blue").index
    assert index is not None
    weights[index] = 1.0
    vector = ArbitraryStylizer(device=device, backend="torch").style_vector(working_frame(512, 512))
    return {"cin26": weights, "transformer": vector}


def precision_figures(device: str = "cpu", width: int = 1920, height: int = 1080,
                      precisions: tuple[str, ...] | None = None) -> dict:
    """:func:`compare` figures and seconds per network and precision on ``device``.

    Args:
        device: where all runs happen (fp32 reference included).
        width, height: frame size.
        precisions: default fp16 and bf16, plus tf32 on CUDA.

    Returns:
        ``{"device", "size", "networks": {name: {"fp32_s": s, precision: {figures, "seconds",
        "within_bounds"}}}}``.
    """
    from filmstyle.models import NetworkRunner
    from filmstyle.models.device import parse_device

    device = parse_device(device)
    if precisions is None:
        precisions = ("fp16", "bf16") + (("tf32",) if device.startswith("cuda") else ())
    frame = working_frame(width, height)
    networks: dict[str, dict] = {}
    for name, cond in conditions(device).items():
        entry: dict = {}
        ref_runner = NetworkRunner(name, device, "fp32", backend="torch")
        ref_runner(frame[:64, :64], cond)  # warm-up: load, kernel choice
        start = time.perf_counter()
        reference = ref_runner(frame, cond)
        entry["fp32_s"] = time.perf_counter() - start
        for precision in precisions:
            runner = NetworkRunner(name, device, precision, backend="torch")
            runner(frame[:64, :64], cond)
            start = time.perf_counter()
            out = runner(frame, cond)
            seconds = time.perf_counter() - start
            figures = compare(reference, out)
            entry[precision] = {**figures, "seconds": seconds, "within_bounds": within_bounds(precision, figures)}
        networks[name] = entry
    return {"device": device, "size": f"{width}x{height}", "networks": networks}


def format_precision(figures: dict) -> list[str]:
    """Table lines of :func:`precision_figures`."""
    lines = [f"  precision against fp32 on {figures['device']}, {figures['size']} (code = network output; "
             "linear = after the working-space inverse)"]
    for name, entry in figures["networks"].items():
        for precision, f in entry.items():
            if not isinstance(f, dict):
                continue
            limits = BOUNDS.get(precision, {})
            lines.append(
                f"    {name:<11} {precision}  code mean {f['code_mean']:.1e} p99 {f['code_p99']:.1e} "
                f"max {f['code_max']:.3f}  linear rel mean {f['linear_rel_mean']:.1e}, highlights max "
                f"{f['linear_rel_max_highlights']:.1%} ({f['highlight_pixels']} px)  "
                f"{f['seconds']:.2f} s vs fp32 {entry['fp32_s']:.2f} s  "
                f"[{'within' if f['within_bounds'] else 'OUTSIDE'} mean {limits.get('code_mean', 0):.1e}, "
                f"max {limits.get('code_max', 0):g}]")
    return lines
