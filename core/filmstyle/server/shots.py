"""Per-tool shot state: a host that renders one frame per request (a Fusion Fuse) keeps its
temporal blend and shot statistics in the worker between requests.

A host tool sends ``POST /shots/{tool}/frames`` with one frame to render::

    {"frame": 12,                       # the host's frame number (consecutive frames continue)
     "key": "<the host's id for this result>",
     "previous": {"frame": 11, "key": "...", "input": "...", "output": "..."} | null,
     "job": {...}}                      # a one-frame job in the job-file model

The frame is rendered on the worker's one render thread like any job (poll ``/jobs/{id}``). The
tool's state continues from the previous request when that request was frame ``frame - 1`` with
the key the host names in ``previous``; when the host served ``frame - 1`` from its own cache
instead, the state is rebuilt from ``previous.input``/``previous.output`` (the source frame and
the result on disk), as a resumed render does; without ``previous`` (a jump, a scrub, the first
frame) the state starts afresh. Cuts inside a run of frames restart it too (the render's own
luma-histogram test). A change of look (styles, colour settings, device, quality options)
starts a new state; per-frame values (strength, weights, temporal amount) do not.

At most :data:`MAX_SESSIONS` tools keep state (least recently used first out): each holds two
full frames per look.

:class:`ShotPipeline` carries the engine's per-look renderers (their temporal blenders and shot
statistics) from one plan to the next; ``tests/resolve/test_shots.py`` holds it to a sequence
render of the same frames. Rebuilding from disk undoes the strength mix with this frame's
strength: exact when the strength is 1 or did not change from the frame before.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from filmstyle import io
from filmstyle.engine.pipeline import FramePipeline
from filmstyle.engine.stylize import FrameStylizer
from filmstyle.errors import FilmStyleError, JobError, clip
from filmstyle.job.plan import RenderPlan

__all__ = ["MAX_SESSIONS", "ShotPipeline", "ShotRequest", "ShotSessions", "parse_shot_request", "plan_signature"]

MAX_SESSIONS = 4
_TOOL_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.")


def plan_signature(plan: RenderPlan) -> tuple:
    """Everything about a plan that makes earlier frames' state meaningless when it changes.

    Per-frame values (strength, blend weights, temporal amount, colour amounts) are left out:
    keying them over a shot is what the state is for.
    """
    looks = tuple(tuple(layer.style for layer in look.styles) for look in plan.looks)
    regions = tuple(region.look for region in plan.regions)
    return (
        looks, regions, plan.default, plan.ocio, plan.input_colorspace, plan.working_space, plan.layer, plan.part,
        plan.device, plan.precision, plan.temporal is not None, plan.temporal_cut_threshold,
        plan.preserve_color is not None, plan.histogram_match is not None, plan.network,
    )


class ShotPipeline(FramePipeline):
    """A :class:`FramePipeline` that outlives its plan: each request brings a new one-frame plan
    and the per-look state carries over, indexed by the host's frame numbers."""

    def advance(self, plan: RenderPlan, frame: int) -> None:
        """Take ``plan`` (same signature as the first) for the host frame ``frame``: its per-frame
        values reach every look; each look's renderer keeps its state."""
        self.plan = plan
        self.color.plan = plan  # same colour settings (the signature), so its transforms stay valid
        for renderer, look in zip(self._looks, plan.looks):
            renderer.plan, renderer.look = plan, look
        # The render loop passes the plan's own frame number; the state runs on the host's.
        self._frame_index = {plan.source.frames[0]: int(frame)}

    def reset(self) -> None:
        """Forget every look's state and the cut detector's (the next frame starts a shot)."""
        for renderer in self._looks:
            renderer.blender, renderer.shot, renderer.last = None, None, None
        self._cuts = None
        self._cuts_last = None

    def prime_from(self, frame: int, source: Path, output: Path) -> bool:
        """Continue from host frame ``frame`` rendered earlier: its source and result on disk."""
        self._frame_index = {int(frame): int(frame)}
        src = io.read_frame(source, layer=self.plan.layer, part=self.plan.part)
        return self.prime(int(frame), src, output)


@dataclass(frozen=True)
class ShotRequest:
    """A validated ``/shots/{tool}/frames`` body (the job itself is checked separately)."""

    tool: str
    frame: int
    key: str
    job: dict
    previous_frame: int | None = None
    previous_key: str | None = None
    previous_input: str | None = None
    previous_output: str | None = None

    @property
    def continues(self) -> bool:
        return self.previous_frame is not None and self.previous_frame == self.frame - 1


def _int(value: Any, where: str) -> int:
    if (isinstance(value, bool) or not isinstance(value, (int, float))
            or (isinstance(value, float) and not math.isfinite(value)) or int(value) != value):
        raise JobError(f"{where}: expected a whole frame number, got {clip(repr(value), 40)}")
    return int(value)


def _text(value: Any, where: str, *, optional: bool = False) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value.strip():
        raise JobError(f"{where}: expected a non-empty string, got {clip(repr(value), 60)}")
    return value


