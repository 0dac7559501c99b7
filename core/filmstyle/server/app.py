"""The worker's HTTP interface (FastAPI) and :func:`serve`.

Every request, ``/openapi.json`` included, needs ``Authorization: Bearer <token>`` (401 without);
bodies over the size limit get 413; errors are ``{"detail": "<one line>"}``.

=============================  =============================================================
``GET  /health``               ``{status, version, pid, pending, models}``
``GET  /styles``               built-in looks and the image types usable as styles
``POST /jobs``                 a job (the YAML job model as JSON) → 202 ``{id, state, ...}``;
                               422 invalid, 403 a path outside the allowed folders
``GET  /jobs/{id}``            state, done/total frames, written, skipped, fps, error
``POST /jobs/{id}/cancel``     stop after the current frame (a queued job never starts)
``GET  /jobs/{id}/result``     output pattern and the frames written/skipped so far
``/shots/{tool}/...``          one frame at a time for a host tool that keeps shot state in the
                               worker (see :mod:`filmstyle.server.shot_routes`)
=============================  =============================================================
"""

from __future__ import annotations

import errno
import json
import logging
import math
import os
import secrets
import socket
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from filmstyle import __version__
from filmstyle.errors import FilmStyleError, PathRefused, WorkerError, clip, one_line
from filmstyle.job.paths import job_paths
from filmstyle.job.plan import RenderPlan, build_plan
from filmstyle.server import discovery
from filmstyle.server.discovery import PathPolicy
from filmstyle.server.queue import JobQueue, QueueFull, parse_body, parse_job
from filmstyle.server.shot_routes import add_shot_routes

__all__ = ["WorkerSettings", "create_app", "serve", "listen", "MAX_BODY_BYTES"]

log = logging.getLogger("filmstyle.server")
MAX_BODY_BYTES = 1 << 20  # a job with per-frame keys for a few thousand frames fits easily
#: Longest a job may be allowed to run (``--time-limit``): a month.
MAX_JOB_TIME_LIMIT = 30 * 24 * 3600.0
#: Open connections served at once; more are answered 503 (host tools hold one or two each).
MAX_CONNECTIONS = 256


@dataclass
class WorkerSettings:
    token: str = field(default_factory=discovery.new_token)
    allow_paths: list[Path] = field(default_factory=list)
    max_body_bytes: int = MAX_BODY_BYTES
    job_time_limit: float | None = 6 * 3600.0
    base_dir: Path | None = None  # relative job paths resolve here (default: first allowed folder, else cwd)


class _Guard:
    """Pure ASGI middleware: bearer token on every request, and a cap on the body size.

    A body is read here, whole, before the app sees it: one over the limit (declared by
    Content-Length or found while reading a chunked upload) is answered 413 without the app ever
    running. The rest of an oversized body is read and dropped, up to :data:`_DRAIN_BYTES`, so a
    client still sending reads the 413 instead of a reset connection.
    """

    def __init__(self, app, token: str, max_body: int) -> None:
        self.app, self.token, self.max_body = app, token.encode(), max_body

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        auth = headers.get(b"authorization", b"")
        scheme, _, given = auth.partition(b" ")
        if scheme.lower() != b"bearer" or not secrets.compare_digest(given.strip(), self.token):
            return await _reply(send, 401, "missing or wrong bearer token (see worker.json)",
                                {b"www-authenticate": b"Bearer"})
        length = headers.get(b"content-length")
        too_large = f"request body over {self.max_body} bytes"
        if length is not None:
            if not length.isdigit():
                return await _reply(send, 400, "Content-Length is not a number")
            declared = int(length) if len(length) <= 18 else None
            if declared is None or declared > self.max_body:
                if declared is not None and declared <= _DRAIN_BYTES:
                    await _drain(receive, declared)
                return await _reply(send, 413, too_large)
        chunks, seen, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            body = message.get("body", b"")
            seen += len(body)
            more = message.get("more_body", False)
            if seen > self.max_body:
                if more:
                    await _drain(receive, _DRAIN_BYTES)
                return await _reply(send, 413, too_large)
            chunks.append(body)
        replayed = False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        return await self.app(scope, replay, send)


#: Most of an oversized body read and dropped before the 413 goes out.
_DRAIN_BYTES = 64 << 20


async def _drain(receive, limit: int) -> None:
    """Read and drop up to ``limit`` bytes of the request body (or until it ends)."""
    seen = 0
    while seen <= limit:
        message = await receive()
        if message["type"] != "http.request":
            return
        seen += len(message.get("body", b""))
        if not message.get("more_body", False):
            return


