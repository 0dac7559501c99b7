"""The FilmStyle node through the stand-in, in terminal mode and in the GUI, against a real worker.

The worker is started by the client as in Nuke (``FILMSTYLE_PYTHON`` → ``filmstyle serve``), with
real weights; the stand-in's Write and Read move real EXR files.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.nuke.conftest import FRAMES, H, W, image_rgb, rgb_of


def press_render(nuke, node) -> dict:
    """Press the node's Render button as Nuke would; in the GUI, run the UI loop until it ends."""
    from filmstyle_nuke import bake

    node["fs_render"].execute()  # the button's own script
    if nuke.GUI:
        nuke._standin_pump(until=lambda: not bake.running(node), timeout=300)
    return bake.last_result(node)


def make_graph(nuke, plates, tmp_path, style="starry-blue"):
    from filmstyle_nuke.node import create_node

    nuke.root()["name"].setValue(str(tmp_path / "shot_v001.nk"))
    read = nuke.nodes.Read(file=plates, first=FRAMES[0], last=FRAMES[-1])
    node = create_node()
    node.setInput(0, read)
    node["first"].setValue(FRAMES[0])
    node["last"].setValue(FRAMES[-1])
    node["style"].setValue(style)
    return node


def folder_of(node) -> Path:
    from filmstyle_nuke.node import cache_dir

    return Path(cache_dir(node))


def out_path(node, frame: int) -> Path:
    return folder_of(node) / f"out.{frame}.exr"


@pytest.fixture
def graph(nuke, plates, tmp_path):
    return make_graph(nuke, plates, tmp_path)


def test_knobs_come_from_the_schema(nuke, graph):
    from filmstyle_plugin.schema import load_schema

    for param in load_schema():
        knob = graph.knob(param.name)
        assert knob is not None, param.name
        if not param.animatable and param.name != "mask_channel":
            assert knob.getFlag(nuke.NO_ANIMATION), param.name
    assert graph["strength"].value() == 1.0 and graph["fs_id"].visible() is False
    assert graph.knob("temporal") is not None  # a shot-quality knob from the schema
    assert folder_of(graph).parent == Path(nuke.root()["name"].value()).parent / "filmstyle_cache"


def test_keyed_strength_renders_per_frame_and_rerenders_only_changes(nuke, graph):
    strength = graph["strength"]
    strength.setAnimated()
    for frame, value in ((1001, 0.0), (1002, 0.8), (1004, 1.0)):
        strength.setValueAt(value, frame)

    first = press_render(nuke, graph)
    assert first["state"] == "done" and first["written"] == list(FRAMES), first
    assert nuke.executing() is False and not nuke._standin_messages()

    # The node outputs the stylized plate; frame 1001 (strength 0) is the source untouched.
    src = folder_of(graph) / "src.1001.exr"
    np.testing.assert_array_equal(image_rgb(graph.image(1001)), rgb_of(src))
    np.testing.assert_array_equal(image_rgb(graph.image(1003)), rgb_of(out_path(graph, 1003)))

    # Frame 1003 carries Nuke's smooth-interpolated strength: the node sends getValueAt, not its
    # own interpolation of the keys.
    from filmstyle import io
    from filmstyle.job import plan_from_cli
    from filmstyle.engine.pipeline import FramePipeline

    value = strength.getValueAt(1003)
    assert value != pytest.approx(0.9) and 0.8 < value < 1.0
    src3 = folder_of(graph) / "src.1003.exr"
    plan = plan_from_cli(input=str(src3), output=str(src3.with_name("ref.exr")), style="starry-blue",
                         strength=value, input_colorspace="scene_linear", proxy=graph["proxy"].value())
    want = FramePipeline(plan).stylize_frame(io.read_frame(src3), 1003)
    got = rgb_of(out_path(graph, 1003))
    np.testing.assert_allclose(got, want, atol=1e-5)
    assert np.abs(got - rgb_of(src3)).mean() > 0.01

    # Second press: nothing changed, nothing submitted, files untouched.
    stamps = {f: out_path(graph, f).stat().st_mtime_ns for f in FRAMES}
    assert press_render(nuke, graph) == {"submitted": [], "state": "up to date"}
    assert {f: out_path(graph, f).stat().st_mtime_ns for f in FRAMES} == stamps

    # Moving the last key changes 1003-1004 but not 1001-1002.
    strength.setValueAt(0.5, 1004)
    third = press_render(nuke, graph)
    assert third["submitted"] == [1003, 1004] and third["written"] == [1003, 1004]
    assert all(out_path(graph, f).stat().st_mtime_ns == stamps[f] for f in (1001, 1002))


