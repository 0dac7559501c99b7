"""The stand-in is as strict as Nuke where the node depends on it (each behaviour cites its
reference in the stand-in's source); these tests keep it that way."""

from __future__ import annotations

import threading

import pytest

from tests.nuke.conftest import NUKE_DIR, W, H, image_rgb


@pytest.fixture
def nk(standin_module):
    standin_module._standin_reset(gui=False)
    standin_module.root()["format"].setValue(f"{W} {H}")
    return standin_module


def test_execute_in_main_thread_from_the_main_thread_raises_in_both_modes(nk):
    for gui in (False, True):
        nk._standin_set_gui(gui)
        with pytest.raises(RuntimeError, match="main thread"):
            nk.executeInMainThreadWithResult(lambda: 1)
        with pytest.raises(RuntimeError, match="main thread"):
            nk.executeInMainThread(lambda: 1)


def test_gui_threads_go_through_the_main_thread(nk):
    nk._standin_set_gui(True)
    node = nk.nodes.Switch()
    results, errors = [], []

    def worker():
        try:
            node["which"].setValue(1)
        except RuntimeError as exc:
            errors.append(str(exc))
        results.append(nk.executeInMainThreadWithResult(lambda: node["which"].setValue(1) and "set"))

    t = threading.Thread(target=worker)
    t.start()
    nk._standin_pump(until=lambda: bool(results), timeout=10)
    t.join()
    assert errors and "background thread" in errors[0]
    assert results == ["set"] and node["which"].value() == 1
    with pytest.raises(RuntimeError, match="main thread"):
        nk.ProgressTask("on the main thread")


def test_string_and_file_knobs_are_tcl_evaluated(nk):
    nk.root()["name"].setValue("/shots/a/comp_v001.nk")
    read = nk.nodes.Read()
    read["file"].setValue("C:\\Users\\art\\plate.####.exr")
    assert read["file"].getText() == "C:\\Users\\art\\plate.####.exr"
    assert read["file"].value() == "C:Users\x07rtplate.%04d.exr"  # Tcl: \U -> U, \a -> bell
    read["file"].setValue("[file dirname [value root.name]]/render/x.####.exr")
    assert read["file"].value() == "/shots/a/render/x.%04d.exr"
    label = nk.String_Knob("note", "note")
    read.addKnob(label)
    label.setValue("[python {1 + 2}] frames")
    assert label.value() == "3 frames" and label.getText() == "[python {1 + 2}] frames"
    label.setValue("[no_such_command]")
    with pytest.raises(RuntimeError, match="invalid command"):
        label.value()


def test_animation_is_smooth_by_default(nk):
    knob = nk.Double_Knob("k", "k")
    nk.nodes.Dot().addKnob(knob)
    for frame, value in ((1, 0.0), (5, 1.0), (9, 0.0), (13, 1.0)):
        knob.setValueAt(value, frame)
    assert [k.interpolation for k in knob.animation().keys()] == [nk.SMOOTH] * 4
    assert knob.getValueAt(5) == 1.0 and knob.getValueAt(100) == 1.0
    mid = knob.getValueAt(3)
    assert mid != pytest.approx(0.5) and 0.0 < mid < 1.0   # not linear ...
    assert all(0.0 <= knob.getValueAt(f / 4) <= 1.0 for f in range(4, 52))  # ... and no overshoot
    knob.setFlag(nk.NO_ANIMATION)
    other = nk.Double_Knob("s", "s")
    other.setFlag(nk.NO_ANIMATION)
    nk.nodes.Dot().addKnob(other)
    assert other.setAnimated() is False and other.setValueAt(1.0, 3) is False and not other.isAnimated()


def test_read_of_a_missing_frame_obeys_on_error(nk, tmp_path):
    from nuke import _exr

    img = _exr.Image(W, H)
    img.planes[0][0] = 0.5
    _exr.write_exr(str(tmp_path / "p.1001.exr"), img)
    read = nk.nodes.Read(file=str(tmp_path / "p.####.exr"), first=1001, last=1003)
    with pytest.raises(RuntimeError, match="No such file"):
        read.image(1002)                                     # default: error
    read["on_error"].setValue("black")
    assert not image_rgb(read.image(1002)).any()             # black, silently
    read["on_error"].setValue("nearest frame")
    assert image_rgb(read.image(1002))[0, 0, 0] == 0.5
    assert image_rgb(read.image(900))[0, 0, 0] == 0.5          # before the range: hold


