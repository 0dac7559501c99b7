"""OCIO config loading, colourspace names and per-format input defaults."""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Iterable, Sequence

import PyOpenColorIO as OCIO

from filmstyle.color.resolve_spaces import add_resolve_spaces
from filmstyle.errors import ColorError

__all__ = [
    "DEFAULT_CONFIG",
    "MOVIE_COLORSPACE",
    "load_config",
    "resolve_colorspace",
    "colorspace_encoding",
    "default_input_colorspace",
    "list_colorspaces",
    "list_roles",
    "first_known",
    "one_line",
]

DEFAULT_CONFIG = "ocio://studio-config-latest"
"""Built-in ACES studio config used when neither ``--ocio`` nor ``$OCIO`` is given."""

# Candidate names, tried in order; each is a colourspace name, alias or role. The ACES configs
# answer the first entry; the later ones cover older and hand-written configs (e.g. nuke-default).
_WORKING_LOG = ("ACEScct", "acescct_ap1", "ACES - ACEScct", "compositing_log")
_SCENE_LINEAR = ("scene_linear", "ACEScg", "lin_rec709", "linear")
_FILM_LOG = ("ADX10", "Input - ADX - ADX10", "Cineon", "cineon", "lg10", "compositing_log")
_SRGB = ("sRGB Encoded Rec.709 (sRGB)", "srgb_tx", "sRGB - Texture", "sRGB", "srgb8", "texture_paint")
_REC709 = ("Gamma 2.4 Encoded Rec.709", "rec709_display", "Camera Rec.709", "rec709", "Rec709")
_GAMMA22 = ("Gamma 2.2 Encoded Rec.709", "g22_rec709", "Gamma2.2", "gamma22")
#: What a movie (ProRes, DNxHR, H.264...) is read as by default: Rec.709 video, BT.1886 (gamma
#: 2.4) encoded, "Rec.709 Gamma 2.4" in Resolve; the studio config's name. Other configs: _REC709.
MOVIE_COLORSPACE = "Gamma 2.4 Encoded Rec.709"

_FORMATS = {
    "openexr": _SCENE_LINEAR, "exr": _SCENE_LINEAR, "hdr": _SCENE_LINEAR,
    "dpx": _FILM_LOG, "cineon": _FILM_LOG, "cin": _FILM_LOG,
    "png": _SRGB, "jpeg": _SRGB, "jpg": _SRGB, "tiff": _SRGB, "tif": _SRGB,
    "bmp": _SRGB, "targa": _SRGB, "tga": _SRGB, "webp": _SRGB,
    "movie": (MOVIE_COLORSPACE, *_REC709),
}
# File tags that carry no information (DPX "Undefined"/"User defined", OIIO's empty default).
_EMPTY_HINTS = {"", "undefined", "unspecified", "unknown", "userdefined", "default", "none"}


def one_line(text: str) -> str:
    return " ".join(str(text).split())


# --------------------------------------------------------------------------------------- config


def _builtin_uris() -> list[str]:
    names = ["default", "studio-config-latest", "cg-config-latest"]
    names += [name for name, *_ in OCIO.BuiltinConfigRegistry().getBuiltinConfigs()]
    return [f"ocio://{name}" for name in names]


