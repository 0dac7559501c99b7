"""The wheel carries the host folders; the installer runs on Python 3.9 with the standard library."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from .conftest import INSTALLER, REPO, snapshot
from .test_install import layout_of

_BUILD_INPUTS = ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "LICENSE", "NOTICE", "requirements.txt",
                 "core", "plugin", "installer", "nuke", "resolve")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """A wheel built from a copy of this checkout (the build never writes into the checkout)."""
    src = tmp_path_factory.mktemp("src")
    for name in _BUILD_INPUTS:
        path = REPO / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info"))
        elif path.is_file():
            shutil.copyfile(path, src / name)
    out = tmp_path_factory.mktemp("dist")
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                           "-w", str(out), str(src)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (found,) = out.glob("filmstyle-*.whl")
    return found


def _tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and "__pycache__" not in p.parts}


def test_wheel_carries_the_host_folders_as_installed(wheel):
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        for tree, prefix in (("nuke", "filmstyle/hosts/nuke/"), ("resolve", "filmstyle/hosts/resolve/"),
                             ("plugin/filmstyle_plugin", "filmstyle/hosts/plugin/filmstyle_plugin/")):
            for rel, data in _tree(REPO / tree).items():
                assert zf.read(prefix + rel) == data, prefix + rel
    assert "filmstyle_plugin/client.py" in names and "filmstyle_install/cli.py" in names
    assert "filmstyle_install/probe.py" in names and "filmstyle/cli/doctor_commands.py" in names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


def test_install_from_the_wheel(wheel, machine_for, checkout):
    m = machine_for("darwin")
    before = snapshot(m.root)
    assert m.install("--wheel", str(wheel)) == 0
    lay = layout_of(m)
    assert _tree(lay.nuke_dir) == _tree(REPO / "nuke")
    assert _tree(lay.plugin_dir / "filmstyle_plugin") == _tree(REPO / "plugin" / "filmstyle_plugin")
    assert m.run("--uninstall", "--yes") == 0
    assert snapshot(m.root) == before


def test_installer_needs_only_python_39_and_the_standard_library():
    vermin = shutil.which("vermin") or str(Path(sys.executable).with_name("vermin"))
    if not Path(vermin).is_file():
        pytest.skip("vermin not installed")
    proc = subprocess.run([vermin, "-t=3.9-", "--no-tips", "--violations", str(INSTALLER),
                           str(REPO / "plugin" / "filmstyle_plugin")], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    stdlib = set(sys.stdlib_module_names) | {"filmstyle_install", "filmstyle_plugin"}
    for path in (INSTALLER / "filmstyle_install").glob("*.py"):
        if path.name == "probe.py":  # runs inside the filmstyle environment, imports it lazily
            continue
        import ast

        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module] if isinstance(node, ast.ImportFrom) and node.module and not node.level else []
            for name in names:
                assert name.split(".")[0] in stdlib, f"{path.name} imports {name}"


def test_install_py_runs_under_python_39(tmp_path):
    from tests.plugin.test_schema_and_host_code import host_python

    exe = host_python("3.9")
    if exe is None:
        pytest.skip("no Python 3.9 interpreter here (vermin still checks the 3.9 floor)")
    home = tmp_path / "home"
    home.mkdir()
    env = {"HOME": str(home), "PATH": "/usr/bin:/bin"}
    proc = subprocess.run([exe, str(INSTALLER / "install.py"), "--dry-run", "--python", sys.executable,
                           "--no-weights"], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "would edit" in proc.stdout and "nothing was written" in proc.stdout
    assert not any(home.iterdir())
    proc = subprocess.run([exe, str(INSTALLER / "install.py"), "doctor", "--skip", "env,worker"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and "FAIL  installation" in proc.stdout  # nothing installed: red, no traceback
