"""HTTP routes for per-tool shot state (see :mod:`filmstyle.server.shots`).

=============================  =============================================================
``POST   /shots/{tool}/frames``  one frame for a host tool → 202 ``{id, state, ...}`` (poll
                                 ``/jobs/{id}``); 422 invalid, 403 a path outside the allowed folders
``GET    /shots/{tool}``         the tool's last frame and key (404 when it keeps no state)
``DELETE /shots/{tool}``         forget the tool's state
=============================  =============================================================
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from filmstyle.errors import FilmStyleError, PathRefused, clip, one_line
from filmstyle.job.paths import job_paths
from filmstyle.io.targets import same_file
from filmstyle.job.plan import RenderPlan, build_plan
from filmstyle.server.discovery import PathPolicy
from filmstyle.server.queue import JobQueue, QueueFull, parse_body, parse_job
from filmstyle.server.shots import ShotRequest, ShotSessions, check_tool, parse_shot_request

__all__ = ["add_shot_routes"]

# What the OpenAPI document says these routes answer (the body is read by the job model, so
# FastAPI cannot infer it).
_ERROR = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
_REQUEST = {"requestBody": {"required": True, "content": {"application/json": {"schema": {
    "type": "object", "required": ["frame", "key", "job"], "additionalProperties": False,
    "properties": {"frame": {"type": "integer"}, "key": {"type": "string", "minLength": 1},
                   "job": {"$ref": "#/components/schemas/Job"},
                   "previous": {"type": ["object", "null"], "properties": {
                       "frame": {"type": "integer"}, "key": {"type": "string"}, "input": {"type": "string"},
                       "output": {"type": "string"}}}}}}}}}
_FRAME_RESPONSES = {422: {"description": "The request is invalid (one line naming the field).", **_ERROR},
                    403: {"description": "A path outside the allowed folders.", **_ERROR},
                    429: {"description": "Too many jobs are waiting already.", **_ERROR}}
_TOOL_ERROR = {422: {"description": "Not a tool name (1-200 letters, digits, '_', '-' or '.').", **_ERROR}}
_STATE_RESPONSES = {404: {"description": "The tool keeps no state.", **_ERROR}, **_TOOL_ERROR}


def add_shot_routes(app: FastAPI, work: JobQueue, policy: PathPolicy, base_dir: Path) -> ShotSessions:
    """Add the ``/shots`` routes to ``app``; returns the sessions (also ``app.state.shots``)."""
    sessions = ShotSessions()
    app.state.shots = sessions

    def compile_frame(tool: str, raw: bytes) -> tuple[ShotRequest, RenderPlan] | JSONResponse:
        try:
            shot = parse_shot_request(tool, parse_body(raw))
            # every path the job names is checked before anything looks at it
            job = parse_job(shot.job, base_dir, check_path=lambda where, path: policy.check(path, f"job.{where}"))
        except PathRefused as exc:
            return JSONResponse({"detail": one_line(exc)}, status_code=403)
        except FilmStyleError as exc:
            return JSONResponse({"detail": one_line(exc)}, status_code=422)
        paths = [(f"job.{where}", path) for where, path in job_paths(job)]
        history = []
        for where, text in (("previous.input", shot.previous_input), ("previous.output", shot.previous_output)):
            if text:
                history.append((where, Path(text) if Path(text).is_absolute() else base_dir / text))
        for where, path in paths + history:
            refusal = policy.check(path, where)
            if refusal:
                return JSONResponse({"detail": refusal}, status_code=403)
        try:
            plan = build_plan(job)
        except FilmStyleError as exc:
            return JSONResponse({"detail": one_line(exc)}, status_code=422)
        if len(plan.source.frames) != 1:
            return JSONResponse({"detail": f"job.frames: a shot request renders one frame, got "
                                           f"{len(plan.source.frames)}"}, status_code=422)
        if plan.keyframes:  # their tracks run over the shot's frames, which a host sends one by one
            return JSONResponse({"detail": "job.keyframes: painted keyframes render a whole shot (POST /jobs or "
                                           "filmstyle stylize), not frame by frame"}, status_code=422)
        written = plan.output.path(plan.output.frames[0])
        for where, path in history:  # the history is read while this frame is written
            if same_file(path, written):
                return JSONResponse({"detail": f"{where}: {clip(str(path), 80)} is this request's output; the "
                                               "previous frame's files must be other files"}, status_code=422)
        return shot, plan

    @app.post("/shots/{tool}/frames", status_code=202, openapi_extra=_REQUEST, responses=_FRAME_RESPONSES)
    async def shot_frame(tool: str, request: Request):
        compiled = await run_in_threadpool(compile_frame, tool, await request.body())  # off the event loop
        if isinstance(compiled, JSONResponse):
            return compiled
        shot, plan = compiled
        try:
            record = work.submit(plan, make_pipeline=sessions.pipeline_factory(shot))
        except QueueFull as exc:
            return JSONResponse({"detail": one_line(exc)}, status_code=429)
        return JSONResponse(record.status(), status_code=202)

    def named(tool: str) -> str:
        try:
            return check_tool(tool)
        except FilmStyleError as exc:
            raise HTTPException(422, one_line(exc)) from None

    @app.get("/shots/{tool}", responses=_STATE_RESPONSES)
    def shot_state(tool: str) -> dict:
        state = sessions.describe(named(tool))
        if state is None:
            raise HTTPException(404, f"no state kept for tool {clip(repr(tool), 60)}")
        return state

    @app.delete("/shots/{tool}", responses=_TOOL_ERROR)
    def forget(tool: str) -> dict:
        return {"tool": tool, "forgotten": sessions.forget(named(tool))}

    return sessions

