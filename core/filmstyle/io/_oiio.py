"""Small OpenImageIO helpers shared by the io modules (private).

Kept apart so that reading, writing and inspecting agree on how errors are condensed, how
channel types are looked up and how attribute values become plain Python/JSON values.
"""

from __future__ import annotations

import functools
import logging
import math
import os
import re
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import OpenImageIO as oiio

from filmstyle.errors import InputError
from filmstyle.io.movie import MOVIE_FORMAT, is_movie_path

__all__ = [
    "Window",
    "condense",
    "open_input",
    "subimage_specs",
    "channel_format",
    "format_for_path",
    "dpx_endian",
    "plain_value",
    "attributes",
    "decode_timecode",
    "layer_of",
    "split_layers",
    "rgb_channels",
    "alpha_channel",
    "library_quiet",
    "check_header",
]

_log = logging.getLogger("filmstyle.io")

_MAX_ERROR = 300
_BLOB_LIMIT = 64

# Suffix spellings for a layer's colour channels, tried in order.
_RGB_NAMES = (("R", "G", "B"), ("red", "green", "blue"), ("r", "g", "b"))
_ALPHA_NAMES = ("A", "alpha", "a")


@dataclass(frozen=True)
class Window:
    """A pixel rectangle: origin ``(x, y)`` and size in pixels (OIIO/EXR convention, y down)."""

    x: int
    y: int
    width: int
    height: int

    def as_dict(self) -> dict[str, int]:
        return {"x": self.x, "y": self.y, "width": self.width, "height": self.height}


def condense(text: str | None, fallback: str = "unknown error") -> str:
    """Squash OIIO's (often multi-line) error text into one bounded line."""
    line = re.sub(r"\s+", " ", text or "").strip()
    if not line:
        return fallback
    return line if len(line) <= _MAX_ERROR else line[: _MAX_ERROR - 3] + "..."


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except OSError as exc:  # ENAMETOOLONG and friends: not "missing", say what it is
        text = str(path) if len(str(path)) <= 120 else str(path)[:117] + "..."
        raise InputError(f"{text}: unusable path: {exc.strerror or exc}") from None


def check_header(path: Path) -> None:
    """Refuse an EXR or DPX whose header is damaged, before a decoder sees it (see
    :func:`filmstyle.io.exr_header.validate_exr` and :func:`filmstyle.io.dpx_header.validate_dpx`)."""
    try:
        with path.open("rb") as fh:
            magic = fh.read(4)
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if magic == b"\x76\x2f\x31\x01":
        from filmstyle.io.exr_header import validate_exr

        validate_exr(path)
    elif magic in (b"SDPX", b"XPDS"):
        from filmstyle.io.dpx_header import validate_dpx

        validate_dpx(path)


def open_input(path: Path) -> oiio.ImageInput:
    """Open ``path`` for reading or raise :class:`InputError` naming it.

    EXR and DPX headers are checked first (:func:`check_header`). Pixels come back as stored:
    formats with straight alpha (PNG, TIFF) are not premultiplied on read, which would be lossy
    (colour under zero alpha would be lost).
    """
    if not _exists(path):
        raise InputError(f"{path}: file not found")
    if not path.is_file():
        raise InputError(f"{path}: not a regular file")
    from filmstyle.io.targets import oiio_name

    name = oiio_name(path, InputError)
    check_header(path)
    config = oiio.ImageSpec()
    config.attribute("oiio:UnassociatedAlpha", 1)
    inp = oiio.ImageInput.open(name, config)
    if inp is None:
        raise InputError(f"{path}: cannot read image: {condense(oiio.geterror())}")
    return inp


