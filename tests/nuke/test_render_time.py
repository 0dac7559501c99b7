"""Renders of frames the Render button did not make: a Write, ``nuke -x``, a farm. Never black.

A frame is rendered through the worker inside the render (from the node's cached source, or the
plate when the Source is a Read), or the render fails naming the node and the frame.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.nuke.conftest import FRAMES, NUKE_DIR, W, H, rgb_of, run_like_nuke, write_plates
from tests.nuke.test_node import folder_of, make_graph, out_path, press_render


def stylized(path, frame, **kw) -> np.ndarray:
    from filmstyle import io
    from filmstyle.job import plan_from_cli
    from filmstyle.engine.pipeline import FramePipeline

    plan = plan_from_cli(input=str(path), output=str(Path(path).with_name("ref.exr")), style="starry-blue",
                         input_colorspace="scene_linear", **kw)
    return FramePipeline(plan).stylize_frame(io.read_frame(path), frame)


def test_a_write_renders_unbaked_frames_through_the_worker(terminal_nuke, plates, tmp_path):
    nuke = terminal_nuke
    node = make_graph(nuke, plates, tmp_path)
    write = nuke.nodes.Write(file=str(tmp_path / "comp" / "final.####.exr"), inputs=[node], create_directories=True)
    nuke.execute(write, FRAMES[0], FRAMES[1])
    for f in FRAMES[:2]:
        got = rgb_of(tmp_path / "comp" / f"final.{f}.exr")
        plate = plates.replace("####", str(f))
        # The result keeps the plate's half floats (a file comes back as it went in).
        np.testing.assert_allclose(got, stylized(plate, f), rtol=1e-3, atol=1e-4)
        assert np.abs(got - rgb_of(plate)).mean() > 0.01
    # The Render button renders from the Source as Nuke computes it, not from the plate file, so
    # it takes over those frames too; afterwards a render finds them all current.
    assert press_render(nuke, node)["submitted"] == list(FRAMES)
    nuke.execute(write, FRAMES[0], FRAMES[-1])
    assert press_render(nuke, node)["state"] == "up to date"


def test_a_knob_changed_after_the_bake_is_rendered_at_render_time(terminal_nuke, plates, tmp_path):
    nuke = terminal_nuke
    node = make_graph(nuke, plates, tmp_path)
    node.setInput(0, nuke.nodes.Dot(inputs=[nuke.nodes.Switch(inputs=[node.input(0)])]))  # not a Read
    assert press_render(nuke, node)["state"] == "done"
    node["strength"].setValue(0.5)
    write = nuke.nodes.Write(file=str(tmp_path / "final.####.exr"), inputs=[node], datatype="32 bit float")
    nuke.execute(write, FRAMES[0], FRAMES[0])
    assert press_render(nuke, node)["submitted"] == list(FRAMES[1:])  # frame 1 is current again
    src = folder_of(node) / f"src.{FRAMES[0]}.exr"
    np.testing.assert_allclose(rgb_of(tmp_path / f"final.{FRAMES[0]}.exr"), stylized(src, FRAMES[0], strength=0.5),
                               atol=1e-5)


def test_an_unbaked_frame_without_a_readable_source_fails_the_render(terminal_nuke, plates, tmp_path):
    nuke = terminal_nuke
    node = make_graph(nuke, plates, tmp_path)
    node.setInput(0, nuke.nodes.Switch(inputs=[node.input(0)]))
    write = nuke.nodes.Write(file=str(tmp_path / "final.####.exr"), inputs=[node])
    with pytest.raises(RuntimeError) as err:
        nuke.execute(write, FRAMES[0], FRAMES[0])
    assert f"{node.name()}: frame {FRAMES[0]} is not rendered" in str(err.value)
    assert "press Render" in str(err.value) and "\n" not in str(err.value)
    assert not (tmp_path / f"final.{FRAMES[0]}.exr").exists()


def test_a_replaced_output_file_is_not_trusted(terminal_nuke, plates, tmp_path):
    nuke = terminal_nuke
    node = make_graph(nuke, plates, tmp_path)
    node["proxy"].setValue("full")  # a final frame, which a Write would otherwise reuse
    node["last"].setValue(FRAMES[0])
    assert press_render(nuke, node)["state"] == "done"
    out = out_path(node, FRAMES[0])
    good = rgb_of(out)
    from nuke import _exr

    _exr.write_exr(str(out), _exr.Image(W, H))  # black, written by something else
    write = nuke.nodes.Write(file=str(tmp_path / "final.####.exr"), inputs=[node], datatype="32 bit float")
    nuke.execute(write, FRAMES[0], FRAMES[0])
    np.testing.assert_allclose(rgb_of(tmp_path / f"final.{FRAMES[0]}.exr"), good, atol=1e-6)


def save_farm_script(nuke, plates, tmp_path, name, *, readable_source=True):
    node = make_graph(nuke, plates, tmp_path)
    if not readable_source:
        node.setInput(0, nuke.nodes.Switch(inputs=[node.input(0)]))
    nuke.nodes.Write(file=str(tmp_path / name / "final.####.exr"), inputs=[node], create_directories=True)
    nuke.root()["first_frame"].setValue(FRAMES[0])
    nuke.root()["last_frame"].setValue(FRAMES[-1])
    script = tmp_path / f"{name}.nk"
    nuke.scriptSaveAs(str(script))
    return node, script


def test_farm_render_with_nuke_x_in_a_bare_python(terminal_nuke, tmp_path, artist_home):
    """The artist never pressed Render; the farm runs ``nuke -x`` with NUKE_PATH set."""
    nuke = terminal_nuke
    plates = write_plates(tmp_path / "plates")
    node, script = save_farm_script(nuke, plates, tmp_path, "farm")
    proc = run_like_nuke(["-x", str(script), "-F", f"{FRAMES[0]}-{FRAMES[1]}"], home=artist_home,
                         nuke_path=str(NUKE_DIR))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for f in FRAMES[:2]:
        got = rgb_of(tmp_path / "farm" / f"final.{f}.exr")
        np.testing.assert_allclose(got, stylized(plates.replace("####", str(f)), f), rtol=1e-3, atol=1e-4)
    records = sorted(p.name for p in folder_of(node).glob("rec.*.json"))
    assert records == [f"rec.{f}.json" for f in FRAMES[:2]]
    assert json.loads((folder_of(node) / records[0]).read_text())["source"] == plates.replace("####", str(FRAMES[0]))


def test_farm_render_that_cannot_render_a_frame_fails_naming_it(terminal_nuke, tmp_path, artist_home):
    nuke = terminal_nuke
    plates = write_plates(tmp_path / "plates")
    node, script = save_farm_script(nuke, plates, tmp_path, "farm2", readable_source=False)
    proc = run_like_nuke(["-x", str(script), "-F", f"{FRAMES[0]}-{FRAMES[0]}"], home=artist_home,
                         nuke_path=str(NUKE_DIR))
    assert proc.returncode != 0
    assert f"{node.name()}: frame {FRAMES[0]} is not rendered" in proc.stderr
    assert not (tmp_path / "farm2").exists() or not any((tmp_path / "farm2").iterdir())
