"""Find or start the local worker and talk to it over HTTP (standard library only).

>>> client = WorkerClient.connect()            # reads worker.json, or starts `filmstyle serve`
>>> job = client.submit(job_dict)              # 422/403 raise WorkerError with the worker's line
>>> final = client.wait(job["id"], on_progress=lambda s: print(s["done"], s["total"]))

The worker's Python comes from ``$FILMSTYLE_PYTHON`` or ``host.json``'s ``"python"`` (written by the
installer; see :mod:`filmstyle_plugin.paths`).
"""

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

from filmstyle_plugin import paths

__all__ = ["WorkerError", "WorkerClient", "read_host_config", "worker_python", "FINAL_STATES"]

FINAL_STATES = ("done", "failed", "cancelled")
# Loopback never goes through a proxy, whatever the environment says.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


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
    def start(cls, *, wait: float = 90.0, extra_args: Optional[List[str]] = None) -> "WorkerClient":
        """Start ``filmstyle serve`` in the configured environment and wait until it answers."""
        python = worker_python()
        config = read_host_config()
        args = [python, "-c", "from filmstyle.cli import main; main()", "serve", "--port", "0"]
        args += [str(a) for a in config.get("serve_args", [])] + list(extra_args or [])
        folder = paths.config_dir()
        folder.mkdir(parents=True, exist_ok=True)
        log_path = folder / "worker.log"
        before = paths.worker_file().stat().st_mtime_ns if paths.worker_file().exists() else None
        kwargs: Dict[str, Any] = {}
        if sys.platform == "win32":
            kwargs["creationflags"] = 0x00000008 | 0x00000200  # DETACHED_PROCESS | CREATE_NEW_PROCESS_GROUP
        else:
            kwargs["start_new_session"] = True  # outlives the host's session, not killed with its UI
        with open(log_path, "ab") as log:
            process = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log, stderr=log, **kwargs)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if process.poll() is not None:
                tail = log_path.read_text(errors="replace").strip().splitlines()[-1:] or ["no output"]
                raise WorkerError(f"worker exited with status {process.returncode}: {tail[0]} (log: {log_path})")
            wf = paths.worker_file()
            if wf.exists() and wf.stat().st_mtime_ns != before:
                client = cls.find()
                if client is not None:
                    client.process = process
                    return client
            time.sleep(0.1)
        process.terminate()
        raise WorkerError(f"worker did not answer within {wait:g} s (log: {log_path})")

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
        data = None if body is None else json.dumps(body).encode("utf-8")
        req = urllib.request.Request(self.base_url + path, data=data, method=method)
        req.add_header("Authorization", f"Bearer {self.token}")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with _OPENER.open(req, timeout=self.timeout) as resp:
                return json.loads(resp.read().decode("utf-8"))
        except urllib.error.HTTPError as exc:
            try:
                detail = json.loads(exc.read().decode("utf-8")).get("detail", "")
            except ValueError:
                detail = exc.reason
            raise WorkerError(f"worker: {detail} (HTTP {exc.code})", exc.code) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise WorkerError(f"worker at {self.base_url} unreachable: {reason}") from None

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
