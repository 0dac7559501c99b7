"""A file comes back as it went in: levels, packing, header bytes, colour tags, attributes.

Each test stylizes a real file (written by OIIO, see tests.core.qc_samples) through the CLI with
real weights and checks the output against the source with filmstyle's own header readers.
"""

from __future__ import annotations

import json
import logging
import struct
from pathlib import Path

import numpy as np
import OpenImageIO as oiio
import pytest
from typer.testing import CliRunner

from filmstyle.cli import app
from filmstyle.io import dpx_header, exr_header
from filmstyle.tools.compare import compare_files
from tests.core.io_fixtures import make_dpx, read_all_bits
from tests.core.qc_samples import (
    dpx_put,
    edit_exr_attributes,
    make_filled12_dpx,
    make_mip_exr,
    make_rip_exr,
    make_scanner_dpx,
    preview_attribute,
)
from tests.core.plates import make_plate

runner = CliRunner()


def stylize(src: Path, out: Path, *extra: str):
    result = runner.invoke(app, ["stylize", str(src), str(out), "--style", "starry-blue", *extra])
    assert result.exit_code == 0, result.output
    return result


def levels(path: Path) -> list[np.ndarray]:
    inp = oiio.ImageInput.open(str(path))
    out = []
    while inp.seek_subimage(0, len(out)):
        px = inp.read_image(0, len(out), 0, inp.spec().nchannels, "float")
        assert px is not None, inp.geterror()
        out.append(np.asarray(px).copy())
    inp.close()
    return out


# -- EXR ---------------------------------------------------------------------------------------


def test_exr_attributes_come_back_as_the_source_had_them(tmp_path):
    src = make_plate(tmp_path / "plate.exr", 64, 48)
    edit_exr_attributes(src, add=[preview_attribute(), exr_header.ExrAttribute("tiff:Software", "string", b"Scan 2")],
                        remove=("capDate",))
    out = tmp_path / "out.exr"
    stylize(src, out)
    a, b = exr_header.read_layout(src).headers[0], exr_header.read_layout(out).headers[0]
    assert b.get("capDate") is None, "DateTime added"
    assert b.get("preview") == a.get("preview"), "preview thumbnail dropped"
    assert b.get("tiff:Software") == a.get("tiff:Software"), "tiff:* attribute dropped"
    assert a.names() == b.names()
    for attr in a.attributes:
        assert b.get(attr.name) == attr, attr.name
    spec = oiio.ImageInput.open(str(out)).spec()
    assert spec.get_int_attribute("thumbnail_width") == 8  # OIIO still reads the preview


def test_mip_mapped_exr_keeps_every_level(tmp_path):
    src = make_mip_exr(tmp_path / "tex.exr")
    out, zero = tmp_path / "out.exr", tmp_path / "zero.exr"
    stylize(src, out)
    stylize(src, zero, "--strength", "0")
    exr_header.validate_exr(out)  # every chunk the header declares is in the file
    before, after = levels(src), levels(out)
    assert len(after) == len(before) == 7
    assert [a.shape for a in after] == [b.shape for b in before]
    for lb, lz in zip(before, levels(zero)):
        np.testing.assert_array_equal(lz, lb)  # strength 0: every level bit-identical
    for lb, la in zip(before, after):
        np.testing.assert_array_equal(la[..., 3:], lb[..., 3:])  # A and Z untouched at every level
    # level 1 is the stylized level 0 reduced as the source's level 1 was made (box): same result
    import cv2

    change = after[0][..., :3] - before[0][..., :3]
    expected = before[1][..., :3] + cv2.resize(change, (32, 24), interpolation=cv2.INTER_AREA)
    np.testing.assert_allclose(after[1][..., :3], expected, rtol=3e-3, atol=1e-4)  # half rounding
    assert np.abs(after[1][..., :3] - before[1][..., :3]).mean() > 1e-3
    assert not compare_files(src, out).unintended


def test_rip_mapped_exr_becomes_a_valid_single_level_file_with_a_warning(tmp_path, caplog):
    src = make_rip_exr(tmp_path / "rip.exr")
    exr_header.validate_exr(src)
    out = tmp_path / "out.exr"
    with caplog.at_level(logging.WARNING, "filmstyle"):
        stylize(src, out)
    assert any("rip-mapped" in r.getMessage() for r in caplog.records)
    layout = exr_header.validate_exr(out)
    assert layout.headers[0].tiles[2] == 0  # one level, declared and written
    assert len(levels(out)) == 1
    comparison = compare_files(src, out)
    assert not comparison.unintended, comparison.unintended
    assert "rip-map" in {d.intended for d in comparison.differences}


