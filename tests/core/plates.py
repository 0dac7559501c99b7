"""Realistic test plates: photographic RGB (finite, scene-linear) plus untouched AOVs.

The io fixtures sweep every half bit pattern through RGB (NaN and Inf included), which is right for
bit-exactness tests but not for a render, which refuses NaN. These plates put a real photograph
in RGB and keep the nasty bit patterns in the channels that must pass through untouched.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
import OpenImageIO as oiio

__all__ = ["photo_linear", "make_plate", "make_plate_sequence"]


@lru_cache(maxsize=8)
def photo_linear(width: int, height: int) -> np.ndarray:
    """The sample photograph resized to ``(height, width, 3)``, sRGB decoded to linear, float32."""
    from filmstyle.tools.sheets import sample_photograph

    inp = oiio.ImageInput.open(str(sample_photograph()))
    pixels = np.asarray(inp.read_image(0, 0, 0, 3, "float"), dtype=np.float32)
    inp.close()
    pixels = cv2.resize(pixels, (width, height), interpolation=cv2.INTER_AREA)
    linear = np.where(pixels <= 0.04045, pixels / 12.92, ((pixels + 0.055) / 1.055) ** 2.4)
    return linear.astype(np.float32)


def make_plate(
    path: Path,
    width: int = 96,
    height: int = 64,
    *,
    seed: int = 0,
    origin: tuple[int, int] = (8, 4),
    highlight: float = 40.0,
    compression: str = "piz",
) -> Path:
    """Half RGBA photo plate with float Z, half matte.R and a half diffuse.R/G/B layer.

    The data window starts at ``origin`` inside a display window 16 px larger each way; one pixel
    holds a ``highlight`` far above 1.0; AOV channels hold random bit patterns incl. NaN/Inf.
    """
    rng = np.random.default_rng(seed)
    rgb = photo_linear(width, height).copy()
    rgb *= np.float32(0.9 + 0.2 * rng.random())
    rgb[height // 2, width // 2] = highlight
    alpha = np.ones((height, width), np.float32)
    alpha[:, :3] = 0.0  # a fully transparent strip
    alpha[:, 3:6] = 0.5
    rgb[:, :3] = 0.0
    rgb[:, 3:6] *= 0.5  # premultiplied
    z = rng.normal(10, 3, (height, width)).astype(np.float32)
    aov_bits = rng.integers(0, 1 << 16, (height, width, 4), dtype=np.uint32).astype(np.uint16)
    aovs = aov_bits.view(np.float16).astype(np.float32)  # every half pattern: NaN, Inf, denormals
    pixels = np.dstack([rgb, alpha, z, aovs]).astype(np.float32)
    spec = oiio.ImageSpec(width, height, 9, "half")
    spec.channelnames = ("R", "G", "B", "A", "Z", "matte.R", "diffuse.R", "diffuse.G", "diffuse.B")
    spec.channelformats = tuple([oiio.HALF] * 4 + [oiio.FLOAT] + [oiio.HALF] * 4)
    spec.alpha_channel = 3
    spec.z_channel = 4
    spec.x, spec.y = origin
    spec.full_x, spec.full_y = 0, 0
    spec.full_width, spec.full_height = width + 16, height + 16
    spec.attribute("compression", compression)
    spec.attribute("smpte:TimeCode", oiio.TypeDesc("timecode"), (0x01000000 + seed, 0))
    spec.attribute("Copyright", "Example Pictures Ltd")
    spec.attribute("studio:shot", "sq010_sh020")
    path.parent.mkdir(parents=True, exist_ok=True)
    out = oiio.ImageOutput.create(str(path))
    assert out is not None and out.open(str(path), spec), oiio.geterror()
    assert out.write_image(pixels), out.geterror()
    out.close()
    return path


def make_plate_sequence(folder: Path, frames, **kwargs) -> str:
    """``shot.####.exr`` plates for ``frames``; returns the ``####`` pattern."""
    for frame in frames:
        make_plate(folder / f"shot.{frame:04d}.exr", seed=frame, **kwargs)
    return str(folder / "shot.####.exr")
