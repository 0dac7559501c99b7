"""What the stricter stand-in exposed in the node, each fixed and held by a test.

(Rendering from ``nuke -t``, where the node used to call executeInMainThreadWithResult on the main
thread, is the terminal half of every test in test_node.py.)
"""

from __future__ import annotations

import os
import shutil
import sys
import time

import numpy as np
import pytest

from tests.nuke.conftest import FRAMES, H, W, image_rgb, kill_worker, rgb_of
from tests.nuke.test_node import folder_of, make_graph, out_path, press_render


def test_paths_written_into_knobs_survive_tcl_on_windows(terminal_nuke):
    from filmstyle_nuke.knobs import path_for_knob

    nuke = terminal_nuke
    read = nuke.nodes.Read()
    native = "C:\\shots\\a\\new\\plate.####.exr"
    read["file"].setValue(native)
    assert read["file"].value() != native.replace("####", "%04d")  # what the old node did: mangled
    read["file"].setValue(path_for_knob(native, windows=True))
    assert read["file"].value() == "C:/shots/a/new/plate.%04d.exr"
    assert path_for_knob("/a\\b/c", windows=False) == "/a\\b/c"  # a POSIX name may hold a backslash


def test_a_typed_path_is_read_as_typed_not_tcl_evaluated(terminal_nuke, plates, tmp_path):
    """A style image in a folder whose name holds a backslash: TCL evaluation would drop it."""
    from filmstyle.tools.sheets import sample_photograph

    nuke = terminal_nuke
    folder = tmp_path / "paint\\ings"
    folder.mkdir()
    painting = folder / "painting.png"
    shutil.copy(sample_photograph(), painting)
    node = make_graph(nuke, plates, tmp_path)
    node["last"].setValue(FRAMES[0])
    node["style_image"].setValue(str(painting))
    assert node["style_image"].value() != str(painting)
    summary = press_render(nuke, node)
    assert summary["state"] == "done", nuke._standin_messages()


def test_cache_folder_typed_with_backslashes_is_rewritten_for_the_internal_read(terminal_nuke, plates, tmp_path):
    nuke = terminal_nuke
    node = make_graph(nuke, plates, tmp_path)
    node["last"].setValue(FRAMES[0])
    node["fs_cache_root"].setValue(str(tmp_path / "cache").replace("/", "\\"))
    assert press_render(nuke, node)["state"] == "done", nuke._standin_messages()
    assert node["fs_cache_root"].getText() == str(tmp_path / "cache")
    assert (tmp_path / "cache" / node["fs_id"].value() / "out.1001.exr").is_file()
    assert image_rgb(node.image(1001)).any()


def test_unsaved_script_is_refused_with_one_line(terminal_nuke, plates, tmp_path):
    nuke = terminal_nuke
    node = make_graph(nuke, plates, tmp_path)
    nuke.root()["name"].setValue("")
    assert press_render(nuke, node)["state"] == "failed"
    assert "save the script first" in nuke._standin_messages()[-1]


def test_a_pasted_node_gets_its_own_id_and_cache(terminal_nuke, plates, tmp_path):
    nuke = terminal_nuke
    node = make_graph(nuke, plates, tmp_path)
    assert press_render(nuke, node)["state"] == "done"
    stamps = {f: out_path(node, f).stat().st_mtime_ns for f in FRAMES}
    for n in nuke.allNodes():
        n.setSelected(n is node)
    nuke.nodeCopy()
    copy = nuke.nodePaste()
    assert copy.name() != node.name() and copy["fs_id"].value() != node["fs_id"].value()
    assert folder_of(copy) != folder_of(node)
    with pytest.raises(RuntimeError, match="No such file"):  # not rendered: an error, not black
        copy.image(1002)
    copy.setInput(0, node.input(0))
    copy["style"].setValue("night-swirl")
    assert press_render(nuke, copy)["written"] == list(FRAMES)
    assert {f: out_path(node, f).stat().st_mtime_ns for f in FRAMES} == stamps
    # Reloading the script keeps both ids (each node keeps its frames).
    nuke.scriptSave()
    ids = sorted(n["fs_id"].value() for n in (node, copy))
    nuke.scriptOpen(nuke.root()["name"].value())
    assert sorted(n["fs_id"].value() for n in nuke.allNodes("Group")) == ids


