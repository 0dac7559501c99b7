"""Style and strength keys written as markers on a Resolve timeline item.

A marker named ``filmstyle`` (any case) is a key; its note says what it keys::

    style=starry-blue strength=0.8 smooth
    style=pale-wash:1,starry-blue:3          # a blend: weights, normalised at the marker
    strength=0 hold
    temporal=0.6 preserve_color=0.5

* ``key=value`` pairs separated by spaces. Keys: ``style`` and every keyable parameter of the
  schema except ``blend`` (a blend is written in ``style``): ``strength``, ``temporal``,
  ``preserve_color``.
* ``style=`` takes built-in looks (``filmstyle styles`` lists them) or style images (a path
  without spaces); ``NAME:WEIGHT`` entries separated by commas make a blend. A style a marker does
  not name has weight 0 at that marker, so ``style=A`` at one marker and ``style=B`` at a later one
  migrate from A to B between them.
* One optional word, ``linear`` (default), ``smooth`` (``ease``) or ``hold`` (``step``), says how
  the values leave this marker towards the next one.
* A marker longer than one frame holds its values over its whole span (a key at its first and at
  its last frame).
* Other markers are not read. Unknown keys, numbers that are not numbers or out of range, unknown
  styles, a marker that sets nothing and ``filmstyle`` markers whose spans overlap are errors that
  name the marker by its timecode.

Frames are media offsets (0 = the first frame of the clip's media); :func:`parse_markers` maps them
to job frames with a function the caller gives.
"""

import difflib
import os
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from filmstyle_plugin.schema import Param, load_schema

__all__ = ["MARKER_NAME", "INTERP_WORDS", "MarkerError", "MarkerKeys", "marker_keys", "parse_note", "parse_markers"]

MARKER_NAME = "filmstyle"
INTERP_WORDS = {"linear": "linear", "smooth": "smooth", "ease": "smooth", "hold": "hold", "step": "hold"}
#: Keyable parameters a marker may not set (a blend is written as style weights).
_NOT_IN_MARKERS = ("blend",)

Key = List[Any]  # [frame, value, interp], the job model's curve list form