# -- library chatter --------------------------------------------------------------------------
# Image libraries (libpng, libjpeg, libtiff) may print their own warnings straight to the process's
# stderr, ahead of filmstyle's one-line error. While OIIO works, file descriptor 2 is pointed at a
# temporary file; library lines are logged at debug level, anything else written meanwhile (a
# progress bar redraw from another thread) is passed on unchanged.
_LIBRARY_LINE = re.compile(
    rb"^(libpng|libtiff|libjpeg|TIFF|JPEG|Corrupt JPEG|Premature end|Warning|Error|OpenEXR|Iex|"
    rb"libdpx|DPX|OpenImageIO|OIIO|ERROR|WARNING)\b")
_quiet_lock = threading.Lock()
_quiet_state: dict[str, object] = {"depth": 0}


def _quiet_enter() -> None:
    with _quiet_lock:
        if _quiet_state["depth"] == 0:
            try:
                sys.stderr.flush()
            except (AttributeError, ValueError, OSError):
                pass
            try:
                capture = tempfile.TemporaryFile()
                saved = os.dup(2)
                os.dup2(capture.fileno(), 2)
            except OSError:
                return  # no fd 2 to borrow (embedded hosts): stay loud rather than fail
            _quiet_state.update(capture=capture, saved=saved)
        _quiet_state["depth"] = int(_quiet_state["depth"]) + 1  # type: ignore[call-overload]


def _quiet_exit() -> None:
    with _quiet_lock:
        if "saved" not in _quiet_state:
            return
        _quiet_state["depth"] = int(_quiet_state["depth"]) - 1  # type: ignore[call-overload]
        if _quiet_state["depth"]:
            return
        capture, saved = _quiet_state.pop("capture"), _quiet_state.pop("saved")
        os.dup2(saved, 2)  # type: ignore[arg-type]
        os.close(saved)  # type: ignore[arg-type]
        capture.seek(0)  # type: ignore[attr-defined]
        text = capture.read(1 << 20)  # type: ignore[attr-defined]
        capture.close()  # type: ignore[attr-defined]
    if not text:
        return
    passed = []
    for line in text.splitlines(keepends=True):
        if _LIBRARY_LINE.match(line.lstrip()):
            _log.debug("image library: %s", line.decode("utf-8", "replace").rstrip())
        else:
            passed.append(line)
    if passed:
        os.write(2, b"".join(passed))


@contextmanager
def quiet_stderr() -> Iterator[None]:
    """Keep image-library lines off stderr for the duration (nests, thread-safe)."""
    _quiet_enter()
    try:
        yield
    finally:
        _quiet_exit()


def library_quiet(fn):
    """Decorator: run ``fn`` inside :func:`quiet_stderr`."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with quiet_stderr():
            return fn(*args, **kwargs)

    return wrapper


def subimage_specs(inp: oiio.ImageInput) -> list[oiio.ImageSpec]:
    """Copies of the specs of every subimage (EXR part), MIP level 0."""
    specs = []
    i = 0
    while inp.seek_subimage(i, 0):
        specs.append(inp.spec().copy())
        i += 1
    inp.seek_subimage(0, 0)
    # probing one past the last subimage leaves an error behind; it is not a real failure
    inp.geterror()
    return specs


def channel_format(spec: oiio.ImageSpec, c: int) -> oiio.TypeDesc:
    """The on-disk type of channel ``c`` (per-channel formats win over ``spec.format``)."""
    if spec.channelformats and len(spec.channelformats) > c:
        return spec.channelformats[c]
    return spec.format


def all_half(spec: oiio.ImageSpec) -> bool:
    """Every channel of ``spec`` is stored as half."""
    return all(channel_format(spec, c) == oiio.TypeHalf for c in range(spec.nchannels))


def format_for_path(path: Path) -> str | None:
    """OIIO format name (``"openexr"``, ``"dpx"``...) implied by the file extension; ``"movie"``
    for a movie container (read and written through PyAV, see :mod:`filmstyle.io.movie`)."""
    ext = path.suffix.lower().lstrip(".")
    if not ext:
        return None
    if is_movie_path(path):
        return MOVIE_FORMAT
    for entry in oiio.get_string_attribute("extension_list").split(";"):
        name, _, exts = entry.partition(":")
        if ext in exts.split(","):
            return name
    return None


def dpx_endian(path: Path) -> str | None:
    """``"big"``/``"little"`` from a DPX magic number (OIIO's reader does not report it)."""
    try:
        with path.open("rb") as fh:
            magic = fh.read(4)
    except OSError:
        return None
    return {b"SDPX": "big", b"XPDS": "little"}.get(magic)


def plain_value(value: Any) -> Any:
    """An OIIO attribute value as a JSON-able value (tuples -> lists, NaN/inf -> strings,
    large byte blobs -> a short summary)."""
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, (bytes, bytearray)):
        return f"<{len(value)} bytes>"
    if isinstance(value, (list, tuple)):
        if len(value) > _BLOB_LIMIT and all(isinstance(v, int) for v in value):
            return f"<{len(value)} values>"
        return [plain_value(v) for v in value]
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, (int, bool)) or value is None:
        return value
    if isinstance(value, (np.integer, np.floating)):
        return plain_value(value.item())
    return str(value)


