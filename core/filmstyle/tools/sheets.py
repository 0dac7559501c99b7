"""Contact sheets: labelled grids of display-ready thumbnails written as 8-bit PNG."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

__all__ = ["sample_photograph", "contact_sheet", "builtin_style_sheet"]


def sample_photograph() -> Path:
    """A real photograph shipped with matplotlib (Grace Hopper, public domain), used by the demo."""
    import matplotlib.cbook

    return Path(matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))


def contact_sheet(
    tiles: Sequence[np.ndarray],
    labels: Sequence[str],
    path: Path,
    *,
    columns: int,
    tile_width: int = 256,
) -> Path:
    """Write display-encoded tiles ``(H, W, 3)`` float32 in [0, 1] as a labelled PNG grid.

    Tiles are resized to ``tile_width`` keeping their aspect; every tile gets a caption strip.
    """
    import OpenImageIO as oiio

    if len(tiles) != len(labels) or not tiles:
        raise ValueError("contact_sheet needs one label per tile and at least one tile")
    h0, w0 = tiles[0].shape[:2]
    tile_height = max(1, round(tile_width * h0 / w0))
    caption = 22
    rows = (len(tiles) + columns - 1) // columns
    sheet = np.full((rows * (tile_height + caption), columns * tile_width, 3), 0.08, np.float32)
    origins = []
    for i, tile in enumerate(tiles):
        r, c = divmod(i, columns)
        y, x = r * (tile_height + caption), c * tile_width
        thumb = cv2.resize(np.clip(tile, 0, 1).astype(np.float32), (tile_width, tile_height), interpolation=cv2.INTER_AREA)
        sheet[y : y + tile_height, x : x + tile_width] = thumb
        origins.append((x + 6, y + tile_height + 16))
    pixels = (np.clip(sheet, 0, 1) * 255 + 0.5).astype(np.uint8)
    for origin, label in zip(origins, labels):
        cv2.putText(pixels, label, origin, cv2.FONT_HERSHEY_SIMPLEX, 0.45, (235, 235, 235), 1, cv2.LINE_AA)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    out = oiio.ImageOutput.create(str(path))
    if out is None or not out.open(str(path), oiio.ImageSpec(pixels.shape[1], pixels.shape[0], 3, "uint8")):
        raise OSError(f"{path}: cannot write contact sheet: {oiio.geterror()}")
    out.write_image(pixels)
    out.close()
    return path


def builtin_style_sheet(path: Path, *, image: Path | None = None, tile_width: int = 240) -> Path:
    """Render every built-in look on ``image`` (default: :func:`sample_photograph`) into one sheet."""
    from filmstyle import io
    from filmstyle.job.styles import BUILTIN_STYLES
    from filmstyle.models import Cin26Stylizer

    frame = io.read_frame(image or sample_photograph())
    rgb = np.clip(frame.rgb, 0, 1).astype(np.float32)
    # The sheet shows the looks as the network makes them: on a display-encoded picture.
    h, w = rgb.shape[:2]
    scale = 320 / max(h, w)
    small = cv2.resize(rgb, (max(4, round(w * scale)), max(4, round(h * scale))), interpolation=cv2.INTER_AREA)
    model = Cin26Stylizer()
    tiles, labels = [small], ["original"]
    for index, name in enumerate(BUILTIN_STYLES):
        weights = np.zeros(len(BUILTIN_STYLES), np.float32)
        weights[index] = 1.0
        tiles.append(model(small, weights))
        labels.append(f"{index} {name}")
    return contact_sheet(tiles, labels, path, columns=9, tile_width=tile_width)
