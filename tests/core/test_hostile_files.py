"""Hostile files and output paths: one line naming the file or frame, a non-zero exit, no
traceback, no partial or temp file left, no source touched."""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import OpenImageIO as oiio
import pytest
from typer.testing import CliRunner

import filmstyle.io.write as write_mod
from filmstyle.cli import app
from filmstyle.errors import OutputError
from filmstyle.io import read_frame, targets, write_frame
from tests.core.plates import make_plate, make_plate_sequence

runner = CliRunner()
FILMSTYLE = Path(sys.executable).with_name("filmstyle")


def cli(*args):
    return runner.invoke(app, [str(a) for a in args])


def one_line_error(result, *needles: str) -> str:
    """The CLI failed with exactly one line (no traceback) containing every needle."""
    assert result.exit_code != 0, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    # the progress bar may have been drawn before the frame was read: it is not an error line
    lines = [line for line in result.output.splitlines() if line.strip() and not line.startswith("stylize ")]
    assert len(lines) == 1 and lines[0].startswith("filmstyle: error: "), result.output
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    assert "Traceback" not in result.output
    return lines[0]


def listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


@pytest.fixture
def plate(tmp_path) -> Path:
    return make_plate(tmp_path / "src" / "plate.1001.exr", 48, 32)


def _write_rgba(path: Path, w: int, h: int, alpha: float = 1.0) -> Path:
    spec = oiio.ImageSpec(w, h, 4, "half")
    spec.alpha_channel = 3
    pixels = np.full((h, w, 4), 0.25, np.float32)
    pixels[..., 3] = alpha
    pixels[..., :3] *= alpha
    path.parent.mkdir(parents=True, exist_ok=True)
    out = oiio.ImageOutput.create(str(path))
    out.open(str(path), spec)
    out.write_image(pixels)
    out.close()
    return path


# -- alpha 0 everywhere ---------------------------------------------------------------------------


def test_fully_transparent_frames_are_named_in_one_warning(tmp_path, caplog):
    for frame, alpha in ((1001, 0.0), (1002, 0.0), (1003, 1.0), (1004, 0.0)):
        _write_rgba(tmp_path / "src" / f"clear.{frame}.exr", 32, 24, alpha)
    before = snapshot(tmp_path / "src")
    with caplog.at_level(logging.WARNING, "filmstyle"):
        result = cli("stylize", tmp_path / "src" / "clear.####.exr", tmp_path / "out" / "o.####.exr",
                     "--style", "starry-blue")
    assert result.exit_code == 0, result.output
    warnings = [r.getMessage() for r in caplog.records if "alpha is 0 everywhere" in r.getMessage()]
    assert len(warnings) == 1 and "frames 1001-1002, 1004" in warnings[0] and "clear.####.exr" in warnings[0]
    assert (tmp_path / "out" / "o.1001.exr").exists()
    assert snapshot(tmp_path / "src") == before


# -- style images with NaN/Inf ---------------------------------------------------------------------


def _write_rgb(path: Path, pixels: np.ndarray) -> Path:
    spec = oiio.ImageSpec(pixels.shape[1], pixels.shape[0], 3, "half")
    out = oiio.ImageOutput.create(str(path))
    assert out.open(str(path), spec) and out.write_image(np.ascontiguousarray(pixels, np.float32)), oiio.geterror()
    out.close()
    return path


def test_a_style_image_of_nan_is_refused_naming_it(plate, tmp_path):
    # Cleaned silently, an all-NaN style image became a black style and a near-black render.
    style = _write_rgb(tmp_path / "nan_style.exr", np.full((24, 32, 3), np.nan, np.float32))
    out = tmp_path / "out" / "o.####.exr"
    one_line_error(cli("stylize", plate, out, "--style", style), "nan_style.exr", "768 NaN/Inf", "--clean-nans")
    assert listing(tmp_path / "out") == []
    # A few bad values in a usable image: the plate's rule, cleaned when asked.
    speckled = np.full((24, 32, 3), 0.4, np.float32)
    speckled[3, 4], speckled[5, 6] = np.nan, np.inf
    style = _write_rgb(tmp_path / "speckled.exr", speckled)
    one_line_error(cli("stylize", plate, out, "--style", style), "speckled.exr", "NaN/Inf")
    result = cli("stylize", plate, out, "--style", style, "--clean-nans")
    assert result.exit_code == 0, result.output
    assert np.isfinite(read_frame(tmp_path / "out" / "o.1001.exr").rgb).all()


