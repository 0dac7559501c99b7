"""The panel driven like an artist drives it (pytest-qt, offscreen): load, key, drag, interpolate,
change a style and a setting, save — the YAML changes as expected and reloads equal."""

from __future__ import annotations

import pytest
import yaml
from PySide6.QtCore import QPoint, Qt
from typer.testing import CliRunner

from filmstyle.cli import app
from filmstyle.job.params import Parameter
from filmstyle.job.source import load_job
from tests.panel.conftest import wait_settled


def point(p) -> QPoint:
    return QPoint(round(p.x()), round(p.y()))


def test_load_key_drag_interpolate_restyle_save(qtbot, window, job_dir):
    w = window
    assert w.open_job(job_dir / "job.yaml")
    wait_settled(qtbot, w)
    assert w.frames == tuple(range(1001, 1007)) and w.viewer.has_after
    assert [name for name, _ in w.view.masks] == ["face"]

    # Add a strength key by double-clicking the curve at frame 1002, value 0.5.
    w.curves.select_lane("strength")
    ed = w.curves.editor
    assert [k.frame for k in ed.curve.keys] == [1001, 1004]
    qtbot.mouseDClick(ed, Qt.MouseButton.LeftButton, pos=QPoint(round(ed.frame_to_x(1002)), round(ed.value_to_y(0.5))))
    keys = w.doc.curve(ed.active).keys
    assert [k.frame for k in keys] == [1001, 1002, 1004] and keys[1].value == pytest.approx(0.5, abs=0.02)
    assert ed.selected == 1

    # Drag it to frame 1003 and up past 1.0, the most a built-in look's strength can be.
    qtbot.mousePress(ed, Qt.MouseButton.LeftButton, pos=point(ed.key_pos(1)))
    for f, v in ((1002.4, 0.8), (1002.8, 1.1), (1003.0, 1.4)):
        qtbot.mouseMove(ed, QPoint(round(ed.frame_to_x(f)), round(ed.value_to_y(v))))
    qtbot.mouseRelease(ed, Qt.MouseButton.LeftButton, pos=QPoint(round(ed.frame_to_x(1003)), round(ed.value_to_y(1.4))))
    keys = w.doc.curve(ed.active).keys
    assert keys[1].frame == 1003 and keys[1].value == 1.0 and w.doc.error is None

    # The selected key becomes smooth through the key bar.
    assert w.curves.interp.isEnabled() and w.curves.interp.currentText() == "linear"
    w.curves.interp.setCurrentText("smooth")
    assert w.doc.curve(ed.active).keys[1].interp == "smooth"

    # The second style of the blend becomes cobalt-gold: select its slot, click its tile.
    w.looks.blend.setCurrentRow(1)
    picker = w.looks.picker
    item = next(picker.item(i) for i in range(picker.count()) if picker.item(i).text() == "cobalt-gold")
    qtbot.mouseClick(picker.viewport(), Qt.MouseButton.LeftButton, pos=picker.visualItemRect(item).center())
    assert w.doc.styles()[1]["style"] == "cobalt-gold"

    # A setting from the table: preserve colour typed on frame 1001 (a constant: no key).
    control = w.form.controls["preserve_color"]
    control.spin.setValue(0.25)
    control.spin.editingFinished.emit()
    assert w.doc.value(("preserve_color",)) == 0.25

    # The preview follows the edits (in the background), then save.
    wait_settled(qtbot, w)
    assert w.viewer.has_after
    assert w.save()
    saved = yaml.safe_load((job_dir / "job.yaml").read_text())
    assert saved["strength"] == "1001:0.2, 1003:1 smooth, 1004:1 smooth"
    assert saved["styles"] == [{"style": "pale-wash", "weight": "1001:1, 1006:0"},
                               {"style": "cobalt-gold", "weight": "1001:0, 1006:1"}]
    assert saved["preserve_color"] == 0.25
    assert saved["regions"][0]["mask"] == {"ellipse": {"center": [32, 20], "radius": [14, 16], "feather": 6}}
    assert saved["tile_size"] == 512 and saved["compression"] == "zip"  # untouched fields stay
    assert load_job(job_dir / "job.yaml") == w.doc.job
    result = CliRunner().invoke(app, ["validate", str(job_dir / "job.yaml")])
    assert result.exit_code == 0, result.output
    assert "job.yaml *" not in w.windowTitle()


