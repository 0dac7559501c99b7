"""Checking one job value against its :class:`~filmstyle.job.params.Parameter`, with one-line errors.

Every error names the field path and, for files, the YAML line:
``"job.yaml: strength (line 9): bad key '1040' (expected ...)"``. Values longer than a line are
cut in messages, so a request cannot make an error message large.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from filmstyle.choices import canonical_device, device_problem
from filmstyle.errors import FilmStyleError, JobError
from filmstyle.io.frame_range import FrameRange
from filmstyle.job.curves import Curve, parse_curve
from filmstyle.job.params import Parameter

__all__ = ["Where", "describe", "check_keys", "mapping", "check_value", "check_curve", "check_bounds", "curve_param"]

_PATH = re.compile(r"^[A-Za-z_][\w-]*(?:\[\d+\]|\.[A-Za-z_][\w-]*)*")


class Where:
    """Formats one-line errors with the field path and, when known, the YAML line."""

    def __init__(self, source: str, lines: Mapping[str, int]) -> None:
        self.prefix = "" if source.startswith("<") else f"{source}: "
        self.lines = lines

    def line(self, path: str) -> int | None:
        probe = path
        while probe:
            if probe in self.lines:
                return self.lines[probe]
            cut = max(probe.rfind("."), probe.rfind("["))
            probe = probe[:cut] if cut > 0 else ""
        return None

    def label(self, path: str) -> str:
        n = self.line(path)
        return f"{path} (line {n})" if n is not None else path

    def error(self, path: str, message: str) -> JobError:
        return JobError(f"{self.prefix}{self.label(path)}: {message}")

    def wrap(self, exc: FilmStyleError, path: str) -> JobError:
        """Re-issue a sub-parser's error (which starts with a field path) with the line added."""
        text = str(exc)
        m = _PATH.match(text)
        if m and m.group(0).startswith(path.split("[")[0].split(".")[0]):
            return JobError(f"{self.prefix}{self.label(m.group(0))}{text[m.end():]}")
        return JobError(f"{self.prefix}{self.label(path)}: {text}")


def describe(value: Any) -> str:
    """``"string 'abc'"``, ``"number 1.5"`` …, cut to one short line."""
    if value is None:
        return "nothing (null)"
    kind = {dict: "mapping", list: "list", str: "string", bool: "boolean", int: "integer", float: "number"}.get(
        type(value), type(value).__name__
    )
    text = repr(value)
    return f"{kind} {text if len(text) <= 60 else text[:57] + '...'}"


def check_keys(w: Where, data: Mapping[str, Any], path: str, allowed: tuple[str, ...]) -> None:
    for key in data:
        if key not in allowed:
            where = f"{path}.{key}" if path else str(key)
            close = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.6)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise w.error(where[:80], f"unknown key, {hint}valid: {', '.join(allowed)}")


def mapping(w: Where, value: Any, path: str, allowed: tuple[str, ...]) -> dict[str, Any]:
    """``value`` as a mapping with only ``allowed`` keys (None reads as empty)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise w.error(path, f"expected a mapping with {', '.join(allowed)}, got {describe(value)}")
    check_keys(w, value, path, allowed)
    return value


def _number(w: Where, p: Parameter, value: Any, path: str) -> float | int:
    integer = p.kind == "integer"
    kind = "an integer" if integer else "a number"
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (integer and not isinstance(value, int)):
        raise w.error(path, f"expected {kind}, got {describe(value)}")
    v = float(value)
    if not math.isfinite(v) or _outside(p, v, v):
        raise w.error(path, f"expected {kind} {p.bounds_text()}, got {describe(value).split(' ', 1)[1]}")
    return int(value) if integer else v


def _outside(p: Parameter, low: float, high: float) -> bool:
    if p.minimum is not None and (low <= p.minimum if p.exclusive_minimum else low < p.minimum):
        return True
    # Curves never overshoot their keys, so bounds on the keys hold on every frame; the small
    # tolerance absorbs keys computed as 1 - x by hosts.
    return p.maximum is not None and (high >= p.maximum if p.exclusive_maximum else high > p.maximum + 1e-9)


def check_curve(w: Where, p: Parameter, value: Any, path: str) -> Curve:
    """``value`` parsed as a curve, with every key within ``p``'s bounds."""
    if isinstance(value, bool) or value is None:
        raise w.error(path, f"expected a number or a curve, got {describe(value)}")
    try:
        curve = parse_curve(value, field=path)
    except FilmStyleError as exc:
        raise w.wrap(exc, path) from None
    return check_bounds(w, p, curve, path)


