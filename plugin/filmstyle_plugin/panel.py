"""Start the filmstyle panel from a host (Nuke's menu, a Resolve script): standard library only.

The panel is a PySide6 application that runs in the filmstyle environment, not in the host: it
is started as its own process with the same interpreter and the same clean environment as the
worker (``$FILMSTYLE_PYTHON`` or ``host.json``'s ``"python"``, :func:`~filmstyle_plugin.client.worker_env`),
so the host's Python needs nothing but this module, and the host's UI never waits for it.

>>> launch = launch_panel("/shots/sh010/style.yaml")
>>> launch.failure(timeout=5.0)     # None while it runs; the panel's last line if it exited with an error

The panel writes what it prints to ``panel.log`` in the config folder.
"""

import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from filmstyle_plugin import paths
from filmstyle_plugin.client import WorkerError, read_host_config, worker_env, worker_python

__all__ = ["panel_command", "launch_panel", "PanelLaunch"]


def panel_command(job: Optional[str] = None, extra_args: Sequence[str] = ()) -> List[str]:
    """The command line that opens the panel (on ``job`` when given) in the filmstyle environment."""
    args = [worker_python(), "-c", "from filmstyle.cli import main; main()", "panel"]
    if job:
        args.append(str(Path(job).expanduser().absolute()))
    return args + [str(a) for a in extra_args]


class PanelLaunch:
    """A panel process that was started; :meth:`failure` says whether it stopped with an error."""

    def __init__(self, process: "subprocess.Popen[bytes]", log_path: Path, log_start: int) -> None:
        self.process, self.log_path, self._log_start = process, log_path, log_start

    def failure(self, timeout: float = 0.0) -> Optional[str]:
        """Wait up to ``timeout`` seconds; the panel's last line if it exited non-zero, else None."""
        deadline = time.monotonic() + timeout
        while self.process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        code = self.process.poll()
        if code is None or code == 0:
            return None
        try:
            with open(self.log_path, "rb") as fh:
                fh.seek(self._log_start)
                lines = fh.read().decode("utf-8", "replace").strip().splitlines()
        except OSError:
            lines = []
        tail = lines[-1] if lines else "no output"
        return "the panel exited with status %d: %s (log: %s)" % (code, tail, self.log_path)


def launch_panel(job: Optional[str] = None, *, extra_args: Sequence[str] = (),
                 host_executable: Optional[str] = None) -> PanelLaunch:
    """Start the panel and return at once.

    Raises:
        WorkerError: no filmstyle environment is configured, or the process cannot be started.
    """
    args = panel_command(job, extra_args)
    config = read_host_config()
    extra_env = config.get("env") or {}
    if not isinstance(extra_env, dict):
        raise WorkerError('%s: "env" must be an object of strings' % paths.host_config_file())
    folder = paths.config_dir()
    folder.mkdir(parents=True, exist_ok=True)
    log_path = folder / "panel.log"
    env: Dict[str, str] = worker_env(host_executable=host_executable, extra=extra_env)
    # Windows: CREATE_NEW_PROCESS_GROUP | CREATE_NO_WINDOW (outlives the host, no console beside it);
    # elsewhere a session of its own (not closed with the host's terminal).
    windows = sys.platform == "win32"
    start = log_path.stat().st_size if log_path.exists() else 0
    try:
        with open(log_path, "ab") as log:
            process = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log, stderr=log, cwd=str(folder),
                                       env=env, creationflags=0x00000200 | 0x08000000 if windows else 0,
                                       start_new_session=not windows)
    except OSError as exc:
        raise WorkerError("cannot start the panel with %s: %s" % (args[0], exc)) from None
    return PanelLaunch(process, log_path, start)