def check_tool(tool: str) -> str:
    """``tool`` if it is a tool name (1-200 of letters, digits, ``_``, ``-``, ``.``); else :class:`JobError`."""
    if not tool or len(tool) > 200 or not set(tool) <= _TOOL_CHARS:
        raise JobError(f"tool: expected 1-200 letters, digits, '_', '-' or '.', got {clip(repr(tool), 60)}")
    return tool


def parse_shot_request(tool: str, data: Any) -> ShotRequest:
    """Check the envelope of a shot request; one-line :class:`JobError` naming the field."""
    check_tool(tool)
    if not isinstance(data, dict):
        raise JobError(f"body: expected an object with frame, key and job, got {type(data).__name__}")
    unknown = sorted(set(data) - {"frame", "key", "job", "previous"})
    if unknown:
        raise JobError(f"body: unknown field {clip(repr(unknown[0]), 60)} (expected frame, key, job, previous)")
    if not isinstance(data.get("job"), dict):
        raise JobError("job: expected a one-frame job object")
    prev = data.get("previous")
    if prev is not None and not isinstance(prev, dict):
        raise JobError(f"previous: expected an object or null, got {type(prev).__name__}")
    prev = prev or {}
    return ShotRequest(
        tool=tool,
        frame=_int(data.get("frame"), "frame"),
        key=_text(data.get("key"), "key"),  # type: ignore[arg-type]
        job=data["job"],
        previous_frame=None if not prev else _int(prev.get("frame"), "previous.frame"),
        previous_key=_text(prev.get("key"), "previous.key", optional=True) if prev else None,
        previous_input=_text(prev.get("input"), "previous.input", optional=True) if prev else None,
        previous_output=_text(prev.get("output"), "previous.output", optional=True) if prev else None,
    )


@dataclass
class _Session:
    pipeline: ShotPipeline
    signature: tuple
    last_frame: int | None = None
    last_key: str | None = None


class ShotSessions:
    """The tools' states, least recently used first out.

    A session's state is only used for a request whose ``previous.key`` is the key of the
    session's last frame. A host names a key as ``previous`` only after it received that result,
    so a frame that failed or was cancelled half-way is never continued from.

    Sessions are only changed on the render thread (in the pipeline factory) or under the lock.

    Args:
        limit: sessions kept (see :data:`MAX_SESSIONS`).
    """

    def __init__(self, limit: int = MAX_SESSIONS) -> None:
        self._limit = limit
        self._sessions: OrderedDict[str, _Session] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            return len(self._sessions)

    def forget(self, tool: str) -> bool:
        with self._lock:
            return self._sessions.pop(tool, None) is not None

    def describe(self, tool: str) -> dict | None:
        with self._lock:
            s = self._sessions.get(tool)
            return None if s is None else {"tool": tool, "last_frame": s.last_frame, "last_key": s.last_key}

    def pipeline_factory(self, request: ShotRequest) -> Callable[[RenderPlan, FrameStylizer], FramePipeline]:
        """What the render thread calls, for ``request``'s job, instead of building a fresh pipeline."""

        def make(plan: RenderPlan, stylizer: FrameStylizer) -> FramePipeline:
            if len(plan.source.frames) != 1:
                raise JobError(f"job.frames: a shot request renders one frame, got {len(plan.source.frames)}")
            return self._pipeline_for(request, plan, stylizer)

        return make

    def _pipeline_for(self, request: ShotRequest, plan: RenderPlan, stylizer: FrameStylizer) -> ShotPipeline:
        signature = plan_signature(plan)
        with self._lock:
            session = self._sessions.pop(request.tool, None)
        replaced = session is not None and session.signature != signature
        if replaced:
            session = None  # the look changed: earlier frames say nothing about this one
        if session is None:
            session = _Session(ShotPipeline(plan, stylizer=stylizer), signature)
        pipeline = session.pipeline
        pipeline.stylizer = stylizer
        pipeline.advance(plan, request.frame)
        if not plan.tracks_shots:
            pipeline.reset()
        elif not request.continues:
            pipeline.reset()
        elif not self._holds(session, request):
            pipeline.reset()
            if request.previous_input and request.previous_output and not replaced:
                src, out = Path(request.previous_input), Path(request.previous_output)
                if src.is_file() and out.is_file():
                    try:
                        pipeline.prime_from(request.frame - 1, src, out)
                    except FilmStyleError:
                        pipeline.reset()  # an unreadable neighbour: start the shot here instead
            pipeline.advance(plan, request.frame)
        session.last_frame, session.last_key = request.frame, request.key
        with self._lock:
            self._sessions[request.tool] = session
            while len(self._sessions) > self._limit:
                self._sessions.popitem(last=False)
        return pipeline

    @staticmethod
    def _holds(session: _Session, request: ShotRequest) -> bool:
        """True when the session's in-memory state is exactly the frame before ``request``."""
        return session.last_frame == request.frame - 1 and session.last_key == request.previous_key
