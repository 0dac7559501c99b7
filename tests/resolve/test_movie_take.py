"""The Resolve "Done when": a timeline item whose media is a ProRes movie, with three markers, is
stylized with those keys and lands as a take at the right frames.

The movie (ProRes 422 HQ, 64x48, 40 frames at 24 fps, start timecode 01:00:10:00) is encoded here
with PyAV. The script passes the movie and its frame range to the worker as they are: frames are
numbered from the clip's timecode (01:00:10:00 at 24 fps = 86640).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from filmstyle_plugin.client import WorkerClient
from tests.resolve import fusion_ui_standin as fus
from tests.resolve import resolve_standin as rs
from tests.resolve.conftest import H, W, plate_rgb, read_rgb

FPS, FRAMES, START_TC = 24, 40, "01:00:10:00"
FIRST = rs.tc_frames(START_TC, FPS)  # 86640
MARKERS = {10.0: "style=starry-blue strength=0.2", 15.0: "strength=1 smooth", 21.0: "style=pale-wash strength=0.5"}


def encode_prores(path: Path) -> Path:
    import av

    container = av.open(str(path), mode="w")
    stream = container.add_stream("prores_ks", rate=FPS)
    stream.width, stream.height, stream.pix_fmt = W, H, "yuv422p10le"
    stream.options = {"profile": "3"}  # 422 HQ
    stream.metadata["timecode"] = START_TC
    for i in range(FRAMES):
        display = np.clip(plate_rgb(i) / (1.0 + plate_rgb(i)), 0, 1) ** (1 / 2.4)  # a graded-looking picture
        frame = av.VideoFrame.from_ndarray((display * 255 + 0.5).astype(np.uint8), format="rgb24")
        for packet in stream.encode(frame):
            container.mux(packet)
    for packet in stream.encode():
        container.mux(packet)
    container.close()
    return path


@pytest.fixture
def movie(filmstyle_env, tmp_path) -> Path:
    path = encode_prores(tmp_path / "A001C003.mov")
    # The worker renders the movie's first frame, numbered from its timecode.
    probe = {"filmstyle": 2, "input": str(path), "output": str(tmp_path / "probe" / "p.#####.exr"),
             "frames": str(FIRST), "styles": ["starry-blue"]}
    client = WorkerClient.connect(start=True)
    final = client.wait(client.submit(probe)["id"], timeout=300)
    assert final["state"] == "done", final
    assert (tmp_path / "probe" / f"p.{FIRST}.exr").is_file()
    return path


def test_a_prores_item_with_three_markers_lands_as_a_take_at_the_right_frames(movie, tmp_path):
    from filmstyle_plugin.resolve.ui import run_stylize

    mpi = rs.movie_item(str(movie), FRAMES, FPS, START_TC)
    timeline = rs.Timeline()
    item = timeline.append(mpi, left=10, duration=12, record_offset=48)
    for frame, note in MARKERS.items():
        assert item.AddMarker(frame, "Green", "filmstyle", note, 1.0)
    timeline.playhead = 86400 + 50
    pool = rs.MediaPool()
    project = rs.Project(pool=pool)
    project.add_timeline(timeline)
    fusion = fus.FusionApp()
    resolve = rs.Resolve(project, fusion)
    steps = ["Stylize"]

    def pilot(win):
        if steps:
            fusion.UIManager.click(win, steps.pop())
        elif win.Find("Stylize").Enabled:
            fusion.UIManager.close(win)

    fusion.UIManager.autopilot = pilot
    window = run_stylize({"resolve": resolve, "bmd": fus.BMD(resolve)})
    assert window.item("Progress").Text == "Done: 1 of 1 clip(s) have a new take.", window.messages
    plan = window.plans[0]
    first, last = FIRST + 10 - 8, FIRST + 21 + 8
    assert plan.job["input"] == str(movie) and plan.job["frames"] == f"{first}-{last}"
    assert plan.job["strength"] == [[FIRST + 10, 0.2, "linear"], [FIRST + 15, 1.0, "smooth"], [FIRST + 21, 0.5, "linear"]]
    assert plan.output.endswith(".#####.exr")
    take = item.GetTakeByIndex(2)
    assert item.GetSelectedTakeIndex() == 2 and (take["startFrame"], take["endFrame"]) == (8, 19)
    assert take["mediaPoolItem"].GetClipProperty("File Path") == plan.output.replace("#####", f"[{first}-{last}]")
    # Frame-accurate and keyed: the take's first frame is the item's first movie frame, at its keys.
    out = Path(plan.output.replace("#####", "{:05d}"))
    for frame, weights, strength in ((FIRST + 10, (1.0, 0.0), 0.2), (FIRST + 21, (0.0, 1.0), 0.5)):
        job = {"filmstyle": 2, "input": str(movie), "output": str(tmp_path / "check" / f"{frame}.#####.exr"),
               "frames": str(frame), "overwrite": True, "strength": strength,
               "styles": [{"style": "starry-blue", "weight": weights[0]}, {"style": "pale-wash", "weight": weights[1]}]}
        client = WorkerClient.connect(start=False)
        assert client.wait(client.submit(job)["id"], timeout=300)["state"] == "done"
        np.testing.assert_allclose(read_rgb(str(out).format(frame)),
                                   read_rgb(tmp_path / "check" / f"{frame}.{frame:05d}.exr"), atol=2e-3)
