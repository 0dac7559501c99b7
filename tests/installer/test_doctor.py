"""doctor: green on a good install, red (exit 1) with a one-line fix for each thing broken."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from filmstyle_install.doctor import format_report, run_doctor

from .conftest import seed_user_files
from .test_install import layout_of

FILMSTYLE = str(Path(sys.executable).with_name("filmstyle"))


def installed(machine_for, checkout, platform="linux"):
    m = machine_for(platform)
    seed_user_files(m)
    assert m.install("--source", str(checkout)) == 0
    return m, layout_of(m)


def by_name(checks):
    return {c.name: c for c in checks}


def test_host_folders_red_cases(machine_for, checkout, capsys):
    m, lay = installed(machine_for, checkout)
    hosts_only = ("env", "worker")
    assert all(c.status == "ok" for c in run_doctor(lay.host_config, environ=m.environ, skip=hosts_only))

    fuse = lay.fusion_root / "Fuses" / "FilmStyleFixture.fuse"
    fuse.unlink()
    resolve = by_name(run_doctor(lay.host_config, environ=m.environ, skip=hosts_only))["Resolve"]
    assert resolve.status == "fail" and str(fuse) in resolve.detail and "install.py" in resolve.fix

    init = lay.nuke_init_files[0]
    init.write_bytes(b"import nuke\r\nnuke.pluginAddPath('/studio/gizmos')")  # the artist took our block out
    nuke = by_name(run_doctor(lay.host_config, environ=m.environ, skip=hosts_only))["Nuke"]
    assert nuke.status == "fail" and "the filmstyle block is gone" in nuke.detail

    capsys.readouterr()
    assert m.run("doctor", "--skip", "env,worker") == 1  # red: exit 1
    out = capsys.readouterr().out
    assert "FAIL  Resolve" in out and "FAIL  Nuke" in out and out.count("fix: install again") == 2
    assert out.rstrip().endswith("doctor: red (1 ok, 0 warning(s), 2 failure(s))")

    config = json.loads(lay.host_config.read_text())
    lay.host_config.write_text(json.dumps(dict(config, python=str(m.root / "gone" / "python"))))
    checks = by_name(run_doctor(lay.host_config, environ=m.environ, skip=("hosts",)))
    assert checks["installation"].status == "fail" and "does not exist" in checks["installation"].detail
    assert checks["environment"].status == "fail" and checks["worker"].status == "skip"


def test_nothing_installed_is_red(machine_for, capsys):
    m = machine_for("darwin")
    assert m.run("doctor", "--skip", "env,worker", "--json") == 1
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False
    assert [(c["name"], c["status"]) for c in report["checks"]] == [("installation", "fail"), ("host folders", "fail")]
    assert all("install.py" in c["fix"] for c in report["checks"])
    # A checkout that was never installed can still check the rest without a red installation line.
    assert m.run("doctor", "--skip", "install,env,worker", "--json") == 1
    report = json.loads(capsys.readouterr().out)
    assert [(c["name"], c["status"]) for c in report["checks"]] == [("host folders", "fail")]


def test_environment_and_worker_red_cases(machine_for, checkout):
    """A missing $OCIO config, a worker that cannot start and a CUDA install on a CPU build of torch,
    found by the real environment checks."""
    import torch

    m, lay = installed(machine_for, checkout)
    config = json.loads(lay.host_config.read_text())
    lay.host_config.write_text(json.dumps(dict(config, serve_args=["--no-such-option"], device="cuda")))
    env = dict(m.environ, OCIO=str(m.root / "missing.ocio"))
    checks = run_doctor(lay.host_config, environ=env, skip=("hosts",))
    status = {c.name: c.status for c in checks}
    cuda = "ok" if torch.cuda.is_available() else "fail"
    assert status == {"installation": "ok", "filmstyle package": "ok", "image formats": "ok", "OCIO config": "fail",
                      "torch devices": cuda, "onnxruntime": "ok", "weights cache": status["weights cache"],
                      "worker": "fail"}, format_report(checks)
    ocio, worker, devices = (by_name(checks)[n] for n in ("OCIO config", "worker", "torch devices"))
    assert "missing.ocio" in ocio.detail and "$OCIO" in ocio.fix
    assert "exited with status 2" in worker.detail and "serve" in worker.fix
    if cuda == "fail":
        assert "asked for CUDA" in devices.detail and "--cuda" in devices.fix
    assert "\n" not in ocio.detail + worker.detail + devices.detail


def test_filmstyle_doctor_is_the_same_check(machine_for, checkout):
    m, lay = installed(machine_for, checkout)
    env = dict(m.environ, ORT_DISABLE_TELEMETRY="1")
    proc = subprocess.run([FILMSTYLE, "doctor", "--skip", "env,worker", "--json"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(proc.stdout)
    assert [(c["name"], c["status"]) for c in report["checks"]] == [
        ("installation", "ok"), ("Nuke", "ok"), ("Resolve", "ok")]
    (lay.nuke_dir / "menu.py").unlink()
    proc = subprocess.run([FILMSTYLE, "doctor", "--skip", "env,worker"], env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 1 and "FAIL  Nuke" in proc.stdout
    proc = subprocess.run([FILMSTYLE, "doctor", "--skip", "everything"], env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 2 and proc.stderr.strip() == (
        "filmstyle: error: --skip: unknown 'everything', valid: install, env, worker, hosts")
    assert os.environ.get("HOME") != m.environ["HOME"]  # the test's own HOME was never touched
