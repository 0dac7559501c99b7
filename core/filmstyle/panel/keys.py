"""Editing keyed curves: pure functions from one :class:`~filmstyle.job.curves.Curve` to another.

The curve editor calls these; every result is a new, valid curve (sorted keys, no two on one
frame), so whatever the mouse does, the job file gets a curve :func:`~filmstyle.job.curves.parse_curve`
reads back equal. :func:`curve_text` writes the compact form job files and the README use
(``"1001:0 smooth, 1040:1, 1100:0.3 hold"``); a one-key curve is written as a plain number.
"""

from __future__ import annotations

import math

from filmstyle.errors import JobError
from filmstyle.job.curves import INTERPS, Curve, Key

__all__ = ["add_key", "move_key", "set_interp", "delete_key", "set_value_at", "curve_text", "number_text",
           "key_index_at", "is_constant_placeholder"]


def number_text(x: float) -> str:
    """A number as short text that reads back to the same float (``1001``, ``0.3``)."""
    x = float(x)
    if x.is_integer() and abs(x) < 1e15:
        return str(int(x))
    return repr(x)


def curve_text(curve: Curve) -> float | str:
    """The job-file value of a curve: a number when it is a constant (one key at frame 0), else the
    compact key list (a single key on a frame of the shot keeps its frame: ``"1040:0.5"``)."""
    keys = curve.keys
    if len(keys) == 1 and keys[0].frame == 0.0:
        return keys[0].value
    parts = []
    for k in keys:
        word = "" if k.interp == "linear" else f" {k.interp}"
        parts.append(f"{number_text(k.frame)}:{number_text(k.value)}{word}")
    return ", ".join(parts)


def _check_interp(interp: str) -> str:
    if interp not in INTERPS:
        raise JobError(f"interpolation: expected one of {', '.join(INTERPS)}, got {interp!r}")
    return interp


def key_index_at(curve: Curve, frame: float) -> int | None:
    """Index of the key on ``frame``, None when there is none."""
    for i, k in enumerate(curve.keys):
        if k.frame == frame:
            return i
    return None


def is_constant_placeholder(curve: Curve, shot: tuple[float, float] | None = None) -> bool:
    """True for a plain number read as a curve: one key at frame 0, a frame outside ``shot``."""
    keys = curve.keys
    if len(keys) != 1 or keys[0].frame != 0.0:
        return False
    return shot is None or not shot[0] <= 0.0 <= shot[1]


def add_key(curve: Curve, frame: float, value: float, interp: str | None = None, *,
            shot: tuple[float, float] | None = None) -> tuple[Curve, int]:
    """``curve`` with a key at ``frame`` (replacing one already there); returns it and the key's index.

    A constant (a plain number: one key at frame 0, outside ``shot``, the first and last frame)
    becomes a curve with this one key, as setting the first key on a knob does in Nuke; every
    other key is kept. Without ``interp`` the new key takes the interpolation of the key before
    it (a smooth curve stays smooth), else ``linear``.
    """
    if not (math.isfinite(frame) and math.isfinite(value)):
        raise JobError(f"key: expected finite numbers, got frame {frame!r}, value {value!r}")
    keys = list(curve.keys)
    if is_constant_placeholder(curve, shot) and frame != 0.0:
        keys = []
    existing = key_index_at(Curve(keys), frame) if keys else None
    if interp is None:
        before = [k for k in keys if k.frame < frame]
        interp = existing is not None and keys[existing].interp or (before[-1].interp if before else "linear")
    key = Key(float(frame), float(value), _check_interp(interp))  # type: ignore[arg-type]
    if existing is not None:
        keys[existing] = key
    else:
        keys.append(key)
    out = Curve(keys)
    return out, key_index_at(out, float(frame))  # type: ignore[return-value]


def move_key(curve: Curve, index: int, frame: float, value: float, *, minimum: float | None = None,
             maximum: float | None = None) -> tuple[Curve, int]:
    """Key ``index`` moved to ``(frame, value)``; returns the curve and the key's index.

    A key cannot pass its neighbours (it stops one frame short of them, as in Nuke's curve
    editor, so the order of keys never changes under the mouse); the value is clamped to
    ``[minimum, maximum]``.
    """
    keys = list(curve.keys)
    if not 0 <= index < len(keys):
        raise JobError(f"key: no key {index} (the curve has {len(keys)})")
    lo = keys[index - 1].frame + 1 if index > 0 else -math.inf
    hi = keys[index + 1].frame - 1 if index + 1 < len(keys) else math.inf
    frame = min(max(float(frame), lo), hi) if lo <= hi else keys[index].frame
    if minimum is not None:
        value = max(value, minimum)
    if maximum is not None:
        value = min(value, maximum)
    keys[index] = Key(frame, float(value), keys[index].interp)
    return Curve(keys), index


def set_interp(curve: Curve, index: int, interp: str) -> Curve:
    """Key ``index`` with the interpolation of the segment leaving it set to ``interp``."""
    keys = list(curve.keys)
    if not 0 <= index < len(keys):
        raise JobError(f"key: no key {index} (the curve has {len(keys)})")
    keys[index] = Key(keys[index].frame, keys[index].value, _check_interp(interp))  # type: ignore[arg-type]
    return Curve(keys)


def delete_key(curve: Curve, index: int) -> Curve:
    """``curve`` without key ``index``; deleting the last key leaves a constant of its value."""
    keys = list(curve.keys)
    if not 0 <= index < len(keys):
        raise JobError(f"key: no key {index} (the curve has {len(keys)})")
    if len(keys) == 1:
        return Curve.constant(keys[0].value)
    del keys[index]
    if len(keys) == 1:
        return Curve.constant(keys[0].value)
    return Curve(keys)


def set_value_at(curve: Curve, frame: float, value: float, *, shot: tuple[float, float] | None = None) -> Curve:
    """What typing a value does: a constant changes everywhere; a keyed curve gets a key (new or
    replaced) at ``frame``, as in Nuke and Resolve."""
    if is_constant_placeholder(curve, shot):
        return Curve.constant(float(value))
    return add_key(curve, frame, value, shot=shot)[0]