def test_an_animated_non_animatable_knob_is_refused(terminal_nuke, plates, tmp_path):
    nuke = terminal_nuke
    node = make_graph(nuke, plates, tmp_path)
    knob = node["stroke_scale"]
    assert knob.setAnimated() is False  # Nuke's animation menu is off for it
    knob.clearFlag(nuke.NO_ANIMATION)   # e.g. a script saved by another version of the node
    knob.setValueAt(1.0, 1001)
    knob.setValueAt(2.0, 1004)
    assert press_render(nuke, node)["state"] == "failed"
    assert "stroke_scale: cannot be animated" in nuke._standin_messages()[-1]


class RecordingClient:
    """A real client to the running worker that keeps the jobs it submits."""

    def __init__(self):
        from filmstyle_plugin.client import WorkerClient

        self.client = WorkerClient.connect()
        self.jobs = []

    def __getattr__(self, name):
        return getattr(self.client, name)

    def submit(self, job):
        self.jobs.append(job)
        return self.client.submit(job)


def test_the_scripts_ocio_config_and_working_space_reach_the_worker(terminal_nuke, plates, tmp_path, monkeypatch):
    import PyOpenColorIO as OCIO

    from filmstyle import io
    from filmstyle.job import plan_from_cli
    from filmstyle.engine.pipeline import FramePipeline
    from filmstyle_nuke import bake

    nuke = terminal_nuke
    monkeypatch.delenv("OCIO", raising=False)
    config_path = tmp_path / "show.ocio"
    OCIO.Config.CreateFromFile("ocio://cg-config-latest").serialize(str(config_path))
    root = nuke.root()
    root["colorManagement"].setValue("OCIO")
    root["OCIO_config"].setValue("custom")
    root["customOCIOConfigPath"].setValue(str(config_path))
    root["workingSpaceLUT"].setValue("Linear Rec.709 (sRGB)")
    node = make_graph(nuke, plates, tmp_path)
    node["last"].setValue(FRAMES[0])
    nuke.allNodes("Read")[0]["colorspace"].setValue("Linear Rec.709 (sRGB)")
    client = RecordingClient()
    assert bake.render(node, client)["state"] == "done", nuke._standin_messages()
    assert client.jobs[0]["color"] == {"ocio": str(config_path), "input_colorspace": "Linear Rec.709 (sRGB)"}
    src = folder_of(node) / "src.1001.exr"
    want = FramePipeline(plan_from_cli(input=str(src), output=str(tmp_path / "ref.exr"), style="starry-blue",
                                       ocio=str(config_path), input_colorspace="Linear Rec.709 (sRGB)",
                                       proxy=node["proxy"].value())
                         ).stylize_frame(io.read_frame(src), 1001)
    np.testing.assert_allclose(rgb_of(out_path(node, 1001)), want, atol=1e-5)
    # $OCIO wins over the script, as in Nuke.
    monkeypatch.setenv("OCIO", "ocio://studio-config-latest")
    from filmstyle_nuke.colour import colour_settings

    assert colour_settings(node)["ocio"] == "ocio://studio-config-latest"


def test_worker_env_drops_what_the_host_set_for_its_own_python():
    from filmstyle_plugin.client import worker_env

    host_bin = "/opt/Nuke15.1v3"
    base = {"PATH": os.pathsep.join([host_bin, "/usr/bin"]), "PYTHONPATH": "/opt/Nuke15.1v3/plugins",
            "PYTHONHOME": "/opt/Nuke15.1v3", "LD_LIBRARY_PATH": "/opt/Nuke15.1v3", "HOME": "/home/a",
            "OCIO": "/show/config.ocio", "PYTHONSTARTUP": "x.py"}
    env = worker_env(base, host_executable=host_bin + "/Nuke15.1", extra={"CUDA_VISIBLE_DEVICES": "1"})
    assert env == {"PATH": "/usr/bin", "HOME": "/home/a", "OCIO": "/show/config.ocio", "CUDA_VISIBLE_DEVICES": "1"}


