"""The Fuse's bridge without Fusion: pixel fingerprints, the job it builds, cache eviction, the chain."""

from __future__ import annotations

import os
import time

import numpy as np
import OpenImageIO as oiio
import pytest

from filmstyle_plugin import exr_header, fuse_bridge
from filmstyle_plugin.schema import load_schema
from tests.resolve.conftest import plate_rgb


def write(path, px, **attrs):
    out = oiio.ImageOutput.create(str(path))
    spec = oiio.ImageSpec(px.shape[1], px.shape[0], px.shape[2], "half")
    for key, value in attrs.items():
        spec.attribute(key, value)
    out.open(str(path), spec)
    out.write_image(np.ascontiguousarray(px, np.float32))
    out.close()
    return path


@pytest.mark.parametrize("compression", ["none", "zip", "zips", "piz", "dwaa"])
def test_pixel_digest_ignores_stamps_but_not_pixels(tmp_path, compression):
    px = plate_rgb(1)
    a = write(tmp_path / "a.exr", px, compression=compression, capDate="2026:01:01 00:00:00", comments="x")
    b = write(tmp_path / "b.exr", px, compression=compression, capDate="2026:12:31 23:59:59",
              comments="a much longer comment that shifts every chunk offset", owner="someone")
    c = px.copy()
    c[10, 10, 0] += 0.25
    d = write(tmp_path / "c.exr", c, compression=compression, capDate="2026:01:01 00:00:00", comments="x")
    assert exr_header.file_digest(a) != exr_header.file_digest(b)
    assert exr_header.pixel_digest(a) == exr_header.pixel_digest(b)
    assert exr_header.pixel_digest(a) != exr_header.pixel_digest(d)
    assert exr_header.pixel_digest(a).startswith("exr:")


def test_header_fields(tmp_path):
    path = write(tmp_path / "a.exr", plate_rgb(1)[:40], compression="zip")
    header = exr_header.read_header(path)
    assert header.box("dataWindow") == (0, 0, 63, 39)
    assert header.channels == ("B", "G", "R")  # EXR stores channels sorted
    assert header.compression == 3 and not header.multipart and not header.tiled
    (tmp_path / "not.exr").write_bytes(b"not an exr")
    with pytest.raises(ValueError, match="not an OpenEXR file"):
        exr_header.read_header(tmp_path / "not.exr")
    assert exr_header.pixel_digest(tmp_path / "not.exr").startswith("file:")


def request(tmp_path, **values):
    src = write(tmp_path / "in.exr", plate_rgb(1))
    return {"version": 1, "tool": "t", "frame": 1, "input": str(src), "cache_dir": str(tmp_path / "cache"),
            "work_dir": str(tmp_path / "work"), "values": values}


def test_the_frame_job_follows_the_schema_and_the_mask_is_a_region(tmp_path):
    params = load_schema()
    req = request(tmp_path)
    req["mask"] = str(write(tmp_path / "mask.exr", plate_rgb(2)))
    values = fuse_bridge._values({"style": "pale-wash", "style2": "starry-blue", "blend": 0.25, "strength": 0.5,
                                  "mask_channel": "rgba.green", "input_colorspace": "ACEScg"}, params)
    job = fuse_bridge.build_frame_job(req, values, str(tmp_path / "out.exr"), params)
    assert job["styles"] == [{"style": "pale-wash", "weight": 0.75}, {"style": "starry-blue", "weight": 0.25}]
    assert job["color"] == {"input_colorspace": "ACEScg"}
    assert job["regions"] == [{"name": "mask", "mask": {"file": req["mask"], "channel": "G", "fit": "stretch"}}]
    from filmstyle.server.queue import parse_job

    parse_job(job, tmp_path)  # the worker's own validation accepts it


@pytest.mark.parametrize("values, message", [
    ({"strenght": 1}, "'strenght' is not in this FilmStyle's schema"),
    ({"strength": "a lot"}, "strength: expected a number"),
    ({"style": "no-such-look"}, "is not one of"),
])
def test_bad_values_are_one_line(tmp_path, values, message):
    with pytest.raises(fuse_bridge.BridgeError, match=message):
        fuse_bridge._values(values, load_schema())


def test_the_cache_key_sees_pixels_values_and_style_images_not_stamps(tmp_path):
    params = load_schema()
    req = request(tmp_path)
    art = tmp_path / "art.png"
    art.write_bytes(b"one")

    def key(**values):
        v = fuse_bridge._values(values, params)
        return fuse_bridge.look_key(req, fuse_bridge.build_frame_job(req, v, "o.exr", params))

    base = key(strength=0.5)
    assert key(strength=0.5) == base
    assert key(strength=0.6) != base
    with_art = key(style_image=str(art))
    os.utime(art, ns=(1, 1))
    assert key(style_image=str(art)) != with_art
    write(tmp_path / "in.exr", plate_rgb(1), capDate="2027:01:01 00:00:00")  # restamped, same pixels
    assert key(strength=0.5) == base


def test_the_chain_continues_only_with_the_same_unkeyable_values():
    params = load_schema()
    a = fuse_bridge.chain_signature({"style": "pale-wash", "strength": 0.2}, params, False)
    assert fuse_bridge.chain_signature({"style": "pale-wash", "strength": 0.9}, params, False) == a
    assert fuse_bridge.chain_signature({"style": "starry-blue", "strength": 0.2}, params, False) != a
    assert fuse_bridge.chain_signature({"style": "pale-wash", "strength": 0.2}, params, True) != a


def test_eviction_keeps_the_budget_and_spares_fresh_files(tmp_path):
    old = time.time() - 3600
    for i in range(5):
        path = tmp_path / f"{i}.exr"
        path.write_bytes(b"x" * 400_000)
        os.utime(path, (old + i, old + i))
    (tmp_path / "fresh.exr").write_bytes(b"x" * 400_000)
    removed = fuse_bridge.evict(tmp_path, budget_mb=1.0)
    left = sorted(p.name for p in tmp_path.glob("*.exr"))
    assert removed == 4 and left == ["4.exr", "fresh.exr"]
