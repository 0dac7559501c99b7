"""The job document without Qt: edits, curves, paths, saving (atomic, valid, never over an input)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from filmstyle.cli import app
from filmstyle.errors import JobError
from filmstyle.job.curves import Curve, Key, parse_curve
from filmstyle.job.paths import job_paths
from filmstyle.job.source import load_job
from filmstyle.panel.document import JobDocument, Lane
from filmstyle.panel.keys import add_key, curve_text, delete_key, move_key, set_interp, set_value_at
from filmstyle.panel.relocate import absolute, relocate
from tests.panel.conftest import write_style_image

STRENGTH = Lane(("strength",), "strength", 1.0, 0.0, 2.0, (0.0, 2.0))


def validate(path: Path) -> str:
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code == 0, result.output
    return result.output


# -- curve edits -------------------------------------------------------------------------------------


def test_key_edits_keep_a_valid_curve():
    c = parse_curve("1001:0, 1010:1 smooth, 1020:0.5 hold")
    c2, i = add_key(c, 1005, 0.4)
    assert i == 1 and c2.keys[1] == Key(1005, 0.4, "linear")  # the key before is linear
    c3, i = add_key(c2, 1015, 0.7)
    assert c3.keys[i].interp == "smooth"  # follows the key before it
    moved, j = move_key(c3, 1, 1200, 3.0, minimum=0, maximum=2)
    assert j == 1 and moved.keys[1] == Key(1009, 2.0, "linear")  # stops a frame short, clamped
    assert set_interp(moved, 1, "hold").keys[1].interp == "hold"
    assert delete_key(parse_curve("1001:0, 1010:1"), 0) == Curve.constant(1.0)
    assert set_value_at(Curve.constant(0.3), 1004, 0.9, shot=(1001, 1006)) == Curve.constant(0.9)
    assert set_value_at(c, 1004, 0.9).keys[1] == Key(1004, 0.9, "linear")


def test_first_key_on_a_constant_keeps_its_frame_then_a_second_adds():
    one, _ = add_key(Curve.constant(1.0), 1003, 0.5, shot=(1001, 1006))
    assert curve_text(one) == "1003:0.5" and parse_curve(curve_text(one)) == one
    two, _ = add_key(parse_curve(curve_text(one)), 1005, 1.0, shot=(1001, 1006))
    assert [(k.frame, k.value) for k in two.keys] == [(1003, 0.5), (1005, 1.0)]


_values = st.floats(-5, 5, allow_nan=False).map(lambda v: round(v, 4))


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.integers(900, 1200), st.tuples(_values, st.sampled_from(["linear", "smooth", "hold"])),
                       min_size=2, max_size=8))
def test_curve_text_reads_back_equal(keys):
    curve = Curve([Key(f, v, i) for f, (v, i) in keys.items()])
    assert parse_curve(curve_text(curve)) == curve
    assert parse_curve(yaml.safe_load(yaml.safe_dump({"c": curve_text(curve)}))["c"]) == curve


# -- paths -------------------------------------------------------------------------------------------


def test_relocate_and_absolute_find_every_path(tmp_path):
    data = {"filmstyle": 2, "input": "plates/p.####.exr", "output": "/abs/out.####.exr",
            "color": {"ocio": "ocio://studio-config-latest"},
            "styles": [{"style": "paint/monet.jpg", "weight": 1.0}, "starry-blue"],
            "regions": [{"mask": {"op": "multiply", "masks": [{"file": "mattes/m.####.exr"}, {"channel": "A"}]},
                         "styles": ["custom:models/x.onnx"]}],
            "default": {"styles": ["paint/b.png"]}}
    new = tmp_path / "jobs" / "v2"
    moved = relocate(data, tmp_path, new)
    assert moved["input"] == "../../plates/p.####.exr" and moved["output"] == "/abs/out.####.exr"
    assert moved["color"]["ocio"] == "ocio://studio-config-latest"
    assert moved["styles"] == [{"style": "../../paint/monet.jpg", "weight": 1.0}, "starry-blue"]
    assert moved["regions"][0]["mask"]["masks"][0]["file"] == "../../mattes/m.####.exr"
    assert moved["regions"][0]["styles"] == ["custom:../../models/x.onnx"]
    assert moved["default"]["styles"] == ["../../paint/b.png"]
    full = absolute(data, tmp_path)
    assert full["input"] == str(tmp_path / "plates/p.####.exr")
    assert full["regions"][0]["styles"] == [f"custom:{tmp_path}/models/x.onnx"]
    assert data["input"] == "plates/p.####.exr"  # the original is not touched


# -- the document ------------------------------------------------------------------------------------


def test_edit_and_save_write_the_expected_yaml(job_dir):
    doc = JobDocument.open(job_dir / "job.yaml")
    assert doc.error is None and doc.frames() == tuple(range(1001, 1007))
    doc.set_curve(STRENGTH, add_key(doc.curve(STRENGTH), 1002, 0.6)[0])
    doc.set_style(1, "cobalt-gold")
    doc.save()
    data = yaml.safe_load((job_dir / "job.yaml").read_text())
    assert data == {
        "filmstyle": 2, "input": "plates/plate.####.exr", "output": "render/styled.####.exr",
        "frames": "1001-1006", "compression": "zip",
        "styles": [{"style": "pale-wash", "weight": "1001:1, 1006:0"},
                   {"style": "cobalt-gold", "weight": "1001:0, 1006:1"}],
        "strength": "1001:0.2, 1002:0.6, 1004:1 smooth",
        "regions": [{"name": "face", "mask": {"ellipse": {"center": [32, 20], "radius": [14, 16], "feather": 6}},
                     "styles": ["stained-glass"], "strength": 0.8}],
        "default": {}, "tile_size": 512}
    again = load_job(job_dir / "job.yaml")
    assert again == doc.job and not doc.dirty
    assert "strength" in validate(job_dir / "job.yaml")


def test_saving_without_edits_keeps_every_field(job_dir, tmp_path):
    before = load_job(job_dir / "job.yaml")
    JobDocument.open(job_dir / "job.yaml").save()
    assert load_job(job_dir / "job.yaml") == before


def test_version_1_is_saved_as_version_2(job_dir):
    (job_dir / "old.yaml").write_text("filmstyle: 1\ninput: plates/plate.####.exr\noutput: out/o.####.exr\n"
                                      "styles: [starry-blue]\ncolour: {input_colorspace: ACEScg}\n"
                                      "preserve_colour: 0.5\n")
    doc = JobDocument.open(job_dir / "old.yaml")
    doc.save(job_dir / "new.yaml")
    data = yaml.safe_load((job_dir / "new.yaml").read_text())
    assert data["filmstyle"] == 2 and data["color"] == {"input_colorspace": "ACEScg"} and data["preserve_color"] == 0.5
    validate(job_dir / "new.yaml")


def test_save_as_elsewhere_keeps_naming_the_same_files(job_dir, tmp_path):
    write_style_image(job_dir / "paint" / "bands.png")
    doc = JobDocument.open(job_dir / "job.yaml")
    doc.set_style(0, "paint/bands.png")
    doc.set_style(1, "paint/bands.png")
    assert doc.error is None, doc.error
    elsewhere = tmp_path / "elsewhere" / "deep"
    elsewhere.mkdir(parents=True)
    dest = doc.save(elsewhere / "moved.yml")
    text = dest.read_text()
    assert "../../job_dir" not in text and "plates/plate.####.exr" in text
    original = {w: os.path.normpath(p) for w, p in job_paths(JobDocument.open(job_dir / "job.yaml").job)}
    moved = {w: os.path.normpath(p) for w, p in job_paths(load_job(dest))}
    assert moved["input"] == original["input"]
    assert moved["styles[0].style"] == str((job_dir / "paint/bands.png").resolve())
    assert doc.path == dest and doc.base_dir == elsewhere


def test_invalid_edits_are_shown_and_never_saved(job_dir):
    write_style_image(job_dir / "bands.png")
    doc = JobDocument.open(job_dir / "job.yaml")
    before = (job_dir / "job.yaml").read_bytes()
    doc.set_style(0, "bands.png")  # an image blended with a built-in look
    assert doc.job is None and "styles" in doc.error
    with pytest.raises(JobError, match="not saved"):
        doc.save()
    assert (job_dir / "job.yaml").read_bytes() == before
    doc.undo()
    assert doc.error is None and doc.styles()[0]["style"] == "pale-wash"
    doc.redo()
    assert doc.job is None


def test_save_refuses_the_jobs_own_files_and_other_suffixes(job_dir):
    shutil.copy(job_dir / "job.yaml", job_dir / "looks.yaml")
    (job_dir / "studio.ocio.yaml").write_text("ocio_profile_version: 2\n")
    doc = JobDocument.open(job_dir / "job.yaml")
    doc.set(("color",), {"ocio": "studio.ocio.yaml"})
    with pytest.raises(JobError, match="color.ocio is this file"):
        doc.save(job_dir / "studio.ocio.yaml")
    assert (job_dir / "studio.ocio.yaml").read_text() == "ocio_profile_version: 2\n"
    with pytest.raises(JobError, match=r"\.yaml or \.yml"):
        doc.save(job_dir / "job.txt")
    assert sorted(p.name for p in job_dir.iterdir() if p.name.startswith(".")) == []  # no temp files left


def test_save_is_atomic_and_keeps_the_files_mode(job_dir, monkeypatch):
    path = job_dir / "job.yaml"
    os.chmod(path, 0o640)
    doc = JobDocument.open(path)
    doc.set(("tile_size",), 256)
    calls = []
    real = os.replace

    def spy(src, dst):
        calls.append((Path(src).parent, Path(dst)))
        assert Path(src).name.startswith(".job.yaml.") and yaml.safe_load(Path(src).read_text())["tile_size"] == 256
        return real(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    doc.save()
    assert calls == [(job_dir, path)] and (path.stat().st_mode & 0o777) == 0o640


def test_drags_undo_as_one_step(job_dir):
    doc = JobDocument.open(job_dir / "job.yaml")
    original = doc.curve(STRENGTH)
    for v in (0.3, 0.35, 0.4):
        doc.set_curve(STRENGTH, move_key(doc.curve(STRENGTH), 0, 1001, v)[0], merge="drag-1")
    assert doc.curve(STRENGTH).keys[0].value == 0.4
    doc.undo()
    assert doc.curve(STRENGTH) == original


def test_lanes_follow_the_table_and_the_blend(job_dir):
    doc = JobDocument.open(job_dir / "job.yaml")
    ids = [lane.id for lane in doc.lanes()]
    assert ids[0] == "strength" and {"temporal", "preserve_color"} <= set(ids)
    assert ids[-3:] == ["styles.0.weight", "styles.1.weight", "regions.0.strength"]
    doc.remove_style(0)
    # A lone style has nothing to blend with: its weight goes (it would be 0 on frame 1001).
    assert "styles.0.weight" not in [lane.id for lane in doc.lanes()] and doc.styles() == [{"style": "starry-blue"}]
    assert doc.error is None
