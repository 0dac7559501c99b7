"""Helpers for hostile-input tests: run the command line (in process, or in a child process with
bounded memory and time), check that it failed with one short line, and that nothing was written.
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

from typer.testing import CliRunner

from filmstyle.cli import app
from filmstyle_plugin.client import WorkerClient

__all__ = ["cli", "bounded", "one_line", "tree", "start_worker", "stop_worker", "MAX_LINE"]

runner = CliRunner()
#: Longest error line a hostile value may produce (values echoed in messages are cut short).
MAX_LINE = 560


def cli(*args):
    return runner.invoke(app, [str(a) for a in args])


def one_line(result, *needles: str) -> str:
    """``result`` (CliRunner result or CompletedProcess) failed with one ``filmstyle: error:`` line
    holding every needle: exit status not 0, no traceback, the line short."""
    if isinstance(result, subprocess.CompletedProcess):
        code, output, exc = result.returncode, result.stderr + result.stdout, None
    else:
        code, output, exc = result.exit_code, result.output, result.exception
    assert code not in (0, None), output[-2000:]
    assert exc is None or isinstance(exc, SystemExit), repr(exc)[:2000]
    assert "Traceback" not in output, output[-3000:]
    lines = [line for line in output.splitlines() if line.strip() and not line.startswith("stylize ")]
    assert len(lines) == 1 and lines[0].startswith("filmstyle: error: "), output[-2000:]
    line = lines[0]
    assert len(line) <= MAX_LINE, f"{len(line)} characters: {line[:300]}..."
    for needle in needles:
        assert needle in line, (needle, line)
    return line


def _limit(memory_bytes: int):
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))

    return apply


def bounded(*args, memory_mb: int = 1500, timeout: float = 60.0, env: dict | None = None,
            cwd: Path | None = None) -> subprocess.CompletedProcess:
    """``filmstyle ARGS`` in a child process that may use at most ``memory_mb`` of address space
    and ``timeout`` seconds (a hang or a runaway allocation fails the test, not the machine)."""
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-c", "from filmstyle.cli import main; main()", *map(str, args)],
        capture_output=True, text=True, timeout=timeout, preexec_fn=_limit(memory_mb << 20),
        env={**os.environ, **(env or {})}, cwd=cwd)
    proc.seconds = time.monotonic() - start  # type: ignore[attr-defined]
    return proc


def tree(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` (hidden temp files included) with a hash of its bytes."""
    return {str(p.relative_to(folder)): hashlib.sha1(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def start_worker(root: Path, *extra: str) -> dict:
    """``filmstyle serve`` on 127.0.0.1 in a child process, allowed to touch ``root/allowed`` only."""
    cfg, allowed = root / "cfg", root / "allowed"
    allowed.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, FILMSTYLE_CONFIG_DIR=str(cfg))
    proc = subprocess.Popen(
        [sys.executable, "-c", "from filmstyle.cli import main; main()", "serve", "--port", "0",
         "--allow-path", str(allowed), "--time-limit", "60", *extra],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    wf = cfg / "worker.json"
    deadline = time.monotonic() + 90
    while not wf.exists():
        assert proc.poll() is None, proc.stdout.read().decode()
        assert time.monotonic() < deadline, "worker did not start"
        time.sleep(0.1)
    info = json.loads(wf.read_text())
    return {"client": WorkerClient(info["port"], info["token"], timeout=30.0), "info": info,
            "allowed": allowed, "root": root, "proc": proc}


def stop_worker(worker: dict) -> None:
    proc = worker["proc"]
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