class MarkerError(Exception):
    """Every problem found in an item's markers, one line each (``lines``)."""

    def __init__(self, lines: Sequence[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = list(lines)


class MarkerKeys:
    """Keys read from an item's markers, in job frames.

    Attributes:
        styles: ``[(style, keys)]`` when a marker names a style (weights per style), else ``None``.
        values: ``{param name: keys}`` for the numbers the markers key.
        count: how many ``filmstyle`` markers were read.
    """

    def __init__(self) -> None:
        self.styles: Optional[List[Tuple[str, List[Key]]]] = None
        self.values: Dict[str, List[Key]] = {}
        self.count = 0

    def apply(self, job: Dict[str, Any]) -> Dict[str, Any]:
        """``job`` with the keyed fields replaced (the rest, e.g. from a job file, kept)."""
        out = dict(job)
        if self.styles is not None:
            out["styles"] = [{"style": name, "weight": keys} for name, keys in self.styles]
        for name, keys in self.values.items():
            out[name] = keys
        return out


def _keyable(params: Sequence[Param]) -> Dict[str, Param]:
    return {p.name: p for p in params if p.animatable and p.job and p.name not in _NOT_IN_MARKERS}


def _builtin_styles(params: Sequence[Param]) -> List[str]:
    for p in params:
        if p.name == "style":
            return list(p.choices)
    return []


def _suggest(word: str, candidates: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else ""


def _number(text: str) -> Optional[float]:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if value == value and abs(value) != float("inf") else None


def _style_name(text: str, builtins: Sequence[str], where: str, errors: List[str]) -> Optional[str]:
    key = text.strip().lower().replace("_", "-")
    if key in builtins:
        return key
    if os.sep in text or "/" in text or "." in text:
        if os.path.isfile(text):
            return text
        errors.append(f"{where}: style image {text} does not exist")
        return None
    errors.append(f"{where}: style {text!r} is not a built-in look{_suggest(key, builtins)}")
    return None


def parse_note(note: str, where: str, params: Optional[Sequence[Param]] = None
               ) -> Tuple[Optional[Dict[str, float]], Dict[str, float], str, List[str]]:
    """One marker's note → ``(style weights or None, {param: value}, interp, errors)``."""
    params = load_schema() if params is None else params
    keyable = _keyable(params)
    builtins = _builtin_styles(params)
    allowed = ["style", *keyable]
    errors: List[str] = []
    styles: Optional[Dict[str, float]] = None
    values: Dict[str, float] = {}
    interp: Optional[str] = None
    seen: List[str] = []
    for token in note.split():
        if "=" not in token:
            word = token.lower()
            if word in INTERP_WORDS:
                if interp is not None:
                    errors.append(f"{where}: two interpolation words ({interp}, {word}); use one of linear, smooth, hold")
                interp = INTERP_WORDS[word]
            else:
                errors.append(f"{where}: {token!r} is neither key=value nor one of linear, smooth, hold"
                              f"{_suggest(word, list(INTERP_WORDS))}")
            continue
        key, _, text = token.partition("=")
        key = key.strip().lower()
        if key not in allowed:
            hint = " (a blend is written style=A:1,B:1)" if key in _NOT_IN_MARKERS else _suggest(key, allowed)
            errors.append(f"{where}: unknown key {key!r}{hint}; keys: {', '.join(allowed)}")
            continue
        if key in seen:
            errors.append(f"{where}: {key} is given twice")
            continue
        seen.append(key)
        if not text:
            errors.append(f"{where}: {key}= has no value")
            continue
        if key == "style":
            styles = _parse_styles(text, builtins, where, errors)
            continue
        value = _number(text)
        param = keyable[key]
        if value is None:
            errors.append(f"{where}: {key}={text!r} is not a number")
            continue
        if param.range is not None and not param.range[0] <= value <= param.range[1]:
            errors.append(f"{where}: {key}={text} is outside {param.range[0]:g}..{param.range[1]:g}")
            continue
        values[key] = value
    if not errors and styles is None and not values:
        errors.append(f"{where}: the note sets nothing (e.g. style=starry-blue strength=0.8 smooth)")
    return styles, values, interp or "linear", errors


def _parse_styles(text: str, builtins: Sequence[str], where: str, errors: List[str]) -> Optional[Dict[str, float]]:
    weights: Dict[str, float] = {}
    for entry in text.split(","):
        if not entry:
            errors.append(f"{where}: style={text}: an empty entry")
            return None
        name, weight = entry, 1.0
        head, sep, tail = entry.rpartition(":")
        if sep and head and _number(tail) is not None:
            name, weight = head, float(tail)
        elif sep and head and not (len(head) == 1 and head.isalpha()):  # not a Windows drive letter
            errors.append(f"{where}: style={text}: weight {tail!r} of {head} is not a number")
            return None
        if weight < 0:
            errors.append(f"{where}: style={text}: weight {weight:g} is negative")
            return None
        resolved = _style_name(name, builtins, where, errors)
        if resolved is None:
            return None
        weights[resolved] = weights.get(resolved, 0.0) + weight
    if sum(weights.values()) <= 0:
        errors.append(f"{where}: style={text}: every weight is 0")
        return None
    return weights


def marker_keys(markers: Mapping[float, Mapping[str, Any]]) -> List[Tuple[float, Mapping[str, Any]]]:
    """The ``filmstyle`` markers of a ``GetMarkers()`` dict, in frame order."""
    found = []
    for frame, info in markers.items():
        name = str(info.get("name", "")).strip().lower()
        if name == MARKER_NAME:
            found.append((float(frame), info))
    return sorted(found, key=lambda item: item[0])


def parse_markers(
    markers: Mapping[float, Mapping[str, Any]],
    *,
    to_offset: Callable[[float], int],
    to_frame: Callable[[int], int],
    describe: Callable[[int], str],
    params: Optional[Sequence[Param]] = None,
) -> MarkerKeys:
    """An item's ``GetMarkers()`` → keys in job frames.

    Args:
        to_offset: marker key (as ``GetMarkers`` returns it) → media offset.
        to_frame: media offset → job frame (the media file's frame number).
        describe: media offset → where, for messages (``"marker at 01:00:02:12"``).

    Raises:
        MarkerError: every problem found, one line each; nothing is returned half-parsed.
    """
    params = load_schema() if params is None else params
    out = MarkerKeys()
    errors: List[str] = []
    parsed = []
    spans: List[Tuple[int, int, str]] = []
    for key, info in marker_keys(markers):
        start = to_offset(key)
        duration = max(1, int(round(float(info.get("duration", 1.0) or 1.0))))
        where = describe(start)
        styles, values, interp, problems = parse_note(str(info.get("note", "")), where, params)
        errors += problems
        spans.append((start, start + duration - 1, where))
        parsed.append((start, duration, styles, values, interp))
    for (a0, a1, wa), (b0, b1, wb) in zip(spans, spans[1:]):
        if b0 <= a1:
            errors.append(f"{wa} ({a1 - a0 + 1} frames) and {wb} overlap; FilmStyle markers must not overlap")
    if errors:
        raise MarkerError(errors)
    out.count = len(parsed)
    names: List[str] = []
    for _, _, styles, _, _ in parsed:
        for name in styles or {}:
            if name not in names:
                names.append(name)
    style_keys: Dict[str, List[Key]] = {n: [] for n in names}
    for start, duration, styles, values, interp in parsed:
        frames = [to_frame(start)] if duration == 1 else [to_frame(start), to_frame(start + duration - 1)]
        if styles is not None:
            total = sum(styles.values())
            for name in names:
                for f in frames:
                    style_keys[name].append([f, styles.get(name, 0.0) / total, interp])
        for pname, value in values.items():
            for f in frames:
                out.values.setdefault(pname, []).append([f, value, interp])
    if names:
        out.styles = [(n, style_keys[n]) for n in names]
    return out
