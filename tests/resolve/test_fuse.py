"""The FilmStyle Fuse under LuaJIT (lupa) in a stand-in of the Fuse environment, rendering real
frames through the real bridge and a real worker on 127.0.0.1."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from lupa import lua51

from filmstyle_plugin.client import WorkerClient
from filmstyle_plugin.fuse_gen import RESOLVE_COLOURSPACES, fuse_inputs
from filmstyle_plugin.schema import load_schema
from tests.resolve.conftest import H, ROOT, W, plate_rgb, read_rgb, write_exr
from tests.resolve.fuse_standin import FuseHost

FUSES = sorted((ROOT / "resolve" / "Fuses").glob("*.fuse"))
FUSE = ROOT / "resolve" / "Fuses" / "FilmStyle.fuse"
ACESCG = [label for label, name in RESOLVE_COLOURSPACES].index("ACEScg")


def rgba(frame: int) -> np.ndarray:
    return np.concatenate([plate_rgb(frame), np.ones((H, W, 1), np.float32)], axis=-1)


@pytest.fixture
def comp(filmstyle_env, tmp_path):
    return FuseHost(FUSE, tmp_path / "Temp")


def new_tool(comp: FuseHost, frame: int = 1001, name: str = "FilmStyle1"):
    tool = comp.add_tool(name)
    tool.connect("Input", rgba(frame), depth=8)
    tool.set("InputColorspace", ACESCG)  # the plates are scene-linear ACEScg
    return tool


def bridge_log(comp: FuseHost, tool: str = "FilmStyle1") -> list[str]:
    logs = sorted((comp.temp_dir / "filmstyle" / "tools").glob(f"*.{tool}.*/bridge.log"))
    return [line.split(" ", 2)[2] for log in logs for line in log.read_text().splitlines()]


def direct(tmp: Path, frames: dict[int, np.ndarray], **look) -> dict[int, np.ndarray]:
    """The same pixels rendered as a sequence job through the same worker."""
    for f, px in frames.items():
        write_exr(tmp / "direct" / f"in.{f}.exr", px, "float")
    job = {"filmstyle": 2, "input": str(tmp / "direct" / "in.####.exr"), "output": str(tmp / "direct" / "out.####.exr"),
           "frames": f"{min(frames)}-{max(frames)}", "overwrite": True,
           "color": {"input_colorspace": "ACEScg"}, "styles": [{"style": "starry-blue", "weight": 1.0}], **look}
    client = WorkerClient.connect(start=False)
    final = client.wait(client.submit(job)["id"], timeout=300)
    assert final["state"] == "done", final
    return {f: read_rgb(tmp / "direct" / f"out.{f}.exr") for f in frames}


def test_every_fuse_is_lua_51():
    runtime = lua51.LuaRuntime()
    load = runtime.eval("function(src, name) local f, err = loadstring(src, name); return f ~= nil, err end")
    for path in FUSES:
        ok, err = load(path.read_text(encoding="utf-8"), path.name)
        assert ok, f"{path.name}: {err}"
    luac = shutil.which("luac5.1") or shutil.which("luac")
    if luac is None:
        pytest.skip("luac not installed (Debian lua5.1); checked with lupa's Lua 5.1 only")
    version = subprocess.run([luac, "-v"], capture_output=True, text=True)
    if "5.1" not in version.stdout + version.stderr:
        pytest.skip(f"{luac} is not Lua 5.1")
    proc = subprocess.run([luac, "-p", *map(str, FUSES)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_registration_and_inputs_come_from_the_schema(comp):
    tool = comp.add_tool()
    attrs = tool.registered.attrs
    assert tool.registered.name == "FilmStyle" and attrs.REGS_Category
    assert attrs.REG_SupportsDoD and attrs.REG_OpNoMask
    generated = []
    for inp in fuse_inputs():
        generated.append(inp.id)
        if inp.other_id:
            generated.append(inp.other_id)
    assert tool.input_ids() == ["Input", "Mask", *generated, "Status"]
    by_name = {p.name: p for p in load_schema()}
    style = tool.input("Style")
    items = style["items"]  # (.items is the Lua table's own method)
    assert [items[i] for i in range(1, len(items) + 1)] == by_name["style"].choices
    assert style.value == by_name["style"].choices.index("starry-blue")  # 0-based combo index
    strength = tool.input("Strength")
    assert (strength.attrs.INP_MinAllowed, strength.attrs.INP_MaxAllowed) == tuple(by_name["strength"].range)
    tool.set("Strength", 7.0)
    assert tool.input("Strength").value == by_name["strength"].range[1]  # clamped, as MinAllowed/MaxAllowed do


def test_a_frame_renders_through_the_worker_and_comes_back_like_the_input(comp, tmp_path):
    tool = new_tool(comp)
    tool.set("Strength", 0.8)
    out, window, depth = tool.render(1001)
    assert tool.status() == "Frame 1001: stylized", tool.status()
    assert tool.console == []
    assert window == (0, 0, W, H) and depth == 8
    ref = direct(tmp_path, {1001: rgba(1001)}, strength=0.8)[1001]
    np.testing.assert_allclose(out[..., :3], ref, atol=1e-5)
    np.testing.assert_array_equal(out[..., 3], 1.0)
    assert np.abs(out[..., :3] - rgba(1001)[..., :3]).mean() > 0.01
    assert bridge_log(comp)[-1].startswith("frame 1001: rendered")
    # Nothing the Fuse wrote for the request is left behind.
    work = next((comp.temp_dir / "filmstyle" / "tools").iterdir())
    assert sorted(p.name for p in work.iterdir()) == ["bridge.log"]


def test_same_pixels_and_values_come_from_the_cache_and_keys_are_read_per_frame(comp, tmp_path):
    tool = new_tool(comp)
    tool.animate("Strength", {1001: 0.3, 1002: 0.9})
    first, *_ = tool.render(1001)
    again, *_ = tool.render(1001)
    np.testing.assert_array_equal(first, again)
    assert bridge_log(comp)[-2:] == [bridge_log(comp)[-2], bridge_log(comp)[-2].replace("rendered", "cached")]
    tool.connect("Input", rgba(1002), depth=8)
    second, *_ = tool.render(1002)
    ref = direct(tmp_path, {1001: rgba(1001)}, strength=0.3)[1001]
    np.testing.assert_allclose(first[..., :3], ref, atol=1e-5)
    ref2 = direct(tmp_path / "b", {1002: rgba(1002)}, strength=0.9)[1002]
    np.testing.assert_allclose(second[..., :3], ref2, atol=1e-5)
    # Another tool with the same input and values shares the result.
    other = new_tool(comp, name="FilmStyle2")
    other.animate("Strength", {1001: 0.3})
    shared, *_ = other.render(1001)
    np.testing.assert_array_equal(shared, first)
    assert bridge_log(comp, "FilmStyle2") == [bridge_log(comp)[0].replace("rendered", "cached")]


def test_temporal_frames_in_order_match_a_sequence_render_and_a_jump_restarts(comp, tmp_path):
    tool = new_tool(comp)
    tool.set("Temporal", 0.6)
    got = {}
    for f in (1001, 1002, 1003):
        tool.connect("Input", rgba(f), depth=8)
        got[f], *_ = tool.render(f)
    ref = direct(tmp_path, {f: rgba(f) for f in (1001, 1002, 1003)}, temporal=0.6)
    for f in got:
        np.testing.assert_allclose(got[f][..., :3], ref[f], atol=1e-5, err_msg=f"frame {f}")
    tool.connect("Input", rgba(1010), depth=8)
    jumped, *_ = tool.render(1010)
    np.testing.assert_allclose(jumped[..., :3], direct(tmp_path / "j", {1010: rgba(1010)}, temporal=0.6)[1010], atol=1e-5)
    log = bridge_log(comp)
    assert "after" in log[1] and "after" in log[2] and "after" not in log[3], log
    # Playing 1001-1002 again: the same chain, served from the cache.
    for f in (1001, 1002):
        tool.connect("Input", rgba(f), depth=8)
        again, *_ = tool.render(f)
        np.testing.assert_array_equal(again, got[f])
    assert bridge_log(comp)[-2:] == ["frame 1001: cached " + log[0].split()[-1],
                                     "frame 1002: cached " + log[1].split()[3]]


def test_the_mask_input_limits_the_look(comp):
    tool = new_tool(comp)
    mask = np.zeros((H, W, 4), np.float32)
    mask[:, : W // 2, 3] = 1.0  # alpha: the left half
    tool.connect("Mask", mask, depth=8)
    out, *_ = tool.render(1001)
    src = rgba(1001)
    np.testing.assert_array_equal(out[:, W // 2 + 1:], src[:, W // 2 + 1:])  # outside: bit for bit
    assert np.abs(out[:, : W // 2 - 1, :3] - src[:, : W // 2 - 1, :3]).mean() > 0.01


def test_a_smaller_data_window_is_kept(comp):
    tool = comp.add_tool()
    tool.set("InputColorspace", ACESCG)
    window = (8, 4, 56, 40)  # left, bottom, right, top: a DoD inside the 64x48 frame
    tool.connect("Input", rgba(1001), window=window, depth=7)
    out, out_window, depth = tool.render(1001)
    assert out_window == window and depth == 7
    left, bottom, right, top = window
    rows = slice(H - top, H - bottom)  # top-down rows of the window
    inside = out[rows, left:right]
    assert np.abs(inside[..., :3] - rgba(1001)[rows, left:right, :3]).mean() > 0.01
    outside = out.copy()
    outside[rows, left:right] = 0
    assert not outside.any()


def stripes(out: np.ndarray, src: np.ndarray) -> float:
    """Share of pixels turned red (the error frame)."""
    red = (out[..., 0] > src[..., 0] + 0.3) & (out[..., 1] < src[..., 1] + 1e-6)
    return float(red.mean())


def test_no_filmstyle_environment_is_an_error_frame_and_one_console_line(comp, monkeypatch, tmp_path):
    monkeypatch.setenv("FILMSTYLE_CONFIG_DIR", str(tmp_path / "empty-config"))
    tool = new_tool(comp)
    out, window, _ = tool.render(1001)
    assert window == (0, 0, W, H)
    assert 0.2 < stripes(out, rgba(1001)) < 0.6
    assert len(tool.console) == 1 and "no filmstyle environment" in tool.console[0]
    assert "installer" in tool.status()


def test_a_refused_request_is_an_error_frame_with_the_workers_reason(comp, tmp_path):
    tool = new_tool(comp)
    tool.set("StyleImage", str(tmp_path / "missing.jpg"))
    out, *_ = tool.render(1001)
    assert stripes(out, rgba(1001)) > 0.2
    assert len(tool.console) == 1 and "missing.jpg" in tool.console[0], tool.console
    tool.set("StyleImage", "")
    tool.set("InputColorspace", [label for label, _ in RESOLVE_COLOURSPACES].index("Other (type the name below)"))
    out, *_ = tool.render(1001)
    assert "'Other' is chosen" in tool.console[-1]
    tool.set("InputColorspaceOther", "not a colourspace")
    out, *_ = tool.render(1001)
    assert "not a colourspace" in tool.console[-1] and stripes(out, rgba(1001)) > 0.2
    tool.set("InputColorspaceOther", "ACEScg")
    out, *_ = tool.render(1001)
    assert tool.status() == "Frame 1001: stylized" and len(tool.console) == 3


def test_a_precalc_request_runs_nothing(comp):
    tool = new_tool(comp)
    pre = tool._process(1001, precalc=True)
    assert tool.pixels._get(tool.g.FS_ImageId(pre)).nodata
    assert tool.pixels.writes == [] and not (comp.temp_dir / "filmstyle").exists()


def test_the_bridge_answers_one_line_for_a_bad_request(filmstyle_env, tmp_path):
    import sys

    request = tmp_path / "request.json"
    request.write_text(json.dumps({"version": 1, "tool": "t", "frame": 1, "input": str(tmp_path / "none.exr"),
                                   "cache_dir": str(tmp_path), "work_dir": str(tmp_path), "values": {}}))
    proc = subprocess.run([sys.executable, str(ROOT / "plugin" / "filmstyle_plugin" / "fuse_bridge.py"), "render",
                           str(request)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1 and proc.stderr == ""
    assert proc.stdout.strip().splitlines() == [f"FILMSTYLE ERROR input frame {tmp_path / 'none.exr'} was not written"]
