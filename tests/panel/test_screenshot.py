"""``filmstyle panel job.yaml --screenshot panel.png``: a real window on an X display (Xvfb), and
the command's one-line errors."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

import OpenImageIO as oiio
import pytest
from typer.testing import CliRunner

from filmstyle.cli import app
from tests.panel.conftest import ROOT

SCREEN = (1600, 1000)


@pytest.fixture(scope="module")
def x_display():
    """A private Xvfb display (its number chosen by Xvfb itself); skipped only where Xvfb is missing."""
    exe = shutil.which("Xvfb")
    if exe is None:
        pytest.skip("Xvfb is not installed (Debian: apt-get install xvfb; .ci/run installs it)")
    read, write = os.pipe()
    proc = subprocess.Popen([exe, "-displayfd", str(write), "-screen", "0", f"{SCREEN[0]}x{SCREEN[1]}x24",
                             "-nolisten", "tcp"],
                            pass_fds=(write,), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    os.close(write)
    with os.fdopen(read) as fh:
        number = fh.readline().strip()
    if not number:
        proc.kill()
        pytest.fail(f"Xvfb did not start: {proc.stderr.read().decode(errors='replace')[-500:]}")
    yield f":{number}"
    proc.terminate()
    proc.wait(timeout=10)


def test_screenshot_of_a_real_window(x_display, panel_worker, job_dir, tmp_path):
    env = dict(os.environ, DISPLAY=x_display, QT_QPA_PLATFORM="xcb", PYTHONPATH=str(ROOT),
               FILMSTYLE_CACHE_DIR=str(tmp_path / "cache"))
    out = tmp_path / "panel.png"
    proc = subprocess.run([sys.executable, "-c", "from filmstyle.cli import main; main()", "panel",
                           str(job_dir / "job.yaml"), "--frame", "1004", "--screenshot", str(out)],
                          capture_output=True, text=True, timeout=600, env=env, cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert f"wrote {out} (1360x860, xcb)" in proc.stderr
    buf = oiio.ImageBuf(str(out))
    px = buf.get_pixels(oiio.UINT8)
    assert px.shape[:2] == (860, 1360)
    assert px[..., :3].std() > 20  # a real picture: viewer, tiles, curves, not one colour
    assert not list(tmp_path.glob(".panel.png.*"))  # written through a temp file


def run(*args: str):
    return CliRunner().invoke(app, ["panel", *args])


def test_command_errors_are_one_line(job_dir, monkeypatch):
    (job_dir / "bad.yaml").write_text("filmstyle: 2\ninput: plates/plate.####.exr\nstyles: [starry-blue]\n")
    result = run(str(job_dir / "bad.yaml"))
    assert result.exit_code == 1 and result.output.strip() == \
        "filmstyle: error: bad.yaml: output: missing (required)"
    result = run(str(job_dir / "job.yaml"), "--screenshot", str(job_dir / "plates" / "plate.1001.exr"))
    assert result.exit_code == 1 and "expected a .png file" in result.output
    (job_dir / "png").mkdir()
    (job_dir / "png.yaml").write_text("filmstyle: 2\ninput: png/p.####.png\noutput: out/o.####.exr\n"
                                      "styles: [starry-blue]\n")
    oiio.ImageBuf(oiio.ImageSpec(8, 8, 3, "uint8")).write(str(job_dir / "png" / "p.0001.png"))
    result = run(str(job_dir / "png.yaml"), "--screenshot", str(job_dir / "png" / "p.0007.png"))
    assert result.exit_code == 1 and "p.0007.png is the job's input" in result.output
    result = run(str(job_dir / "job.yaml"), "--frame", "999")
    assert result.exit_code == 1 and "--frame: 999 is not a frame of the job (1001-1006)" in result.output
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    result = run(str(job_dir / "job.yaml"))
    assert result.exit_code == 1 and "no display" in result.output and "Traceback" not in result.output


def one_error_line(result) -> str:
    """The command's output, which must be exactly one ``filmstyle: error:`` line."""
    lines = result.output.strip().splitlines()
    assert result.exit_code == 1 and len(lines) == 1 and lines[0].startswith("filmstyle: error: "), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return lines[0]


def test_a_screenshot_path_that_is_a_folder_is_refused_at_once(panel_worker, job_dir):
    """Once: a traceback from the rename, then the whole timeout, and a temp file left beside it."""
    (job_dir / "d.png").mkdir()
    started = time.monotonic()
    result = run(str(job_dir / "job.yaml"), "--screenshot", str(job_dir / "d.png"), "--no-thumbnails",
                 "--timeout", "60")
    line = one_error_line(result)
    assert line == (f"filmstyle: error: --screenshot: {job_dir / 'd.png'}: "
                    "output path is an existing folder; name a file")
    assert time.monotonic() - started < 20
    assert sorted(p.name for p in job_dir.iterdir() if p.name.startswith(".")) == []


def test_writing_the_png_never_leaves_its_temp_file(qapp, tmp_path):
    """The path can become unusable while the window loads; the write is then one line, no temp."""
    from PySide6.QtGui import QPixmap

    from filmstyle.errors import FilmStyleError
    from filmstyle.panel.app import _write_png

    pix = QPixmap(8, 8)
    pix.fill()
    (tmp_path / "later.png").mkdir()
    with pytest.raises(FilmStyleError, match="later.png: output path is an existing folder"):
        _write_png(pix, tmp_path / "later.png")
    with pytest.raises(FilmStyleError, match="null.png: cannot write the screenshot"):
        _write_png(QPixmap(), tmp_path / "null.png")  # Qt refuses to save an empty pixmap
    assert sorted(p.name for p in tmp_path.iterdir()) == ["later.png"]
    _write_png(pix, tmp_path / "ok.png")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["later.png", "ok.png"]


