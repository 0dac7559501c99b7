"""Keyframed curves: a value that may change over the frames of a shot.

A :class:`Curve` is a sorted list of :class:`Key` s. Each key's ``interp`` describes the segment that
*leaves* it, towards the next key:

* ``"linear"`` — straight line to the next key.
* ``"smooth"`` — monotone cubic (Fritsch–Carlson / PCHIP tangents). It never overshoots: between two
  keys the value stays inside ``[min, max]`` of those two keys, so a strength keyed 0 → 1 never
  dips below 0 or rises above 1. A smooth end that has no neighbouring segment (first/last key, or a
  neighbour that holds) gets a flat tangent, i.e. it eases in/out.
* ``"hold"`` — step: the left key's value until the next key's frame.

Before the first key and after the last key the curve holds (constant extrapolation). Frames may be
fractional (motion-blur sub-frames, retimes).

:func:`parse_curve` turns the values users type or paste into a curve:

* a number — a constant;
* the compact CLI form ``"1001:0, 1040:1 smooth, 1100:0.3 hold"`` (interp word optional, default
  ``linear``; ``step`` means ``hold``, ``ease`` means ``smooth``);
* Nuke animation text as copied from a knob, ``{curve x1001 0 x1040 1 1.5}`` or a whole knob line
  ``white {{curve x1001 1 x1006 2}}`` (see *Nuke syntax* below);
* YAML/dict forms: a number, ``[[frame, value], [frame, value, interp], ...]``,
  ``[{frame: 1001, value: 0, interp: smooth}, ...]`` or ``{keys: [...]}`` (whose items may be any of
  the list forms, or a compact string).

Nuke syntax supported (Foundry's "curve serialisation format"): ``curve`` optionally followed by the
``i``/``I`` visibility flags; keys ``[interp] [extrap] [xFRAME] VALUE [sSLOPE] [tSLOPE] [uANGLE]
[vANGLE]``. Interpolation letters are sticky (they apply to every later key until another letter):
``K`` (constant) → hold, ``L`` → linear, ``S``/``C``/``R``/``Z`` (smooth, cubic, Catmull-Rom,
horizontal) → smooth; keys before any letter are smooth, Nuke's default. The extrapolation letters
``k``/``l`` and the slope/angle tokens are read and ignored (the curve always holds outside its keys
and computes its own non-overshooting tangents). A value without ``x`` is placed as Nuke does: the
first key at frame 0, the second one frame after the first, later ones continuing the spacing of the
previous two keys (so ``x1001 1 2 3`` keys frames 1001, 1002, 1003). Not supported, with a clear
error: expressions, and multi-value knobs holding several curves (``{{curve ...} {curve ...}}``) —
paste one channel's ``{curve ...}`` instead.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, get_args

import numpy as np

from filmstyle.errors import JobError, clip

__all__ = [
    "Interp",
    "INTERPS",
    "Key",
    "Curve",
    "parse_curve",
]

Interp = Literal["linear", "smooth", "hold"]
INTERPS: tuple[str, ...] = get_args(Interp)
_SMOOTH, _HOLD = INTERPS.index("smooth"), INTERPS.index("hold")

#: Words accepted for an interpolation in the compact and YAML forms.
_INTERP_WORDS: dict[str, str] = {
    "linear": "linear",
    "smooth": "smooth",
    "ease": "smooth",
    "hold": "hold",
    "step": "hold",
}

#: Nuke's interpolation letters mapped onto ours.
_NUKE_INTERP: dict[str, str] = {"K": "hold", "L": "linear", "S": "smooth", "C": "smooth", "R": "smooth", "Z": "smooth"}

_KEY_HINT = "expected FRAME:VALUE [linear|smooth|hold]"

#: Key frames are frame numbers (32-bit in every host and file header), fractions allowed.
MAX_KEY_FRAME = 2.0**31
#: Keys in one curve (a per-frame keyed curve of a feature-length shot).
MAX_KEYS = 100_000
#: Characters of curve text (the compact form or Nuke's), about 20 characters a key.
MAX_TEXT = 4_000_000


def _r(value: Any) -> str:
    """A user's value for a message: its repr, cut short."""
    return clip(repr(value), 60)