def test_changed_source_frame_rerenders_that_frame(nuke, graph, plates):
    assert press_render(nuke, graph)["state"] == "done"
    import OpenImageIO as oiio

    from tests.core.plates import photo_linear

    path = Path(plates.replace("####", "1002"))
    backup = path.read_bytes()
    try:
        out = oiio.ImageOutput.create(str(path))
        out.open(str(path), oiio.ImageSpec(W, H, 3, "half"))
        out.write_image(np.ascontiguousarray(photo_linear(W, H)[::-1], dtype=np.float32))
        out.close()
        assert press_render(nuke, graph)["submitted"] == [1002]
    finally:
        path.write_bytes(backup)


def test_cancel_from_the_progress_dialog_keeps_finished_frames(nuke, graph):
    nuke.ProgressTask.cancel_at_percent = 25
    summary = press_render(nuke, graph)
    nuke.ProgressTask.cancel_at_percent = None
    assert summary["state"] in ("cancelled", "done")  # a tiny job may finish before the cancel lands
    if summary["state"] == "cancelled":
        assert "cancelled" in nuke._standin_messages()[-1]
        assert len(summary["written"]) < len(FRAMES)
    # What was rendered is remembered: the next press sends only the rest.
    rest = press_render(nuke, graph)
    assert sorted(set(rest["submitted"]) | set(summary["written"])) == list(FRAMES)


def test_errors_end_in_one_message_after_the_progress_dialog_closed(nuke, graph):
    graph["style_image"].setValue("/no/such/painting.png")
    summary = press_render(nuke, graph)
    assert summary["state"] == "failed"
    message = nuke._standin_messages()[-1]
    assert message.startswith(f"{graph.name()}: worker: ") and "\n" not in message
    assert graph["fs_status"].value().startswith("error: ")
    if nuke.GUI:  # the dialog is gone before the message pops up
        assert nuke._app.state.messages_with_open_progress == 0
        assert all(t.closed for t in nuke._standin_progress())


def test_mask_input_keys_the_look(nuke, graph, tmp_path):
    from nuke import _exr

    mask_path = tmp_path / "mask.####.exr"
    for f in FRAMES:
        img = _exr.Image(W, H)
        for y in range(H):
            for x in range(W // 2):
                img.planes[3][y * W + x] = 1.0
                img.planes[0][y * W + x] = 1.0 if x < W // 4 else 0.0
        _exr.write_exr(str(mask_path).replace("####", str(f)), img)
    assert press_render(nuke, graph)["state"] == "done"
    styled, src = rgb_of(out_path(graph, 1002)), rgb_of(folder_of(graph) / "src.1002.exr")
    np.testing.assert_allclose(image_rgb(graph.image(1002)), styled, atol=1e-6)

    # Connecting the mask takes effect at once, without pressing Render again.
    graph.setInput(1, nuke.nodes.Read(file=str(mask_path), first=FRAMES[0], last=FRAMES[-1]))
    shown = image_rgb(graph.image(1002))
    np.testing.assert_allclose(shown[:, : W // 2], styled[:, : W // 2], atol=1e-6)
    np.testing.assert_allclose(shown[:, W // 2 :], src[:, W // 2 :], atol=1e-6)
    assert np.abs(styled[:, W // 2 :] - src[:, W // 2 :]).mean() > 0.01  # the worker styled it all

    # So does the mask channel: red covers only the left quarter.
    graph["mask_channel"].setValue("rgba.red")
    shown = image_rgb(graph.image(1002))
    np.testing.assert_allclose(shown[:, : W // 4], styled[:, : W // 4], atol=1e-6)
    np.testing.assert_allclose(shown[:, W // 4 :], src[:, W // 4 :], atol=1e-6)
