""""FilmStyle: Stylize clips" against the Resolve and UIManager stand-ins, rendering through a real worker.

The timeline starts at 01:00:00:00 (frame 86400 at 24 fps); the item sits at 01:00:02:00 and uses
media offsets 10-21 of a 40-frame EXR sequence numbered 1001-1040, so its frames are 1011-1022 and,
with 8 frames of handles, 1003-1030 are rendered and the take covers media frames 8-19 of the result.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from filmstyle_plugin.client import WorkerClient
from filmstyle_plugin.resolve import stylize as flow
from filmstyle_plugin.resolve import timeline as tl_mod
from filmstyle_plugin.resolve.ui import run_stylize
from tests.resolve import fusion_ui_standin as fus
from tests.resolve import resolve_standin as rs
from tests.resolve.conftest import read_rgb, write_sequence

MARKERS = {10.0: "style=starry-blue strength=0.2", 15.0: "strength=1 smooth", 21.0: "style=pale-wash strength=0.5"}


class World:
    def __init__(self, root: Path, version=(19, 1, 0), show_individual_frames: bool = False) -> None:
        self.root = root
        self.pattern = write_sequence(root / "plates", 1001, 1040)
        self.mpi = rs.sequence_item(self.pattern, 1001, 1040)
        self.timeline = rs.Timeline(version=version)
        self.pool = rs.MediaPool(show_individual_frames)
        self.project = rs.Project(pool=self.pool)
        self.project.add_timeline(self.timeline)
        self.fusion = fus.FusionApp()
        self.resolve = rs.Resolve(self.project, self.fusion, version=version)
        self.ui = self.fusion.UIManager

    def item(self, left=10, duration=12, at=48, markers=MARKERS, track=1):
        item = self.timeline.append(self.mpi, left=left, duration=duration, record_offset=at, track=track)
        for frame, note in markers.items():
            assert item.AddMarker(frame, "Green", "filmstyle", note, 1.0)
        return item

    def run(self, *actions, **fields):
        """Open the window, set ``fields``, press each button in ``actions`` when the window is idle."""
        steps = list(actions)
        state = {"set": False, "pressed": None}

        def pilot(win):
            if not state["set"]:
                for key, value in fields.items():
                    element = win.Find(key)
                    if element._kind in ("ComboBox",):
                        element.CurrentIndex = value
                    elif element._kind == "SpinBox":
                        element.Value = value
                    else:
                        element.Text = value
                state["set"] = True
            busy = not win.Find("Stylize").Enabled
            if not steps or (busy and steps[0] != "Cancel"):
                if not busy and not steps:
                    self.ui.close(win)
                    steps.append("closed")
                return
            action = steps[0]
            if action == "closed":
                return
            if action == "Cancel" and not str(win.Find("Progress").Text).startswith(tuple(self._names())):
                return  # wait for the first frame's progress
            steps.pop(0)
            self.ui.click(win, action)

        self.ui.autopilot = pilot
        return run_stylize({"resolve": self.resolve, "bmd": fus.BMD(self.resolve)})

    def _names(self):
        return [i.GetName() for t in self.timeline._tracks for i in t]


@pytest.fixture
def world(filmstyle_env, tmp_path):
    return World(tmp_path)


def direct(job: dict) -> None:
    client = WorkerClient.connect(start=False)
    final = client.wait(client.submit(job)["id"], timeout=300)
    assert final["state"] == "done", final


def test_three_markers_stylize_the_item_and_land_a_take_at_the_right_frames(world):
    item = world.item()
    world.timeline.playhead = 86400 + 50  # on the item
    window = world.run("Stylize")
    assert window.item("Progress").Text == "Done: 1 of 1 clip(s) have a new take.", window.messages
    plan = window.plans[0]
    assert plan.job["frames"] == "1003-1030"
    assert plan.job["strength"] == [[1011, 0.2, "linear"], [1016, 1.0, "smooth"], [1022, 0.5, "linear"]]
    assert plan.job["styles"] == [{"style": "starry-blue", "weight": [[1011, 1.0, "linear"], [1022, 0.0, "linear"]]},
                                  {"style": "pale-wash", "weight": [[1011, 0.0, "linear"], [1022, 1.0, "linear"]]}]
    # The take: the second one, selected, media frames 8-19 (= file frames 1011-1022) of the result.
    assert item.GetTakesCount() == 2 and item.GetSelectedTakeIndex() == 2
    take = item.GetTakeByIndex(2)
    assert (take["startFrame"], take["endFrame"]) == (8, 19)
    clips = world.pool.all_clips()
    assert [(folder, c.GetClipProperty("File Path")) for folder, c in clips] == [
        ("/Master/FilmStyle", plan.output.replace("####", "[1003-1030]"))]
    assert take["mediaPoolItem"] is clips[0][1]
    assert world.pool.GetCurrentFolder() is world.pool.GetRootFolder()  # the user's bin is restored
    assert any("take 2 added (12 frames, handles 8+8)" in m for m in window.messages)
    # Frame-accurate and keyed: take frame 0 is file frame 1011, stylized with the keys' values there.
    out = Path(plan.output.replace("####", "{:04d}"))
    folder = world.root / "check"
    for frame, weights, strength in ((1011, (1.0, 0.0), 0.2), (1016, (6 / 11, 5 / 11), 1.0), (1022, (0.0, 1.0), 0.5)):
        job = {"filmstyle": 2, "input": world.pattern, "output": str(folder / f"{frame}.####.exr"),
               "frames": str(frame), "overwrite": True, "strength": strength,
               "styles": [{"style": "starry-blue", "weight": weights[0]}, {"style": "pale-wash", "weight": weights[1]}]}
        direct(job)
        np.testing.assert_allclose(read_rgb(str(out).format(frame)), read_rgb(folder / f"{frame}.{frame}.exr"),
                                   atol=2e-3, err_msg=f"frame {frame}")  # half-float output
    assert len(list(out.parent.glob("*.exr"))) == 28


def test_running_again_reuses_the_render_and_the_take(world):
    item = world.item()
    world.timeline.playhead = 86400 + 50
    world.run("Stylize")
    window = world.run("Stylize")
    assert item.GetTakesCount() == 2 and len(world.pool.all_clips()) == 1
    assert any("selected again" in m for m in window.messages), window.messages


def test_hostile_markers_render_nothing_and_say_why(world):
    item = world.item(markers={10.0: "style=starry-blue strenght=0.5", 12.0: "strength=1"})
    item.AddMarker(11.0, "Red", "filmstyle", "strength=0.3", 4.0)
    world.timeline.playhead = 86400 + 50
    window = world.run("Stylize")
    assert window.item("Progress").Text.startswith("Nothing rendered")
    text = "\n".join(window.messages)
    assert "marker at 01:00:02:00: unknown key 'strenght' (did you mean strength?)" in text
    assert "overlap" in text
    assert item.GetTakesCount() == 0 and world.pool.all_clips() == [] and world.pool.imports == []
    assert not (world.root / "plates" / "filmstyle").exists()


def test_a_clip_colour_selects_items_and_one_bad_item_stops_them_all(world):
    a = world.item(left=0, duration=4, at=0, markers={})
    b = world.item(left=20, duration=4, at=10, markers={})
    c = world.item(left=30, duration=4, at=20, markers={})
    generator = world.timeline.append(None, left=0, duration=4, record_offset=30)
    for x in (a, c, generator):
        assert x.SetClipColor("Orange")
    assert not b.SetClipColor("Red")  # a marker colour, not a clip colour: refused as Resolve does
    fields = {"Target": 1, "Colour": list(tl_mod.CLIP_COLORS).index("Orange"), "Handles": 2}
    window = world.run("Stylize", **fields)
    assert window.messages == ["Generator: no media (a generator, title or transition)"]
    assert all(x.GetTakesCount() == 0 for x in (a, b, c))
    generator.SetClipColor("Teal")
    window = world.run("Stylize", **fields)
    assert window.item("Progress").Text == "Done: 2 of 2 clip(s) have a new take.", window.messages
    assert [x.GetTakesCount() for x in (a, b, c)] == [2, 0, 2]
    assert (a.GetTakeByIndex(2)["startFrame"], a.GetTakeByIndex(2)["endFrame"]) == (0, 3)  # no room for a head
    assert (c.GetTakeByIndex(2)["startFrame"], c.GetTakeByIndex(2)["endFrame"]) == (2, 5)
    assert [p.job["frames"] for p in window.plans] == ["1001-1006", "1029-1036"]


def test_cancel_adds_no_take(world):
    item = world.item(left=0, duration=40, at=0, markers={})
    world.timeline.playhead = 86400
    window = world.run("Stylize", "Cancel")
    assert window.item("Progress").Text.startswith("Cancelled: 0 of 1"), window.messages
    assert item.GetTakesCount() == 0 and world.pool.imports == []
    assert any("no take added" in m for m in window.messages)


def test_a_job_file_gives_the_look(world, tmp_path):
    job_file = tmp_path / "look.yaml"
    job_file.write_text("filmstyle: 1\ninput: any.####.exr\noutput: out.####.exr\n"
                        "styles: [umber-ink]\nstrength: '1011:0.1, 1022:0.9'\ntemporal: 0.5\n")
    item = world.item(markers={15.0: "strength=0.7"})
    world.timeline.playhead = 86400 + 50
    window = world.run("Stylize", JobFile=str(job_file), Handles=0)
    assert item.GetTakesCount() == 2, window.messages
    job = window.plans[0].job
    assert job["styles"] == [{"style": "umber-ink", "weight": 1.0}] and job["temporal"] == 0.5
    assert job["strength"] == [[1016, 0.7, "linear"]]  # a marker's key replaces the job file's curve
    assert job["frames"] == "1011-1022"


def test_strength_above_one_on_a_builtin_look_is_refused_before_rendering(world):
    world.item(markers={10.0: "strength=1.5"})
    world.timeline.playhead = 86400 + 50
    window = world.run("Stylize")
    assert window.messages == ["shot.[1001-1040].exr: strength 1.5 is above 1, the most a built-in look takes "
                               "(a style image goes to 2)"]


def test_resolve_18_has_no_subframe_argument_and_still_plans(filmstyle_env, tmp_path):
    world = World(tmp_path, version=(18, 6, 6))
    item = world.item()
    with pytest.raises(TypeError):
        item.GetStart(False)  # what a 19.0.2-only call would do on 18.x
    plans = flow.plan_clips(world.timeline, [item], flow.Options(), flow.base_look(flow.Options()))
    assert plans[0].job["frames"] == "1003-1030"


def test_item_markers_counted_from_the_item_start(world, monkeypatch):
    monkeypatch.setattr(tl_mod, "ITEM_MARKER_ORIGIN", "item")
    item = world.item(markers={0.0: "strength=0.2", 11.0: "strength=0.9"})
    plans = flow.plan_clips(world.timeline, [item], flow.Options(), flow.base_look(flow.Options()))
    assert plans[0].job["strength"] == [[1011, 0.2, "linear"], [1022, 0.9, "linear"]]


def test_an_import_resolve_splits_into_frames_is_undone(filmstyle_env, tmp_path):
    world = World(tmp_path, show_individual_frames=True)
    item = world.item(left=0, duration=3, at=0, markers={})
    world.timeline.playhead = 86400
    window = world.run("Stylize", Handles=0)
    assert any("Resolve imported 3 clips" in m for m in window.messages), window.messages
    assert item.GetTakesCount() == 0 and world.pool.all_clips() == []


def test_no_timeline_and_no_resolve_are_one_line(capsys):
    project = rs.Project()
    resolve = rs.Resolve(project, fus.FusionApp())
    assert run_stylize({"resolve": resolve, "bmd": fus.BMD(resolve)}) is None
    assert run_stylize({}) is None
    assert capsys.readouterr().out.splitlines() == [
        "FilmStyle: open a timeline first (no current timeline)",
        "FilmStyle: cannot reach DaVinci Resolve's scripting API: run this from Workspace ▸ Scripts, or (Studio) "
        "enable Preferences ▸ System ▸ General ▸ External scripting"]


def test_the_render_thread_only_queues_events(world):
    world.item()
    world.timeline.playhead = 86400 + 50
    world.run("Stylize")
    # Progress and results reached the window through ui.QueueEvent from the render thread.
    assert "filmstyle-resolve" in world.ui.queued_from

