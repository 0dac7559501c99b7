"""The FilmStyle Nuke node, driven through the ``nuke`` stand-in against a real worker.

The worker is started by the client exactly as in Nuke (``FILMSTYLE_PYTHON`` → ``filmstyle
serve``), real weights, real EXR files written by the stand-in's Write.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import OpenImageIO as oiio
import pytest

from tests.core.plates import photo_linear
from tests.nuke import nuke_standin

NUKE_DIR = Path(__file__).resolve().parents[2] / "nuke"
FRAMES = (1001, 1002, 1003, 1004)
W, H = 64, 48


def rgb_of(path) -> np.ndarray:
    inp = oiio.ImageInput.open(str(path))
    px = np.asarray(inp.read_image(0, 0, 0, 3, "float"))
    inp.close()
    return px


@pytest.fixture(scope="module")
def nuke(tmp_path_factory):
    cfg = tmp_path_factory.mktemp("cfg")
    saved = {k: os.environ.get(k) for k in ("FILMSTYLE_CONFIG_DIR", "FILMSTYLE_PYTHON")}
    os.environ["FILMSTYLE_CONFIG_DIR"] = str(cfg)
    os.environ["FILMSTYLE_PYTHON"] = sys.executable
    module = nuke_standin.install()
    sys.path.insert(0, str(NUKE_DIR))
    from filmstyle_plugin.client import WorkerClient

    yield module
    client = WorkerClient.find()
    if client is not None and client.process is None:
        import signal

        os.kill(int(client.health()["pid"]), signal.SIGTERM)
    sys.path.remove(str(NUKE_DIR))
    sys.modules.pop("nuke", None)
    for key in [k for k in sys.modules if k.startswith("filmstyle_nuke")]:
        sys.modules.pop(key)
    for k, v in saved.items():
        os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)


@pytest.fixture(scope="module")
def plates(tmp_path_factory) -> str:
    folder = tmp_path_factory.mktemp("plates")
    base = photo_linear(W, H)
    for i, f in enumerate(FRAMES):
        path = folder / f"plate.{f}.exr"
        out = oiio.ImageOutput.create(str(path))
        out.open(str(path), oiio.ImageSpec(W, H, 3, "half"))
        out.write_image(np.ascontiguousarray(base * (0.8 + 0.1 * i), dtype=np.float32))
        out.close()
    return str(folder / "plate.####.exr")


@pytest.fixture
def graph(nuke, plates):
    from filmstyle_nuke.node import create_node

    nuke.reset()
    read = nuke.nodes.Read(file=plates, first=FRAMES[0], last=FRAMES[-1])
    node = create_node()
    node.setInput(0, read)
    node["first"].setValue(FRAMES[0])
    node["last"].setValue(FRAMES[-1])
    node["style"].setValue("starry-blue")
    return node


def press_render(nuke, node) -> dict:
    from filmstyle_nuke import node as fs_node

    calls = []
    original = fs_node.render
    fs_node.render = lambda n=None, client=None: calls.append(original(n, client)) or calls[-1]
    try:
        node["fs_render"].execute()  # the button's own script, run as Nuke would
    finally:
        fs_node.render = original
    assert not nuke.messages, nuke.messages
    return calls[0]


def out_path(node, frame: int) -> Path:
    return Path(node["fs_cache"].value()) / f"out.{frame}.exr"


def test_knobs_come_from_the_schema(graph):
    from filmstyle_plugin.schema import load_schema

    for param in load_schema():
        assert graph.knob(param.name) is not None, param.name
    assert graph["strength"].value() == 1.0 and graph["fs_hashes"].visible() is False
    assert graph.knob("temporal") is not None  # a shot-quality knob from the schema


def test_keyed_strength_renders_per_frame_and_rerenders_only_changes(nuke, graph):
    strength = graph["strength"]
    strength.setAnimated()
    strength.setValueAt(0.0, 1001)
    strength.setValueAt(1.0, 1004)

    first = press_render(nuke, graph)
    assert first["state"] == "done" and first["written"] == list(FRAMES)
    assert nuke.ProgressTask.instances and nuke.ProgressTask.instances[-1].progress == 100

    # The node outputs the stylized plate; frame 1001 (strength 0) is the source untouched.
    src = Path(graph["fs_cache"].value()) / "src.1001.exr"
    np.testing.assert_array_equal(graph.image(1001)[..., :3], rgb_of(src))
    np.testing.assert_array_equal(graph.image(1003)[..., :3], rgb_of(out_path(graph, 1003)))

    # Frame 1003 carries strength 2/3: the same as a constant-strength job at that value.
    from filmstyle import io
    from filmstyle.job import plan_from_cli
    from filmstyle.engine.pipeline import FramePipeline

    value = strength.getValueAt(1003)
    assert value == pytest.approx(2 / 3)
    src3 = Path(graph["fs_cache"].value()) / "src.1003.exr"
    plan = plan_from_cli(input=str(src3), output=str(src3.with_name("ref.exr")), style="starry-blue", strength=value)
    want = FramePipeline(plan).stylize_frame(io.read_frame(src3), 1003)
    got = rgb_of(out_path(graph, 1003))
    np.testing.assert_allclose(got, want, atol=1e-5)
    assert np.abs(got - rgb_of(src3)).mean() > 0.01

    # Second press: nothing changed, nothing submitted, files untouched.
    stamps = {f: out_path(graph, f).stat().st_mtime_ns for f in FRAMES}
    second = press_render(nuke, graph)
    assert second == {"submitted": [], "state": "up to date"}
    assert {f: out_path(graph, f).stat().st_mtime_ns for f in FRAMES} == stamps

    # Moving the last key changes 1002-1004 (linear ramp from 1001) but not 1001.
    strength.setValueAt(0.5, 1004)
    third = press_render(nuke, graph)
    assert third["submitted"] == [1002, 1003, 1004] and third["written"] == [1002, 1003, 1004]
    assert out_path(graph, 1001).stat().st_mtime_ns == stamps[1001]
    assert all(out_path(graph, f).stat().st_mtime_ns != stamps[f] for f in (1002, 1003, 1004))


def test_changed_source_frame_rerenders_that_frame(nuke, graph, plates, tmp_path):
    assert press_render(nuke, graph)["state"] == "done"
    # Change one plate frame on disk: only that frame's input stamp changes.
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
    try:
        from filmstyle_nuke import node as fs_node

        summary = fs_node.render(graph)
    finally:
        nuke.ProgressTask.cancel_at_percent = None
    assert summary["state"] in ("cancelled", "done")  # a tiny job may finish before the cancel lands
    if summary["state"] == "cancelled":
        assert "cancelled" in nuke.messages[-1]
        assert len(summary["written"]) < len(FRAMES)
    nuke.messages.clear()
    # What was rendered is remembered: the next press sends only the rest.
    rest = press_render(nuke, graph)
    assert sorted(set(rest["submitted"]) | set(summary["written"])) == list(FRAMES)


def test_errors_end_in_a_message_not_an_exception(nuke, graph):
    from filmstyle_nuke import node as fs_node

    graph["style_image"].setValue("/no/such/painting.png")
    summary = fs_node.render(graph)
    assert summary["state"] == "failed"
    assert nuke.messages and nuke.messages[-1].startswith("FilmStyle: worker: ")
    assert "\n" not in nuke.messages[-1]


def test_mask_input_keys_the_look(nuke, graph, tmp_path):
    mask_path = tmp_path / "mask.####.exr"
    for f in FRAMES:
        a = np.zeros((H, W, 4), np.float32)
        a[:, : W // 2, 3] = 1.0
        p = str(mask_path).replace("####", str(f))
        out = oiio.ImageOutput.create(p)
        out.open(p, oiio.ImageSpec(W, H, 4, "float"))
        out.write_image(a)
        out.close()
    graph.setInput(1, nuke.nodes.Read(file=str(mask_path), first=FRAMES[0], last=FRAMES[-1]))
    assert press_render(nuke, graph)["state"] == "done"
    shown, styled = graph.image(1002), rgb_of(out_path(graph, 1002))
    src = rgb_of(Path(graph["fs_cache"].value()) / "src.1002.exr")
    np.testing.assert_allclose(shown[:, : W // 2, :3], styled[:, : W // 2], atol=1e-6)
    np.testing.assert_allclose(shown[:, W // 2 :, :3], src[:, W // 2 :], atol=1e-6)
    assert np.abs(styled[:, W // 2 :] - src[:, W // 2 :]).mean() > 0.01  # the worker styled it all


def test_init_and_menu_scripts(nuke):
    import runpy

    runpy.run_path(str(NUKE_DIR / "init.py"))
    assert any(p.endswith("icons") for p in nuke.plugin_paths)
    import ast

    tree = ast.parse((NUKE_DIR / "init.py").read_text())
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert imported == {"os", "nuke"}
    runpy.run_path(str(NUKE_DIR / "menu.py"))
    command, icon = nuke.menu("Nodes").items["FilmStyle"].items["FilmStyle"]
    assert "create_node" in command and icon == "FilmStyle.png"
    assert (NUKE_DIR / "icons" / "FilmStyle.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
