"""Work off the UI thread through a real worker on 127.0.0.1: previews while the event loop keeps
ticking, thumbnails of the looks, renders with progress and cancel, and no torch in the panel."""

from __future__ import annotations

import json
import subprocess
import sys
import time

from PySide6.QtCore import QTimer

from filmstyle import io
from filmstyle.job.styles import BUILTIN_STYLES
from tests.panel.conftest import ROOT, write_shot, wait_settled

LATENCY_LIMIT_S = 0.25


class Ticks:
    """The largest gap between ticks of a 10 ms timer: how long the UI thread was ever busy."""

    def __init__(self) -> None:
        self.last = time.perf_counter()
        self.worst = 0.0
        self.count = 0
        self.timer = QTimer(interval=10)
        self.timer.timeout.connect(self._tick)
        self.timer.start()

    def _tick(self) -> None:
        now = time.perf_counter()
        self.worst = max(self.worst, now - self.last)
        self.last = now
        self.count += 1


def test_previews_render_in_the_background(qtbot, window, tmp_path):
    """A preview of a 960x540 frame at full size takes the worker a while; meanwhile the event
    loop keeps ticking every 10 ms (no gap above 250 ms), and scrubbing asks only for the last frame."""
    write_shot(tmp_path, frames=(1, 2, 3), size=(960, 540))
    (tmp_path / "job.yaml").write_text("filmstyle: 2\ninput: plates/plate.####.exr\noutput: out/o.####.exr\n"
                                       "styles: [crimson-fire]\n")
    w = window
    w.proxy_box.setCurrentText("1")
    ticks = Ticks()
    started = time.perf_counter()
    w.open_job(tmp_path / "job.yaml")
    qtbot.waitUntil(lambda: w._preview_serial > 0, timeout=60_000)
    w.set_frame(2)
    w.set_frame(3)  # scrubbing: frame 2's view and preview are skipped or dropped
    wait_settled(qtbot, w)
    elapsed = time.perf_counter() - started
    ticks.timer.stop()
    assert w.viewer.has_after and w.view.frame == 3 and w.view.size == (960, 540)
    assert w.preview_seconds > 0.2 and elapsed > 0.5
    assert ticks.worst < LATENCY_LIMIT_S, f"UI thread blocked for {ticks.worst * 1000:.0f} ms"
    assert ticks.count > elapsed / 0.02  # it really ticked all along (at least every other 10 ms)
    print(f"preview {w.preview_seconds:.2f} s, {elapsed:.1f} s in all; "
          f"worst event-loop gap {ticks.worst * 1000:.0f} ms")


def test_thumbnails_of_every_look_rendered_on_the_shot(qtbot, panel_worker, job_dir, thumbs_cache):
    from filmstyle.panel.window import PanelWindow

    w = PanelWindow(thumbnails=True, confirm_close=False)
    qtbot.addWidget(w)
    w.open_job(job_dir / "job.yaml")
    wait_settled(qtbot, w, timeout=240_000)
    assert all(w.looks.has_thumbnail(name) for name in BUILTIN_STYLES)
    cached = sorted(thumbs_cache.glob("*.png"))
    assert len(cached) == len(BUILTIN_STYLES)
    images = [w.looks._thumbs[name].toImage() for name in ("pale-wash", "crimson-fire")]
    assert images[0] != images[1]  # different looks, different thumbnails
    # A second window finds them in the cache without asking the worker.
    w2 = PanelWindow(thumbnails=True, confirm_close=False)
    qtbot.addWidget(w2)
    sent = []
    run = w2.link._run
    w2.link._run = lambda job: (sent.append(job["output"]), run(job))[1]
    w2.open_job(job_dir / "job.yaml")
    wait_settled(qtbot, w2)
    assert all(w2.looks.has_thumbnail(name) for name in BUILTIN_STYLES)
    assert sent and not [o for o in sent if "thumb" in o]  # the preview only


