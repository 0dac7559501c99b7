"""Mask descriptions: parsed, validated, evaluated per frame against a :class:`MaskContext`.

Every numeric shape parameter is a :class:`~filmstyle.job.curves.Curve`, so shapes animate.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from filmstyle.errors import InputError, clip
from filmstyle.job.curves import Curve
from filmstyle.job.masks.raster import (
    REC709_LUMA,
    blur,
    ellipse,
    grow_shrink,
    hue_key,
    invert,
    luma_key,
    maximum,
    multiply,
    polygon,
    rectangle,
    subtract,
)

__all__ = [
    "FIT_MODES",
    "OPS",
    "MaskContext",
    "MaskSpec",
    "EllipseMask",
    "RectangleMask",
    "PolygonMask",
    "ChannelMask",
    "FileMask",
    "LumaMask",
    "HueMask",
    "OpMask",
]

Pair = tuple[Curve, Curve]


def _r(value: object) -> str:
    return clip(repr(value), 60)


@dataclass(frozen=True)
class MaskContext:
    """What a mask may read for one frame; the render layer builds one per frame.

    Attributes:
        height, width: frame size in pixels.
        rgb: ``(H, W, 3)`` frame in the working space (needed by luma/hue keys).
        channel: ``channel("matte.R") -> (H, W)``, a channel of the input frame.
        load_matte: ``load_matte(path_pattern, frame, channel) -> (h, w)``, one channel of an
            external matte sequence (any size; fitting is done here).
    """

    height: int
    width: int
    rgb: np.ndarray | None = None
    channel: Callable[[str], np.ndarray] | None = None
    load_matte: Callable[[str, float, str], np.ndarray] | None = None


class MaskSpec:
    """A parsed, validated mask description. ``field`` is its path in the job (for messages)."""

    field: str

    def evaluate(self, frame: float, ctx: MaskContext) -> np.ndarray:
        """The matte at ``frame``: ``(H, W)`` float32 in ``[0, 1]``."""
        raise NotImplementedError


def _at(c: Curve, frame: float) -> float:
    return c.value_at(frame)


def _nonneg(c: Curve, frame: float) -> float:
    # An animated size may dip below 0 between keys only if the user keyed it so; treat as 0.
    return max(c.value_at(frame), 0.0)


@dataclass(frozen=True)
class EllipseMask(MaskSpec):
    field: str
    center: Pair
    radius: Pair
    rotation: Curve
    feather: Curve

    def evaluate(self, frame: float, ctx: MaskContext) -> np.ndarray:
        return ellipse(
            ctx.height, ctx.width, _at(self.center[0], frame), _at(self.center[1], frame),
            _at(self.radius[0], frame), _at(self.radius[1], frame),
            _at(self.rotation, frame), _nonneg(self.feather, frame),
        )  # fmt: skip


@dataclass(frozen=True)
class RectangleMask(MaskSpec):
    """Either ``box`` (x0, y0, x1, y1) or ``center`` + ``size`` is set."""

    field: str
    feather: Curve
    box: tuple[Curve, Curve, Curve, Curve] | None = None
    center: Pair | None = None
    size: Pair | None = None

    def evaluate(self, frame: float, ctx: MaskContext) -> np.ndarray:
        if self.box is not None:
            x0, y0, x1, y1 = (_at(c, frame) for c in self.box)
        else:
            assert self.center is not None and self.size is not None
            cx, cy = (_at(c, frame) for c in self.center)
            hw, hh = (_nonneg(c, frame) / 2 for c in self.size)
            x0, y0, x1, y1 = cx - hw, cy - hh, cx + hw, cy + hh
        return rectangle(ctx.height, ctx.width, x0, y0, x1, y1, _nonneg(self.feather, frame))


@dataclass(frozen=True)
class PolygonMask(MaskSpec):
    field: str
    points: tuple[Pair, ...]
    feather: Curve

    def evaluate(self, frame: float, ctx: MaskContext) -> np.ndarray:
        pts = [(_at(x, frame), _at(y, frame)) for x, y in self.points]
        return polygon(ctx.height, ctx.width, pts, _nonneg(self.feather, frame))


def _fit_check(a: np.ndarray, what: str) -> np.ndarray:
    if a.ndim != 2:
        raise InputError(f"{what}: expected a single (H, W) channel, got shape {a.shape}")
    return np.clip(np.nan_to_num(a.astype(np.float32, copy=False), nan=0.0, posinf=1.0, neginf=0.0), 0.0, 1.0)


@dataclass(frozen=True)
class ChannelMask(MaskSpec):
    field: str
    channel: str

    def evaluate(self, frame: float, ctx: MaskContext) -> np.ndarray:
        if ctx.channel is None:
            raise InputError(f"{self.field}.channel: {_r(self.channel)} needs the input frame's channels, none given")
        a = _fit_check(np.asarray(ctx.channel(self.channel)), f"{self.field}.channel {_r(self.channel)}")
        if a.shape != (ctx.height, ctx.width):
            raise InputError(
                f"{self.field}.channel: {_r(self.channel)} is {a.shape[1]}x{a.shape[0]}, "
                f"frame is {ctx.width}x{ctx.height}"
            )
        return a.astype(np.float32)


FIT_MODES: tuple[str, ...] = ("error", "stretch", "center")


@dataclass(frozen=True)
class FileMask(MaskSpec):
    """An external matte sequence; ``fit`` says what to do when its size differs from the frame's."""

    field: str
    path: str
    channel: str = "A"
    fit: str = "error"

    def evaluate(self, frame: float, ctx: MaskContext) -> np.ndarray:
        if ctx.load_matte is None:
            raise InputError(f"{self.field}.file: {self.path}: no matte loader available")
        what = f"{self.path} (frame {frame:g}, channel {self.channel})"
        a = _fit_check(np.asarray(ctx.load_matte(self.path, frame, self.channel)), what)
        h, w = a.shape
        if (h, w) == (ctx.height, ctx.width):
            return a.astype(np.float32)
        if self.fit == "stretch":
            fitted = cv2.resize(a, (ctx.width, ctx.height), interpolation=cv2.INTER_LINEAR)
            return np.clip(fitted, 0.0, 1.0).astype(np.float32)
        if self.fit == "center":
            out = np.zeros((ctx.height, ctx.width), dtype=np.float32)
            # Offsets of the matte inside the frame (negative: the matte is larger and is cropped).
            oy, ox = (ctx.height - h) // 2, (ctx.width - w) // 2
            fy0, fx0 = max(oy, 0), max(ox, 0)
            my0, mx0 = max(-oy, 0), max(-ox, 0)
            hh, ww = min(h - my0, ctx.height - fy0), min(w - mx0, ctx.width - fx0)
            out[fy0 : fy0 + hh, fx0 : fx0 + ww] = a[my0 : my0 + hh, mx0 : mx0 + ww]
            return out
        raise InputError(
            f"{what}: matte is {w}x{h}, frame is {ctx.width}x{ctx.height} (set fit: stretch or center)"
        )


