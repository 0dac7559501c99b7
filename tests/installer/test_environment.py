"""The environment step for real: a venv is created, pinned requirements go in first, then the
package; a second run skips pip; uninstall removes the venv. Tiny local packages stand in for
torch and filmstyle (the full install takes ~90 s with every wheel cached: too slow for the suite)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from filmstyle_install import environment
from filmstyle_install.fsops import InstallError
from filmstyle_install.manifest import Manifest

from . import tinywheel
from .conftest import REPO, make_machine, snapshot
from .test_install import layout_of


@pytest.fixture
def tiny_checkout(tmp_path) -> Path:
    root = tmp_path / "tiny-checkout"
    (root / "core" / "filmstyle").mkdir(parents=True)
    (root / "core" / "filmstyle" / "__init__.py").write_text('__version__ = "0.0.1"\n')
    (root / "pyproject.toml").write_text(  # built by tinywheel's backend: nothing to download
        '[build-system]\nrequires = []\nbuild-backend = "tinywheel"\nbackend-path = ["."]\n\n'
        '[project]\nname = "filmstyle"\nversion = "0.0.1"\n')
    shutil.copyfile(Path(tinywheel.__file__), root / "tinywheel.py")
    (root / "requirements.txt").write_text("# pinned, installed first\nfs-pinned-probe==1.0\n")
    shutil.copytree(REPO / "plugin" / "filmstyle_plugin", root / "plugin" / "filmstyle_plugin",
                    ignore=shutil.ignore_patterns("__pycache__"))
    return root


def test_venv_is_created_reused_and_removed(tmp_path, tiny_checkout, capsys):
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    tinywheel.write_wheel(wheels, "fs_pinned_probe", "1.0", {"fs_pinned_probe/__init__.py": b"VERSION = '1.0'\n"})
    m = make_machine(tmp_path / "machine", "linux")
    real_cache = os.environ.get("PIP_CACHE_DIR") or str(Path.home() / ".cache" / "pip")
    m.environ.update(PIP_FIND_LINKS=" ".join(filter(None, [str(wheels), os.environ.get("PIP_FIND_LINKS")])),
                     PIP_CACHE_DIR=real_cache)  # pip's own cache stays where it was (not the test HOME)
    before = snapshot(m.root)
    args = ("--source", str(tiny_checkout), "--hosts", "", "--no-weights")
    assert m.run(*args) == 0, capsys.readouterr()
    lay = layout_of(m)
    out = capsys.readouterr().out
    assert out.index(f"pip install -r {tiny_checkout / 'requirements.txt'}") < out.index(f"pip install {tiny_checkout} ")
    manifest = Manifest.load(lay.manifest_file)
    assert manifest.venv == str(lay.venv_dir) and manifest.python == str(lay.venv_python)
    assert json.loads(lay.host_config.read_text())["python"] == str(lay.venv_python)
    stamp = environment.read_stamp(lay.venv_dir)
    assert stamp["torch"] == ["-r", str(tiny_checkout / "requirements.txt")]
    first = snapshot(m.root)
    assert m.run(*args) == 0
    assert f"{lay.venv_dir} is up to date" in capsys.readouterr().out
    assert snapshot(m.root) == first
    proc = subprocess.run([str(lay.venv_python), "-c", "import fs_pinned_probe, filmstyle; "
                           "print(fs_pinned_probe.VERSION, filmstyle.__version__)"],
                          capture_output=True, text=True, timeout=60)
    assert proc.stdout.split() == ["1.0", "0.0.1"], proc.stderr
    assert m.run("--uninstall", "--yes") == 0
    assert snapshot(m.root) == before


def test_pip_failure_is_one_line_with_the_log():
    pip = environment.Pip(sys.executable, print, env=dict(os.environ, PIP_NO_INDEX="1", PIP_FIND_LINKS=""))
    with pytest.raises(InstallError) as info:
        pip.install(["fs-no-such-package-anywhere==9.9"], "fs-no-such-package-anywhere==9.9")
    message = str(info.value)
    assert "\n" not in message and message.startswith("pip could not install fs-no-such-package-anywhere==9.9: ERROR")
    assert message.endswith(f"(full log: {pip.log})") and "fs-no-such-package-anywhere" in pip.log.read_text()
    pip.discard_log()
    assert not pip.log.exists()


def test_base_python_must_be_310_or_newer(tmp_path):
    old = tmp_path / "python-old"
    old.write_text("#!/bin/sh\necho 3 8\n")
    old.chmod(0o755)
    with pytest.raises(InstallError, match=r"--base-python: .* is Python 3.8, filmstyle needs 3.10\+"):
        environment.find_base_python(str(old))
    assert environment.find_base_python(None) == sys.executable  # this interpreter is new enough