@dataclass(frozen=True)
class Key:
    """One keyframe. ``interp`` is the interpolation of the segment leaving this key."""

    frame: float
    value: float
    interp: Interp = "linear"

    def __post_init__(self) -> None:
        for name in ("frame", "value"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise JobError(f"key {name}: expected a finite number, got {_r(v)}")
            object.__setattr__(self, name, float(v))
        if abs(self.frame) > MAX_KEY_FRAME:
            raise JobError(f"key frame: expected a frame number within +-2^31, got {self.frame:g}")
        if self.interp not in INTERPS:
            raise JobError(f"key interp: expected one of {', '.join(INTERPS)}, got {_r(self.interp)}")


class Curve:
    """A keyframed scalar. Immutable; compare with ``==``.

    Args:
        keys: one or more :class:`Key` (any order; sorted here). Two keys on the same frame are an
            error, since which one wins would be ambiguous.

    Raises:
        JobError: no keys, or duplicate frames.
    """

    __slots__ = ("_keys", "_frames", "_values", "_tangents", "_kinds")

    def __init__(self, keys: Iterable[Key]) -> None:
        ordered = tuple(sorted(keys, key=lambda k: k.frame))
        if not ordered:
            raise JobError("curve: expected at least one key, got none")
        for a, b in zip(ordered, ordered[1:]):
            if a.frame == b.frame:
                raise JobError(f"curve: duplicate key at frame {_fmt(a.frame)}")
        self._keys = ordered
        self._frames = np.array([k.frame for k in ordered], dtype=np.float64)
        self._values = np.array([k.value for k in ordered], dtype=np.float64)
        self._tangents = _smooth_tangents(ordered, self._frames, self._values)
        self._kinds = np.array([INTERPS.index(k.interp) for k in ordered], dtype=np.int8)

    @classmethod
    def constant(cls, value: float) -> Curve:
        """A curve that is ``value`` on every frame."""
        return cls([Key(0.0, value)])

    @property
    def keys(self) -> tuple[Key, ...]:
        return self._keys

    @property
    def is_constant(self) -> bool:
        """True when every key has the same value (so every frame has that value)."""
        return bool(np.all(self._values == self._values[0]))

    def value_at(self, frame: float) -> float:
        """Value at a (possibly fractional) frame."""
        return float(self.sample(np.array([frame], dtype=np.float64))[0])

    #: A curve is a per-frame number (:data:`filmstyle.job.look.Param`).
    __call__ = value_at

    def sample(self, frames: Sequence[float] | np.ndarray) -> np.ndarray:
        """Values at many frames at once: ``(N,)`` float64 for ``(N,)`` frames."""
        f = np.asarray(frames, dtype=np.float64).reshape(-1)
        kf, kv = self._frames, self._values
        out = np.empty_like(f)
        idx = np.searchsorted(kf, f, side="right") - 1
        before = idx < 0
        after = idx >= len(kf) - 1
        out[before] = kv[0]
        out[after] = kv[-1]
        seg = ~(before | after)
        if np.any(seg):
            i = idx[seg]
            x0, x1 = kf[i], kf[i + 1]
            y0, y1 = kv[i], kv[i + 1]
            h = x1 - x0
            t = (f[seg] - x0) / h
            linear = y0 + (y1 - y0) * t
            t2, t3 = t * t, t * t * t
            cubic = (
                (2 * t3 - 3 * t2 + 1) * y0
                + (t3 - 2 * t2 + t) * h * self._tangents[i]
                + (-2 * t3 + 3 * t2) * y1
                + (t3 - t2) * h * self._tangents[i + 1]
            )
            # The Hermite form is bounded in exact arithmetic; the clip removes rounding excursions.
            cubic = np.clip(cubic, np.minimum(y0, y1), np.maximum(y0, y1))
            kinds = self._kinds[i]
            out[seg] = np.where(kinds == _HOLD, y0, np.where(kinds == _SMOOTH, cubic, linear))
        return out

    def to_data(self) -> float | dict[str, list[list[Any]]]:
        """A plain value :func:`parse_curve` reads back to an equal curve (a number when constant)."""
        if len(self._keys) == 1:
            return self._keys[0].value
        return {"keys": [[k.frame, k.value, k.interp] for k in self._keys]}

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Curve):
            return NotImplemented
        if len(self._keys) == 1 and len(other._keys) == 1:
            return self._keys[0].value == other._keys[0].value
        return self._keys == other._keys

    def __hash__(self) -> int:
        return hash(self._keys[0].value) if len(self._keys) == 1 else hash(self._keys)

    def __repr__(self) -> str:
        if len(self._keys) == 1:
            return f"Curve.constant({self._keys[0].value!r})"
        body = ", ".join(f"{_fmt(k.frame)}:{_fmt(k.value)} {k.interp}" for k in self._keys)
        return f"Curve({body!r})"


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(float(x))