def attributes(spec: oiio.ImageSpec) -> dict[str, Any]:
    """Every metadata attribute of ``spec`` as ``name -> JSON-able value`` (a string that is not
    UTF-8 is shown with replacement characters rather than failing)."""
    out: dict[str, Any] = {}
    for a in spec.extra_attribs:
        try:
            value = a.value
        except UnicodeDecodeError:
            value = "<not UTF-8 text>"
        out[_text(a.name)] = plain_value(value)
    return out


def _text(value: str) -> str:
    """``value`` safe to print: lone surrogates (undecodable bytes) replaced."""
    try:
        value.encode("utf-8")
        return value
    except UnicodeEncodeError:
        return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def decode_timecode(value: Any) -> str | None:
    """``"HH:MM:SS:FF"`` from an OIIO ``smpte:TimeCode`` (SMPTE 12M BCD packing), else None."""
    try:
        packed = int(value[0])
    except (TypeError, ValueError, IndexError):
        return None

    def bcd(shift: int, tens_bits: int) -> int:
        units = (packed >> shift) & 0xF
        tens = (packed >> (shift + 4)) & ((1 << tens_bits) - 1)
        return tens * 10 + units

    drop = bool(packed & (1 << 6))
    return f"{bcd(24, 2):02d}:{bcd(16, 3):02d}:{bcd(8, 3):02d}{';' if drop else ':'}{bcd(0, 2):02d}"


def layer_of(channel: str) -> str:
    """The layer part of a channel name (``"diffuse.R"`` -> ``"diffuse"``, ``"R"`` -> ``""``)."""
    return channel.rsplit(".", 1)[0] if "." in channel else ""


def split_layers(names: tuple[str, ...] | list[str]) -> dict[str, list[str]]:
    """Group channel names by layer, main layer under ``""``, in file order."""
    layers: dict[str, list[str]] = {}
    for name in names:
        layers.setdefault(layer_of(name), []).append(name)
    return layers


def rgb_channels(names: tuple[str, ...] | list[str], layer: str | None) -> tuple[int, int, int] | None:
    """Indices of ``layer``'s R, G, B channels (``None``/``""`` = main layer), or None."""
    prefix = f"{layer}." if layer else ""
    index = {n: i for i, n in enumerate(names)}
    for trio in _RGB_NAMES:
        if all(prefix + s in index for s in trio):
            return tuple(index[prefix + s] for s in trio)  # type: ignore[return-value]
    return None


def alpha_channel(names: tuple[str, ...] | list[str], layer: str | None) -> int | None:
    """Index of ``layer``'s alpha channel, or None (a layer never borrows the main alpha)."""
    prefix = f"{layer}." if layer else ""
    for s in _ALPHA_NAMES:
        if prefix + s in names:
            return list(names).index(prefix + s)
    return None
