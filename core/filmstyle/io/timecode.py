"""SMPTE timecode: text, frame counts and OpenImageIO's packed ``smpte:TimeCode``.

A timecode counts frames at its *nominal* rate, the frame rate rounded to an integer (23.976 fps
counts 24 frames a second, 29.97 counts 30). Drop-frame timecode (``HH:MM:SS;FF``, 29.97 and
59.94 fps) skips the first 2 (4 at 59.94) frame numbers of every minute except every tenth minute,
so that its clock keeps up with real time; the frame count it stands for is continuous.
"""

from __future__ import annotations

import re
from fractions import Fraction

from filmstyle.errors import InputError

__all__ = ["nominal_rate", "timecode_to_frame", "frame_to_timecode", "smpte_packed"]

_TIMECODE = re.compile(r"^(\d{1,2}):(\d{2}):(\d{2})([:;.,])(\d{2,3})$")


def nominal_rate(rate: Fraction | float) -> int:
    """The frames a second a timecode counts at ``rate`` (24 for 24000/1001)."""
    return max(1, round(float(rate)))


def _dropped_per_minute(nominal: int) -> int:
    # 2 at 30 (29.97), 4 at 60 (59.94): two per 30 frames of nominal rate
    return nominal // 15


def timecode_to_frame(text: str, rate: Fraction | float) -> tuple[int, bool]:
    """``(frame count, drop_frame)`` of ``"HH:MM:SS:FF"`` (``;`` or ``.`` before the frames = drop frame).

    Raises:
        InputError: malformed text, a field out of range, or drop frame at a rate without it.
    """
    m = _TIMECODE.match(str(text).strip())
    if m is None:
        raise InputError(f"timecode {text!r}: expected HH:MM:SS:FF (or HH:MM:SS;FF for drop frame)")
    hh, mm, ss, sep, ff = m.groups()
    hours, minutes, seconds, frames = int(hh), int(mm), int(ss), int(ff)
    nominal = nominal_rate(rate)
    drop = sep in ";,."
    if minutes > 59 or seconds > 59 or frames >= nominal:
        raise InputError(f"timecode {text!r}: a field is out of range at {nominal} frames a second")
    if drop and nominal % 30:
        raise InputError(f"timecode {text!r}: drop frame exists only at 29.97 and 59.94 fps, not {float(rate):g}")
    total_minutes = hours * 60 + minutes
    count = (total_minutes * 60 + seconds) * nominal + frames
    if drop:
        dropped = _dropped_per_minute(nominal)
        if seconds == 0 and frames < dropped and minutes % 10:
            raise InputError(f"timecode {text!r}: frame numbers 0-{dropped - 1} are skipped in drop frame")
        count -= dropped * (total_minutes - total_minutes // 10)
    return count, drop


def frame_to_timecode(count: int, rate: Fraction | float, drop: bool = False) -> str:
    """The timecode text of frame ``count`` (from 00:00:00:00), wrapping at 24 hours."""
    nominal = nominal_rate(rate)
    if drop and nominal % 30 == 0:
        dropped = _dropped_per_minute(nominal)
        per_ten = nominal * 600 - dropped * 9  # frames in ten minutes of drop-frame timecode
        per_minute = nominal * 60 - dropped
        tens, rest = divmod(count, per_ten)
        # the first minute of each ten keeps all its numbers
        extra = 0 if rest < nominal * 60 else dropped * ((rest - nominal * 60) // per_minute + 1)
        count = count + dropped * 9 * tens + extra
    else:
        drop = False
    count %= nominal * 86400
    frames = count % nominal
    seconds = count // nominal
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}{';' if drop else ':'}{frames:02d}"


def smpte_packed(text: str) -> tuple[int, int]:
    """``text`` as OpenImageIO's ``smpte:TimeCode`` value (SMPTE 12M BCD time word, user bits 0)."""
    m = _TIMECODE.match(text.strip())
    if m is None:
        raise InputError(f"timecode {text!r}: expected HH:MM:SS:FF")
    hh, mm, ss, sep, ff = (int(g) if g.isdigit() else g for g in m.groups())

    def bcd(value: int) -> int:
        return ((value // 10) << 4) | (value % 10)

    packed = (bcd(hh) << 24) | (bcd(mm) << 16) | (bcd(ss) << 8) | bcd(ff % 100)  # type: ignore[operator]
    if sep != ":":
        packed |= 1 << 6  # drop-frame flag
    return packed, 0
