"""Preview jobs at proxy size through a real worker, and the reduced plates of thumbnails."""

from __future__ import annotations


import cv2
import numpy as np
import OpenImageIO as oiio
import pytest

from filmstyle import io
from filmstyle.errors import FilmStyleError
from filmstyle.job.model import job_from_data
from filmstyle.panel.document import JobDocument
from filmstyle.panel.preview import auto_factor, preview_job, write_plate
from tests.core.plates import make_plate


def test_auto_factor_aims_at_540_rows():
    assert [auto_factor(h) for h in (48, 540, 1080, 2160, 4320)] == [1, 1, 2, 4, 4]
    assert auto_factor(48, "1/2") == 2 and auto_factor(2160, "1") == 1


def test_reduced_plate_keeps_channels_types_and_header(tmp_path):
    src = make_plate(tmp_path / "shot.1001.exr", 96, 64)  # data window at (8, 4) inside a larger display
    plate = write_plate(src, 1001, tmp_path / "proxy", factor=2)
    spec_in = oiio.ImageInput.open(str(src)).spec()
    out = oiio.ImageInput.open(str(io.FrameSequence(plate.pattern, (1001,)).path(1001)))
    spec = out.spec()
    assert (spec.width, spec.height, spec.x, spec.y, spec.full_width, spec.full_height) == (48, 32, 0, 0, 48, 32)
    assert tuple(spec.channelnames) == tuple(spec_in.channelnames)
    assert [str(f) for f in spec.channelformats] == [str(f) for f in spec_in.channelformats]
    assert spec.get_string_attribute("studio:shot") == "sq010_sh020"
    assert plate.scale == (0.5, 0.5) and plate.offset == (8, 4)
    rgb = io.read_frame(src).rgb
    small = np.asarray(out.read_image(0, 0, 0, 3, "float"))
    out.close()
    # A filtered reduction of the same picture (the 40.0 highlight pixel is spread, not lost).
    ref = cv2.resize(rgb, (48, 32), interpolation=cv2.INTER_AREA)
    assert np.median(np.abs(small - ref)) < 0.02


def test_previews_set_the_proxy_field(job_dir):
    data = JobDocument.open(job_dir / "job.yaml").absolute_data()
    data["temporal"] = 0.6
    job = preview_job(data, 1003, "/tmp/p.####.exr", factor=4)
    assert job["proxy"] == "1/4" and job["input"] == data["input"] and job["regions"] == data["regions"]
    assert "temporal" not in job  # one frame has no history to blend with
    assert job["frames"] == "1003" and job["overwrite"] is True
    full = preview_job({**data, "proxy": "1/2"}, 1003, "/tmp/p.####.exr", factor=1)
    assert "proxy" not in full  # a full-size preview whatever the job renders at
    with pytest.raises(FilmStyleError, match=r"^proxy: no preview at 1/8; valid: full, 1/2, 1/4$"):
        preview_job(data, 1003, "/tmp/p.####.exr", factor=8)


def test_preview_job_through_the_worker(job_dir, panel_worker, tmp_path):
    """A 1/2 preview with the job's regions: full size, the worker's proxy render of that frame."""
    doc = JobDocument.open(job_dir / "job.yaml")
    data = doc.absolute_data()
    source = io.FrameSequence(data["input"], (1004,)).path(1004)
    job = preview_job(data, 1004, str(tmp_path / "out" / "p.####.exr"), factor=2)
    job_from_data(job, base_dir=tmp_path)  # a valid job in its own right
    status = panel_worker.wait(panel_worker.submit(job)["id"], poll=0.05, timeout=120)
    assert status["state"] == "done", status
    out = io.read_frame(tmp_path / "out" / "p.1004.exr")
    plate = io.read_frame(source)
    assert (out.width, out.height) == (plate.width, plate.height)
    assert np.abs(out.rgb - plate.rgb).mean() > 0.01
    # The same frame through the engine at proxy 1/2: the preview is that render.
    from filmstyle.engine.pipeline import FramePipeline
    from filmstyle.job.plan import build_plan

    want = FramePipeline(build_plan(job_from_data(job, base_dir=tmp_path))).stylize_frame(plate, 1004)
    np.testing.assert_allclose(out.rgb, want, atol=2e-3)
    # At strength 0 (and no regions) the network does not run: the preview is the plate.
    plain = {k: v for k, v in job.items() if k not in ("regions", "default")}
    plain |= {"strength": 0, "output": str(tmp_path / "z.####.exr")}
    status = panel_worker.wait(panel_worker.submit(plain)["id"], poll=0.05, timeout=120)
    assert status["state"] == "done", status
    assert np.array_equal(io.read_frame(tmp_path / "z.1004.exr").rgb, plate.rgb)