@dataclass(frozen=True)
class LumaMask(MaskSpec):
    field: str
    low: Curve
    high: Curve | None
    softness: Curve
    coeffs: tuple[float, float, float] = REC709_LUMA

    def evaluate(self, frame: float, ctx: MaskContext) -> np.ndarray:
        if ctx.rgb is None:
            raise InputError(f"{self.field}.luma: needs the frame's RGB, none given")
        high = math.inf if self.high is None else _at(self.high, frame)
        low = _at(self.low, frame)
        return luma_key(ctx.rgb, low, max(high, low), _nonneg(self.softness, frame), self.coeffs)


@dataclass(frozen=True)
class HueMask(MaskSpec):
    field: str
    hue: Curve
    width: Curve
    softness: Curve
    min_saturation: Curve

    def evaluate(self, frame: float, ctx: MaskContext) -> np.ndarray:
        if ctx.rgb is None:
            raise InputError(f"{self.field}.hue: needs the frame's RGB, none given")
        return hue_key(
            ctx.rgb, _at(self.hue, frame), _nonneg(self.width, frame),
            _nonneg(self.softness, frame), _nonneg(self.min_saturation, frame),
        )  # fmt: skip


OPS: tuple[str, ...] = ("invert", "multiply", "max", "subtract", "blur", "grow")


@dataclass(frozen=True)
class OpMask(MaskSpec):
    """``invert``/``blur``/``grow`` use ``masks[0]``; ``multiply``/``max`` fold all; ``subtract``
    removes every later mask from the first. ``amount`` is the blur radius or grow pixels."""

    field: str
    op: str
    masks: tuple[MaskSpec, ...]
    amount: Curve | None = None

    def evaluate(self, frame: float, ctx: MaskContext) -> np.ndarray:
        first = self.masks[0].evaluate(frame, ctx)
        if self.op == "invert":
            return invert(first)
        if self.op == "blur":
            assert self.amount is not None
            return blur(first, _nonneg(self.amount, frame))
        if self.op == "grow":
            assert self.amount is not None
            return grow_shrink(first, _at(self.amount, frame))
        fold = {"multiply": multiply, "max": maximum, "subtract": subtract}[self.op]
        for spec in self.masks[1:]:
            first = fold(first, spec.evaluate(frame, ctx))
        return first