def load_config(path: str | None = None) -> OCIO.Config:
    """Load the OCIO config for a run.

    Precedence: an explicit ``path`` (the ``--ocio`` option; a file or an ``ocio://`` URI) wins,
    else the ``$OCIO`` environment variable, else :data:`DEFAULT_CONFIG`
    (``ocio://studio-config-latest``, the ACES studio config built into OCIO ≥ 2.2; other built-ins
    are ``ocio://cg-config-latest`` and ``ocio://default``).

    Args:
        path: config file or ``ocio://`` URI; ``None`` or ``""`` means "not given".

    Returns:
        the loaded ``PyOpenColorIO.Config``.

    Raises:
        ColorError: the file is missing, unreadable or not a valid config, or the URI names no
            built-in config; the message names the source (``--ocio`` or ``$OCIO``).
    """
    if path:
        source, field = path, "--ocio"
    elif os.environ.get("OCIO"):
        source, field = os.environ["OCIO"], "$OCIO"
    else:
        source, field = DEFAULT_CONFIG, "default config"
    if not source.startswith("ocio://") and not os.path.isfile(source):
        raise ColorError(f"{field}: OCIO config file not found, expected an existing file, got {source!r}")
    try:
        config = OCIO.Config.CreateFromFile(source)
    except OCIO.Exception as exc:
        if source.startswith("ocio://"):
            uris = _builtin_uris()
            close = difflib.get_close_matches(source, uris, n=3, cutoff=0.5) or uris[:3]
            raise ColorError(
                f"{field}: unknown built-in OCIO config, expected an ocio:// URI OCIO knows, "
                f"got {source!r}, valid: {', '.join(close)}, ..."
            ) from exc
        raise ColorError(f"{field}: cannot load OCIO config {source!r}: {one_line(exc)}") from exc
    # Resolve's timeline spaces (DaVinci Intermediate, Rec.709 Gamma 2.4, ...) under the same
    # names in every config, added from Blackmagic's formulas where the config lacks them.
    return add_resolve_spaces(config)


# ---------------------------------------------------------------------------------- colourspaces


def _lookup(config: OCIO.Config, name: str) -> str | None:
    # getColorSpace resolves names, aliases and roles, case-insensitively.
    cs = config.getColorSpace(name) if name else None
    return cs.getName() if cs is not None else None


def first_known(config: OCIO.Config, candidates: Iterable[str]) -> str | None:
    for candidate in candidates:
        if (found := _lookup(config, candidate)) is not None:
            return found
    return None


def _all_known_names(config: OCIO.Config) -> dict[str, str]:
    """Every name, alias and role the config answers to, mapped to its canonical colourspace."""
    known = {role: config.getRoleColorSpace(role) for role in config.getRoleNames()}
    for cs in config.getColorSpaces():
        known[cs.getName()] = cs.getName()
        known.update((alias, cs.getName()) for alias in cs.getAliases())
    return known


def resolve_colorspace(config: OCIO.Config, name: str, field: str = "colorspace") -> str:
    """Return the canonical colourspace name for a name, alias or role the config knows.

    Example: ``"lin_rec709"`` → ``"Linear Rec.709 (sRGB)"``, ``"scene_linear"`` → ``"ACEScg"``,
    ``"sRGB - Texture"`` → ``"sRGB Encoded Rec.709 (sRGB)"`` in the studio config.

    Raises:
        ColorError: unknown name; the message names ``field`` and lists a few close matches
            (one per colourspace), not the whole config.
    """
    found = _lookup(config, name)
    if found is not None:
        return found
    known = _all_known_names(config)
    by_lower = {n.lower(): n for n in known}
    shown: dict[str, str] = {}
    for match in difflib.get_close_matches(name.lower(), list(by_lower), n=12, cutoff=0.5):
        alias = by_lower[match]
        shown.setdefault(known[alias], alias)
    parts = [repr(a) if a == cs else f"{a!r} (= {cs!r})" for cs, a in list(shown.items())[:4]]
    valid = ", ".join(parts) if parts else "see `filmstyle colorspaces`"
    raise ColorError(
        f"{field}: unknown colourspace in OCIO config {config.getName()!r}, expected a colourspace "
        f"name, alias or role, got {name!r}, valid: {valid}"
    )


def colorspace_encoding(config: OCIO.Config, name: str) -> str:
    """Classify a colourspace as ``scene-linear``, ``display-linear``, ``log``, ``sdr-video``,
    ``hdr-video`` or ``data``.

    Uses the OCIO 2 ``encoding`` attribute; configs that leave it empty are classified from
    ``isData``, the config's linearity test and a "log" in the name or family.
    """
    canonical = resolve_colorspace(config, name)
    cs = config.getColorSpace(canonical)
    encoding = cs.getEncoding()
    if encoding:
        return encoding
    if cs.isData():
        return "data"
    if config.isColorSpaceLinear(canonical, cs.getReferenceSpaceType()):
        return "scene-linear"
    text = f"{canonical} {cs.getFamily()} {' '.join(cs.getAliases())}".lower()
    return "log" if re.search(r"log|cineon|adx|acescc", text) else "sdr-video"


