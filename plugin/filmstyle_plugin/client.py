"""Find or start the local worker and talk to it over HTTP (standard library only).

>>> client = WorkerClient.connect()            # reads worker.json, or starts `filmstyle serve`
>>> job = client.submit(job_dict)              # 422/403 raise WorkerError with the worker's line
>>> final = client.wait(job["id"], on_progress=lambda s: print(s["done"], s["total"]))

The worker's Python comes from ``$FILMSTYLE_PYTHON`` or ``host.json``'s ``"python"`` (written by the
installer; see :mod:`filmstyle_plugin.paths`). It starts in a clean environment (:func:`worker_env`):
a host's launcher sets ``PYTHONPATH``/``PYTHONHOME`` and library paths for the host's own Python,
which must not leak into the worker's. :meth:`WorkerClient.launch` starts it without waiting, so a
host's UI thread never blocks on it; :meth:`WorkerLaunch.poll` says when it answers.
"""

import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

from filmstyle_plugin import paths

__all__ = ["WorkerError", "WorkerClient", "WorkerLaunch", "read_host_config", "worker_python", "worker_env",
           "FINAL_STATES"]

FINAL_STATES = ("done", "failed", "cancelled")
#: The worker's answers are statuses and lists of paths; anything larger is not the worker.
MAX_RESPONSE_BYTES = 32 * 1024 * 1024


class WorkerError(Exception):
    """The worker is unreachable, refused a request or failed a job; the message is one line."""

    def __init__(self, message: str, status: Optional[int] = None) -> None:
        super().__init__(message)
        self.status = status


def read_host_config() -> Dict[str, Any]:
    path = paths.host_config_file()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise WorkerError(f"{path}: unreadable host config ({exc})") from None
    if not isinstance(data, dict):
        raise WorkerError(f"{path}: expected a JSON object, got {type(data).__name__}")
    return data


def worker_python() -> str:
    """The interpreter of the filmstyle environment (``$FILMSTYLE_PYTHON``, else ``host.json``)."""
    python = os.environ.get(paths.PYTHON_ENV) or read_host_config().get("python")
    if not python:
        raise WorkerError(
            f"no filmstyle environment configured: set {paths.PYTHON_ENV} or write "
            f'{paths.host_config_file()} with {{"python": "<path to the venv python>"}}'
        )
    if not Path(python).is_file():
        raise WorkerError(f"{paths.PYTHON_ENV}/host.json python: {python} does not exist")
    return python


# Variables a host application's launcher sets for its own interpreter and libraries. Any
# ``PYTHON*`` variable goes too (PYTHONPATH, PYTHONHOME, PYTHONSTARTUP, PYTHONUSERBASE, ...).
_HOST_ONLY_VARS = ("LD_LIBRARY_PATH", "LD_PRELOAD", "DYLD_LIBRARY_PATH", "DYLD_FALLBACK_LIBRARY_PATH",
                   "DYLD_INSERT_LIBRARIES", "DYLD_FRAMEWORK_PATH", "QT_PLUGIN_PATH", "QT_QPA_PLATFORM_PLUGIN_PATH",
                   "VIRTUAL_ENV", "__PYVENV_LAUNCHER__", "CONDA_PREFIX", "CONDA_DEFAULT_ENV")