def _smooth_tangents(keys: tuple[Key, ...], xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Per-key tangents for smooth segments, PCHIP-style so no segment overshoots.

    A secant takes part only when its segment is continuous (not hold); one-sided ends get a flat
    tangent. The weighted harmonic mean keeps each tangent within 3x of both secants, which is
    inside the Fritsch–Carlson monotonicity region.
    """
    n = len(keys)
    m = np.zeros(n, dtype=np.float64)
    if n < 2:
        return m
    # Keys far apart in value and close in frame (or the reverse) overflow the harmonic mean;
    # its limit, a flat tangent, is the right answer there, so no warning is printed.
    with np.errstate(over="ignore", divide="ignore", invalid="ignore", under="ignore"):
        return _tangents(keys, xs, ys, n, m)


def _tangents(keys: tuple[Key, ...], xs: np.ndarray, ys: np.ndarray, n: int, m: np.ndarray) -> np.ndarray:
    d = np.diff(ys) / np.diff(xs)
    h = np.diff(xs)
    for k in range(1, n - 1):
        if keys[k - 1].interp == "hold" or keys[k].interp == "hold":
            continue
        a, b = d[k - 1], d[k]
        if a * b <= 0:
            continue
        w1 = 2 * h[k] + h[k - 1]
        w2 = h[k] + 2 * h[k - 1]
        t = (w1 + w2) / (w1 / a + w2 / b)
        m[k] = t if np.isfinite(t) else 0.0
    return m


# ---------------------------------------------------------------------------------------------- parsing


def parse_curve(value: Any, *, field: str = "value") -> Curve:
    """Parse a constant, compact string, Nuke curve text or YAML/dict form into a :class:`Curve`.

    Args:
        value: see the module docstring for every accepted form.
        field: path of the value, used as the prefix of error messages (``"strength"``,
            ``"regions[1].mask.ellipse.radius[0]"``).

    Raises:
        JobError: one line naming ``field`` and the offending token.
    """
    if isinstance(value, Curve):
        return value
    if _is_number(value):
        return _curve(field, [Key(0.0, _finite(value, field))])
    if isinstance(value, str):
        return _parse_text(value, field)
    if isinstance(value, dict):
        extra = sorted(set(map(str, value)) - {"keys"})
        if extra or "keys" not in value:
            raise JobError(f"{field}: expected a mapping with only 'keys', got keys {sorted(map(str, value))}")
        inner = value["keys"]
        if isinstance(inner, str):
            return _parse_text(inner, f"{field}.keys")
        return _parse_list(inner, f"{field}.keys")
    if isinstance(value, (list, tuple)):
        return _parse_list(value, field)
    raise JobError(
        f"{field}: expected a number, 'FRAME:VALUE, ...', a Nuke {{curve ...}} or a list of keys, "
        f"got {type(value).__name__} {_r(value)}"
    )


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)


def _finite(v: Any, field: str) -> float:
    if not _is_number(v) or not math.isfinite(float(v)):
        raise JobError(f"{field}: expected a finite number, got {_r(v)}")
    return float(v)


def _interp_word(word: Any, field: str) -> str:
    if isinstance(word, str) and word.strip().lower() in _INTERP_WORDS:
        return _INTERP_WORDS[word.strip().lower()]
    raise JobError(f"{field}: expected linear|smooth|hold (or ease, step), got {_r(word)}")


def _curve(field: str, keys: list[Key]) -> Curve:
    if len(keys) > MAX_KEYS:
        raise JobError(f"{field}: {len(keys)} keys, at most {MAX_KEYS}")
    seen: set[float] = set()
    for k in keys:
        if k.frame in seen:
            raise JobError(f"{field}: two keys on frame {_fmt(k.frame)}")
        seen.add(k.frame)
    if not keys:
        raise JobError(f"{field}: expected at least one key, got none")
    return Curve(keys)


def _parse_list(items: Any, field: str) -> Curve:
    if not isinstance(items, (list, tuple)):
        raise JobError(f"{field}: expected a list of keys, got {type(items).__name__} {_r(items)}")
    if len(items) > MAX_KEYS:
        raise JobError(f"{field}: {len(items)} keys, at most {MAX_KEYS}")
    keys: list[Key] = []
    for i, item in enumerate(items):
        where = f"{field}[{i}]"
        if isinstance(item, dict):
            extra = sorted(set(map(str, item)) - {"frame", "value", "interp"})
            if extra:
                raise JobError(f"{where}: unknown key {_r(extra[0])}, valid: frame, value, interp")
            if "frame" not in item or "value" not in item:
                raise JobError(f"{where}: expected {{frame: F, value: V[, interp: I]}}, got {_r(item)}")
            frame, val, interp = item["frame"], item["value"], item.get("interp", "linear")
            keys.append(
                Key(
                    _finite(frame, f"{where}.frame"),
                    _finite(val, f"{where}.value"),
                    _interp_word(interp, f"{where}.interp"),  # type: ignore[arg-type]
                )
            )
        elif isinstance(item, (list, tuple)) and len(item) in (2, 3):
            interp = _interp_word(item[2], f"{where}[2]") if len(item) == 3 else "linear"
            frame, val = _finite(item[0], f"{where}[0]"), _finite(item[1], f"{where}[1]")
            keys.append(Key(frame, val, interp))  # type: ignore[arg-type]
        elif isinstance(item, str):
            keys.extend(_parse_compact(item, where).keys)
        else:
            raise JobError(f"{where}: expected [frame, value] or [frame, value, interp], got {_r(item)}")
    return _curve(field, keys)


def _parse_text(text: str, field: str) -> Curve:
    if len(text) > MAX_TEXT:
        raise JobError(f"{field}: curve text of {len(text)} characters, at most {MAX_TEXT}")
    s = text.strip()
    if not s:
        raise JobError(f"{field}: expected a number or keys, got an empty string")
    try:
        return _curve(field, [Key(0.0, _finite(float(s), field))])
    except ValueError:
        pass
    if s.startswith("{") or re.match(r"^[A-Za-z_][\w.]*\s*\{", s) or s.startswith("curve"):
        return _parse_nuke(s, field)
    if ":" in s:
        return _parse_compact(s, field)
    raise JobError(f"{field}: expected a number, 'FRAME:VALUE, ...' or a Nuke {{curve ...}}, got {_r(text)}")


_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_COMPACT_KEY = re.compile(rf"^({_NUM})\s*:\s*({_NUM})(?:\s+([A-Za-z]+))?$")


def _parse_compact(text: str, field: str) -> Curve:
    keys: list[Key] = []
    for part in text.split(","):
        item = part.strip()
        m = _COMPACT_KEY.match(item)
        if not m:
            raise JobError(f"{field}: bad key {_r(item)} ({_KEY_HINT})")
        interp = "linear"
        if m.group(3) is not None:
            word = m.group(3).lower()
            if word not in _INTERP_WORDS:
                raise JobError(f"{field}: bad key {_r(item)} ({_KEY_HINT})")
            interp = _INTERP_WORDS[word]
        frame, val = float(m.group(1)), float(m.group(2))
        if not (math.isfinite(frame) and math.isfinite(val)):
            raise JobError(f"{field}: bad key {_r(item)} ({_KEY_HINT})")
        keys.append(Key(frame, val, interp))  # type: ignore[arg-type]
    return _curve(field, keys)


def _strip_braces(s: str) -> str:
    """Remove braces that wrap the whole text (``{{curve ...}}`` → ``curve ...``), in one pass."""
    match: dict[int, int] = {}
    opened: list[int] = []
    for i, ch in enumerate(s):
        if ch == "{":
            opened.append(i)
        elif ch == "}" and opened:
            match[opened.pop()] = i
    lo, hi = 0, len(s) - 1
    # A layer is stripped only when its "{" closes at the very end (not "{a} {b}").
    while lo < hi and s[lo] == "{" and match.get(lo) == hi:
        lo, hi = lo + 1, hi - 1
        while lo <= hi and s[lo].isspace():
            lo += 1
        while hi >= lo and s[hi].isspace():
            hi -= 1
    return s[lo:hi + 1]


def _parse_nuke(text: str, field: str) -> Curve:
    s = text.strip()
    knob = re.match(r"^([A-Za-z_][\w.]*)\s*(\{.*\})$", s, re.S)
    if knob and knob.group(1) != "curve":
        s = knob.group(2)  # a whole knob line such as `white {{curve ...}}`
    s = _strip_braces(s)
    if len(re.findall(r"\bcurve\b", s)) > 1 or (s.startswith("{") and "curve" in s):
        raise JobError(
            f"{field}: several values/curves in one Nuke knob are not supported; "
            f"paste a single {{curve ...}} (got {_r(text.strip()[:60])})"
        )
    tokens = s.replace("{", " { ").replace("}", " } ").split()
    if not tokens or tokens[0] != "curve":
        raise JobError(
            f"{field}: Nuke expressions are not supported, expected {{curve ...}}, got {_r(text.strip()[:60])}"
        )
    interp = "smooth"
    next_x: float | None = None
    frames: list[float] = []
    keys: list[Key] = []
    for tok in tokens[1:]:
        if tok in ("i", "I", "k", "l"):
            continue
        if tok in _NUKE_INTERP:
            interp = _NUKE_INTERP[tok]
            continue
        head, rest = tok[0], tok[1:]
        if head in "xstuv" and re.fullmatch(_NUM, rest):
            if head == "x":
                next_x = float(rest)
            continue
        if not re.fullmatch(_NUM, tok):
            raise JobError(
                f"{field}: bad Nuke curve token {_r(tok)} (expected [K|L|S|C|R|Z] [xFRAME] VALUE [sSLOPE tSLOPE])"
            )
        if next_x is None:
            # Nuke's rule for keys written without a frame.
            if not frames:
                next_x = 0.0
            elif len(frames) == 1:
                next_x = frames[-1] + 1.0
            else:
                next_x = 2 * frames[-1] - frames[-2]
        if frames and next_x <= frames[-1]:
            raise JobError(
                f"{field}: Nuke curve key at frame {_fmt(next_x)} does not come after frame {_fmt(frames[-1])}"
            )
        keys.append(Key(next_x, _finite(float(tok), field), interp))  # type: ignore[arg-type]
        frames.append(next_x)
        next_x = None
    if not keys:
        raise JobError(f"{field}: Nuke curve has no keys: {_r(text.strip()[:60])}")
    return _curve(field, keys)
