"""``filmstyle demo``: a real photograph animated into a short scene-linear EXR shot, stylized.

The photograph (shipped with matplotlib) is decoded from sRGB to ACEScg linear, moved with a slow
push-in and tilt, and written as a half-float EXR sequence with alpha, a depth channel and shot
metadata — the kind of plate the tool is for. The shot is then stylized through the same render
path as ``filmstyle stylize`` and a before/after contact sheet is written.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

__all__ = ["make_demo_shot", "run_demo"]

DEMO_SIZE = (960, 540)


def make_demo_shot(folder: Path, frames: int, *, first: int = 1001, size: tuple[int, int] = DEMO_SIZE,
                   depth: bool = True) -> str:
    """Write ``frames`` ACEScg EXRs ``plate.####.exr`` into ``folder``; return the pattern.

    Channels: half ``R, G, B, A`` and, with ``depth``, a float ``Z`` as a CG render carries it
    (without, every channel is half, as a camera plate has it). PIZ compression.
    """
    import OpenImageIO as oiio

    from filmstyle import color, io
    from filmstyle.tools.sheets import sample_photograph

    photo = io.read_frame(sample_photograph()).rgb.astype(np.float32)
    config = color.load_config(None)
    to_linear = color.ColorTransform(config, "sRGB Encoded Rec.709 (sRGB)", "ACEScg")
    # ColorTransform maps input -> working; here "working" is ACEScg, i.e. a plain conversion.
    linear = to_linear.to_working(np.ascontiguousarray(photo))
    h, w = linear.shape[:2]
    width, height = size
    folder.mkdir(parents=True, exist_ok=True)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    for i in range(frames):
        t = i / max(frames - 1, 1)
        # A 16:9 window that pushes in 12% and tilts down the portrait over the shot.
        crop_w = w * (1.0 - 0.12 * t)
        crop_h = crop_w * height / width
        x0 = (w - crop_w) / 2
        y0 = (h - crop_h) * (0.15 + 0.5 * t)
        matrix = np.array([[crop_w / width, 0, x0], [0, crop_h / height, y0]], np.float32)
        rgb = cv2.warpAffine(linear, matrix, (width, height), flags=cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REFLECT)
        layers = [rgb, np.ones((height, width), np.float32)]
        if depth:
            layers.append(2.0 + 3.0 * yy / height + 0.5 * np.sin(xx / 40.0 + t))
        pixels = np.dstack(layers).astype(np.float32)
        spec = oiio.ImageSpec(width, height, pixels.shape[2], "half")
        spec.alpha_channel = 3
        if depth:
            spec.channelnames = ("R", "G", "B", "A", "Z")
            spec.channelformats = (oiio.HALF, oiio.HALF, oiio.HALF, oiio.HALF, oiio.FLOAT)
            spec.z_channel = 4
        else:
            spec.channelnames = ("R", "G", "B", "A")
        spec.attribute("compression", "piz")
        spec.attribute("oiio:ColorSpace", "ACEScg")
        spec.attribute("Owner", "filmstyle demo")
        spec.attribute("smpte:TimeCode", oiio.TypeDesc("timecode"), [0x01000000 + i, 0])
        spec.attribute("FramesPerSecond", oiio.TypeDesc("rational2i"), [24, 1])
        path = folder / f"plate.{first + i:04d}.exr"
        out = oiio.ImageOutput.create(str(path))
        if out is None or not out.open(str(path), spec):
            raise OSError(f"{path}: {oiio.geterror()}")
        out.write_image(pixels)
        out.close()
    return str(folder / "plate.####.exr")


def _display(rgb: np.ndarray, transform) -> np.ndarray:
    return np.clip(transform.to_working(np.ascontiguousarray(rgb[..., :3], dtype=np.float32)), 0, 1)


def run_demo(out: Path, *, frames: int = 12, style: str = "starry-blue") -> dict[str, str]:
    """Make the demo shot, stylize it, write the contact sheet; return what was written where."""
    from filmstyle import color, io
    from filmstyle.engine.sequence import render_sequence
    from filmstyle.job import plan_from_cli
    from filmstyle.tools.sheets import contact_sheet

    out = Path(out)
    plate = make_demo_shot(out / "plate", frames)
    result_pattern = str(out / "stylized" / "plate_styled.####.exr")
    plan = plan_from_cli(input=plate, output=result_pattern, style=style, strength=1.0, overwrite=True)
    report = render_sequence(plan)
    config = color.load_config(None)
    view = color.ColorTransform(config, "ACEScg", "sRGB Encoded Rec.709 (sRGB)")
    shown = sorted({plan.source.frames[0], plan.source.frames[len(plan.source.frames) // 2], plan.source.frames[-1]})
    tiles, labels = [], []
    for frame in shown:
        tiles.append(_display(io.read_frame(plan.source.path(frame)).rgb, view))
        labels.append(f"{frame} source")
        tiles.append(_display(io.read_frame(plan.output.path(frame)).rgb, view))
        labels.append(f"{frame} {style}")
    sheet = contact_sheet(tiles, labels, out / "before_after.png", columns=2, tile_width=480)
    return {
        "plate": plate,
        "stylized": result_pattern,
        "contact sheet": str(sheet),
        "frames": f"{report.written} written in {report.seconds:.1f} s",
    }
