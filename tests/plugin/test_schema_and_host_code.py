"""The parameter schema stays in step with the job model; host code stays Python 3.9, stdlib only."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from filmstyle.job.schema import job_json_schema
from filmstyle.job.styles import BUILTIN_STYLES
from filmstyle_plugin import paths, protocol
from filmstyle_plugin.schema import load_schema

ROOT = Path(__file__).resolve().parents[2]
HOST_DIRS = (ROOT / "plugin" / "filmstyle_plugin", ROOT / "nuke")
HOST_PYTHONS = ("3.9", "3.10", "3.11", "3.12")


def host_python(version: str) -> str | None:
    """A working interpreter for ``version``: ``pythonX.Y`` (or a PyPy of that version) on PATH or
    under ``$PYENV_ROOT``."""
    import glob
    import os

    candidates = [shutil.which(f"python{version}")]
    if version == "3.9":
        candidates.append(shutil.which("pypy3"))  # Debian's pypy3 implements Python 3.9
    root = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    candidates += sorted(glob.glob(os.path.join(root, "versions", f"{version}.*", "bin", f"python{version}")))
    for exe in filter(None, candidates):
        try:
            proc = subprocess.run([exe, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                                  capture_output=True, text=True, timeout=30)
        except OSError:
            continue
        if proc.returncode == 0 and proc.stdout.strip() == version:
            return exe
    return None


def job_fields() -> set[str]:
    """Top-level keys of the job model's JSON schema."""
    return set(job_json_schema()["properties"])


def test_schema_json_is_generated_from_the_parameter_table():
    """schema.json is the table's host view, byte for byte (regenerate: python -m filmstyle.job.schema FILE)."""
    from filmstyle.job.schema import host_schema_text

    assert (ROOT / "plugin" / "filmstyle_plugin" / "schema.json").read_text(encoding="utf-8") == host_schema_text()


def test_every_host_control_maps_to_a_job_field_or_a_host_role():
    fields = job_fields()
    for param in load_schema():
        assert param.hosts, f"{param.name}: shown by no host"
        if param.job is None:
            assert param.role, f"{param.name}: no job field and no host role"
            continue
        assert param.job.split(".")[0].split("[")[0] in fields, param.job
    assert protocol.JOB_VERSION == job_json_schema()["properties"]["filmstyle"]["const"]


def test_style_choices_match_the_core():
    by_name = {p.name: p for p in load_schema()}
    assert by_name["style"].choices == list(BUILTIN_STYLES)
    assert by_name["style2"].choices == ["none", *BUILTIN_STYLES]


def test_job_from_schema_defaults_and_baked_curves_is_valid(tmp_path):
    from filmstyle.server.queue import parse_job

    values = {p.name: p.default for p in load_schema()}
    values["style2"] = "night-swirl"
    values["strength"] = {1001: 0.0, 1002: 0.5, 1003: 1.0}
    values["blend"] = {1001: 0.25, 1002: 0.25, 1003: 0.25}
    data = protocol.build_job(values, input="in.####.exr", output="out.####.exr", frames="1001-1003")
    assert data["strength"] == [[1001, 0.0, "linear"], [1002, 0.5, "linear"], [1003, 1.0, "linear"]]
    assert data["styles"] == [{"style": "starry-blue", "weight": 0.75}, {"style": "night-swirl", "weight": 0.25}]
    job = parse_job(data, tmp_path)
    assert job.input == "in.####.exr" and len(job.styles) == 2
    assert [job.strength.value_at(f) for f in (1001, 1002, 1003)] == [0.0, 0.5, 1.0]


def test_style_image_overrides_the_builtin():
    values = {"style": "starry-blue", "style_image": "/art/painting.png"}
    data = protocol.build_job(values, input="a.exr", output="b.exr")
    assert data["styles"] == [{"style": "/art/painting.png", "weight": 1.0}]


def test_frame_list_and_hashes():
    assert protocol.frame_list([1005, 1001, 1002, 1003]) == "1001-1003,1005"
    a = protocol.frame_hashes({"strength": {1: 0.0, 2: 1.0}}, [1, 2], stamps={1: "x", 2: "y"})
    b = protocol.frame_hashes({"strength": {1: 0.0, 2: 0.5}}, [1, 2], stamps={1: "x", 2: "y"})
    assert a[1] == b[1] and a[2] != b[2]


def test_plugin_and_worker_agree_on_the_config_dir(monkeypatch, tmp_path):
    from filmstyle.server import discovery

    monkeypatch.delenv("FILMSTYLE_CONFIG_DIR", raising=False)
    assert paths.config_dir() == discovery.config_dir()
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert paths.config_dir() == discovery.config_dir() == tmp_path / "filmstyle"
    monkeypatch.setenv("FILMSTYLE_CONFIG_DIR", str(tmp_path / "x"))
    assert paths.worker_file() == discovery.worker_file()


def host_files() -> list[Path]:
    return sorted(p for d in HOST_DIRS for p in d.rglob("*.py"))


def test_host_code_imports_only_stdlib_nuke_and_itself():
    # Host modules (nuke, Resolve's DaVinciResolveScript) and the Resolve API stubs (type-only imports).
    allowed_third_party = {"nuke", "filmstyle_plugin", "filmstyle_nuke", "DaVinciResolveScript", "fusionscript"}
    for path in host_files():
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module] if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 else [])
            for name in names:
                top = name.split(".")[0]
                assert top in allowed_third_party or top in sys.stdlib_module_names, f"{path.name}: {name}"


@pytest.mark.parametrize("version", HOST_PYTHONS)
def test_host_code_compiles_under_each_host_python(version):
    exe = host_python(version)
    if exe is None:
        pytest.skip(f"no Python {version} interpreter here (vermin still checks the 3.9 floor)")
    files = [str(p) for p in host_files()]
    code = "import sys\nfor f in sys.argv[1:]: compile(open(f, encoding='utf-8').read(), f, 'exec')"
    proc = subprocess.run([exe, "-c", code, *files], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr


def test_host_code_needs_at_most_python_39():
    vermin = shutil.which("vermin") or str(Path(sys.executable).with_name("vermin"))
    if not Path(vermin).is_file():
        pytest.skip("vermin not installed")
    proc = subprocess.run([vermin, "-t=3.9-", "--no-tips", "--violations", *map(str, HOST_DIRS)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
