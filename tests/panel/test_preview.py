"""Preview jobs at proxy size: the reduced plate, shapes and mattes moved into it, through a real worker."""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import OpenImageIO as oiio
import pytest

from filmstyle import io
from filmstyle.errors import FilmStyleError
from filmstyle.job.masks import MaskContext, parse_mask
from filmstyle.job.regions import Region, RegionSet, matte_loader
from filmstyle.job.model import job_from_data
from filmstyle.panel.document import JobDocument
from filmstyle.panel.preview import auto_factor, preview_job, scale_mask_data, write_mattes, write_plate
from tests.core.plates import make_plate
from tests.panel.conftest import write_exr


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


def test_shapes_land_on_the_same_pixels_of_the_reduced_plate(tmp_path):
    """The ellipse, rectangle, polygon and grown/blurred masks evaluated on the reduced plate match the
    full-size masks reduced, with the data window offset of the source taken out."""
    w, h, offset = 96, 64, (8, 4)
    masks = [{"ellipse": {"center": ["1001:40, 1010:50", 30], "radius": [18, 12], "rotation": 20, "feather": 8}},
             {"rectangle": {"box": [10, 8, 60, 40], "feather": 4}},
             {"rectangle": {"center": [50, 36], "size": [30, 20]}},
             {"polygon": {"points": [[20, 10], [80, 20], [40, 60]], "feather": 6}},
             {"op": "blur", "radius": 6, "mask": {"op": "grow", "pixels": 4,
                                                   "mask": {"ellipse": {"center": [48, 36], "radius": 10}}}}]
    for mask in masks:
        # The render's own placement of display-window shapes on the data window:
        big = RegionSet((Region(parse_mask(mask), 0),)).masks_at(1004, MaskContext(h, w), offset=offset)[0]
        small = parse_mask(scale_mask_data(mask, 0.5, 0.5, *offset)).evaluate(1004, MaskContext(h // 2, w // 2))
        ref = cv2.resize(big, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
        assert np.abs(small - ref).mean() < 0.03, mask
        assert abs(small.sum() * 4 - big.sum()) / max(big.sum(), 1) < 0.08, mask


def test_file_mattes_are_fitted_then_reduced(tmp_path):
    w, h = 64, 48
    write_exr(tmp_path / "plates" / "p.1001.exr", np.ones((h, w, 3)), ("R", "G", "B"))
    matte = np.zeros((24, 32), np.float32)
    matte[:, :16] = 1.0
    write_exr(tmp_path / "mattes" / "m.1001.exr", matte[..., None], ("A",))
    data = {"regions": [{"mask": {"file": str(tmp_path / "mattes/m.####.exr"), "fit": "stretch"}}]}
    plate = write_plate(tmp_path / "plates" / "p.1001.exr", 1001, tmp_path / "proxy", factor=2)
    mattes = write_mattes(data, plate, (w, h), tmp_path / "proxy")
    reduced = io.read_channels(io.FrameSequence(mattes[str(tmp_path / "mattes/m.####.exr")], (1001,)).path(1001), ["A"])
    full = parse_mask(data["regions"][0]["mask"]).evaluate(1001, MaskContext(h, w, load_matte=matte_loader()))
    assert np.allclose(reduced["A"], cv2.resize(full, (32, 24), interpolation=cv2.INTER_AREA), atol=1e-6)
    job = preview_job({"filmstyle": 2, "input": str(tmp_path / "plates/p.####.exr"), "output": "x", **data}, 1001,
                      str(tmp_path / "prev.####.exr"), factor=2, plate=dataclasses.replace(plate, mattes=mattes))
    assert job["regions"][0]["mask"] == {"file": mattes[str(tmp_path / "mattes/m.####.exr")], "channel": "A"}
    assert job["input"] == plate.pattern and job["frames"] == "1001" and job["overwrite"] is True


def test_the_proxy_field_is_used_when_the_table_has_it(monkeypatch, job_dir):
    data = JobDocument.open(job_dir / "job.yaml").absolute_data()
    data["temporal"] = 0.6
    monkeypatch.setattr("filmstyle.panel.preview.proxy_value", lambda f: f"1/{f}")
    monkeypatch.setattr("filmstyle.panel.preview.proxy_field_available", lambda: True)
    job = preview_job(data, 1003, "/tmp/p.####.exr", factor=4)
    assert job["proxy"] == "1/4" and job["input"] == data["input"] and job["regions"] == data["regions"]
    assert "temporal" not in job  # one frame has no history to blend with
    full = preview_job({**data, "proxy": "1/2"}, 1003, "/tmp/p.####.exr", factor=1)
    assert "proxy" not in full  # a full-size preview whatever the job renders at
    monkeypatch.setattr("filmstyle.panel.preview.proxy_value", lambda f: None)
    with pytest.raises(FilmStyleError, match="reduced plate"):
        preview_job(data, 1003, "/tmp/p.####.exr", factor=4)


def test_preview_job_through_the_worker(job_dir, panel_worker, tmp_path):
    doc = JobDocument.open(job_dir / "job.yaml")
    data = doc.absolute_data()
    source = io.FrameSequence(data["input"], (1004,)).path(1004)
    plate = write_plate(source, 1004, tmp_path / "plate", factor=2)
    job = preview_job(data, 1004, str(tmp_path / "out" / "p.####.exr"), factor=2, plate=plate)
    job_from_data(job, base_dir=tmp_path)  # a valid job in its own right
    status = panel_worker.wait(panel_worker.submit(job)["id"], poll=0.05, timeout=120)
    assert status["state"] == "done", status
    out = io.read_frame(tmp_path / "out" / "p.1004.exr")
    assert (out.width, out.height) == (32, 24)
    assert np.abs(out.rgb - io.read_frame(io.FrameSequence(plate.pattern, (1004,)).path(1004)).rgb).mean() > 0.01
    # At strength 0 (and no regions) the network does not run: the preview is the reduced plate.
    plain = {k: v for k, v in job.items() if k not in ("regions", "default")}
    plain |= {"strength": 0, "output": str(tmp_path / "z.####.exr")}
    status = panel_worker.wait(panel_worker.submit(plain)["id"], poll=0.05, timeout=120)
    assert status["state"] == "done", status
    same = io.read_frame(tmp_path / "z.1004.exr").rgb
    assert np.array_equal(same, io.read_frame(io.FrameSequence(plate.pattern, (1004,)).path(1004)).rgb)
