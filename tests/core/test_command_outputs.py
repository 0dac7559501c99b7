"""Outputs of the commands that write one file or one folder (``job init``, ``job schema --out``,
``export-nuke --out``, ``styles --sheet``, ``metrics --out``): never one of the command's inputs,
never a half-written file, and an unusable path is one line naming it, never a traceback. Also
file names that are not UTF-8, which OpenImageIO cannot take at all."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import numpy as np
import OpenImageIO as oiio
import pytest

from tests.core.hostile import cli, one_line, tree
from tests.core.plates import make_plate_sequence

W, H = 48, 32


def _png(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = np.dstack([np.linspace(0, 1, 32)[None, :].repeat(24, 0)] * 3).astype(np.float32)
    out = oiio.ImageOutput.create(str(path))
    assert out.open(str(path), oiio.ImageSpec(32, 24, 3, "uint8")), oiio.geterror()
    assert out.write_image(pixels)
    out.close()
    return path


def _digest(path: Path) -> str:
    return hashlib.sha1(path.read_bytes()).hexdigest()


@pytest.fixture()
def shot(tmp_path) -> Path:
    make_plate_sequence(tmp_path / "plates", (1001, 1002), width=W, height=H)
    _png(tmp_path / "style.png")
    (tmp_path / "afile").write_text("a file, not a folder")
    (tmp_path / "adir").mkdir()
    return tmp_path


# -- inputs are never outputs ------------------------------------------------------------------------


def test_export_nuke_refuses_its_style_image_as_out(shot):
    style = shot / "style.png"
    before = _digest(style)
    one_line(cli("export-nuke", "--style", style, "--out", shot / "adir" / ".." / "style.png"),
             "style image", "style.png")
    assert _digest(style) == before


def test_export_nuke_refuses_to_replace_a_file_that_is_not_an_export(shot):
    plate = shot / "plates" / "shot.1001.exr"
    before = _digest(plate)
    one_line(cli("export-nuke", "--style", "starry-blue", "--out", plate), "shot.1001.exr", "not a TorchScript")
    assert _digest(plate) == before


def test_styles_sheet_refuses_its_image(shot):
    style = shot / "style.png"
    before = _digest(style)
    one_line(cli("styles", "--sheet", style, "--image", style), "--sheet", "style.png")
    assert _digest(style) == before


def test_styles_sheet_refuses_an_image_of_nan_naming_it(shot):
    path = shot / "nan.exr"
    pixels = np.full((24, 32, 3), 0.5, np.float32)
    pixels[3, 4] = np.nan
    out = oiio.ImageOutput.create(str(path))
    assert out.open(str(path), oiio.ImageSpec(32, 24, 3, "half"))
    out.write_image(pixels)
    out.close()
    one_line(cli("styles", "--sheet", shot / "s.png", "--image", path), "--image", "nan.exr", "NaN")
    assert not (shot / "s.png").exists()


def test_job_schema_refuses_to_replace_a_plate_but_refreshes_its_own_schema(shot):
    plate = shot / "plates" / "shot.1002.exr"
    before = _digest(plate)
    one_line(cli("job", "schema", "--out", plate), "shot.1002.exr", "not a filmstyle job schema")
    assert _digest(plate) == before
    target = shot / "schema.json"
    assert cli("job", "schema", "--out", target).exit_code == 0
    target.write_text(target.read_text().replace('"type": "object"', '"type": "object" ', 1))
    again = cli("job", "schema", "--out", target)
    assert again.exit_code == 0, again.output
    assert json.loads(target.read_text())["title"] == "filmstyle job"
    assert [p.name for p in shot.iterdir() if ".tmp-" in p.name] == []


def test_metrics_refuses_a_report_folder_holding_its_inputs(shot):
    folder = shot / "mo"
    sheet = _png(folder / "contact_sheet.png")
    before = _digest(sheet)
    one_line(cli("metrics", sheet, sheet, "--style", "starry-blue", "--out", folder),
             "contact_sheet.png", "source frame")
    assert _digest(sheet) == before and sorted(p.name for p in folder.iterdir()) == ["contact_sheet.png"]


# -- unusable output paths: one line, nothing written --------------------------------------------------


@pytest.mark.parametrize("name", ["adir", "", "afile/out.x", "x" * 300 + ".x", "/dev/full"])
@pytest.mark.parametrize("command", ["job-init", "job-schema", "export-nuke", "styles-sheet"])
def test_unusable_output_paths_are_one_line(shot, command, name):
    if name == "/dev/full" and not os.path.exists(name):
        pytest.skip("no /dev/full")
    ext = {"job-init": ".yaml", "job-schema": ".json", "export-nuke": ".pt", "styles-sheet": ".png"}[command]
    target = name.replace(".x", ext) if name.endswith(".x") else name
    if target and not target.startswith("/"):
        target = str(shot / target)
    if command == "job-init" and target in (str(shot / "adir"), "/dev/full"):
        pytest.skip("an existing name: job init's own 'already exists' (tested below)")
    args = {"job-init": ("job", "init", target), "job-schema": ("job", "schema", "--out", target),
            "export-nuke": ("export-nuke", "--style", "starry-blue", "--out", target),
            "styles-sheet": ("styles", "--sheet", target)}[command]
    before = tree(shot)
    old = os.getcwd()
    os.chdir(shot)  # '' is the current folder
    try:
        line = one_line(cli(*args))
    finally:
        os.chdir(old)
    reason = {"adir": "existing folder", "": "existing folder", "afile/out.x": "is a file, not a folder",
              "/dev/full": "not a regular file"}.get(name, "this filesystem allows at most")
    assert reason in line, line
    assert tree(shot) == before


def test_job_init_names_an_existing_file(shot):
    one_line(cli("job", "init", shot / "afile"), "afile", "already exists")


@pytest.mark.parametrize("name", ["s.foo", "sheet"])
def test_styles_sheet_needs_an_image_extension(shot, name):
    one_line(cli("styles", "--sheet", shot / name), name)
    assert not (shot / name).exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
@pytest.mark.parametrize("command", ["job-init", "job-schema", "export-nuke", "styles-sheet", "metrics"])
def test_read_only_folders_are_one_line(shot, command):
    ro = shot / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        plate = shot / "plates" / "shot.1001.exr"
        args = {"job-init": ("job", "init", ro / "j.yaml"), "job-schema": ("job", "schema", "--out", ro / "s.json"),
                "export-nuke": ("export-nuke", "--style", "starry-blue", "--out", ro / "m.pt"),
                "styles-sheet": ("styles", "--sheet", ro / "s.png"),
                "metrics": ("metrics", plate, plate, "--out", ro)}[command]
        one_line(cli(*args), str(ro))
        assert list(ro.iterdir()) == []
    finally:
        ro.chmod(0o755)


# -- file names that are not UTF-8 -------------------------------------------------------------------


def test_non_utf8_file_names_are_one_line(shot):
    folder = os.fsencode(shot / "lat")
    os.mkdir(folder)
    name = os.path.join(folder, b"sh\xffot.1001.exr")
    shutil.copy(os.fsencode(shot / "plates" / "shot.1001.exr"), name)
    path = os.fsdecode(name)
    one_line(cli("info", path), "sh\\xffot.1001.exr", "UTF-8")
    one_line(cli("stylize", path, shot / "o.exr", "--style", "starry-blue"), "sh\\xffot.1001.exr", "UTF-8")
    out = os.fsdecode(os.path.join(folder, b"o\xffut.exr"))
    one_line(cli("stylize", shot / "plates" / "shot.1001.exr", out, "--style", "starry-blue"), "o\\xffut.exr")
    assert os.listdir(folder) == [b"sh\xffot.1001.exr"] and not (shot / "o.exr").exists()
