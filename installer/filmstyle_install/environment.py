"""The Python environment filmstyle runs in: create it, install into it, ask it questions.

The installer's own Python may be anything from 3.9 up and has only the standard library; every
question about torch, OpenImageIO or the weights is answered by :mod:`filmstyle_install.probe`
run by the environment's interpreter.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from filmstyle_install.fsops import InstallError

__all__ = ["MIN_PYTHON", "CUDA_INDEX", "CUDA_VARIANT", "STAMP", "interpreter_problem", "find_base_python", "python_version", "create_venv", "Pip",
           "run_probe", "quiet_env", "read_stamp", "write_stamp"]

MIN_PYTHON = (3, 10)
#: PyTorch's wheel index for CUDA builds; ``--cuda cu126`` picks another variant.
CUDA_INDEX = "https://download.pytorch.org/whl/{variant}"
#: The form of PyTorch's CUDA variants (cu118, cu128); anything else would end up in pip's --index-url.
CUDA_VARIANT = re.compile(r"cu[0-9]+")
STAMP = "filmstyle-install.json"
_PROBE = Path(__file__).with_name("probe.py")


def python_version(python: str) -> tuple[int, int] | None:
    """``(major, minor)`` of the interpreter ``python``, ``None`` if it does not run."""
    try:
        proc = subprocess.run([python, "-c", "import sys; print('%d %d' % sys.version_info[:2])"],
                              capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    try:
        major, minor = proc.stdout.split()
        return int(major), int(minor)
    except ValueError:
        return None


def interpreter_problem(python: str) -> str | None:
    """Why ``python`` cannot be run as an interpreter (``"does not exist"``...), ``None`` when it can."""
    path = Path(python)
    if not path.exists():
        return "does not exist"
    if not path.is_file():
        return "is not a file"
    if not os.access(path, os.X_OK):
        return "is not executable"
    return None


def find_base_python(requested: str | None) -> str:
    """An interpreter (3.10+) to create the environment with: ``requested``, this one, or one on PATH.

    Raises:
        InstallError: none found (the message says how to name one).
    """
    if requested:
        version = python_version(requested)
        if version is None:
            raise InstallError(f"--base-python: {requested} does not run")
        if version < MIN_PYTHON:
            raise InstallError(f"--base-python: {requested} is Python {version[0]}.{version[1]}, filmstyle needs 3.10+")
        return requested
    if sys.version_info[:2] >= MIN_PYTHON:
        return sys.executable
    for name in ("python3.12", "python3.11", "python3.10", "python3.13"):
        exe = shutil.which(name)
        if exe and (python_version(exe) or (0, 0)) >= MIN_PYTHON:
            return exe
    raise InstallError(f"Python {sys.version_info[0]}.{sys.version_info[1]} runs this installer, but the "
                       "environment needs 3.10+: install one and pass --base-python /path/to/python3.11")


def create_venv(base_python: str, venv_dir: Path, env: Mapping[str, str] | None = None) -> None:
    proc = subprocess.run([base_python, "-m", "venv", str(venv_dir)], capture_output=True, text=True,
                          env=None if env is None else dict(env))
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        raise InstallError(f"{venv_dir}: cannot create the environment: {tail[0]} "
                           "(on Debian/Ubuntu: apt install python3-venv)")


class Pip:
    """``pip install`` in one environment, output kept in a log shown on failure."""

    def __init__(self, python: str, say: Callable[[str], None], *, env: Mapping[str, str] | None = None,
                 verbose: bool = False) -> None:
        self.python, self.say, self.verbose = python, say, verbose
        self.env = dict(os.environ if env is None else env)
        fd, log = tempfile.mkstemp(prefix="filmstyle-install-", suffix=".log")
        os.close(fd)
        self.log = Path(log)

    def install(self, args: Sequence[str], what: str) -> float:
        """Run ``pip install args``; returns the seconds it took.

        Raises:
            InstallError: pip failed (the message has pip's last error line and the log's path).
        """
        cmd = [self.python, "-m", "pip", "install", "--disable-pip-version-check", *args]
        start = time.monotonic()
        with open(self.log, "a", encoding="utf-8") as log:
            log.write("$ " + " ".join(cmd) + "\n")
            log.flush()
            out = None if self.verbose else log
            proc = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT if out else None,
                                  stdin=subprocess.DEVNULL, env=self.env)
        if proc.returncode != 0:
            lines = [ln for ln in self.log.read_text(errors="replace").splitlines() if ln.strip()]
            errors = [ln for ln in lines if ln.startswith("ERROR")] or lines[-1:] or ["no output"]
            raise InstallError(f"pip could not install {what}: {errors[-1].strip()} (full log: {self.log})")
        return time.monotonic() - start

    def discard_log(self) -> None:
        try:
            self.log.unlink()
        except OSError:
            pass


def run_probe(python: str, command: str, *args: str, env: Mapping[str, str] | None = None,
              timeout: float = 900.0) -> Any:
    """Run ``probe.py command args`` with the environment's ``python``; its JSON answer.

    Raises:
        InstallError: the probe did not run or did not answer JSON (the message has its last line).
    """
    cmd = [python, "-I", str(_PROBE), command, *args]
    env = quiet_env(os.environ if env is None else env)
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, stdin=subprocess.DEVNULL)
    except FileNotFoundError:
        raise InstallError(f"{python}: interpreter not found") from None
    except OSError as exc:  # a folder, a file without execute permission, not a program
        raise InstallError(f"{python}: cannot run it ({exc.strerror or exc})") from None
    except subprocess.TimeoutExpired:
        raise InstallError(f"{python}: '{command}' did not finish within {timeout:g} s") from None
    try:
        return json.loads(proc.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or [f"exit status {proc.returncode}"]
        raise InstallError(f"{python}: '{command}' failed: {tail[0]}") from None


def quiet_env(environ: Mapping[str, str]) -> dict[str, str]:
    """``environ`` for the environment's processes the installer starts.

    onnxruntime (1.32) writes a telemetry device id under ``~/.cache/Microsoft`` when imported,
    unless ``ORT_DISABLE_TELEMETRY`` is set; the installer leaves nothing in HOME it cannot remove.
    """
    env = dict(environ)
    env.setdefault("ORT_DISABLE_TELEMETRY", "1")
    return env


def read_stamp(venv_dir: Path) -> dict[str, Any]:
    try:
        data = json.loads((venv_dir / STAMP).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def write_stamp(venv_dir: Path, data: dict[str, Any]) -> None:
    (venv_dir / STAMP).write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
