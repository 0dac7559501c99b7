""""FilmStyle: Add node": a job's curves as BezierSpline keys on the Fuse's own inputs, equal to the
render's curves at every frame."""

from __future__ import annotations

import numpy as np
import pytest

from filmstyle.job.curves import Key, parse_curve
from filmstyle_plugin.fuse_gen import RESOLVE_COLOURSPACES
from filmstyle_plugin.resolve import add_node as node
from filmstyle_plugin.resolve.ui import run_add_node
from tests.resolve import fusion_ui_standin as fus
from tests.resolve import resolve_standin as rs
from tests.resolve.conftest import ROOT
from tests.resolve.fuse_standin import FuseHost


def spline_of(keys) -> fus.BezierSpline:
    spline = fus.BezierSpline()
    spline.SetKeyFrames(node.bezier_keyframes(keys), True)
    return spline


@pytest.mark.parametrize("text", [
    "1001:0, 1040:1",
    "1001:0 smooth, 1009:1 smooth, 1024:0.3",
    "1:0 smooth, 4:0.9 smooth, 5:0.2 smooth, 12:0.25 smooth, 20:1",
    "10:0.5 hold, 20:1 smooth, 30:0 hold, 31:0.4",
    "1001:1, 1001.5:0 smooth, 1003:0.5",
])
def test_bezier_keys_reproduce_filmstyle_curves(text):
    curve = parse_curve(text)
    keys = [(k.frame, k.value, k.interp) for k in curve.keys]
    spline = spline_of(keys)
    first, last = keys[0][0] - 2, keys[-1][0] + 2
    whole = np.arange(np.floor(first), np.ceil(last) + 1)
    got = np.array([spline.value_at(f) for f in whole])
    np.testing.assert_allclose(got, curve.sample(whole), atol=1e-9)
    # Between whole frames too, except inside the last frame of a hold (the step is drawn over it).
    held = [(a[0], b[0]) for a, b in zip(keys, keys[1:]) if a[2] == "hold"]
    fractional = [f for f in np.linspace(first, last, 997) if not any(b - 1 < f < b for _, b in held)]
    np.testing.assert_allclose([spline.value_at(f) for f in fractional], curve.sample(fractional), atol=1e-9)


@pytest.mark.parametrize("keys", [
    [(0.0, 0.0, "smooth"), (3.0, 1.0, "smooth"), (4.0, 1.5, "smooth"), (10.0, 0.0, "linear")],
    [(0.0, 0.0, "smooth"), (1.0, 2.0, "hold"), (5.0, 1.0, "smooth"), (6.0, 3.0, "smooth"), (9.0, 3.5, "linear")],
])
def test_tangents_are_the_cores(keys):
    import numpy as np
    from filmstyle.job.curves import _smooth_tangents

    core = _smooth_tangents(tuple(Key(f, v, i) for f, v, i in keys), np.array([k[0] for k in keys]),
                            np.array([k[1] for k in keys]))
    np.testing.assert_allclose(node.smooth_tangents(keys), core, rtol=1e-12)


def test_a_migration_job_becomes_two_looks_a_blend_and_keyed_strength():
    job = {"styles": [{"style": "pale-wash", "weight": {"keys": [[1001, 1, "linear"], [1024, 0, "linear"]]}},
                      {"style": "starry-blue", "weight": {"keys": [[1001, 0, "linear"], [1024, 1, "linear"]]}}],
           "strength": {"keys": [[1001, 0, "smooth"], [1009, 1, "smooth"], [1024, 0.3, "linear"]]},
           "temporal": 0.6, "color": {"input_colorspace": "DaVinci Intermediate WideGamut"}, "device": "cpu"}
    static, curves = node.node_settings(job)
    assert static["Style"] == 0 and static["Style2"] == 20 and static["Temporal"] == 0.6
    assert static["InputColorspace"] == [n for _, n in RESOLVE_COLOURSPACES].index("DaVinci Intermediate WideGamut")
    assert curves["Blend"] == [(1001.0, 0.0, "linear"), (1024.0, 1.0, "linear")]
    assert len(curves["Strength"]) == 3