async def _reply(send, status: int, detail: str, extra: dict | None = None) -> None:
    body = json.dumps({"detail": detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers += list((extra or {}).items())
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def create_app(settings: WorkerSettings, jobs_queue: JobQueue | None = None):
    """The worker as an ASGI app: FastAPI (``.app``) behind the token and body-size guard.

    A fresh :class:`JobQueue` is started unless one is given.
    """
    policy = PathPolicy(list(settings.allow_paths))
    base_dir = settings.base_dir or (policy.roots[0] if policy.roots else Path.cwd())
    work = jobs_queue or JobQueue(time_limit=settings.job_time_limit)
    app = FastAPI(title="filmstyle worker", version=__version__,
                  description="Local style-transfer render worker; see filmstyle.server.")
    app.state.queue = work

    def confine(field_name: str, path: Path) -> str | None:
        return policy.check(path, field_name)

    def record_or_404(job_id: str):
        record = work.get(job_id)
        if record is None:
            raise HTTPException(404, f"no job {clip(repr(job_id), 60)}")
        return record

    @app.get("/health")
    def health() -> dict:
        return {"status": "ok", "version": __version__, "pid": os.getpid(), "pending": work.pending(),
                "models": work.loaded_models()}

    @app.get("/styles")
    def styles() -> dict:
        from filmstyle.job.styles import BUILTIN_STYLES, IMAGE_STYLE_EXTENSIONS

        return {"builtin": [{"index": i, "name": n} for i, n in enumerate(BUILTIN_STYLES)],
                "image_extensions": sorted(IMAGE_STYLE_EXTENSIONS)}

    def compile_job(raw: bytes) -> RenderPlan | JSONResponse:
        try:
            # Every path the job names is checked against the allow-list before it is looked at.
            job = parse_job(parse_body(raw), base_dir, check_path=confine)
        except PathRefused as exc:
            return JSONResponse({"detail": one_line(exc)}, status_code=403)
        except FilmStyleError as exc:
            return JSONResponse({"detail": one_line(exc)}, status_code=422)
        # Files the job reads without naming them (a user style's model) are confined too.
        for where, path in job_paths(job):
            refusal = policy.check(path, where)
            if refusal:
                return JSONResponse({"detail": refusal}, status_code=403)
        try:
            return build_plan(job)
        except FilmStyleError as exc:
            return JSONResponse({"detail": one_line(exc)}, status_code=422)

    @app.post("/jobs", status_code=202, openapi_extra=_JOB_REQUEST, responses=_JOB_RESPONSES)
    async def submit(request: Request):
        # Parsing and planning read files and take up to a second for a large job: off the event
        # loop, so /health and other clients keep their answers meanwhile.
        plan = await run_in_threadpool(compile_job, await request.body())
        if isinstance(plan, JSONResponse):
            return plan
        try:
            record = work.submit(plan)
        except QueueFull as exc:
            return JSONResponse({"detail": one_line(exc)}, status_code=429)
        return JSONResponse(record.status(), status_code=202)

    @app.get("/jobs/{job_id}")
    def status(job_id: str) -> dict:
        return record_or_404(job_id).status()

    @app.post("/jobs/{job_id}/cancel")
    def cancel(job_id: str) -> dict:
        record_or_404(job_id)
        return work.cancel(job_id).status()

    @app.get("/jobs/{job_id}/result")
    def result(job_id: str) -> dict:
        return record_or_404(job_id).result()

    add_shot_routes(app, work, policy, base_dir)

    @app.exception_handler(HTTPException)
    async def http_error(request, exc: HTTPException):
        return JSONResponse({"detail": one_line(exc.detail)}, status_code=exc.status_code)

    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return _Guard(app, settings.token, settings.max_body_bytes)


# The request model of POST /jobs is the job format's JSON Schema, generated from the parameter
# table; FastAPI cannot infer it because the body is validated by the job model, not by pydantic.
_JOB_REQUEST = {"requestBody": {"required": True, "content": {"application/json": {
    "schema": {"$ref": "#/components/schemas/Job"}}}}}
_ERROR = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
_STATUS = {"type": "object", "required": ["id", "state", "done", "total", "written", "skipped", "fps", "error", "output"],
           "properties": {"id": {"type": "string"}, "state": {"enum": ["queued", "running", "done", "failed", "cancelled"]},
                          "done": {"type": "integer"}, "total": {"type": "integer"}, "written": {"type": "integer"},
                          "skipped": {"type": "integer"}, "fps": {"type": "number"},
                          "error": {"type": ["string", "null"]}, "output": {"type": "string"}}}
_JOB_RESPONSES = {202: {"description": "Queued: the job's status.",
                        "content": {"application/json": {"schema": _STATUS}}},
                  422: {"description": "The job is invalid (one line naming the field).", **_ERROR},
                  403: {"description": "A path outside the allowed folders.", **_ERROR},
                  413: {"description": "The request body is over the size limit.", **_ERROR},
                  429: {"description": "Too many jobs are waiting already.", **_ERROR}}


def _openapi(app: FastAPI) -> dict:
    """FastAPI's document with the job schema's definitions moved under ``components``."""
    if app.openapi_schema is None:
        from fastapi.openapi.utils import get_openapi

        from filmstyle.job.schema import job_json_schema

        doc = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        job = json.loads(json.dumps(job_json_schema()).replace('"#/$defs/', '"#/components/schemas/'))
        schemas = doc.setdefault("components", {}).setdefault("schemas", {})
        schemas.update(job.pop("$defs"))
        job.pop("$schema", None)
        job.pop("$id", None)
        schemas["Job"] = job
        schemas["Error"] = {"type": "object", "required": ["detail"],
                            "properties": {"detail": {"type": "string", "description": "One line."}}}
        _document_guard(doc)
        app.openapi_schema = doc
    return app.openapi_schema


def _document_guard(doc: dict) -> None:
    """What the guard and the routes answer besides FastAPI's own: the bearer scheme and 401 on
    every operation, 413 where a body is read, 404 for an unknown job (whose id, a plain string,
    can never fail FastAPI's validation, so its 422 is not listed)."""
    doc.setdefault("components", {}).setdefault("securitySchemes", {})["bearer"] = {
        "type": "http", "scheme": "bearer", "description": "The token from worker.json."}
    doc["security"] = [{"bearer": []}]
    for path, operations in doc.get("paths", {}).items():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            responses.setdefault("401", {"description": "Missing or wrong bearer token.", **_ERROR})
            if "requestBody" in operation:
                responses.setdefault("413", {"description": "The request body is over the size limit.", **_ERROR})
            if path.startswith("/jobs/{job_id}"):
                responses.pop("422", None)
                responses.setdefault("404", {"description": "No job with that id.", **_ERROR})
    schemas = doc["components"].setdefault("schemas", {})
    if '/HTTPValidationError"' not in json.dumps(doc.get("paths", {})):
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)


def listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (0 picks a free port).

    Raises:
        WorkerError: a port outside 0..65535, one another program holds, or an address this
            machine does not have, in one line.
    """
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise WorkerError(f"--port: expected 0..65535 (0 picks a free port), got {clip(port, 20)}")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(64)
    except (OSError, OverflowError, UnicodeError) as exc:
        sock.close()
        reason = getattr(exc, "strerror", None) or str(exc)
        hint = "; another program (or worker) is listening there, pick another --port or 0" if (
            getattr(exc, "errno", None) == errno.EADDRINUSE) else ""
        raise WorkerError(f"cannot listen on {clip(host, 60)}:{port}: {clip(reason, 100)}{hint}") from None
    return sock


def serve(
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    allow_remote: bool = False,
    settings: WorkerSettings | None = None,
    ready=None,
) -> None:
    """Bind, write ``worker.json`` (port, token, pid; mode 0600) and serve until interrupted.

    Args:
        port: 0 picks a free port.
        ready: called with the ``worker.json`` dict once the socket listens (tests, launchers).

    Raises:
        WorkerError: a non-loopback ``host`` without ``allow_remote``, an allowed folder that is
            not a folder, a time limit out of range, or another live worker in this config folder.
    """
    import uvicorn

    discovery.check_bind(host, allow_remote)
    settings = settings or WorkerSettings()
    discovery.check_allowed_folders(settings.allow_paths)
    limit = settings.job_time_limit
    if limit is not None and not (math.isfinite(limit) and 0 < limit <= MAX_JOB_TIME_LIMIT):
        raise WorkerError(f"--time-limit: expected seconds above 0, at most {MAX_JOB_TIME_LIMIT:.0f} (30 days), "
                          f"got {limit:g}")
    discovery.check_no_live_worker()
    sock = listen(host, port)
    guarded = create_app(settings)
    info = {"host": host, "port": sock.getsockname()[1], "token": settings.token, "pid": os.getpid()}
    path = discovery.write_worker_file(info)
    log.info("worker listening on %s:%s (%s)", host, info["port"], path)
    if ready is not None:
        ready(info)
    class _Server(uvicorn.Server):
        # uvicorn re-raises SIGTERM/SIGINT after shutting down, so clean up here, not only in ``finally``.
        async def shutdown(self, sockets=None):
            discovery.remove_worker_file(info["pid"])
            await super().shutdown(sockets)

    from filmstyle.server.connection import DeadlineH11Protocol

    # Every connection holds a descriptor and a parser: a local program opening thousands gets 503s.
    server = _Server(uvicorn.Config(guarded, log_level="warning", lifespan="off", access_log=False,
                                    http=DeadlineH11Protocol, limit_concurrency=MAX_CONNECTIONS))
    try:
        server.run(sockets=[sock])
    finally:
        discovery.remove_worker_file(info["pid"])
        sock.close()