def test_render_with_progress_then_cancel(qtbot, window, tmp_path):
    frames = tuple(range(1, 31))
    write_shot(tmp_path, frames=frames, size=(96, 64))
    (tmp_path / "job.yaml").write_text("filmstyle: 2\ninput: plates/plate.####.exr\noutput: out/o.####.exr\n"
                                       "styles: [starry-blue]\nstrength: \"1:0.5, 30:1\"\n")
    w = window
    w.open_job(tmp_path / "job.yaml")
    wait_settled(qtbot, w)
    updates = []
    w.link.renderProgress.connect(lambda s: updates.append(dict(s)))
    assert w.render()
    assert not w.render_button.isEnabled() and w.cancel_button.isEnabled() and w.progress.isVisible()
    qtbot.waitUntil(lambda: any(u["done"] >= 2 for u in updates), timeout=120_000)
    w.cancel_render()
    qtbot.waitUntil(lambda: w.last_render is not None, timeout=120_000)
    status = w.last_render
    assert status["state"] == "cancelled" and 2 <= status["done"] < len(frames), status
    assert "cancelled after" in w.last_message and w.render_button.isEnabled() and not w.progress.isVisible()
    written = sorted((tmp_path / "out").glob("o.*.exr"))
    assert len(written) == status["written"] and not list((tmp_path / "out").glob(".*"))
    for path in written:  # every frame written is complete
        assert io.read_frame(path).rgb.shape == (64, 96, 3)
    assert [u["done"] for u in updates] == sorted(u["done"] for u in updates)

    # Render again to the end: frames already there are skipped, the rest written.
    assert w.render()
    qtbot.waitUntil(lambda: w.last_render is not None, timeout=240_000)
    assert w.last_render["state"] == "done" and w.last_render["skipped"] == status["written"]
    assert len(list((tmp_path / "out").glob("o.*.exr"))) == len(frames)
    assert w.progress.maximum() == len(frames)


PROBE = r"""
import json, sys, time
from PySide6.QtWidgets import QApplication
app = QApplication([])
from filmstyle.panel.window import PanelWindow
w = PanelWindow(thumbnails=False, confirm_close=False)
w.show()
w.open_job(sys.argv[1])
deadline = time.monotonic() + 180
while (w.busy or not w.viewer.has_after) and time.monotonic() < deadline:
    app.processEvents()
    time.sleep(0.01)
report = {"preview": w.viewer.has_after, "torch": "torch" in sys.modules,
          "heavy": sorted(m for m in sys.modules if m.split(".")[0] in ("torch", "onnxruntime", "onnx", "fastapi")
                          or m.startswith(("filmstyle.engine", "filmstyle.models", "filmstyle.server")))}
w.close()
print("REPORT " + json.dumps(report))
"""


def test_the_panel_never_imports_torch(panel_worker, job_dir, tmp_path):
    """In a fresh process: load a job and get a preview through the worker; torch, the engine,
    the models and the worker's server stay out of the panel's process."""
    import os

    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-c", PROBE, str(job_dir / "job.yaml")], capture_output=True, text=True,
                          timeout=300, env=env, cwd=str(tmp_path))
    line = [x for x in proc.stdout.splitlines() if x.startswith("REPORT ")]
    assert line, proc.stdout + proc.stderr
    report = json.loads(line[0][len("REPORT "):])
    assert report == {"preview": True, "torch": False, "heavy": []}, report


def test_the_installed_pyside6_keeps_python_objects_alive():
    """PySide6 6.12.0 dropped a reference to True/False on every signal emit, which aborts Python
    3.11 after a few hundred emits (the panel emits thousands); pyproject.toml excludes it."""
    code = ("from PySide6.QtCore import QObject, Signal\n"
            "class A(QObject):\n    s = Signal()\n    t = Signal(object)\n"
            "a = A()\na.t.connect(lambda v: None)\n"
            "for i in range(5000):\n    a.s.emit()\n    a.t.emit(None)\nprint('alive')\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout.strip() == "alive", proc.stderr[-500:]