def test_gui_render_starts_a_clean_worker_without_blocking_the_ui(standin_module, plates, tmp_path, monkeypatch):
    """A fresh machine: no worker yet, and the host's launcher set PYTHONHOME/PYTHONPATH."""
    from filmstyle_nuke import bake
    from filmstyle_plugin.client import WorkerClient

    nuke = standin_module
    nuke._standin_reset(gui=True)
    nuke.root()["format"].setValue(f"{W} {H}")
    poison = tmp_path / "host_site"
    (poison / "filmstyle").mkdir(parents=True)
    (poison / "filmstyle" / "__init__.py").write_text("raise ImportError('the host application shadows filmstyle')\n")
    cfg = tmp_path / "cfg"
    monkeypatch.setenv("FILMSTYLE_CONFIG_DIR", str(cfg))
    monkeypatch.setenv("FILMSTYLE_PYTHON", sys.executable)
    monkeypatch.setenv("PYTHONPATH", str(poison))
    monkeypatch.setenv("PYTHONHOME", str(tmp_path / "no_such_python_home"))
    try:
        node = make_graph(nuke, plates, tmp_path)
        node["last"].setValue(FRAMES[1])
        started = time.monotonic()
        first = bake.render(node)
        returned_after = time.monotonic() - started
        assert first["state"] == "running" and WorkerClient.find() is None, (first, returned_after)
        src_stamp = (folder_of(node) / "src.1001.exr").stat().st_mtime_ns
        # A second press while the first runs is refused and rewrites nothing the worker reads.
        assert bake.render(node) == {"submitted": [], "state": "busy"}
        assert "already rendering" in nuke._standin_messages()[-1]
        assert (folder_of(node) / "src.1001.exr").stat().st_mtime_ns == src_stamp
        nuke._standin_pump(until=lambda: not bake.running(node), timeout=300)
        assert bake.last_result(node)["state"] == "done", nuke._standin_messages()
        assert all(not t.on_main_thread for t in nuke._standin_progress())
    finally:
        kill_worker(cfg)


def test_any_error_in_the_background_reaches_the_artist(standin_module, plates, tmp_path, worker_config):
    from filmstyle_nuke import bake

    nuke = standin_module
    nuke._standin_reset(gui=True)
    nuke.root()["format"].setValue(f"{W} {H}")
    node = make_graph(nuke, plates, tmp_path)

    class Broken:
        def submit(self, job):
            return {}["id"]  # a bug, not a WorkerError

    assert bake.render(node, Broken())["state"] == "running"
    nuke._standin_pump(until=lambda: not bake.running(node), timeout=60)
    assert bake.last_result(node)["state"] == "failed"
    assert nuke._standin_messages()[-1] == f"{node.name()}: KeyError: 'id'"
    assert nuke._app.state.messages_with_open_progress == 0


def test_knobs_follow_the_schemas_host_table(terminal_nuke, monkeypatch):
    """With ``hosts`` in the schema: its Nuke knob class is used, a parameter without one is not
    exposed, and the mask channel stays linked to the inner Keymix."""
    from filmstyle_nuke import knobs
    from filmstyle_nuke.node import create_node
    from filmstyle_plugin.schema import load_schema

    params = load_schema()
    for p in params:
        p.hosts = {"fuse": "x"} if p.name == "temporal" else {"nuke": "String_Knob" if p.name == "style" else
                                                               knobs._BY_TYPE[p.type]}
    monkeypatch.setattr(knobs, "load_schema", lambda: params)
    nuke = terminal_nuke
    node = create_node()
    assert node.knob("temporal") is None and node["style"].Class() == "String_Knob"
    assert node["mask_channel"].Class() == "Link_Knob"
    node["mask_channel"].setValue("rgba.green")
    with node:
        assert nuke.toNode("fs_keymix")["maskChannel"].value() == "rgba.green"
    assert "temporal" not in knobs.sample_values(node, [1001])
