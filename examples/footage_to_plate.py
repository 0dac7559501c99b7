"""Turn a video file into a half-float ACEScg EXR plate, to try filmstyle on real moving footage.

Display-referred Rec.709 video (what a camera phone or a web clip holds) is decoded with its
gamma 2.4 display curve (BT.1886) and converted to scene-linear ACEScg with OpenColorIO, the
space filmstyle assumes for EXR by default. Frames are numbered from 1001::

    python examples/footage_to_plate.py clip.mp4 plate/clip.####.exr --width 640 --count 48
    filmstyle stylize plate/clip.####.exr out/clip.####.exr --style starry-blue --temporal 0.7
    filmstyle metrics plate/clip.####.exr out/clip.####.exr --style starry-blue
"""

from __future__ import annotations

import argparse
import sys
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import OpenImageIO as oiio

from filmstyle import color
from filmstyle.io import FrameSequence

VIDEO_SPACE = "Gamma 2.4 Encoded Rec.709"
PLATE_SPACE = "ACEScg"
FIRST_FRAME = 1001


def write_plate(video: Path, pattern: str, *, start: int = 0, count: int = 0, width: int = 0) -> int:
    """Write frames ``start`` .. ``start + count`` of ``video`` (all when ``count`` is 0); return how many.

    ``width`` resizes (0 keeps the video's size); the height follows the aspect ratio, rounded to even.
    """
    config = color.load_config(None)
    cpu = config.getProcessor(VIDEO_SPACE, PLATE_SPACE).getDefaultCPUProcessor()
    seq = FrameSequence(pattern, (FIRST_FRAME,))
    capture = cv2.VideoCapture(str(video))
    if not capture.isOpened():
        raise SystemExit(f"{video}: cannot open the video (OpenCV reads mp4, mov, mkv, avi...)")
    fps = Fraction(capture.get(cv2.CAP_PROP_FPS) or 24.0).limit_denominator(1001)
    capture.set(cv2.CAP_PROP_POS_FRAMES, start)
    written = 0
    while count <= 0 or written < count:
        ok, bgr = capture.read()
        if not ok:
            break
        rgb = np.ascontiguousarray(bgr[..., ::-1], dtype=np.float32) / 255.0
        if width:
            height = max(2, round(rgb.shape[0] * width / rgb.shape[1] / 2) * 2)
            rgb = cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA)
        rgb = np.ascontiguousarray(rgb)
        cpu.applyRGB(rgb)
        path = Path(seq.path(FIRST_FRAME + written))
        path.parent.mkdir(parents=True, exist_ok=True)
        spec = oiio.ImageSpec(rgb.shape[1], rgb.shape[0], 3, oiio.HALF)
        spec.attribute("compression", "piz")
        spec.attribute("oiio:ColorSpace", PLATE_SPACE)
        spec.attribute("FramesPerSecond", oiio.TypeDesc("rational2i"), [fps.numerator, fps.denominator])
        out = oiio.ImageOutput.create(str(path))
        if out is None or not out.open(str(path), spec) or not out.write_image(rgb):
            raise SystemExit(f"{path}: cannot write ({oiio.geterror()})")
        out.close()
        written += 1
    capture.release()
    if not written:
        raise SystemExit(f"{video}: no frames read from frame {start}")
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("video", type=Path)
    parser.add_argument("pattern", help="output plate, e.g. plate/clip.####.exr")
    parser.add_argument("--start", type=int, default=0, help="first video frame (0-based)")
    parser.add_argument("--count", type=int, default=0, help="frames to write (0 = to the end)")
    parser.add_argument("--width", type=int, default=0, help="resize to this width (0 = keep)")
    args = parser.parse_args()
    n = write_plate(args.video, args.pattern, start=args.start, count=args.count, width=args.width)
    print(f"{n} frames -> {args.pattern} (frames {FIRST_FRAME}-{FIRST_FRAME + n - 1})", file=sys.stderr)


if __name__ == "__main__":
    main()
