"""Fixtures for the panel tests: real plates, a real worker on 127.0.0.1, real Qt widgets.

Widget tests run on Qt's offscreen platform (set here, before pytest-qt creates the
application); the screenshot test starts its own Xvfb display for a real window.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

import numpy as np
import OpenImageIO as oiio
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ROOT = Path(__file__).resolve().parents[2]
W, H = 64, 48
FRAMES = tuple(range(1001, 1007))


def write_exr(path: Path, pixels: np.ndarray, names: tuple[str, ...]) -> None:
    spec = oiio.ImageSpec(pixels.shape[1], pixels.shape[0], len(names), "half")
    spec.channelnames = names
    spec.attribute("compression", "zip")
    path.parent.mkdir(parents=True, exist_ok=True)
    out = oiio.ImageOutput.create(str(path))
    assert out is not None and out.open(str(path), spec), oiio.geterror()
    out.write_image(np.ascontiguousarray(pixels, dtype=np.float32))
    out.close()


def write_shot(folder: Path, frames=FRAMES, size=(W, H)) -> str:
    """``plates/plate.####.exr``: the sample photograph (scene-linear RGB, alpha, a matte channel
    that is 1 on the left half), a little brighter each frame; returns the relative pattern."""
    from tests.core.plates import photo_linear

    w, h = size
    base = photo_linear(w, h)
    matte = np.zeros((h, w), np.float32)
    matte[:, : w // 2] = 1.0
    for i, f in enumerate(frames):
        px = np.dstack([base * (0.85 + 0.05 * i), np.ones((h, w)), matte])
        write_exr(folder / "plates" / f"plate.{f:04d}.exr", px, ("R", "G", "B", "A", "matte.R"))
    return "plates/plate.####.exr"


def write_style_image(path: Path) -> Path:
    """A small painting-like PNG (strong diagonal colour bands) to use as an image style."""
    y, x = np.mgrid[0:64, 0:64].astype(np.float32)
    rgb = np.stack([0.5 + 0.5 * np.sin(x / 5 + y / 9), 0.5 + 0.5 * np.sin(y / 4), 0.5 + 0.5 * np.cos((x - y) / 7)], -1)
    spec = oiio.ImageSpec(64, 64, 3, "uint8")
    buf = oiio.ImageBuf(spec)
    buf.set_pixels(oiio.ROI(), (rgb * 255).astype(np.uint8))
    path.parent.mkdir(parents=True, exist_ok=True)
    assert buf.write(str(path)), buf.geterror()
    return path


JOB = """\
filmstyle: 2
# a comment the panel does not keep
input: plates/plate.####.exr
output: render/styled.####.exr
frames: 1001-1006
compression: zip
tile_size: 512
styles:
  - style: pale-wash
    weight: "1001:1, 1006:0"
  - style: starry-blue
    weight: "1001:0, 1006:1"
strength: "1001:0.2, 1004:1 smooth"
regions:
  - name: face
    mask:
      ellipse: {center: [32, 20], radius: [14, 16], feather: 6}
    styles: [stained-glass]
    strength: 0.8
default: {}
"""


@pytest.fixture
def job_dir(tmp_path) -> Path:
    """A job folder: plates/ and job.yaml (two looks migrating, keyed strength, one region)."""
    write_shot(tmp_path)
    (tmp_path / "job.yaml").write_text(JOB)
    return tmp_path


@pytest.fixture(scope="session")
def panel_worker(tmp_path_factory):
    """A real worker on 127.0.0.1 in its own config folder; the panel finds it from worker.json."""
    from filmstyle_plugin.client import WorkerClient

    cfg = tmp_path_factory.mktemp("panel-cfg")
    saved = {k: os.environ.get(k) for k in ("FILMSTYLE_CONFIG_DIR", "FILMSTYLE_PYTHON")}
    os.environ["FILMSTYLE_CONFIG_DIR"] = str(cfg)
    os.environ["FILMSTYLE_PYTHON"] = sys.executable
    client = WorkerClient.start(wait=120)
    yield client
    try:
        info = json.loads((cfg / "worker.json").read_text())
        os.kill(int(info["pid"]), signal.SIGTERM)
    except (OSError, ValueError, KeyError):
        pass
    for k, v in saved.items():
        os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)


@pytest.fixture
def thumbs_cache(tmp_path, monkeypatch) -> Path:
    """Thumbnails cached in this test's folder (so they are rendered, not found)."""
    folder = tmp_path / "thumb-cache"
    monkeypatch.setattr("filmstyle.panel.service.thumbnail_cache_dir", lambda: folder)
    return folder


@pytest.fixture
def window(qtbot, panel_worker, thumbs_cache):
    """The panel's window (no thumbnails unless a test asks), shown."""
    from filmstyle.panel.window import PanelWindow

    w = PanelWindow(thumbnails=False, confirm_close=False)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    return w


def wait_settled(qtbot, w, timeout: int = 120_000) -> None:
    """Until the frame, its preview and any thumbnails have arrived."""
    try:
        qtbot.waitUntil(lambda: not w.busy, timeout=timeout)
    except Exception as exc:
        message = getattr(w, "last_message", "")
        raise AssertionError(f"not settled: view {w.view}, preview pending {w._preview_pending}, "
                             f"thumbnails {sorted(w._thumbs_pending)}, message {message!r}") from exc