# -- DPX ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", [1, 2])
def test_12bit_filled_dpx_keeps_its_packing_and_strength_0_is_bit_identical(tmp_path, method):
    src, codes = make_filled12_dpx(tmp_path / "scan.dpx", method=method)
    zero, out = tmp_path / "zero.dpx", tmp_path / "out.dpx"
    stylize(src, zero, "--strength", "0")
    assert zero.read_bytes() == src.read_bytes()
    stylize(src, out)
    a, b = dpx_header.read_header(src), dpx_header.read_header(out)
    assert b.element(0) == a.element(0)  # bit size, packing, offsets, padding
    assert b.raw == a.raw and out.stat().st_size == src.stat().st_size
    assert out.read_bytes() != src.read_bytes()


def test_dpx_header_is_kept_byte_for_byte(tmp_path):
    src = make_scanner_dpx(tmp_path / "scan.1001.dpx")
    out = tmp_path / "styled.1001.dpx"
    stylize(src, out)
    a, b = dpx_header.read_header(src), dpx_header.read_header(out)
    assert b.raw == a.raw  # the whole header and user data, up to the pixels
    fields = b.fields()
    assert fields["version"] == "V1.0"
    assert fields["file_name"] == a.fields()["file_name"] and ".tmp-" not in (fields["file_name"] or "")
    assert fields["creation_time"].endswith("+0100") and fields["source_time"].endswith("-0500")
    assert (fields["x_center"], fields["y_center"]) == (32.0, 24.0)
    assert fields["aspect_ratio"] == a.fields()["aspect_ratio"]
    assert fields["creator"] is None and fields["format"] == "Academy 4-perf"
    assert b.user_data == a.user_data and len(b.user_data) == 96
    assert not compare_files(src, out).unintended


def _info(path: Path) -> dict:
    result = runner.invoke(app, ["info", str(path), "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


@pytest.mark.parametrize("tags", [b"\xff\xff", b"\x00\x00", b"\x0d\x02", b"\x06\x06"])
def test_dpx_with_unset_or_odd_colour_tags_reads_back_in_the_same_colourspace(tmp_path, tags):
    src = make_dpx(tmp_path / "scan.dpx", bits=10)
    dpx_put(src, 780 + 21, tags)  # transfer, colorimetric: undefined, user defined, Z-linear, ...
    out = tmp_path / "out.dpx"
    stylize(src, out)
    a, b = _info(src), _info(out)
    assert b["colorspace_default"] == a["colorspace_default"]
    assert b["colorspace_hint"] == a["colorspace_hint"]
    assert b["dpx"] == a["dpx"]
    assert dpx_header.read_header(out).raw == dpx_header.read_header(src).raw


def test_dpx_layout_oiio_must_encode_still_gets_the_source_fields(tmp_path):
    # 10-bit RGBA "filled": OIIO's reader has its own word order, so its writer encodes these.
    src = make_dpx(tmp_path / "rgba.dpx", bits=10)
    spec = oiio.ImageSpec(64, 48, 4, "uint16")
    spec.attribute("oiio:BitsPerSample", 10)
    spec.attribute("dpx:Transfer", "Printing density")
    out_img = oiio.ImageOutput.create(str(src))
    out_img.open(str(src), spec)
    out_img.write_image(np.random.default_rng(1).random((48, 64, 4)).astype(np.float32))
    out_img.close()
    dpx_put(src, 8, b"V1.0\0\0\0\0")
    dpx_put(src, 1680, b"Super 35".ljust(32, b"\0"))
    assert not dpx_header.read_header(src).element(0).writable
    out = tmp_path / "out.dpx"
    stylize(src, out)
    fields = dpx_header.read_header(out).fields()
    assert fields["version"] == "V1.0" and fields["format"] == "Super 35"
    assert ".tmp-" not in (fields["file_name"] or "")
    before, after = read_all_bits(src), read_all_bits(out)
    np.testing.assert_array_equal(after["A"], before["A"])


def test_dpx_element_bytes_outside_pixels_are_kept(tmp_path):
    src = make_dpx(tmp_path / "scan.dpx", bits=10, w=40, h=8)
    header = dpx_header.read_header(src)
    layout = header.element(0)
    # a writer that pads the file after the pixels (end-of-image padding, a second element...)
    src.write_bytes(src.read_bytes() + b"TRAILER!" * 4)
    e = ">" if header.endian == "big" else "<"
    dpx_put(src, 16, struct.pack(e + "I", src.stat().st_size))
    out = tmp_path / "out.dpx"
    stylize(src, out)
    data = out.read_bytes()
    assert data.endswith(b"TRAILER!" * 4) and len(data) == src.stat().st_size
    assert data[:layout.offset] == src.read_bytes()[:layout.offset]