def test_keymix_copies_input_1_over_input_0_through_input_2(nk):
    from nuke import _exr

    def constant(value):
        img = _exr.Image(W, H)
        for c in range(4):
            img.planes[c] = type(img.planes[c])("f", [value]) * (W * H)
        return img

    class Const(nk.Node):
        CLASS = "Const"

        def __init__(self, value):
            super().__init__()
            self.value = value

        def _compute(self, f):
            return constant(self.value)

    b, a, m = Const(0.25), Const(0.75), Const(1.0)
    km = nk.nodes.Keymix()
    km.setInput(0, b)
    km.setInput(1, a)
    with pytest.raises(RuntimeError, match="without a mask"):
        km.image(1)
    km.setInput(2, m)
    assert image_rgb(km.image(1)).mean() == pytest.approx(0.75)   # A where the mask is white


def test_execute_inside_a_render_callback_is_refused_and_callbacks_abort(nk, tmp_path):
    from nuke import _exr

    _exr.write_exr(str(tmp_path / "p.0001.exr"), _exr.Image(W, H))
    read = nk.nodes.Read(file=str(tmp_path / "p.####.exr"), first=1, last=1)
    inner = nk.nodes.Write(file=str(tmp_path / "inner.####.exr"), inputs=[read])
    outer = nk.nodes.Write(file=str(tmp_path / "outer.####.exr"), inputs=[read])
    nk.addBeforeFrameRender(lambda: nk.execute(inner, 1, 1))
    with pytest.raises(RuntimeError, match="already executing"):
        nk.execute(outer, 1, 1)
    assert not (tmp_path / "outer.0001.exr").exists()
    nk._standin_reset()
    nk.root()["format"].setValue(f"{W} {H}")
    seen = []
    read = nk.nodes.Read(file=str(tmp_path / "p.####.exr"), first=1, last=1)
    w = nk.nodes.Write(file=str(tmp_path / "w.####.exr"), inputs=[read])
    nk.addBeforeFrameRender(lambda: seen.append((nk.thisNode().name(), nk.frame())))
    nk.execute(w, 1, 1)
    assert seen == [(w.name(), 1)] and (tmp_path / "w.0001.exr").exists()


def test_nuke_x_runs_init_not_menu_and_renders_writes_in_groups(nk, tmp_path):
    from nuke import _exr
    from tests.nuke.conftest import run_like_nuke

    plugin = tmp_path / "plugins"
    plugin.mkdir()
    (plugin / "init.py").write_text("import nuke\nnuke.INIT_RAN = True\n"
                                    "nuke.addBeforeFrameRender(lambda: print('init callback', nuke.frame()))\n")
    (plugin / "menu.py").write_text("raise SystemExit('menu.py must not run for -x')\n")
    _exr.write_exr(str(tmp_path / "p.0001.exr"), _exr.Image(W, H))
    nk.root()["name"].setValue(str(tmp_path / "s.json"))
    group = nk.nodes.Group()
    with group:
        inner_read = nk.nodes.Read(file=str(tmp_path / "p.####.exr"), first=1, last=1)
        nk.nodes.Write(file=str(tmp_path / "in_group.####.exr"), inputs=[inner_read])
    nk.scriptSave(str(tmp_path / "s.json"))
    proc = run_like_nuke(["-x", str(tmp_path / "s.json"), "-F", "1-1"], home=tmp_path, nuke_path=str(plugin))
    assert proc.returncode == 0, proc.stderr
    assert "init callback 1" in proc.stdout
    assert (tmp_path / "in_group.0001.exr").exists()


def test_on_create_runs_for_pasted_and_loaded_nodes_inner_first(nk, tmp_path):
    order = []
    nk.addOnCreate(lambda: order.append(nk.thisNode().name()))
    g = nk.nodes.Group(name="G")
    with g:
        nk.nodes.Dot(name="inner")
    nk.root()["name"].setValue(str(tmp_path / "s.json"))
    nk.scriptSave()
    order.clear()
    g.setSelected(True)
    nk.nodeCopy()
    pasted = nk.nodePaste()
    assert pasted.name() == "G1" and order == ["inner", "G1"]
    order.clear()
    nk.scriptOpen(str(tmp_path / "s.json"))
    assert order[:2] == ["inner", "G"]


def test_menus_exist_only_in_the_gui(nk):
    with pytest.raises(RuntimeError, match="terminal"):
        nk.menu("Nodes")
    nk._standin_set_gui(True)
    assert nk.menu("Nodes").addMenu("X").name() == "X"
    assert (NUKE_DIR / "menu.py").is_file()
