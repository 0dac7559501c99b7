"""Starting the panel from hosts: the stdlib launcher, Nuke's menu (the stand-in, in a bare Python
3.9 as Nuke runs it) and the Resolve Utility script (a bare Python 3.9, as Resolve's would be).

The host side is checked with a recorder standing where ``host.json``'s python is (it writes its
command line, environment and folder, then exits as told); one test starts the real panel
through the launcher."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.nuke.conftest import LAUNCH, NUKE_DIR, bare_python
from tests.panel.conftest import ROOT

RESOLVE_SCRIPT = ROOT / "resolve" / "Scripts" / "Utility" / "FilmStyle - Panel.py"
PANEL_ARGS = ["-c", "from filmstyle.cli import main; main()", "panel"]


def recorder(folder: Path, exit_code: int = 0) -> Path:
    """An executable that records how it was started into ``started.json``."""
    path = folder / "recorder.py"
    path.write_text(textwrap.dedent(f"""\
        #!{sys.executable}
        import json, os, sys
        with open({str(folder / "started.json")!r}, "w") as fh:
            json.dump({{"argv": sys.argv[1:], "cwd": os.getcwd(), "env": dict(os.environ)}}, fh)
        if {exit_code}:
            sys.stderr.write("filmstyle: error: job.yaml: styles[0].style (line 4): unknown style\\n")
        sys.exit({exit_code})
        """))
    path.chmod(0o755)
    return path


def started(folder: Path, timeout: float = 30.0) -> dict:
    path = folder / "started.json"
    deadline = time.monotonic() + timeout
    while not path.is_file() and time.monotonic() < deadline:
        time.sleep(0.05)
    return json.loads(path.read_text())


@pytest.fixture
def home(tmp_path):
    """A home as the installer leaves it: host.json names the filmstyle python (a recorder here)."""
    cfg = tmp_path / "home" / ".config" / "filmstyle"
    cfg.mkdir(parents=True)
    return tmp_path / "home"


def host_json(home: Path, python: Path) -> Path:
    cfg = home / ".config" / "filmstyle"
    (cfg / "host.json").write_text(json.dumps({"python": str(python), "plugin_path": str(ROOT / "plugin")}))
    return cfg


def bare_env(home: Path, **extra: str) -> dict:
    env = {"HOME": str(home), "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8",
           "PYTHONPATH": "/host/site-packages", "QT_PLUGIN_PATH": "/host/qt/plugins"}
    env.update(extra)
    return env


LAUNCH_SCRIPT = """
import json, sys
sys.path.insert(0, sys.argv[1])
from filmstyle_plugin.panel import launch_panel
launch = launch_panel(sys.argv[2] if len(sys.argv) > 2 else None)
print("FAILURE " + json.dumps(launch.failure(timeout=20)))
"""


def test_launcher_in_a_bare_python_starts_the_filmstyle_python_clean(tmp_path, home):
    cfg = host_json(home, recorder(tmp_path))
    proc = subprocess.run([*bare_python(), "-c", LAUNCH_SCRIPT, str(ROOT / "plugin"), "shots/job.yaml"],
                          capture_output=True, text=True, timeout=120, env=bare_env(home), cwd=str(tmp_path))
    assert "FAILURE null" in proc.stdout, proc.stdout + proc.stderr
    run = started(tmp_path)
    assert run["argv"] == [*PANEL_ARGS, str(tmp_path / "shots" / "job.yaml")]  # absolute: the panel's cwd differs
    assert run["cwd"] == str(cfg)
    assert "PYTHONPATH" not in run["env"] and "QT_PLUGIN_PATH" not in run["env"]  # the host's, not the panel's


def test_launcher_reports_a_panel_that_stops_with_an_error(tmp_path, home):
    cfg = host_json(home, recorder(tmp_path, exit_code=1))
    proc = subprocess.run([*bare_python(), "-c", LAUNCH_SCRIPT, str(ROOT / "plugin")], capture_output=True,
                          text=True, timeout=120, env=bare_env(home), cwd=str(tmp_path))
    failure = json.loads(proc.stdout.split("FAILURE ", 1)[1])
    assert failure == ("the panel exited with status 1: filmstyle: error: job.yaml: styles[0].style (line 4): "
                       f"unknown style (log: {cfg / 'panel.log'})")


NUKE_SESSION = r'''
import json, sys, time
import nuke
report = {}
command, icon = nuke.menu("Nodes").findItem("FilmStyle").findItem("FilmStyle Panel")
bar, _ = nuke.menu("Nuke").findItem("FilmStyle").findItem("Open Panel...")
report["same"] = command == bar
nuke._standin_answer_filename(sys.argv[1] if sys.argv[1] != "-" else None)
exec(command, {"nuke": nuke})              # the artist picks FilmStyle > Open Panel..., chooses a job
import filmstyle_nuke.panel as panel
deadline = time.time() + 30
while not nuke._standin_messages() and time.time() < deadline and sys.argv[2] == "wait-message":
    nuke._standin_pump(until=lambda: bool(nuke._standin_messages()), timeout=1)
report["messages"] = list(nuke._standin_messages())
print("REPORT " + json.dumps(report))
'''


def nuke_session(tmp_path, home, job: str, wait: str = "no") -> dict:
    script = tmp_path / "session.py"
    script.write_text(NUKE_SESSION)
    env = bare_env(home, NUKE_PATH=str(NUKE_DIR))
    proc = subprocess.run([*bare_python(), str(LAUNCH), "--gui", str(script), job, wait], capture_output=True,
                          text=True, timeout=120, env=env, cwd=str(home))
    lines = [x for x in proc.stdout.splitlines() if x.startswith("REPORT ")]
    assert lines, proc.stdout + proc.stderr
    return json.loads(lines[-1][len("REPORT "):])


def test_nuke_menu_opens_the_panel_on_the_chosen_job(tmp_path, home):
    host_json(home, recorder(tmp_path))
    job = tmp_path / "shots" / "sh010.yaml"
    report = nuke_session(tmp_path, home, str(job))
    assert report == {"same": True, "messages": []}
    run = started(tmp_path)
    assert run["argv"] == [*PANEL_ARGS, str(job)] and "PYTHONPATH" not in run["env"]


def test_nuke_menu_cancelled_file_browser_opens_an_empty_panel(tmp_path, home):
    host_json(home, recorder(tmp_path))
    nuke_session(tmp_path, home, "-")
    assert started(tmp_path)["argv"] == PANEL_ARGS


def test_nuke_shows_why_the_panel_stopped(tmp_path, home):
    host_json(home, recorder(tmp_path, exit_code=1))
    report = nuke_session(tmp_path, home, str(tmp_path / "job.yaml"), wait="wait-message")
    assert len(report["messages"]) == 1 and report["messages"][0].startswith(
        "FilmStyle: the panel exited with status 1: filmstyle: error: job.yaml: styles[0].style")


def test_nuke_without_an_environment_says_how_to_set_one(tmp_path, home):
    report = nuke_session(tmp_path, home, "-")
    assert len(report["messages"]) == 1 and "no filmstyle environment configured" in report["messages"][0]


def run_resolve_script(tmp_path, home) -> subprocess.CompletedProcess:
    return subprocess.run([*bare_python(), str(RESOLVE_SCRIPT)], capture_output=True, text=True, timeout=120,
                          env=bare_env(home), cwd=str(tmp_path))


def test_resolve_script_opens_the_panel(tmp_path, home):
    host_json(home, recorder(tmp_path))
    proc = run_resolve_script(tmp_path, home)
    assert proc.returncode == 0 and proc.stdout.startswith("FilmStyle: the panel is open (process "), proc.stderr
    assert started(tmp_path)["argv"] == PANEL_ARGS


def test_resolve_script_says_what_is_missing(tmp_path, home):
    proc = run_resolve_script(tmp_path, home)
    assert proc.stdout.strip() == ("FilmStyle: no filmstyle_plugin found; run the FilmStyle installer (it writes "
                                   f"{home / '.config' / 'filmstyle' / 'host.json'})")
    host_json(home, recorder(tmp_path, exit_code=1))
    proc = run_resolve_script(tmp_path, home)
    assert proc.stdout.startswith("FilmStyle: the panel exited with status 1: filmstyle: error: job.yaml")


def test_the_launcher_starts_the_real_panel(tmp_path, home, panel_worker, job_dir):
    """The filmstyle python itself behind host.json: the panel opens the job, renders its preview
    through the worker and writes its screenshot (offscreen: no display here)."""
    shot = tmp_path / "shot.png"
    script = (f"import sys; sys.path.insert(0, {str(ROOT / 'plugin')!r})\n"
              "from filmstyle_plugin.panel import launch_panel\n"
              f"launch = launch_panel({str(job_dir / 'job.yaml')!r}, extra_args=['--no-thumbnails', '--screenshot', "
              f"{str(shot)!r}])\n"
              "print('EXIT', launch.process.wait(300), launch.failure())\n")
    env = bare_env(home, FILMSTYLE_CONFIG_DIR=os.environ["FILMSTYLE_CONFIG_DIR"], FILMSTYLE_PYTHON=sys.executable)
    env["PYTHONPATH"] = str(ROOT)  # kept out of the panel by the launcher; the venv has filmstyle installed
    env.pop("DISPLAY", None)
    proc = subprocess.run([*bare_python(), "-c", script], capture_output=True, text=True, timeout=400, env=env,
                          cwd=str(tmp_path))
    assert "EXIT 0 None" in proc.stdout, proc.stdout + proc.stderr + (Path(os.environ["FILMSTYLE_CONFIG_DIR"])
                                                                      / "panel.log").read_text()
    assert shot.is_file() and shot.stat().st_size > 10_000
