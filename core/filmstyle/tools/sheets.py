"""Contact sheets: labelled grids of display-ready thumbnails written as 8-bit PNG."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

__all__ = ["sample_photograph", "contact_sheet", "builtin_style_sheet", "check_sheet_path", "sheet_picture"]


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
    from filmstyle.errors import OutputError
    from filmstyle.io._oiio import condense
    from filmstyle.io.targets import atomic_target

    path = Path(path)
    check_sheet_path(path)
    with atomic_target(path) as tmp:
        out = oiio.ImageOutput.create(str(tmp))
        if out is None or not out.open(str(tmp), oiio.ImageSpec(pixels.shape[1], pixels.shape[0], 3, "uint8")):
            raise OutputError(f"{path}: cannot write contact sheet: {condense(oiio.geterror())}")
        written = out.write_image(pixels)
        closed = out.close()
        if not (written and closed):
            raise OutputError(f"{path}: cannot write contact sheet: {condense(oiio.geterror())}")
    return path


def check_sheet_path(path: Path) -> None:
    """Refuse (one :class:`~filmstyle.errors.OutputError` line) a sheet path that cannot be written:
    checked before the tiles are rendered, which takes a while."""
    import OpenImageIO as oiio

    from filmstyle.errors import OutputError
    from filmstyle.io.targets import check_output_paths

    path = Path(path)
    check_output_paths([path])
    if not path.suffix:
        raise OutputError(f"{path}: no file extension; name the contact sheet .png (or .jpg, .tif)")
    if oiio.ImageOutput.create(str(path)) is None:
        oiio.geterror()  # consumed, so that it does not turn up in a later message
        raise OutputError(f"{path}: cannot write a contact sheet as {path.suffix}; use .png, .jpg or .tif")


def sheet_picture(image: Path | None) -> np.ndarray:
    """The RGB of the picture the looks are shown on (default: :func:`sample_photograph`);
    :class:`~filmstyle.errors.StyleError` naming ``--image`` for one too large (from its header)
    or holding NaN/Inf."""
    from filmstyle import io
    from filmstyle.errors import StyleError
    from filmstyle.job.styles import check_style_image

    if image is None:
        return io.read_frame(sample_photograph()).rgb
    check_style_image(Path(image), "--image")
    rgb = io.read_frame(image).rgb
    if not np.isfinite(rgb).all():
        raise StyleError(f"--image {image}: holds NaN or infinite pixel values; choose another picture")
    return rgb


def builtin_style_sheet(path: Path, *, image: Path | None = None, picture: np.ndarray | None = None,
                        tile_width: int = 240) -> Path:
    """Render every built-in look on ``image`` (default: :func:`sample_photograph`) into one sheet."""
    from filmstyle.job.styles import BUILTIN_STYLES
    from filmstyle.models import Cin26Stylizer

    # ``picture``: :func:`sheet_picture`'s result when the caller checked ``image`` already.
    rgb = np.clip(sheet_picture(image) if picture is None else picture, 0, 1).astype(np.float32)
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
