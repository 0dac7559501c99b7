"""User models as styles: ``custom:PATH`` and named styles from a user styles file.

A style string names one of three things (first match wins):

1. a built-in look (``starry-blue``, ``style19``, ``19``);
2. ``custom:PATH`` — a user model file (fast-neural-style or CycleGAN ``.pth``, or ``.onnx``;
   see :func:`filmstyle.models.custom.load_custom`), relative paths from the job file's folder;
3. a name from the **user styles file**, a YAML mapping of names to model files or style images::

       # ~/.config/filmstyle/styles.yaml   (or the file $FILMSTYLE_STYLES names)
       monet: models/monet_cyclegan.pth             # relative to this file's folder
       ukiyoe: {model: /models/ukiyoe.onnx, value_range: [-1, 1]}
       sunday: paintings/seurat.jpg                 # an image: runs on the arbitrary network

   The config folder is the one the worker uses (``$FILMSTYLE_CONFIG_DIR`` wins, else the
   platform's user config folder, ``~/.config/filmstyle`` on Linux).
4. otherwise a style image path (see :func:`filmstyle.job.styles.resolve_style`).

So ``filmstyle stylize in.####.exr out.####.exr --style monet`` runs the user's model. A custom
model is a network of its own: it cannot be blended with other styles in one look (use regions),
and its strength goes to 1 (a mix with the source). Tiling with shared statistics needs the
built-in networks; custom models run whole-frame (stroke scale still applies).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from filmstyle.config import config_dir
from filmstyle.errors import StyleError, clip
from filmstyle.job.limits import absolute_path, is_file
from filmstyle.job.styles import IMAGE_STYLE_EXTENSIONS, StyleRef, builtin_index, image_style_path, resolve_style

__all__ = ["MODEL_EXTENSIONS", "STYLES_ENV", "CustomStyleRef", "styles_file", "load_user_styles", "resolve_any_style",
           "style_path"]

#: Files accepted as user models.
MODEL_EXTENSIONS: frozenset[str] = frozenset({".pth", ".pt", ".onnx"})
#: Environment variable naming the user styles file (overrides the config folder's styles.yaml).
STYLES_ENV = "FILMSTYLE_STYLES"
_PREFIX = "custom:"


@dataclass(frozen=True)
class CustomStyleRef:
    """A user model used as a style (duck-types :class:`~filmstyle.job.styles.StyleRef`)."""

    path: Path
    value_range: tuple[float, float] | None = None
    name: str | None = None
    kind: Literal["custom"] = "custom"
    index: int = -1

    @property
    def model(self) -> str:
        return "custom"

    @property
    def label(self) -> str:
        return self.name or self.path.name


def styles_file() -> Path:
    """The user styles file: ``$FILMSTYLE_STYLES``, else ``styles.yaml`` in the config folder."""
    override = os.environ.get(STYLES_ENV)
    if override:
        return Path(override).expanduser()

    return config_dir() / "styles.yaml"


def load_user_styles(path: Path | None = None) -> dict[str, Any]:
    """The user styles file's mapping (name → path or ``{model, value_range}``); {} when absent."""
    import yaml

    path = styles_file() if path is None else path
    if not path.is_file():
        if os.environ.get(STYLES_ENV):
            raise StyleError(f"{STYLES_ENV}: styles file not found: {path}")
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise StyleError(f"{path.name}: cannot read the styles file ({str(exc).splitlines()[0]})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise StyleError(f"{path.name}: expected a mapping of style names to model or image files")
    return {str(k).strip().lower(): v for k, v in data.items()}


def _custom(text: str, base: Path | None, field: str, value_range: Any = None, name: str | None = None) -> CustomStyleRef:
    p = absolute_path(text, base, field)
    if p.suffix.lower() not in MODEL_EXTENSIONS:
        raise StyleError(f"{field}: {clip(text, 80)}: not a model file (valid: {', '.join(sorted(MODEL_EXTENSIONS))})")
    if not is_file(p, field):
        raise StyleError(f"{field}: model file not found: {clip(p, 120)}")
    vr = None
    if value_range is not None:
        if (not isinstance(value_range, (list, tuple)) or len(value_range) != 2
                or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value_range)
                or value_range[0] >= value_range[1]):
            raise StyleError(f"{field}: value_range must be [low, high] with low < high, got {clip(repr(value_range), 60)}")
        vr = (float(value_range[0]), float(value_range[1]))
    return CustomStyleRef(p.resolve(), vr, name)


def _named(name: str, entry: Any, field: str) -> StyleRef | CustomStyleRef:
    base = styles_file().parent
    where = f"{field}: user style {name!r} ({styles_file().name})"
    if isinstance(entry, dict):
        unknown = set(entry) - {"model", "value_range"}
        if unknown or "model" not in entry or not isinstance(entry["model"], str):
            raise StyleError(f"{where}: expected a path or {{model: PATH, value_range: [low, high]}}")
        return _custom(entry["model"], base, where, entry.get("value_range"), name)
    if not isinstance(entry, str) or not entry.strip():
        raise StyleError(f"{where}: expected a model or image path, got {clip(repr(entry), 60)}")
    if Path(entry).suffix.lower() in IMAGE_STYLE_EXTENSIONS:
        return resolve_style(entry, base_dir=base, field=where)
    return _custom(entry, base, where, None, name)


def style_path(text: str, *, base_dir: Path | None = None, field: str = "style") -> Path | None:
    """The file a style string itself names (a ``custom:`` model or an image), or None for a
    built-in look or a user style name (whose files the user styles file names). Nothing on disk
    is looked at, so a caller can check the path before :func:`resolve_any_style` opens it."""
    stripped = text.strip()
    if builtin_index(stripped) is not None:
        return None
    if stripped.lower().startswith(_PREFIX):
        return absolute_path(stripped[len(_PREFIX):].strip(), base_dir, field)
    return image_style_path(text, base_dir, field)


def resolve_any_style(text: str, *, base_dir: Path | None = None, field: str = "style") -> StyleRef | CustomStyleRef:
    """Resolve a style string (built-in, ``custom:PATH``, user style name, or image path)."""
    if isinstance(text, str):
        stripped = text.strip()
        if builtin_index(stripped) is None:
            if stripped.lower().startswith(_PREFIX):
                return _custom(stripped[len(_PREFIX):].strip(), base_dir, field)
            user = load_user_styles() if not any(c in stripped for c in "/\\.") else {}
            if stripped.lower() in user:
                return _named(stripped.lower(), user[stripped.lower()], field)
    return resolve_style(text, base_dir=base_dir, field=field)