def check_bounds(w: Where, p: Parameter, curve: Curve, path: str, *, maximum: float | None = None) -> Curve:
    """``curve`` when every key is within ``p``'s bounds (``maximum`` overrides the table's, e.g. per
    model); curves never overshoot their keys, so that holds on every frame."""
    values = [k.value for k in curve.keys]
    low, high = min(values), max(values)
    if maximum is not None:
        p = replace(p, maximum=maximum)
    if _outside(p, low, high):
        got = f"{low:g}" if p.minimum is not None and low < p.minimum else f"{high:g}"
        if p.exclusive_maximum and p.maximum is not None and high >= p.maximum:
            raise w.error(path, f"expected values below {p.maximum:g} (at {p.maximum:g} the first frame would "
                                f"never update), got {high:g}")
        raise w.error(path, f"expected values {p.bounds_text()}, got {got}")
    return curve


def curve_param(p: Parameter, curve: Curve) -> Curve | None:
    """The compiled value of a curve field: None when it is ``p.off`` on every frame."""
    if p.off is not None and all(k.value == p.off for k in curve.keys):
        return None
    return curve


def _frame_files(w: Where, value: Any, path: str) -> tuple[tuple[int, str], ...]:
    """``{1040: a.exr}``, ``"1040=a.exr"`` or a list of those, as ``((frame, path), ...)`` by frame."""
    items: list[tuple[Any, Any, str]] = []
    if isinstance(value, dict):
        items = [(k, v, f"{path}[{k}]") for k, v in value.items()]
    else:
        for i, text in enumerate([value] if isinstance(value, str) else value if isinstance(value, list) else [None]):
            if not isinstance(text, str) or "=" not in text:
                raise w.error(path, f"expected FRAME=FILE entries (1040=paint.1040.exr) or a mapping "
                                    f"{{1040: paint.1040.exr}}, got {describe(text if text is not None else value)}")
            frame, _, file = text.partition("=")
            items.append((frame.strip(), file.strip(), f"{path}[{i}]"))
    out: dict[int, str] = {}
    for frame, file, where in items:
        if isinstance(frame, str) and re.fullmatch(r"-?\d+", frame):
            frame = int(frame)
        if isinstance(frame, bool) or not isinstance(frame, int):
            raise w.error(where, f"expected a whole frame number, got {describe(frame)}")
        if not isinstance(file, str) or not file.strip():
            raise w.error(where, f"expected a file path, got {describe(file)}")
        if frame in out:
            raise w.error(where, f"frame {frame} is given twice")
        out[frame] = file
    if not out:
        raise w.error(path, "expected at least one FRAME=FILE entry")
    return tuple(sorted(out.items()))


def check_value(w: Where, p: Parameter, value: Any, path: str | None = None) -> Any:
    """A plain (non-structured) value checked against ``p``; returns the value as the job keeps it
    (curves parsed into :class:`~filmstyle.job.curves.Curve`, choice aliases resolved).

    None (or a missing key) is allowed unless ``p.required``; the job then uses ``p.default``.
    """
    path = path or p.path or p.name
    if value is None:
        if p.required:
            raise w.error(path, "missing (required)")
        return None
    kind = p.kind
    if kind in ("path", "string"):
        if not isinstance(value, str) or not value.strip():
            raise w.error(path, f"expected a non-empty string, got {describe(value)}")
        return value
    if kind == "frames":
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            raise w.error(path, f"expected a frame range such as 1001-1100 or 1001,1010-1020, got {describe(value)}")
        try:
            FrameRange.parse(value)  # checked, never expanded: it may name a billion frames
        except FilmStyleError as exc:
            raise w.error(path, str(exc)) from None
        return value
    if kind == "part":
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise w.error(path, f"expected a part index or name, got {describe(value)}")
        return value
    if kind == "choice":
        # Aliases match by type too: YAML's true (an "on" switch) is not the integer 1.
        value = next((v for k, v in p.aliases.items() if type(k) is type(value) and k == value), value)
        if isinstance(value, bool) or value not in p.choices:
            raise w.error(path, f"expected one of {', '.join(map(str, p.choices))}, got {describe(value)}")
        return value
    if kind == "device":
        device = canonical_device(value)
        if device is None:
            raise w.error(path, device_problem(value) or "")
        return device
    if kind == "bool":
        if not isinstance(value, bool):
            raise w.error(path, f"expected true or false, got {describe(value)}")
        return value
    if kind in ("number", "integer"):
        return _number(w, p, value, path)
    if kind == "curve":
        return check_curve(w, p, value, path)
    if kind == "frame_files":
        return _frame_files(w, value, path)
    raise AssertionError(f"{p.name}: structured kind {kind} is parsed by the job model")