def list_colorspaces(config: OCIO.Config) -> list[tuple[str, str, tuple[str, ...]]]:
    """Active colourspaces as ``(name, family, aliases)`` in config order (for ``filmstyle colorspaces``)."""
    return [(cs.getName(), cs.getFamily(), tuple(cs.getAliases())) for cs in config.getColorSpaces()]


def list_roles(config: OCIO.Config) -> list[tuple[str, str]]:
    """Roles as ``(role, colourspace)``, e.g. ``("scene_linear", "ACEScg")``."""
    return [(role, config.getRoleColorSpace(role)) for role in config.getRoleNames()]


def _hint_candidates(hint: str) -> Sequence[str] | None:
    key = re.sub(r"[^a-z0-9]", "", hint.lower())
    if key in _EMPTY_HINTS:
        return None
    if key in {"printingdensity", "logarithmic", "log", "cineon", "adx", "adx10", "lg10"}:
        return _FILM_LOG
    if key in {"linear", "lin", "scenelinear"}:
        return _SCENE_LINEAR
    if "srgb" in key:
        return _SRGB
    if "709" in key or "601" in key or "video" in key or "smpte274" in key:
        return _REC709
    if "gamma22" in key or key == "g22":
        return _GAMMA22
    return None


def default_input_colorspace(format_name: str, hint: str | None, config: OCIO.Config) -> str:
    """Pick the source colourspace when the user did not give ``--input-colorspace``.

    ``hint`` is the file's own colour tag (OIIO's ``oiio:ColorSpace``, or a DPX ``dpx:Transfer``
    such as ``"Printing density"``). A hint the config knows as a colourspace, alias or role is used
    as is; otherwise it is read as a transfer description; tags such as ``"Undefined"``,
    ``"User defined"`` and unrecognised text fall back to the format default.

    ====================  ======================================  ================================
    format                default (no usable hint)                 studio config result
    ====================  ======================================  ================================
    EXR, HDR              role ``scene_linear``                    ``ACEScg``
    DPX, Cineon           ADX10, else a Cineon log, else role      ``ADX10``
                          ``compositing_log``
    PNG, JPEG, TIFF,      sRGB-encoded Rec.709 (16-bit TIFF too)   ``sRGB Encoded Rec.709 (sRGB)``
    BMP, Targa, WebP
    movie (``"movie"``)   :data:`MOVIE_COLORSPACE`, else Rec.709   ``Gamma 2.4 Encoded Rec.709``
    ====================  ======================================  ================================

    Transfer hints: ``Printing density``/``Logarithmic``/``Cineon`` → film log as for DPX;
    ``Linear`` → ``scene_linear``; anything with ``sRGB`` → sRGB-encoded; ``Rec709``/``ITU-R 709``/
    ``601``/``video``/``SMPTE 274M`` → ``Gamma 2.4 Encoded Rec.709`` (a graded video master is
    BT.1886-encoded); ``Gamma 2.2`` → ``Gamma 2.2 Encoded Rec.709``.

    Args:
        format_name: OIIO format name (``"openexr"``, ``"dpx"``, ``"png"``, ...) or a file
            extension (``"exr"``, ``".jpg"``).
        hint: the file's colour tag, or ``None``.
        config: the run's OCIO config.

    Returns:
        a canonical colourspace name of ``config``.

    Raises:
        ColorError: unknown format, or the config has no colourspace for the chosen class.
    """
    fmt = format_name.lower().lstrip(".")
    if fmt not in _FORMATS:
        raise ColorError(
            f"format: no default input colourspace, expected one of {', '.join(sorted(set(_FORMATS)))}, "
            f"got {format_name!r} (pass --input-colorspace)"
        )
    candidates: Sequence[str] = _FORMATS[fmt]
    if hint and hint.strip():
        if (direct := _lookup(config, hint.strip())) is not None:
            return direct
        candidates = _hint_candidates(hint) or candidates
    found = first_known(config, candidates)
    if found is None:
        raise ColorError(
            f"format {format_name!r}: OCIO config {config.getName()!r} has none of "
            f"{', '.join(candidates)}, expected one of them (pass --input-colorspace)"
        )
    return found
