"""Fixtures for the Nuke tests: the stand-in ``nuke`` module, a real worker, real plates.

In-process tests import the stand-in as ``nuke`` (it is what Nuke's Python would import) and the
node from the repository's ``nuke/`` folder. Tests that run "the way Nuke would" start the
stand-in's ``launch.py`` in a bare interpreter instead (see ``bare_python``).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import OpenImageIO as oiio
import pytest

ROOT = Path(__file__).resolve().parents[2]
NUKE_DIR = ROOT / "nuke"
STANDIN_DIR = Path(__file__).resolve().parent / "standin"
LAUNCH = STANDIN_DIR / "launch.py"
FRAMES = (1001, 1002, 1003, 1004)
W, H = 64, 48


def rgb_of(path) -> np.ndarray:
    inp = oiio.ImageInput.open(str(path))
    assert inp is not None, oiio.geterror()
    px = np.asarray(inp.read_image(0, 0, 0, 3, "float"))
    inp.close()
    return px


def image_rgb(img) -> np.ndarray:
    """A stand-in image as ``(H, W, 3)`` float32."""
    return np.array(img.rows(3), dtype=np.float32)


def kill_worker(config_dir: Path) -> None:
    try:
        info = json.loads((config_dir / "worker.json").read_text())
        os.kill(int(info["pid"]), signal.SIGTERM)
    except (OSError, ValueError, KeyError):
        pass


def bare_python() -> list[str]:
    """A Python 3.9 like Nuke 14's when one is installed (PyPy 3.9 from Debian's ``pypy3``), else
    this interpreter; isolated (``-I``) and without site-packages (``-S``): only the standard
    library and what NUKE_PATH brings are importable."""
    exe = shutil.which("pypy3")
    if exe is not None:
        probe = subprocess.run([exe, "-c", "import sys; print(sys.version_info[:2] == (3, 9))"],
                               capture_output=True, text=True, timeout=60)
        if probe.stdout.strip() == "True":
            return [exe, "-I", "-S", "-B"]
    return [sys.executable, "-I", "-S", "-B"]


@pytest.fixture(scope="session")
def worker_config(tmp_path_factory):
    """A config folder for in-process tests; the worker started in it is stopped at the end."""
    cfg = tmp_path_factory.mktemp("cfg")
    saved = {k: os.environ.get(k) for k in ("FILMSTYLE_CONFIG_DIR", "FILMSTYLE_PYTHON")}
    os.environ["FILMSTYLE_CONFIG_DIR"] = str(cfg)
    os.environ["FILMSTYLE_PYTHON"] = sys.executable
    yield cfg
    kill_worker(cfg)
    for k, v in saved.items():
        os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)


@pytest.fixture(scope="session")
def standin_module():
    sys.path.insert(0, str(STANDIN_DIR))
    sys.path.insert(0, str(NUKE_DIR))
    saved = sys.modules.pop("nuke", None)
    import nuke

    yield nuke
    sys.path.remove(str(STANDIN_DIR))
    sys.path.remove(str(NUKE_DIR))
    for key in [k for k in sys.modules if k == "nuke" or k.startswith(("nuke.", "filmstyle_nuke"))]:
        sys.modules.pop(key)
    if saved is not None:
        sys.modules["nuke"] = saved


@pytest.fixture(params=[False, True], ids=["terminal", "gui"])
def nuke(request, standin_module, worker_config):
    """A fresh stand-in session with init.py run, in terminal mode and in the GUI."""
    standin_module._standin_reset(gui=request.param)
    standin_module.root()["format"].setValue(f"{W} {H}")
    standin_module._standin_run_plugin_file(str(NUKE_DIR / "init.py"))
    yield standin_module
    standin_module.ProgressTask.cancel_at_percent = None


@pytest.fixture
def terminal_nuke(standin_module, worker_config):
    standin_module._standin_reset(gui=False)
    standin_module.root()["format"].setValue(f"{W} {H}")
    standin_module._standin_run_plugin_file(str(NUKE_DIR / "init.py"))
    return standin_module


def write_plates(folder: Path, frames=FRAMES, flip: bool = False) -> str:
    from tests.core.plates import photo_linear

    folder.mkdir(parents=True, exist_ok=True)
    base = photo_linear(W, H)
    for i, f in enumerate(frames):
        path = folder / f"plate.{f}.exr"
        spec = oiio.ImageSpec(W, H, 3, "half")
        spec.attribute("compression", "zip")
        out = oiio.ImageOutput.create(str(path))
        out.open(str(path), spec)
        px = base * (0.8 + 0.1 * i)
        out.write_image(np.ascontiguousarray(px[::-1] if flip else px, dtype=np.float32))
        out.close()
    return str(folder / "plate.####.exr")


@pytest.fixture(scope="session")
def plates(tmp_path_factory) -> str:
    return write_plates(tmp_path_factory.mktemp("plates"))


def run_like_nuke(args, *, home: Path, nuke_path: str, timeout: float = 300.0, extra_env=None):
    """Run the stand-in's ``nuke`` in a bare interpreter with only HOME and NUKE_PATH set up."""
    env = {"HOME": str(home), "NUKE_PATH": nuke_path, "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
           "LANG": "C.UTF-8"}
    env.update(extra_env or {})
    return subprocess.run([*bare_python(), str(LAUNCH), *args], capture_output=True, text=True,
                          timeout=timeout, env=env, cwd=str(home))


@pytest.fixture(scope="module")
def artist_home(tmp_path_factory):
    """A home folder as the installer leaves it: host.json names the filmstyle Python."""
    home = tmp_path_factory.mktemp("home")
    cfg = home / ".config" / "filmstyle"
    cfg.mkdir(parents=True)
    (cfg / "host.json").write_text(json.dumps({"python": sys.executable}))
    # The installer converts and caches the weights in the user cache folder: share this
    # machine's cache rather than converting them again in the fresh home.
    from filmstyle.models import cache_dir

    (home / ".cache").mkdir()
    (home / ".cache" / "filmstyle").symlink_to(cache_dir(), target_is_directory=True)
    yield home
    kill_worker(cfg)
    time.sleep(0.2)
