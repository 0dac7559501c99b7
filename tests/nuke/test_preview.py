"""The node's preview proxy: the Render button previews at 1/2 by default; final renders never do."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tests.nuke.conftest import FRAMES, rgb_of
from tests.nuke.test_node import folder_of, make_graph, out_path, press_render


def rendered(path, frame, **kw) -> np.ndarray:
    from filmstyle import io
    from filmstyle.engine.pipeline import FramePipeline
    from filmstyle.job import plan_from_cli

    plan = plan_from_cli(input=str(path), output=str(Path(path).with_name("ref.exr")), style="starry-blue",
                         input_colorspace="scene_linear", **kw)
    return FramePipeline(plan).stylize_frame(io.read_frame(path), frame)


def test_the_proxy_knob_comes_from_the_schema_with_the_preview_default(terminal_nuke, plates, tmp_path):
    node = make_graph(terminal_nuke, plates, tmp_path)
    knob = node["proxy"]
    assert knob.Class() == "Enumeration_Knob"
    assert list(knob.values()) == ["full", "1/2", "1/4"]
    assert knob.value() == "1/2"


def test_render_button_previews_and_a_write_renders_final_frames(terminal_nuke, plates, tmp_path):
    nuke = terminal_nuke
    node = make_graph(nuke, plates, tmp_path)
    node["last"].setValue(FRAMES[1])
    assert press_render(nuke, node)["state"] == "done"
    src = folder_of(node) / f"src.{FRAMES[0]}.exr"
    preview = rgb_of(out_path(node, FRAMES[0]))
    np.testing.assert_allclose(preview, rendered(src, FRAMES[0], proxy="1/2"), atol=2e-3)
    full = rendered(src, FRAMES[0])
    assert np.abs(preview - full).mean() > 1e-3  # a preview, not the final frame
    # A Write renders the final frame, although the knob still says 1/2 ...
    write = nuke.nodes.Write(file=str(tmp_path / "final.####.exr"), inputs=[node], datatype="32 bit float")
    nuke.execute(write, FRAMES[0], FRAMES[0])
    np.testing.assert_allclose(rgb_of(tmp_path / f"final.{FRAMES[0]}.exr"), full, atol=1e-5)
    # ... and the full-quality frame now in the cache serves the next preview as it is.
    result = press_render(nuke, node)
    assert result["state"] == "up to date", result
    np.testing.assert_allclose(rgb_of(out_path(node, FRAMES[0])), full, atol=1e-5)


def test_a_full_quality_knob_renders_final_frames_that_writes_reuse(terminal_nuke, plates, tmp_path):
    nuke = terminal_nuke
    node = make_graph(nuke, plates, tmp_path)
    node["proxy"].setValue("full")
    node["last"].setValue(FRAMES[0])
    assert press_render(nuke, node)["state"] == "done"
    stamp = out_path(node, FRAMES[0]).stat().st_mtime_ns
    write = nuke.nodes.Write(file=str(tmp_path / "final.####.exr"), inputs=[node], datatype="32 bit float")
    nuke.execute(write, FRAMES[0], FRAMES[0])
    assert out_path(node, FRAMES[0]).stat().st_mtime_ns == stamp  # not rendered again