def test_weights_that_do_not_sum_to_a_constant_are_keyed_per_frame():
    job = {"styles": [{"style": "pale-wash", "weight": 1.0},
                      {"style": "starry-blue", "weight": {"keys": [[1, 0, "linear"], [5, 3, "linear"]]}}]}
    _, curves = node.node_settings(job)
    assert [f for f, _, _ in curves["Blend"]] == [1, 2, 3, 4, 5]
    assert [v for _, v, _ in curves["Blend"]] == pytest.approx([0, 0.75 / 1.75, 1.5 / 2.5, 2.25 / 3.25, 0.75])


@pytest.mark.parametrize("job, message", [
    ({"styles": [{"style": "a"}, {"style": "b"}, {"style": "c"}]}, "one or two looks"),
    ({"styles": [{"style": "starry-blue"}], "regions": [{"mask": {}}]}, "regions"),
    ({"styles": [{"style": "/art/a.png"}, {"style": "starry-blue"}]}, "two built-in looks, or uses one style image"),
    ({"styles": [{"style": "starry-blue"}], "device": "tpu"}, "'tpu' is not one of"),
])
def test_what_the_node_cannot_express_is_refused(job, message):
    with pytest.raises(node.NodeError, match=message):
        node.node_settings(job)


@pytest.fixture
def fuse_registry(filmstyle_env, tmp_path):
    """The Fuse's real inputs (run under the Lua stand-in) as the comp's registry entry."""
    tool = FuseHost(ROOT / "resolve" / "Fuses" / "FilmStyle.fuse", tmp_path).add_tool()
    return {node.FUSE_REG_ID: {i: tool.input(i).value for i in tool.input_ids() if tool.input(i).value is not None}}


def test_the_window_adds_the_node_keyed_from_a_job_file(fuse_registry, tmp_path):
    job_file = tmp_path / "migration.yaml"
    job_file.write_text(
        "filmstyle: 1\ninput: shot/plate.####.exr\noutput: out/x.####.exr\nframes: 1001-1024\n"
        "styles:\n  - {style: pale-wash, weight: '1001:1, 1024:0'}\n  - {style: starry-blue, weight: '1001:0, 1024:1'}\n"
        "strength: '1001:0 smooth, 1009:1 smooth, 1024:0.3'\npreserve_color: 0.5\n")
    comp = fus.Comp(fuse_registry, {"COMPN_RenderStart": 0.0})
    fusion = fus.FusionApp(comp)
    resolve = rs.Resolve(None, fusion)

    def pilot(win):
        if not win.Find("JobFile").Text:
            win.Find("JobFile").Text = str(job_file)
            fusion.UIManager.click(win, "Add")
        elif comp.tools:
            fusion.UIManager.close(win)

    fusion.UIManager.autopilot = pilot
    window = run_add_node({"resolve": resolve, "bmd": fus.BMD(resolve)})
    assert window is not None and len(comp.tools) == 1, window.messages
    tool = comp.tools[0]
    assert tool.ignored == [], "every input the script set exists on the Fuse"
    assert comp.undo == [("start", "Add FilmStyle"), ("end", True)]
    assert tool.GetInput("Style") == 0 and tool.GetInput("Style2") == 20 and tool.GetInput("PreserveColor") == 0.5
    strength = parse_curve("1001:0 smooth, 1009:1 smooth, 1024:0.3")
    blend = parse_curve("1001:0, 1024:1")
    for comp_frame in range(0, 24):
        job_frame = comp_frame + 1001  # the job's first frame landed on the comp's render start
        assert tool.GetInput("Strength", comp_frame) == pytest.approx(strength.value_at(job_frame), abs=1e-9)
        assert tool.GetInput("Blend", comp_frame) == pytest.approx(blend.value_at(job_frame), abs=1e-9)
    assert any("job frames + -1001 = comp frames" in m for m in window.messages)


def test_a_missing_fuse_is_a_message(fuse_registry, tmp_path):
    comp = fus.Comp({}, {})
    with pytest.raises(node.NodeError, match="a new Fuse needs a restart"):
        node.add_node(comp, {"styles": [{"style": "starry-blue"}]})
    assert comp.undo == [("start", "Add FilmStyle"), ("end", True)]  # the undo group is always closed
