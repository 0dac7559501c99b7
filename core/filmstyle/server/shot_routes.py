"""HTTP routes for per-tool shot state (see :mod:`filmstyle.server.shots`).

=============================  =============================================================
``POST   /shots/{tool}/frames``  one frame for a host tool → 202 ``{id, state, ...}`` (poll
                                 ``/jobs/{id}``); 422 invalid, 403 a path outside the allowed folders
``GET    /shots/{tool}``         the tool's last frame and key (404 when it keeps no state)
``DELETE /shots/{tool}``         forget the tool's state
=============================  =============================================================
"""

from __future__ import annotations

import json
from pathlib import Path

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse

from filmstyle.errors import FilmStyleError
from filmstyle.job.paths import job_paths
from filmstyle.server.discovery import PathPolicy
from filmstyle.server.queue import JobQueue, parse_job
from filmstyle.server.shots import ShotSessions, parse_shot_request

__all__ = ["add_shot_routes"]


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def add_shot_routes(app: FastAPI, work: JobQueue, policy: PathPolicy, base_dir: Path) -> ShotSessions:
    """Add the ``/shots`` routes to ``app``; returns the sessions (also ``app.state.shots``)."""
    sessions = ShotSessions()
    app.state.shots = sessions

    @app.post("/shots/{tool}/frames", status_code=202)
    async def shot_frame(tool: str, request: Request):
        raw = await request.body()
        try:
            data = json.loads(raw)
        except ValueError as exc:
            return JSONResponse({"detail": f"body: not valid JSON ({_one_line(exc)})"}, status_code=422)
        try:
            shot = parse_shot_request(tool, data)
            job = parse_job(shot.job, base_dir)
        except FilmStyleError as exc:
            return JSONResponse({"detail": _one_line(exc)}, status_code=422)
        paths = [(f"job.{where}", path) for where, path in job_paths(job)]
        for where, text in (("previous.input", shot.previous_input), ("previous.output", shot.previous_output)):
            if text:
                paths.append((where, Path(text) if Path(text).is_absolute() else base_dir / text))
        for where, path in paths:
            refusal = policy.check(path, where)
            if refusal:
                return JSONResponse({"detail": refusal}, status_code=403)
        try:
            from filmstyle.job.plan import build_plan

            plan = build_plan(job)
        except FilmStyleError as exc:
            return JSONResponse({"detail": _one_line(exc)}, status_code=422)
        if len(plan.source.frames) != 1:
            return JSONResponse({"detail": f"job.frames: a shot request renders one frame, got "
                                           f"{len(plan.source.frames)}"}, status_code=422)
        record = work.submit(plan, make_pipeline=sessions.pipeline_factory(shot))
        return JSONResponse(record.status(), status_code=202)

    @app.get("/shots/{tool}")
    def shot_state(tool: str) -> dict:
        state = sessions.describe(tool)
        if state is None:
            raise HTTPException(404, f"no state kept for tool {tool!r}")
        return state

    @app.delete("/shots/{tool}")
    def forget(tool: str) -> dict:
        return {"tool": tool, "forgotten": sessions.forget(tool)}

    return sessions
