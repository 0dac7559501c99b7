"""Shared set-up of the Resolve tests: a filmstyle config folder with host.json as the installer
writes it, one real worker for the session (started by the code under test, stopped at the end),
and small EXR plates made with OpenImageIO."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path

import numpy as np
import OpenImageIO as oiio
import pytest

from tests.core.plates import photo_linear

ROOT = Path(__file__).resolve().parents[2]
W, H = 64, 48


@pytest.fixture(scope="session")
def resolve_config(tmp_path_factory):
    """A config folder with host.json (python + plugin_path); the session's worker is stopped at the end."""
    cfg = tmp_path_factory.mktemp("resolve-cfg")
    (cfg / "host.json").write_text(json.dumps({"python": sys.executable, "plugin_path": str(ROOT / "plugin")}))
    yield cfg
    info_file = cfg / "worker.json"
    if info_file.exists():
        pid = json.loads(info_file.read_text())["pid"]
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + 20
        while info_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)


@pytest.fixture
def filmstyle_env(resolve_config, monkeypatch):
    """The environment a Resolve host process would have after the installer ran."""
    monkeypatch.setenv("FILMSTYLE_CONFIG_DIR", str(resolve_config))
    monkeypatch.delenv("FILMSTYLE_PYTHON", raising=False)
    monkeypatch.delenv("FILMSTYLE_FUSE_CACHE_MB", raising=False)
    return resolve_config


def plate_rgb(frame: int, w: int = W, h: int = H) -> np.ndarray:
    """A photograph, scene-linear, brightening frame by frame (so every frame differs)."""
    return (photo_linear(w, h) * (0.5 + 0.02 * (frame % 50))).astype(np.float32)


def write_exr(path: Path, pixels: np.ndarray, pixel_type: str = "half") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    out = oiio.ImageOutput.create(str(path))
    spec = oiio.ImageSpec(pixels.shape[1], pixels.shape[0], pixels.shape[2], pixel_type)
    if pixels.shape[2] == 4:
        spec.channelnames = ("R", "G", "B", "A")
    out.open(str(path), spec)
    out.write_image(np.ascontiguousarray(pixels, dtype=np.float32))
    out.close()
    return path


def write_sequence(folder: Path, first: int, last: int, name: str = "shot") -> str:
    for f in range(first, last + 1):
        path = folder / f"{name}.{f:04d}.exr"
        if not path.exists():
            write_exr(path, plate_rgb(f))
    return str(folder / f"{name}.####.exr")


def read_rgb(path) -> np.ndarray:
    inp = oiio.ImageInput.open(str(path))
    assert inp is not None, oiio.geterror()
    px = np.asarray(inp.read_image(0, 0, 0, 3, "float"))
    inp.close()
    return px