def worker_env(base: Optional[Dict[str, str]] = None, host_executable: Optional[str] = None,
               extra: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    """The environment the worker starts with: ``base`` (default ``os.environ``) without what the
    host set for its own Python, and without the host application's folder on ``PATH`` (its DLLs
    and executables shadow the worker's on Windows); then ``extra`` (``host.json``'s ``"env"``).
    """
    env = dict(os.environ if base is None else base)
    for key in list(env):
        if key.upper().startswith("PYTHON") or key.upper() in _HOST_ONLY_VARS:
            del env[key]
    host_dir = os.path.dirname(os.path.abspath(host_executable or sys.executable))
    path_key = next((k for k in env if k.upper() == "PATH"), None)
    if path_key is not None:
        def norm(p: str) -> str:
            return os.path.normcase(os.path.abspath(p)) if p else p
        kept = [p for p in env[path_key].split(os.pathsep) if p and norm(p) != norm(host_dir)]
        env[path_key] = os.pathsep.join(kept)
    for key, value in (extra or {}).items():
        env[str(key)] = str(value)
    return env


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    if sys.platform == "win32":
        return True  # no cheap check; the /health probe decides
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class WorkerClient:
    """A connection to one worker: ``host``, ``port`` and bearer ``token`` from ``worker.json``."""

    def __init__(self, port: int, token: str, host: str = "127.0.0.1", timeout: float = 10.0) -> None:
        # ``timeout`` bounds each socket operation, and three times it the whole request: a server
        # that answers a byte at a time never holds a host's thread for longer.
        self.host, self.port, self.token, self.timeout = host, int(port), token, timeout
        self.process: Optional[subprocess.Popen] = None

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    # -- finding and starting -----------------------------------------------------------------
    @classmethod
    def find(cls) -> Optional["WorkerClient"]:
        """A client for the worker named in ``worker.json`` if it answers, else ``None``."""
        try:
            info = json.loads(paths.worker_file().read_text(encoding="utf-8"))
            client = cls(info["port"], info["token"], info.get("host", "127.0.0.1"), timeout=2.0)
            pid = int(info.get("pid", 0))
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if not _pid_alive(pid):
            return None
        try:
            client.health()
        except WorkerError:
            return None
        client.timeout = 10.0
        return client

    @classmethod
    def launch(cls, *, extra_args: Optional[List[str]] = None) -> "WorkerLaunch":
        """Start ``filmstyle serve`` in the configured environment and return at once."""
        python = worker_python()
        config = read_host_config()
        args = [python, "-c", "from filmstyle.cli import main; main()", "serve", "--port", "0"]
        args += [str(a) for a in config.get("serve_args", [])] + list(extra_args or [])
        extra_env = config.get("env") or {}
        if not isinstance(extra_env, dict):
            raise WorkerError(f"{paths.host_config_file()}: \"env\" must be an object of strings")
        folder = paths.config_dir()
        folder.mkdir(parents=True, exist_ok=True)
        log_path = folder / "worker.log"
        before = paths.worker_file().stat().st_mtime_ns if paths.worker_file().exists() else None
        kwargs: Dict[str, Any] = {}
        if sys.platform == "win32":
            kwargs["creationflags"] = 0x00000008 | 0x00000200  # DETACHED_PROCESS | CREATE_NEW_PROCESS_GROUP
        else:
            kwargs["start_new_session"] = True  # outlives the host's session, not killed with its UI
        # The config folder as working directory: never the host's script folder, whose files
        # could shadow modules of the worker's Python.
        with open(log_path, "ab") as log:
            process = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log, stderr=log, cwd=str(folder),
                                       env=worker_env(extra=extra_env), **kwargs)
        return WorkerLaunch(cls, process, log_path, before)

    @classmethod
    def start(cls, *, wait: float = 90.0, extra_args: Optional[List[str]] = None) -> "WorkerClient":
        """Start ``filmstyle serve`` and wait until it answers (blocks: not for a UI thread)."""
        return cls.launch(extra_args=extra_args).wait(wait)

    @classmethod
    def connect(cls, *, start: bool = True, wait: float = 90.0) -> "WorkerClient":
        """The running worker, or a new one when ``start`` is true."""
        client = cls.find()
        if client is not None:
            return client
        if not start:
            raise WorkerError(f"no worker running ({paths.worker_file()} missing or stale); run `filmstyle serve`")
        return cls.start(wait=wait)

    # -- requests --------------------------------------------------------------------------------
    def request(self, method: str, path: str, body: Any = None) -> Dict[str, Any]:
        """One request; the worker's JSON object, or :class:`WorkerError` with one line.

        Plain ``http.client`` on loopback (no proxy, whatever the environment says), with an
        overall deadline and a size cap, so whatever answers on the port cannot hang or flood
        the host.
        """
        data = None if body is None else json.dumps(body).encode("utf-8")
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        where = f"worker at {self.base_url}"
        deadline = 3 * self.timeout
        conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        expired = threading.Event()

        def expire() -> None:
            expired.set()
            sock = conn.sock
            if sock is not None:  # wakes the blocked read; the request then fails below
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

        timer = threading.Timer(deadline, expire)
        timer.daemon = True
        timer.start()
        try:
            conn.request(method, path, body=data, headers=headers)
            resp = conn.getresponse()
            raw = _read_capped(resp)
            code, reason = resp.status, resp.reason
        except (http.client.HTTPException, OSError, ValueError) as exc:
            if expired.is_set():
                raise WorkerError(f"{where} gave no complete answer within {deadline:g} s") from None
            if isinstance(exc, ValueError) and "header" in str(exc):  # http.client refuses the token
                raise WorkerError(f"{paths.worker_file()}: the token is not a valid HTTP header value") from None
            reason = _one_line(repr(exc) if isinstance(exc, http.client.HTTPException) else str(exc))
            raise WorkerError(f"{where} unreachable: {reason or type(exc).__name__}") from None
        finally:
            timer.cancel()
            conn.close()
        try:
            payload = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            payload = None
        if code >= 400:
            detail = payload.get("detail") if isinstance(payload, dict) else None
            text = detail if isinstance(detail, str) and detail else reason
            raise WorkerError(f"worker: {_one_line(text)} (HTTP {code})", code)
        if not isinstance(payload, dict):
            what = "not JSON" if payload is None else f"a JSON {type(payload).__name__}"
            raise WorkerError(f"{where} answered {method} {path} with {what}, not the worker's JSON object")
        return payload

    def health(self) -> Dict[str, Any]:
        return self.request("GET", "/health")

    def styles(self) -> Dict[str, Any]:
        return self.request("GET", "/styles")

    def submit(self, job: Dict[str, Any]) -> Dict[str, Any]:
        return self.request("POST", "/jobs", job)

    def status(self, job_id: str) -> Dict[str, Any]:
        return self.request("GET", f"/jobs/{job_id}")

    def cancel(self, job_id: str) -> Dict[str, Any]:
        return self.request("POST", f"/jobs/{job_id}/cancel")

    def result(self, job_id: str) -> Dict[str, Any]:
        return self.request("GET", f"/jobs/{job_id}/result")

    def wait(
        self,
        job_id: str,
        on_progress: Optional[Callable[[Dict[str, Any]], Optional[bool]]] = None,
        *,
        poll: float = 0.2,
        timeout: Optional[float] = None,
    ) -> Dict[str, Any]:
        """Poll until the job ends; ``on_progress(status)`` returning ``False`` cancels it.

        Returns the final status (``state`` done, failed or cancelled); never raises for a
        failed job, so the caller can still fetch the frames written before the failure.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        cancelled = False
        while True:
            status = self.status(job_id)
            if not isinstance(status.get("state"), str):
                raise WorkerError(f"worker: the status of job {job_id} has no state")
            if status["state"] in FINAL_STATES:
                if on_progress is not None:
                    on_progress(status)
                return status
            if on_progress is not None and on_progress(status) is False and not cancelled:
                self.cancel(job_id)
                cancelled = True
            if deadline is not None and time.monotonic() > deadline and not cancelled:
                self.cancel(job_id)
                cancelled = True
            time.sleep(poll)


def _read_capped(resp: http.client.HTTPResponse) -> bytes:
    """The body, refused past :data:`MAX_RESPONSE_BYTES` (read in pieces, so the deadline applies)."""
    declared = resp.getheader("Content-Length")
    if declared is not None and declared.strip().isdigit() and int(declared) > MAX_RESPONSE_BYTES:
        raise http.client.HTTPException(f"answer of {int(declared)} bytes, over {MAX_RESPONSE_BYTES}")
    parts: List[bytes] = []
    size = 0
    while True:
        part = resp.read1(65536)
        if not part:
            if resp.length:  # read1, unlike read, does not raise for a body cut short
                raise http.client.IncompleteRead(b"".join(parts), resp.length)
            return b"".join(parts)
        size += len(part)
        if size > MAX_RESPONSE_BYTES:
            raise http.client.HTTPException(f"answer over {MAX_RESPONSE_BYTES} bytes")
        parts.append(part)


def _one_line(text: str, limit: int = 500) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 3] + "..."


class WorkerLaunch:
    """A worker process that was started and may not answer yet."""

    def __init__(self, client_cls: type, process: subprocess.Popen, log_path: Path, before: Optional[int]) -> None:
        self._cls, self.process, self.log_path, self._before = client_cls, process, log_path, before

    def poll(self) -> Optional[WorkerClient]:
        """The client once the worker answers; ``None`` while it starts. Raises when it exited."""
        if self.process.poll() is not None:
            lines = self.log_path.read_text(errors="replace").strip().splitlines()
            tail = lines[-1] if lines else "no output"
            raise WorkerError(f"worker exited with status {self.process.returncode}: {tail} (log: {self.log_path})")
        wf = paths.worker_file()
        try:
            changed = wf.stat().st_mtime_ns != self._before
        except OSError:
            return None
        if not changed:
            return None
        client = self._cls.find()
        if client is not None:
            client.process = self.process
        return client

    def wait(self, timeout: float = 90.0, should_continue: Optional[Callable[[], bool]] = None) -> WorkerClient:
        """Poll until the worker answers; ``should_continue()`` returning False stops the worker."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            client = self.poll()
            if client is not None:
                return client
            if should_continue is not None and not should_continue():
                self.process.terminate()
                raise WorkerError("cancelled while the worker was starting")
            time.sleep(0.1)
        self.process.terminate()
        raise WorkerError(f"worker did not answer within {timeout:g} s (log: {self.log_path})")