def test_right_click_menu_delete_key_and_undo(qtbot, window, job_dir):
    w = window
    w.open_job(job_dir / "job.yaml")
    w.curves.select_lane("styles.1.weight")
    ed = w.curves.editor
    qtbot.mouseClick(ed, Qt.MouseButton.LeftButton, pos=point(ed.key_pos(0)))
    assert ed.selected == 0
    ed.setFocus()
    qtbot.keyClick(ed, Qt.Key.Key_Delete)
    assert w.doc.value(("styles", 1, "weight")) == 1.0  # one key left: a constant
    w.doc.undo()
    assert w.doc.value(("styles", 1, "weight")) == "1001:0, 1006:1"
    # The ruler sets the current frame.
    qtbot.mouseClick(ed, Qt.MouseButton.LeftButton, pos=QPoint(round(ed.frame_to_x(1005)), 5))
    assert w.frame == 1005 and w.slider.value() == 1005


def test_typing_a_value_on_an_animated_curve_keys_it(qtbot, window, job_dir):
    w = window
    w.open_job(job_dir / "job.yaml")
    w.set_frame(1005)
    control = w.form.controls["strength"] if "strength" in w.form.controls else None
    assert control is not None and control.spin.value() == pytest.approx(1.0)
    control.spin.setValue(0.7)
    control.spin.editingFinished.emit()
    assert w.doc.value(("strength",)) == "1001:0.2, 1004:1 smooth, 1005:0.7 smooth"
    control.key.click()  # the key button on a keyed frame removes the key
    assert w.doc.value(("strength",)) == "1001:0.2, 1004:1 smooth"


def test_a_new_table_entry_gets_its_control_without_panel_code(qtbot, monkeypatch, panel_worker, job_dir,
                                                              thumbs_cache):
    """Adding parameters to the table adds their controls and job fields (generic widget kinds)."""
    import filmstyle.job.params as params
    from filmstyle.panel.window import PanelWindow

    extra = (Parameter("grain", "curve", "Film grain amount.", path="grain", default=0.0, minimum=0.0, maximum=1.0,
                       soft_range=(0.0, 1.0), hosts={"panel": "curve"}),
             Parameter("dither", "choice", "Dither pattern.", path="look_dev.dither", default="none",
                       choices=("none", "blue", "white"), hosts={"panel": "combo"}),
             Parameter("seed", "integer", "Seed.", path="look_dev.seed", default=0, minimum=0, maximum=99,
                       soft_range=(0, 99), hosts={"panel": "slider"}))
    monkeypatch.setattr(params, "PARAMETERS", params.PARAMETERS + extra)
    w = PanelWindow(thumbnails=False, confirm_close=False)
    qtbot.addWidget(w)
    w.open_job(job_dir / "job.yaml")
    assert {"grain", "dither", "seed"} <= set(w.form.controls)
    assert "grain" in [lane.id for lane in w.doc.lanes()]
    combo = w.form.controls["dither"].combo
    combo.setCurrentIndex(combo.findData("blue"))
    combo.activated.emit(combo.currentIndex())
    w.form.controls["seed"].slider.setValue(round(1000 * 42 / 99))
    w.curves.select_lane("grain")
    ed = w.curves.editor
    ed.add_key_at(1002, 0.3)
    ed.add_key_at(1006, 0.0)
    assert w.doc.error is None, w.doc.error
    assert w.save()
    saved = yaml.safe_load((job_dir / "job.yaml").read_text())
    assert saved["look_dev"] == {"dither": "blue", "seed": 42} and saved["grain"] == "1002:0.3, 1006:0"
    assert load_job(job_dir / "job.yaml").grain.value_at(1004) == pytest.approx(0.15)


def test_a_bad_job_is_one_line_and_the_window_stays_usable(qtbot, window, job_dir):
    (job_dir / "bad.yaml").write_text("filmstyle: 2\ninput: plates/plate.####.exr\noutput: o.####.exr\n"
                                      "styles: [teal-gould]\n")
    assert not window.open_job(job_dir / "bad.yaml")
    assert "bad.yaml: styles[0].style (line 4): unknown style 'teal-gould'" in window.last_message
    assert window.doc is None and window.open_job(job_dir / "job.yaml")


