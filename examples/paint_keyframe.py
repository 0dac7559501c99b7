"""Make a stand-in for a hand-painted keyframe: one plate frame painted by OpenCV's
edge-preserving stylization (flat colour areas, dark outlines) with a warm palette shift, written
back as a half-float EXR in the plate's colourspace. The README's keyframe figures use it::

    python examples/paint_keyframe.py plate/clip.1024.exr paint/clip.1024.exr
    filmstyle stylize plate/clip.####.exr out/clip.####.exr --keyframe 1024=paint/clip.1024.exr

A real keyframe is whatever an artist paints over a rendered frame; this one is made by a filter
the networks cannot imitate, so how closely the shot follows it is easy to see.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np
import OpenImageIO as oiio

from filmstyle import color, io


def paint_keyframe(plate: Path, out: Path, *, colorspace: str = "ACEScg") -> Path:
    frame = io.read_frame(plate)
    transform = color.ColorTransform(color.load_config(None), colorspace, None)
    display = np.clip(transform.to_working(np.ascontiguousarray(frame.rgb, dtype=np.float32)), 0, 1)
    bgr = (display[..., ::-1] * 255 + 0.5).astype(np.uint8)
    painted = cv2.stylization(bgr, sigma_s=40, sigma_r=0.45)[..., ::-1].astype(np.float32) / 255
    painted = np.clip(painted * np.float32([1.08, 0.98, 0.85]) + np.float32([0.03, 0.0, -0.02]), 0, 1)
    linear = transform.from_working(np.ascontiguousarray(painted, dtype=np.float32))
    spec = oiio.ImageSpec(linear.shape[1], linear.shape[0], 3, oiio.HALF)
    spec.attribute("compression", "piz")
    spec.attribute("oiio:ColorSpace", colorspace)
    out.parent.mkdir(parents=True, exist_ok=True)
    output = oiio.ImageOutput.create(str(out))
    if output is None or not output.open(str(out), spec) or not output.write_image(np.ascontiguousarray(linear)):
        raise SystemExit(f"{out}: cannot write ({oiio.geterror()})")
    output.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("plate", type=Path, help="one plate frame (EXR)")
    parser.add_argument("out", type=Path, help="the keyframe to write (EXR)")
    parser.add_argument("--colorspace", default="ACEScg", help="the plate's colourspace (default ACEScg)")
    args = parser.parse_args()
    paint_keyframe(args.plate, args.out, colorspace=args.colorspace)


if __name__ == "__main__":
    main()
