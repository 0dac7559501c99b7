"""``filmstyle panel job.yaml --screenshot panel.png``: a real window on an X display (Xvfb), and
the command's one-line errors."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

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