def test_user_styles_and_imported_images_in_the_picker(qtbot, window, job_dir):
    """A named style from the user's styles file and an imported painting: both in the picker,
    both picked into the job, both rendered by the worker (which reads the same styles file)."""
    import os
    from pathlib import Path

    from filmstyle.panel.service import ThumbnailRequest
    from tests.panel.conftest import write_style_image

    cfg = Path(os.environ["FILMSTYLE_CONFIG_DIR"])
    write_style_image(cfg / "paintings" / "bands.png")
    (cfg / "styles.yaml").write_text("bands: paintings/bands.png\n")
    write_style_image(job_dir / "paint" / "mine.png")
    (job_dir / "one.yaml").write_text("filmstyle: 2\ninput: plates/plate.####.exr\noutput: out/o.####.exr\n"
                                      "styles: [starry-blue]\n")
    w = window
    try:
        w.open_job(job_dir / "one.yaml")
        kinds = {c.style: c.kind for c in w.looks.choices}
        assert kinds["bands"] == "user" and kinds["starry-blue"] == "builtin"
        assert w.looks.import_image(str(job_dir / "paint" / "mine.png")) == "paint/mine.png"
        assert w.doc.styles() == [{"style": "paint/mine.png"}]
        assert {c.style: c.kind for c in w.looks.choices}["paint/mine.png"] == "image"
        wait_settled(qtbot, w, timeout=180_000)
        assert w.viewer.has_after, w.last_message
        picker = w.looks.picker
        item = next(picker.item(i) for i in range(picker.count()) if picker.item(i).text() == "bands")
        qtbot.mouseClick(picker.viewport(), Qt.MouseButton.LeftButton, pos=picker.visualItemRect(item).center())
        assert w.doc.styles() == [{"style": "bands"}] and w.doc.error is None
        wait_settled(qtbot, w, timeout=180_000)
        assert w.viewer.has_after, w.last_message
        # An image style's tile is the image itself (no render).
        choice = next(c for c in w.looks.choices if c.style == "bands")
        with qtbot.waitSignal(w.link.thumbnailDone, timeout=30_000) as got:
            w.link.request_thumbnails([ThumbnailRequest("bands", w.doc.absolute_data(), w.view, choice.image)])
        assert got.args[0] == "bands" and got.args[1].shape[1] == 64
        assert w.save()
        assert "styles: [bands]" in (job_dir / "one.yaml").read_text()
    finally:
        (cfg / "styles.yaml").unlink()


@pytest.mark.parametrize("proxy", ["1", "1/2"])
def test_a_movie_shot_previews_in_its_own_colourspace(qtbot, window, tmp_path, proxy):
    """A ProRes clip: frames numbered from 1001, shown and previewed (its reduced frame as EXR read
    in the movie's Rec.709 colourspace); the preview comes back in that colourspace too."""
    from tests.core.movie_fixtures import encode_clip

    encode_clip(tmp_path / "clip.mov", "prores_ks", "yuv422p10le", frames=4, size=(64, 48), options={"profile": "3"})
    (tmp_path / "job.yaml").write_text("filmstyle: 2\ninput: clip.mov\noutput: out/o.####.exr\n"
                                       "styles: [starry-blue]\nstrength: 0\n")
    w = window
    w.proxy_box.setCurrentText(proxy)
    w.open_job(tmp_path / "job.yaml")
    assert w.frames == (1001, 1002, 1003, 1004)
    w.set_frame(1003)
    wait_settled(qtbot, w)
    assert w.viewer.has_after, w.last_message
    assert w.view.colorspace == "Gamma 2.4 Encoded Rec.709" and w.view.frame == 1003
    # Strength 0: the preview is the frame itself, so after and before must match closely.
    after = w.viewer._after.convertToFormat(w.viewer._after.Format.Format_RGB888)
    import numpy as np

    pixels = np.frombuffer(after.constBits(), np.uint8).reshape(after.height(), after.bytesPerLine())
    pixels = pixels[:, : after.width() * 3].reshape(after.height(), after.width(), 3)
    before = w.view.display
    assert pixels.shape == before.shape
    assert np.abs(pixels.astype(int) - before.astype(int)).mean() < (1.0 if proxy == "1" else 4.0)