def test_a_screenshot_of_a_job_with_no_input_names_it_at_once(panel_worker, job_dir):
    """Once: the whole timeout, then "the preview did not arrive", the missing input unnamed."""
    text = (job_dir / "job.yaml").read_text().replace("input: plates/plate.####.exr", "input: nope/x.####.exr")
    (job_dir / "missing.yaml").write_text(text)
    started = time.monotonic()
    result = run(str(job_dir / "missing.yaml"), "--screenshot", str(job_dir / "b3.png"), "--timeout", "60")
    line = one_error_line(result)
    assert "missing frame 1001: x.1001.exr" in line and "did not arrive" not in line, line
    assert time.monotonic() - started < 20
    assert not (job_dir / "b3.png").exists()


def test_a_screenshot_of_a_job_validate_refuses_fails(panel_worker, job_dir):
    """Output = input: the preview renders elsewhere, so only the job check can refuse it (once: exit 0)."""
    text = (job_dir / "job.yaml").read_text().replace("output: render/styled.####.exr",
                                                      "output: plates/plate.####.exr")
    (job_dir / "same.yaml").write_text(text)
    validate = CliRunner().invoke(app, ["validate", str(job_dir / "same.yaml")])
    result = run(str(job_dir / "same.yaml"), "--screenshot", str(job_dir / "b4.png"), "--no-thumbnails",
                 "--timeout", "60")
    line = one_error_line(result)
    assert validate.exit_code == 1 and line == validate.output.strip().splitlines()[-1]
    assert "is a source frame" in line
    assert not (job_dir / "b4.png").exists()


def test_the_wait_ends_when_the_window_has_nothing_to_wait_for(qapp, panel_worker, job_dir, monkeypatch):
    """The input vanishes after the start-up check: no frame is ever requested, so no "settled"
    comes; the command ends at once with the reason instead of waiting out the timeout."""
    from filmstyle.errors import FilmStyleError
    from filmstyle.panel import app as panel_app
    from filmstyle.panel.window import PanelWindow

    set_document = PanelWindow.set_document

    def vanish_then_set(self, doc):
        shutil.rmtree(job_dir / "plates")
        set_document(self, doc)

    monkeypatch.setattr(PanelWindow, "set_document", vanish_then_set)
    started = time.monotonic()
    with pytest.raises(FilmStyleError) as caught:
        panel_app.run_panel(job_dir / "job.yaml", screenshot=job_dir / "gone.png", thumbnails=False, timeout=30)
    assert time.monotonic() - started < 20
    assert str(caught.value).startswith("--screenshot: no preview: missing frame 1001: plate.1001.exr")
    assert not (job_dir / "gone.png").exists()


def test_the_screenshot_names_the_previews_error_not_a_later_thumbnails(qapp, panel_worker, job_dir, thumbs_cache,
                                                                       monkeypatch):
    """The status line shows the last failure, a thumbnail's here; the preview's error is the reason."""
    from filmstyle.errors import FilmStyleError
    from filmstyle.panel import app as panel_app
    from filmstyle.panel.service import WorkerLink

    def preview(self, req):
        self.previewFailed.emit(req.serial, "the worker refused the preview job")

    first = []

    def thumbnail(self, req):
        if not first:
            first.append(req.style)
            time.sleep(0.5)  # in flight when the preview is asked for, so the rest fail after it
        self.thumbnailFailed.emit(req.style, "no thumbnail today")

    monkeypatch.setattr(WorkerLink, "_preview", preview)
    monkeypatch.setattr(WorkerLink, "_thumbnail", thumbnail)
    with pytest.raises(FilmStyleError) as caught:
        panel_app.run_panel(job_dir / "job.yaml", screenshot=job_dir / "p.png", timeout=120)
    assert str(caught.value) == "--screenshot: no preview: the worker refused the preview job"


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "-1", "0", "3601"])
def test_timeout_out_of_range_is_one_line(panel_worker, job_dir, value):
    """Once: NaN and infinity were tracebacks, and -1 ran with a Qt warning."""
    result = run(str(job_dir / "job.yaml"), "--screenshot", str(job_dir / "t.png"), "--no-thumbnails",
                 f"--timeout={value}")
    line = one_error_line(result)
    assert line.startswith("filmstyle: error: --timeout: expected seconds from 1 to 3600, got "), line
    assert not (job_dir / "t.png").exists()


def test_run_panel_leaves_the_callers_event_loops_working(qapp, qtbot, panel_worker, job_dir, thumbs_cache):
    """Closing the last window after exec() returned left a quit pending, so every later event
    loop in the process returned at once: a host's, or here the next window's wait for its frame."""
    from filmstyle.panel.app import run_panel
    from filmstyle.panel.window import PanelWindow

    assert run_panel(None, screenshot=job_dir / "empty.png", thumbnails=False, timeout=30) == 0
    assert (job_dir / "empty.png").is_file()
    qapp.processEvents()  # as pytest-qt does between two tests
    w = PanelWindow(thumbnails=False, confirm_close=False)
    qtbot.addWidget(w)
    w.show()
    assert w.open_job(job_dir / "job.yaml")
    qtbot.waitUntil(lambda: w.view is not None, timeout=30_000)
