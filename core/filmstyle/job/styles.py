"""Style references: the 26 built-in looks by name, or any image as an arbitrary style.

A style string from the CLI, a job file or a host is resolved here, once, into a :class:`StyleRef`.
Built-in names were chosen from what each look does to a portrait (the original network ships only
indices); ``style07`` and the bare index ``7`` are accepted as aliases so old notes still work.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from filmstyle.errors import FilmStyleError, StyleError, clip
from filmstyle.job.limits import MAX_STYLE_PIXELS, absolute_path, is_file

__all__ = [
    "BUILTIN_STYLES",
    "IMAGE_STYLE_EXTENSIONS",
    "StyleRef",
    "builtin_index",
    "resolve_style",
    "image_style_path",
    "check_style_image",
]

#: Readable names of the 26 looks of the multi-style network, in the network's index order.
BUILTIN_STYLES: tuple[str, ...] = (
    "pale-wash",
    "bold-outline",
    "charcoal-sketch",
    "vivid-brush",
    "rose-pastel",
    "amber-hatch",
    "indigo-cells",
    "cobalt-gold",
    "candy-lines",
    "teal-mosaic",
    "umber-ink",
    "ochre-etching",
    "lilac-haze",
    "teal-gold",
    "glacier-wash",
    "stained-glass",
    "night-swirl",
    "brick-grid",
    "parchment-sketch",
    "starry-blue",
    "crimson-fire",
    "torn-paper",
    "slate-ink",
    "soft-graphite",
    "denim-pattern",
    "cobalt-texture",
)

#: Files accepted as arbitrary styles (any painting or photograph).
IMAGE_STYLE_EXTENSIONS: frozenset[str] = frozenset(
    {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".exr", ".dpx", ".bmp", ".webp"}
)


@dataclass(frozen=True)
class StyleRef:
    """One resolved style.

    ``kind == "builtin"``: ``index`` selects a look of the 26-style network (model ``cin26``).
    ``kind == "image"``: ``path`` is a style image for the arbitrary network (model ``arbitrary``).
    """

    kind: Literal["builtin", "image"]
    index: int = -1
    path: Path | None = None

    @property
    def model(self) -> Literal["cin26", "arbitrary"]:
        return "cin26" if self.kind == "builtin" else "arbitrary"

    @property
    def label(self) -> str:
        if self.kind == "builtin":
            return BUILTIN_STYLES[self.index]
        assert self.path is not None
        return self.path.name


def builtin_index(name: str) -> int | None:
    """Index of a built-in look by name (``"starry-blue"``), alias (``"style19"``) or index (``"19"``)."""
    key = name.strip().lower().replace("_", "-").replace(" ", "-")
    if key in BUILTIN_STYLES:
        return BUILTIN_STYLES.index(key)
    digits = key[5:] if key.startswith("style") else key
    if digits.isascii() and digits.isdigit() and 0 <= int(digits) < len(BUILTIN_STYLES):  # "²".isdigit()
        return int(digits)
    return None


def resolve_style(text: str, *, base_dir: Path | None = None, field: str = "style") -> StyleRef:
    """Resolve a style string to a :class:`StyleRef`.

    Args:
        text: a built-in name, alias or index, or a path to an image file.
        base_dir: directory relative image paths resolve from (a job file's folder); default: cwd.
        field: name used in error messages (``"--style"``, ``"styles[1].style"``).

    Raises:
        StyleError: unknown name (with close matches), or an image path that does not exist.
    """
    if not isinstance(text, str) or not text.strip():
        raise StyleError(f"{field}: expected a built-in style name or an image path, got {clip(repr(text), 60)}")
    index = builtin_index(text)
    if index is not None:
        return StyleRef(kind="builtin", index=index)
    path = image_style_path(text, base_dir, field)
    if path is not None:
        if path.suffix.lower() not in IMAGE_STYLE_EXTENSIONS:
            valid = ", ".join(sorted(IMAGE_STYLE_EXTENSIONS))
            raise StyleError(f"{field}: {clip(text, 80)}: not an image type usable as a style (valid: {valid})")
        if not is_file(path, field):
            raise StyleError(f"{field}: style image not found: {clip(path, 120)}")
        return StyleRef(kind="image", path=path.resolve())
    close = difflib.get_close_matches(text.strip().lower()[:100], BUILTIN_STYLES, n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(close)}?" if close else "; `filmstyle styles` lists them"
    raise StyleError(f"{field}: unknown style {clip(repr(text), 60)} (not a built-in name and not an image file){hint}")


def image_style_path(text: str, base_dir: Path | None, field: str = "style") -> Path | None:
    """The image file a style string names (absolute when ``base_dir`` is given), or None when it
    is a name: it names a file when it has an image extension or a folder separator. Nothing on
    disk is looked at."""
    suffix = Path(text).suffix.lower()
    if suffix in IMAGE_STYLE_EXTENSIONS or "/" in text or "\\" in text:
        return absolute_path(text, base_dir, field)
    return None


def check_style_image(path: Path, field: str = "style") -> None:
    """Refuse, from its header alone, a style image that cannot be read as RGB or is over
    :data:`~filmstyle.job.limits.MAX_STYLE_PIXELS`, naming ``field`` and the file.

    Whatever decodes a style image calls this first (a render, ``validate``, a contact sheet):
    the decoder would allocate the full picture before anything shrinks it.
    """
    from filmstyle import io

    try:
        spec = io.read_header(path)
    except FilmStyleError as exc:
        raise StyleError(f"{field}: style image {exc}") from None
    pixels = spec.width * spec.height
    if pixels > MAX_STYLE_PIXELS:
        raise StyleError(f"{field}: style image {clip(path, 120)} is {spec.width}x{spec.height} "
                         f"({pixels / 1e6:.1f} megapixels), at most {MAX_STYLE_PIXELS / 1e6:.1f} "
                         "megapixels (8192x8192); scale it down: the network sees it at about 256 px")