# -- outputs that cannot be written ---------------------------------------------------------------


def test_unwritable_format_is_refused_before_rendering(plate, tmp_path):
    out = tmp_path / "out" / "styled.cin"
    started = time.perf_counter()
    line = one_line_error(cli("stylize", plate, out, "--style", "starry-blue"), str(out), "cannot write")
    assert ".tmp-" not in line
    assert not (tmp_path / "out").exists()
    assert time.perf_counter() - started < 5  # refused at planning, the network never ran


def test_output_that_is_a_folder_is_refused(plate, tmp_path):
    out = tmp_path / "out" / "styled.exr"
    out.mkdir(parents=True)
    one_line_error(cli("stylize", plate, out, "--style", "starry-blue"), str(out), "existing folder")
    assert listing(out) == []


def test_output_folder_below_a_file_is_refused(plate, tmp_path):
    (tmp_path / "blocker").write_text("a file where a folder should be")
    one_line_error(cli("stylize", plate, tmp_path / "blocker" / "o.exr", "--style", "starry-blue"),
                   "blocker", "is a file, not a folder")


def test_vanished_output_folder_reports_the_real_error(plate, tmp_path, monkeypatch):
    frame = read_frame(plate)
    out = tmp_path / "out" / "styled.exr"
    real = write_mod._emit_pixels

    def vanish(w, pixels, name):  # another process removes the folder while the frame is written
        real(w, pixels, name)
        shutil.rmtree(name.parent)

    monkeypatch.setattr(write_mod, "_emit_pixels", vanish)
    with pytest.raises(OutputError, match=r"styled\.exr: .*(No such file|cannot)"):
        write_frame(frame, frame.rgb, out)
    assert not out.parent.exists()


def test_failed_cleanup_does_not_hide_the_real_error(plate, tmp_path, monkeypatch):
    frame = read_frame(plate)
    out = tmp_path / "out" / "styled.exr"

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(targets.os, "replace", denied)
    monkeypatch.setattr(Path, "unlink", denied)  # the folder turned read-only: cleanup fails too
    with pytest.raises(OutputError) as info:
        write_frame(frame, frame.rgb, out)
    assert str(info.value) == f"{out}: cannot write: Permission denied"


def _world_readable_copy(plate: Path) -> Path:
    folder = Path(tempfile.mkdtemp(prefix="filmstyle-ro-"))
    folder.chmod(0o755)
    shutil.copy(plate, folder / plate.name)
    (folder / "out").mkdir()
    return folder


def test_read_only_output_folder(plate):
    folder = _world_readable_copy(plate)
    try:
        (folder / "out").chmod(0o555)
        cmd = [str(FILMSTYLE), "stylize", str(folder / plate.name), str(folder / "out" / "o.exr"), "--style", "starry-blue",
               "--strength", "0"]  # the write is what is tested: no network, no weights to convert
        home = folder / "home"  # the render user's own home: weights cache, library settings
        home.mkdir(mode=0o777)
        home.chmod(0o777)
        env = dict(os.environ, HOME=str(home))
        if os.geteuid() == 0:  # root writes anywhere: run as nobody, like a render user
            cmd = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *cmd]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)
        assert proc.returncode == 1, proc.stderr
        lines = [line for line in proc.stderr.splitlines() if line.startswith("filmstyle: error:")]
        assert len(lines) == 1 and "o.exr" in lines[0] and "Permission denied" in lines[0], proc.stderr
        assert "Traceback" not in proc.stderr
        assert listing(folder / "out") == []
        assert (folder / plate.name).read_bytes() == plate.read_bytes()
    finally:
        (folder / "out").chmod(0o755)
        shutil.rmtree(folder)


# -- interrupted renders --------------------------------------------------------------------------


