"""Where clients find the worker, who may talk to it, and which files it may touch.

``worker.json`` (``{"port", "token", "pid", "host"}``) lives in the user config dir
(``platformdirs.user_config_dir("filmstyle")``, or ``$FILMSTYLE_CONFIG_DIR``) and is created
with mode 0600 so only the user can read the token. The stdlib client in ``filmstyle_plugin``
computes the same folder on its own (hosts cannot import this package); a test keeps the two in step.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from filmstyle.config import CONFIG_ENV, config_dir
from filmstyle.errors import WorkerError, clip

__all__ = [
    "LOOPBACK_HOSTS",
    "CONFIG_ENV",
    "config_dir",
    "worker_file",
    "new_token",
    "write_worker_file",
    "read_worker_file",
    "remove_worker_file",
    "check_bind",
    "check_no_live_worker",
    "check_allowed_folders",
    "PathPolicy",
]

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})


def worker_file() -> Path:
    return config_dir() / "worker.json"


def new_token() -> str:
    return secrets.token_urlsafe(32)


def write_worker_file(info: dict, path: Path | None = None) -> Path:
    """Write ``info`` atomically to a file only the user can read (mode 0600)."""
    path = path or worker_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600) if hasattr(os, "fchmod") else None
        os.write(fd, json.dumps(info, indent=2).encode())
    finally:
        os.close(fd)
    os.replace(tmp, path)
    return path


def read_worker_file(path: Path | None = None) -> dict | None:
    path = path or worker_file()
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def remove_worker_file(pid: int, path: Path | None = None) -> None:
    """Remove ``worker.json`` if it still describes process ``pid`` (a newer worker may own it)."""
    path = path or worker_file()
    info = read_worker_file(path)
    if info and info.get("pid") == pid:
        try:
            path.unlink()
        except OSError:
            pass


def check_bind(host: str, allow_remote: bool) -> None:
    """Refuse any bind address but loopback unless the user asked for remote access."""
    if host not in LOOPBACK_HOSTS and not allow_remote:
        raise WorkerError(
            f"--host: expected a loopback address ({', '.join(sorted(LOOPBACK_HOSTS))}), got {clip(repr(host), 60)}; "
            "pass --allow-remote to listen on other interfaces (anyone holding the token can then render)"
        )


def check_no_live_worker(path: Path | None = None) -> None:
    """Refuse to start while ``worker.json`` names another worker that is alive and listening: the
    new one would take the file over and leave the running one (and its jobs) unreachable."""
    import socket

    path = path or worker_file()
    info = read_worker_file(path)
    if not isinstance(info, dict):
        return
    pid, port, host = info.get("pid"), info.get("port"), info.get("host", "127.0.0.1")
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0 or pid == os.getpid():
        return
    if not isinstance(port, int) or not 0 < port < 65536 or not isinstance(host, str):
        return
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return  # stale: its worker died without removing it
    except (PermissionError, OSError):
        pass  # alive, another user's (or no signal here): the port decides
    try:
        with socket.create_connection((host, port), timeout=1.0):
            pass
    except OSError:
        return
    raise WorkerError(f"a worker is already running for this config folder (pid {pid}, port {port}; {path}); "
                      f"hosts use it as it is, or stop it first (or set {CONFIG_ENV} to another folder)")


def check_allowed_folders(paths: list[Path]) -> list[Path]:
    """``paths`` when each is an existing folder; else one :class:`WorkerError` line naming it
    (a file or a typo would otherwise make the worker refuse every job, or allow the wrong one)."""
    for path in paths:
        if not str(path).strip() or str(path) == ".":
            raise WorkerError("--allow-path: empty; name a folder")
        if not Path(path).expanduser().is_dir():
            what = "is a file, not a folder" if Path(path).expanduser().exists() else "does not exist"
            raise WorkerError(f"--allow-path: {clip(path, 160)} {what}")
    return paths


@dataclass
class PathPolicy:
    """Roots a job may read from and write to; an empty list means "no restriction"."""

    roots: list[Path] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.roots = [Path(r).expanduser().resolve() for r in self.roots]

    def allows(self, path: str | Path) -> bool:
        if not self.roots:
            return True
        try:
            resolved = Path(path).expanduser().resolve()
        except (OSError, RuntimeError, ValueError):  # a symlink loop, an unknown ~user, a NUL
            return False
        return any(resolved == root or root in resolved.parents for root in self.roots)

    def check(self, path: str | Path, field_name: str) -> str | None:
        """The one-line refusal for ``path``, or ``None`` when it is allowed."""
        if self.allows(path):
            return None
        return f"{field_name}: {clip(path, 160)} is outside the worker's allowed folders"