def test_sigterm_is_handled_like_ctrl_c(tmp_path):
    make_plate_sequence(tmp_path / "src", range(1001, 1041), width=192, height=128)
    out = tmp_path / "out"
    before = snapshot(tmp_path / "src")
    proc = subprocess.Popen([str(FILMSTYLE), "stylize", str(tmp_path / "src" / "shot.####.exr"),
                             str(out / "o.####.exr"), "--style", "starry-blue"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not (out / "o.1002.exr").exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert "Traceback" not in err
    assert "filmstyle: terminated (SIGTERM); frames already written are complete" in err.splitlines()[-1]
    names = listing(out)
    assert names and all(n.startswith("o.") and n.endswith(".exr") for n in names), names  # no temp file
    for name in names:
        read_frame(out / name)  # every frame left is complete
    assert snapshot(tmp_path / "src") == before


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_resume_removes_only_stale_temp_files_of_its_outputs(plate, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    host = targets._HOST
    stale = out / f".styled.1001.exr.tmp-{host}-{_dead_pid()}-0badf00d.exr"
    live = out / f".styled.1001.exr.tmp-{host}-{os.getpid()}-1badf00d.exr"  # a render still running
    other_host = out / f".styled.1001.exr.tmp-00000000-12345-2badf00d.exr"  # fresh, from another machine
    other_output = out / f".other.1001.exr.tmp-{host}-{_dead_pid()}-3badf00d.exr"
    users = out / ".styled.1001.exr.tmp-notes.txt"
    for p in (stale, live, other_host, other_output, users):
        p.write_bytes(b"partial")
    result = cli("stylize", plate, out / "styled.####.exr", "--style", "starry-blue")
    assert result.exit_code == 0, result.output
    assert not stale.exists()
    assert all(p.exists() for p in (live, other_host, other_output, users))
    assert (out / "styled.1001.exr").exists()


# -- names, chatter, sizes ------------------------------------------------------------------------


def test_over_long_output_name_is_one_line(plate, tmp_path):
    out = tmp_path / ("x" * 300 + ".####.exr")
    one_line_error(cli("stylize", plate, out, "--style", "starry-blue"), "file name is 309 bytes", "at most 255")
    assert listing(tmp_path).count("src") == 1 and len(listing(tmp_path)) == 1


def test_over_long_input_name_is_one_line(tmp_path):
    one_line_error(cli("stylize", tmp_path / ("y" * 300 + ".exr"), tmp_path / "o.exr", "--style", "starry-blue"),
                   "unusable path", "too long")


def test_long_output_name_that_fits_gets_a_short_temp_name(plate, tmp_path):
    name = "z" * 240 + ".1001.exr"  # fits; ".<name>.tmp-<host>-<pid>-<hex>.exr" would not
    result = cli("stylize", plate, tmp_path / name, "--style", "starry-blue")
    assert result.exit_code == 0, result.output
    assert listing(tmp_path) == sorted(["src", name])


def test_over_long_output_name_is_caught_by_validate(plate, tmp_path):
    job = tmp_path / "job.yaml"
    job.write_text(f"filmstyle: 1\ninput: {plate}\noutput: {tmp_path / ('w' * 300 + '.####.exr')}\n"
                   "styles:\n  - style: starry-blue\n")
    one_line_error(cli("validate", job), "at most 255")


def _png_with_bad_crc(path: Path) -> Path:
    spec = oiio.ImageSpec(32, 24, 3, "uint8")
    out = oiio.ImageOutput.create(str(path))
    out.open(str(path), spec)
    out.write_image(np.random.default_rng(0).integers(0, 255, (24, 32, 3), dtype=np.uint8))
    out.close()
    data = bytearray(path.read_bytes())
    idat = data.index(b"IDAT")
    data[idat + 8] ^= 0xFF  # corrupt the compressed data: the chunk's CRC no longer matches
    path.write_bytes(bytes(data))
    return path


def test_library_chatter_stays_off_the_terminal(tmp_path, capfd):
    bad = _png_with_bad_crc(tmp_path / "bad.png")
    assert cli("info", bad).exit_code == 0  # the header is fine
    one_line_error(cli("stylize", bad, tmp_path / "o.png", "--style", "starry-blue"), "bad.png", "cannot read pixels")
    leaked = capfd.readouterr()
    assert "libpng" not in leaked.err + leaked.out, leaked
    assert listing(tmp_path) == ["bad.png"]


@pytest.mark.parametrize("size", [(1, 1), (4, 300), (300, 7)])
def test_too_small_frames_name_file_frame_and_minimum(tmp_path, size):
    w, h = size
    src = _write_rgba(tmp_path / "tiny.1001.exr", w, h)
    line = one_line_error(cli("stylize", src, tmp_path / "o.####.exr", "--style", "starry-blue"),
                          "tiny.1001.exr", "frame 1001", f"{w}x{h} pixels", "at least 8x8")
    assert "cin26" not in line
    assert listing(tmp_path) == ["tiny.1001.exr"]
