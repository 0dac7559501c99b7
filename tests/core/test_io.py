"""Tests for filmstyle.io: sequences, reading, bit-exact writing, describe.

Every file is made with OpenImageIO (see io_fixtures) and every check re-reads the output
natively, comparing raw bit patterns rather than float values.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from pathlib import Path

import numpy as np
import OpenImageIO as oiio
import pytest

from filmstyle.errors import InputError, OutputError
from filmstyle.io import (
    FrameSequence,
    SourceFrame,
    WriteOptions,
    describe,
    find_sequence,
    output_sequence,
    parse_frame_range,
    read_frame,
    write_frame,
)
from filmstyle.io import write as write_mod
from tests.core.io_fixtures import (
    channel_bits,
    make_dpx,
    make_exr_frame,
    make_exr_multipart,
    make_exr_sequence,
    make_ldr,
    read_all_bits,
    truncate_file,
)


def _spec(path: Path, subimage: int = 0) -> oiio.ImageSpec:
    inp = oiio.ImageInput.open(str(path))
    assert inp is not None, oiio.geterror()
    assert inp.seek_subimage(subimage, 0)
    spec = inp.spec().copy()
    inp.close()
    return spec


def _attrs(spec: oiio.ImageSpec) -> dict:
    return {a.name: (str(a.type), a.value) for a in spec.extra_attribs}


def _stylize(rgb: np.ndarray) -> np.ndarray:
    """A deterministic 'style': changes every pixel, stays finite."""
    return (rgb[..., ::-1] * 0.5 + 0.25).astype(np.float32)


def _dir_listing(d: Path) -> list[str]:
    return sorted(p.name for p in d.iterdir())


# ----------------------------------------------------------------------------------- sequences


def test_parse_frame_range_forms() -> None:
    assert parse_frame_range("1001-1005") == (1001, 1002, 1003, 1004, 1005)
    assert parse_frame_range("1001-1009x2") == (1001, 1003, 1005, 1007, 1009)
    assert parse_frame_range("1001,1005,1010-1012") == (1001, 1005, 1010, 1011, 1012)
    assert parse_frame_range("7") == (7,)
    assert parse_frame_range("-2-1") == (-2, -1, 0, 1)


@pytest.mark.parametrize("bad", ["", "10-5", "1001-1010x0", "a-b", "1001..1005", "١٠٠١", "１００１-１００２"])
def test_parse_frame_range_rejects(bad: str) -> None:
    with pytest.raises(InputError, match="frame range"):
        parse_frame_range(bad)


def test_two_frame_tokens_in_one_name_are_refused() -> None:
    # the second would be written literally: x.1001.%04d.exr
    for pattern in ("o/x.####.%04d.exr", "o/x.$F4_@@@@.exr"):
        with pytest.raises(InputError, match="two frame-number tokens"):
            FrameSequence(pattern, (1,))


@pytest.mark.parametrize(
    "pattern, f1001, f5",
    [
        ("shot.####.exr", "shot.1001.exr", "shot.0005.exr"),
        ("shot.%04d.exr", "shot.1001.exr", "shot.0005.exr"),
        ("shot.$F4.exr", "shot.1001.exr", "shot.0005.exr"),
        ("shot.@@@@.exr", "shot.1001.exr", "shot.0005.exr"),
        ("shot.%06d.exr", "shot.001001.exr", "shot.000005.exr"),
        ("shot.$F.exr", "shot.1001.exr", "shot.5.exr"),
        ("shot.##.exr", "shot.1001.exr", "shot.05.exr"),
    ],
)
def test_pattern_tokens_map_frames(pattern: str, f1001: str, f5: str) -> None:
    seq = FrameSequence(f"plates/{pattern}", (1001, 5))
    assert seq.path(1001) == Path("plates") / f1001
    assert seq.path(5).name == f5
    assert seq.frames == (1001, 5) and not seq.is_single


def test_discovery_sorted_and_padding_exact(tmp_path: Path) -> None:
    make_exr_sequence(tmp_path, [1003, 1001, 1002], w=8, h=6, extra_channels=False)
    (tmp_path / "shot.01004.exr").write_bytes(b"not this padding")
    (tmp_path / "other.1005.exr").write_bytes(b"other shot")
    seq = find_sequence(tmp_path / "shot.####.exr")
    assert seq.frames == (1001, 1002, 1003)
    assert seq.path(1002) == tmp_path / "shot.1002.exr"
    # the printf/Houdini/@ spellings find the same files
    for token in ("%04d", "$F4", "@@@@"):
        assert find_sequence(tmp_path / f"shot.{token}.exr").frames == (1001, 1002, 1003)


def test_missing_frames_named(tmp_path: Path) -> None:
    make_exr_sequence(tmp_path, [1001, 1002, 1004], w=8, h=6, extra_channels=False)
    with pytest.raises(InputError) as info:
        find_sequence(tmp_path / "shot.####.exr", "1001-1006")
    msg = str(info.value)
    assert msg.startswith("missing frame 1003: shot.1003.exr (3 of 6 frames missing: 1003, 1005, 1006)")
    assert "\n" not in msg
    assert find_sequence(tmp_path / "shot.####.exr", "1001,1002,1004").frames == (1001, 1002, 1004)
    with pytest.raises(InputError, match="no frames found"):
        find_sequence(tmp_path / "nothing.####.exr")


def test_single_file_and_output_mapping(tmp_path: Path) -> None:
    single = make_exr_frame(tmp_path / "plate.1017.exr", 8, 6, extra_channels=False)
    seq = find_sequence(single)
    assert seq.is_single and seq.frames == (1017,) and seq.path(1017) == single
    with pytest.raises(InputError, match="file not found"):
        find_sequence(tmp_path / "absent.exr")
    out = output_sequence(seq, tmp_path / "out" / "styled.exr")
    assert out.path(1017) == tmp_path / "out" / "styled.exr"

    src = FrameSequence(str(tmp_path / "shot.####.exr"), (99, 1001))
    out = output_sequence(src, tmp_path / "o" / "styled.$F6.dpx")
    assert [p.name for p in out.paths()] == ["styled.000099.dpx", "styled.001001.dpx"]
    with pytest.raises(OutputError, match="no frame token"):
        output_sequence(src, tmp_path / "styled.exr")


# ------------------------------------------------------------------------------------- reading


def test_read_main_layer_data_window(tmp_path: Path) -> None:
    p = make_exr_frame(tmp_path / "a.exr", 64, 48, data_window=(5, -3), display_window=(0, 0, 80, 40))
    f = read_frame(p)
    assert isinstance(f, SourceFrame)
    assert f.rgb.shape == (48, 64, 3) and f.rgb.dtype == np.float32
    assert f.alpha is not None and f.alpha.shape == (48, 64)
    assert (f.data_window.x, f.data_window.y) == (5, -3)
    assert (f.display_window.width, f.display_window.height) == (80, 40)
    assert f.format_name == "openexr" and f.rgb_channels == ("R", "G", "B") and f.alpha_channel == "A"
    assert f.colorspace_hint == "lin_ap1_scene"  # OIIO's name for the ACEScg we wrote
    want = channel_bits(p, "G").view(np.float16).astype(np.float32)
    np.testing.assert_array_equal(f.rgb[..., 1], want)


def test_read_layer_and_unknown_layer(tmp_path: Path) -> None:
    p = make_exr_frame(tmp_path / "a.exr", 16, 12)
    f = read_frame(p, layer="diffuse")
    assert f.rgb_channels == ("diffuse.R", "diffuse.G", "diffuse.B") and f.alpha is None
    np.testing.assert_array_equal(f.rgb[..., 2], channel_bits(p, "diffuse.B").view(np.float16))
    with pytest.raises(InputError) as info:
        read_frame(p, layer="specular")
    msg = str(info.value)
    assert "a.exr" in msg and "'specular'" in msg and "RGB layers: (main), diffuse" in msg


def test_read_parts_by_name_and_index(tmp_path: Path) -> None:
    p = make_exr_multipart(tmp_path / "m.exr", 16, 12)
    assert read_frame(p).part_name == "beauty"
    with pytest.raises(InputError, match=r"part 1 \(utility\) has no R, G, B"):
        read_frame(p, part="utility")
    with pytest.raises(InputError, match=r"no part named 'grade', valid: 0 \(beauty\), 1 \(utility\)"):
        read_frame(p, part="grade")
    with pytest.raises(InputError, match="no part 5"):
        read_frame(p, part=5)
    assert read_frame(p, part=0).part == 0


def test_layer_found_in_its_own_part(tmp_path: Path) -> None:
    """Nuke-style multi-part: part "diffuse" holds plain R,G,B; asking for the layer finds it."""
    path = tmp_path / "nk.exr"
    specs = []
    for name in ("rgba", "diffuse"):
        spec = oiio.ImageSpec(8, 6, 3, "half")
        spec.attribute("oiio:subimagename", name)
        specs.append(spec)
    out = oiio.ImageOutput.create(str(path))
    assert out.open(str(path), specs)
    assert out.write_image(np.full((6, 8, 3), 0.25, np.float32))
    assert out.open(str(path), specs[1], "AppendSubimage")
    assert out.write_image(np.full((6, 8, 3), 0.75, np.float32))
    out.close()
    f = read_frame(path, layer="diffuse")
    assert (f.part, f.part_name, f.layer) == (1, "diffuse", None)
    assert np.all(f.rgb == 0.75)
    styled = write_frame(f, f.rgb * 2, tmp_path / "o.exr")
    np.testing.assert_array_equal(channel_bits(styled, "R", 0), channel_bits(path, "R", 0))
    assert np.all(read_frame(styled, part="diffuse").rgb == 1.5)


@pytest.mark.parametrize("name", ["t.exr", "t.dpx"])
def test_truncated_or_garbage_is_input_error(tmp_path: Path, name: str) -> None:
    p = make_exr_frame(tmp_path / name, 64, 48) if name.endswith("exr") else make_dpx(tmp_path / name)
    truncate_file(p, 0.5)
    with pytest.raises(InputError) as info:
        read_frame(p)
    assert name in str(info.value) and "\n" not in str(info.value)
    junk = tmp_path / "junk.exr"
    junk.write_bytes(b"\x76\x2f\x31\x01" + b"\0" * 40)
    with pytest.raises(InputError, match="junk.exr"):
        read_frame(junk)
    with pytest.raises(InputError, match="file not found"):
        read_frame(tmp_path / "nope.exr")


# ---------------------------------------------------------------------------- writing: EXR exact


def _assert_exr_identical_except(src: Path, out: Path, changed: set[str], subimage: int = 0) -> None:
    a, b = read_all_bits(src, subimage), read_all_bits(out, subimage)
    assert list(a) == list(b)
    for name in a:
        if name not in changed:
            assert a[name].dtype == b[name].dtype, name
            np.testing.assert_array_equal(a[name], b[name], err_msg=name)
    sa, sb = _spec(src, subimage), _spec(out, subimage)
    assert [str(t) for t in sa.channelformats] == [str(t) for t in sb.channelformats]
    assert (sa.x, sa.y, sa.width, sa.height) == (sb.x, sb.y, sb.width, sb.height)
    assert (sa.full_x, sa.full_y, sa.full_width, sa.full_height) == (
        sb.full_x, sb.full_y, sb.full_width, sb.full_height)
    assert (sa.tile_width, sa.tile_height) == (sb.tile_width, sb.tile_height)
    attrs_a, attrs_b = _attrs(sa), _attrs(sb)
    for key, value in attrs_a.items():
        assert attrs_b.get(key) == value, key


@pytest.mark.parametrize("tiled", [False, True])
@pytest.mark.parametrize("aovs", [True, False], ids=["half+float-aovs", "all-half"])
def test_exr_rewrite_bit_exact(tmp_path: Path, tiled: bool, aovs: bool) -> None:
    src = make_exr_frame(tmp_path / "plate.exr", 64, 48, data_window=(7, 3), extra_channels=aovs,
                         display_window=(0, 0, 96, 60), compression="piz", tiled=tiled)
    f = read_frame(src)
    # an all-half part is kept as its stored half bits (a float Z forces float32)
    assert f.pixels is not None and f.pixels.dtype == (np.float32 if aovs else np.float16)
    styled = _stylize(f.rgb)
    out = write_frame(f, styled, tmp_path / "out" / "plate.exr")
    _assert_exr_identical_except(src, out, {"R", "G", "B"})
    # RGB holds the new values, rounded once to the channel's half type
    for i, ch in enumerate("RGB"):
        np.testing.assert_array_equal(channel_bits(out, ch), styled[..., i].astype(np.float16).view(np.uint16))
    spec = _spec(out)
    assert spec.get_string_attribute("compression") == "piz"
    assert spec.getattribute("smpte:TimeCode") == (0x01020304, 0)
    assert spec.get_string_attribute("studio:shotNote") == "plate with a data window, keep all AOVs"
    assert _dir_listing(out.parent) == ["plate.exr"]  # no temp file left behind


def test_half_part_written_as_oiio_would_convert(tmp_path: Path) -> None:
    """Writing an all-half part from its half pixels rounds new RGB exactly like OIIO's own
    float -> half conversion: overflow to inf, denormals, ties to even."""
    src = make_exr_frame(tmp_path / "plate.exr", 64, 48, extra_channels=False)
    f = read_frame(src)
    rng = np.random.default_rng(3)
    styled = (rng.standard_normal(f.rgb.shape) * 10.0 ** rng.integers(-9, 6, f.rgb.shape)).astype(np.float32)
    styled.reshape(-1)[:6] = [65504.0, 65520.0, 7e4, 2.98e-8, 2.99e-8, -6e-8]
    native = write_frame(f, styled, tmp_path / "native.exr")
    via_float = write_frame(dataclasses.replace(f, pixels=None), styled, tmp_path / "float.exr")
    a, b = read_all_bits(native), read_all_bits(via_float)
    assert list(a) == list(b)
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)
    assert np.isinf(channel_bits(native, "G").view(np.float16)).any()


def test_exr_layer_stylize_leaves_main_rgb(tmp_path: Path) -> None:
    src = make_exr_frame(tmp_path / "plate.exr", 32, 24)
    f = read_frame(src, layer="diffuse")
    out = write_frame(f, _stylize(f.rgb), tmp_path / "styled.exr")
    _assert_exr_identical_except(src, out, {"diffuse.R", "diffuse.G", "diffuse.B"})
    assert not np.array_equal(channel_bits(src, "diffuse.R"), channel_bits(out, "diffuse.R"))


def test_exr_lossy_codec_defaults_to_lossless_zip(tmp_path: Path) -> None:
    src = make_exr_frame(tmp_path / "plate.exr", 32, 24, compression="dwaa")
    f = read_frame(src)
    out = write_frame(f, f.rgb, tmp_path / "o.exr")
    assert _spec(out).get_string_attribute("compression") == "zip"
    a, b = read_all_bits(src), read_all_bits(out)
    assert all(np.array_equal(a[k], b[k]) for k in a)  # decoded pixels kept exactly under ZIP
    # Asking for the lossy codec keeps it: DWA keeps alpha and float channels lossless.
    out2 = write_frame(f, f.rgb, tmp_path / "o2.exr", options=WriteOptions(compression="dwaa"))
    assert _spec(out2).get_string_attribute("compression") == "dwaa"
    for name in ("A", "Z"):
        np.testing.assert_array_equal(channel_bits(src, name), channel_bits(out2, name))


def test_multipart_other_part_bit_exact(tmp_path: Path) -> None:
    src = make_exr_multipart(tmp_path / "m.exr", 32, 24, data_window=(2, 2), display_window=(0, 0, 40, 30))
    f = read_frame(src, part="beauty")
    out = write_frame(f, _stylize(f.rgb), tmp_path / "o" / "m.exr")
    _assert_exr_identical_except(src, out, {"R", "G", "B"}, subimage=0)
    _assert_exr_identical_except(src, out, set(), subimage=1)
    assert [p["name"] for p in describe(out)["parts"]] == ["beauty", "utility"]


def _write_uint_exr(path: Path, ids: np.ndarray) -> Path:
    """Two parts: half RGB, then an all-UINT part (written natively from uint32)."""
    h, w = ids.shape
    rgb = oiio.ImageSpec(w, h, 3, "half")
    rgb.attribute("oiio:subimagename", "rgb")
    idp = oiio.ImageSpec(w, h, 4, "uint")
    idp.channelnames = ("R", "G", "B", "id")
    idp.attribute("oiio:subimagename", "ids")
    out = oiio.ImageOutput.create(str(path))
    assert out.open(str(path), [rgb, idp])
    assert out.write_image(np.full((h, w, 3), 0.5, np.float32))
    assert out.open(str(path), idp, "AppendSubimage")
    assert out.write_image(np.dstack([ids, ids, ids, ids]).astype(np.uint32))
    out.close()
    return path


def test_uint_channels_exact_or_refused(tmp_path: Path) -> None:
    big = np.arange(12 * 8, dtype=np.uint64).reshape(12, 8) * 40_000_003 + 4_000_000_000
    src = _write_uint_exr(tmp_path / "ids.exr", (big % 2**32).astype(np.uint32))
    # stylizing the other part: the UINT part is copied natively, exact for any value
    f = read_frame(src, part="rgb")
    out = write_frame(f, f.rgb * 0.5, tmp_path / "o.exr")
    np.testing.assert_array_equal(channel_bits(src, "id", 1), channel_bits(out, "id", 1))
    # stylizing the UINT part itself: values above 2**24 cannot survive float32 -> refused
    f = read_frame(src, part="ids")
    with pytest.raises(OutputError, match="UINT channel 'id'"):
        write_frame(f, f.rgb, tmp_path / "refused.exr")
    assert not (tmp_path / "refused.exr").exists()
    assert _dir_listing(tmp_path) == ["ids.exr", "o.exr"]
    small = _write_uint_exr(tmp_path / "small.exr", np.arange(96, dtype=np.uint32).reshape(12, 8) * 9973)
    f = read_frame(small, part="ids")
    out = write_frame(f, f.rgb, tmp_path / "small_out.exr")
    np.testing.assert_array_equal(channel_bits(small, "id", 1), channel_bits(out, "id", 1))


def test_half_to_float_override(tmp_path: Path) -> None:
    src = make_exr_frame(tmp_path / "plate.exr", 32, 24)
    f = read_frame(src)
    styled = _stylize(f.rgb) + np.float32(1e-4)  # not representable in half
    out = write_frame(f, styled, tmp_path / "f.exr", options=WriteOptions(bit_depth="float"))
    spec = _spec(out)
    types = dict(zip(spec.channelnames, (str(t) for t in spec.channelformats)))
    assert types["R"] == types["G"] == types["B"] == "float"
    assert types["A"] == "half" and types["Z"] == "float" and types["matte.R"] == "half"
    np.testing.assert_array_equal(channel_bits(out, "G"), styled[..., 1].view(np.uint32))
    for name in ("A", "Z", "matte.R", "diffuse.G"):
        np.testing.assert_array_equal(channel_bits(src, name), channel_bits(out, name))
    with pytest.raises(OutputError, match="bit depth 10 not possible for openexr"):
        write_frame(f, styled, tmp_path / "x.exr", options=WriteOptions(bit_depth=10))
    with pytest.raises(OutputError, match="bit_depth"):
        WriteOptions(bit_depth=24)
    with pytest.raises(OutputError, match="unknown EXR compression 'lzma'"):
        write_frame(f, styled, tmp_path / "x.exr", options=WriteOptions(compression="lzma"))
    assert not (tmp_path / "x.exr").exists()


@pytest.mark.parametrize("path, compression, words", [
    ("x.exr", "dwaa:nan", "level 'nan' for dwaa"), ("x.exr", "dwaa:1e308", "level '1e308'"),
    ("x.exr", "zip:-5", "level '-5' for zip"), ("x.exr", "zip:" + "9" * 5000, "for zip: expected a whole number"),
    ("x.exr", "piz:99", "'piz' takes no level"), ("x.dpx", "nope", "unknown DPX compression 'nope', valid: none"),
    ("x.jpg", "jpeg:1e308", "level '1e308' for jpeg"), ("x.png", "lzw", "unknown PNG compression 'lzw'"),
])
def test_compressions_oiio_would_ignore_or_misread_are_refused(tmp_path: Path, path, compression, words) -> None:
    # OIIO writes "dwaa:1e308" as level 1.0 and ignores a codec its format lacks, without a word.
    from filmstyle.io import check_write_options, format_for_path

    with pytest.raises(OutputError, match=re.escape(words)):
        check_write_options(WriteOptions(compression=compression), tmp_path / path, format_for_path(tmp_path / path))
    for fine, name in (("dwaa:45", "x.exr"), ("dwab:45.5", "x.exr"), ("zip:6", "x.exr"), ("ZIP", "x.exr"),
                       ("jpeg:90", "x.jpg"), ("zip:9", "x.png"), ("lzw", "x.tif")):
        check_write_options(WriteOptions(compression=fine), tmp_path / name, format_for_path(tmp_path / name))


# --------------------------------------------------------------------------- writing: DPX, LDR


@pytest.mark.parametrize("bits, endian", [(10, "big"), (10, "little"), (8, "big"), (12, "little"), (16, "big")])
def test_dpx_round_trip(tmp_path: Path, bits: int, endian: str) -> None:
    src = make_dpx(tmp_path / "scan.dpx", bits, endian, transfer="Logarithmic", colorimetric="Printing density")
    f = read_frame(src)
    assert f.bits_per_sample == bits and f.endian == endian
    assert f.colorspace_hint == "KodakLog"  # OIIO names log DPX itself
    assert read_frame(make_dpx(tmp_path / "pd.dpx", bits, endian)).colorspace_hint == "Printing density"
    # restyle the top rows with values taken from other rows: exactly on this depth's code grid
    styled = f.rgb.copy()
    styled[:10] = f.rgb[10:20, ::-1]
    out = write_frame(f, styled, tmp_path / "o" / "scan.dpx")
    with open(out, "rb") as fh:
        assert fh.read(4) == (b"SDPX" if endian == "big" else b"XPDS")
    sa, sb = _spec(src), _spec(out)
    assert sb.get_int_attribute("oiio:BitsPerSample") == bits and sb.format == sa.format
    for key in ("dpx:Transfer", "dpx:Colorimetric", "dpx:FrameRate", "dpx:InputDevice", "dpx:Packing"):
        assert sb.getattribute(key) == sa.getattribute(key), key
    assert sb.getattribute("smpte:TimeCode") == sa.getattribute("smpte:TimeCode")
    for ch in "RGB":
        a, b = channel_bits(src, ch), channel_bits(out, ch)
        np.testing.assert_array_equal(b[10:], a[10:])  # untouched rows: same native codes
        np.testing.assert_array_equal(b[:10], a[10:20, ::-1])  # restyled rows: the intended codes
    info = describe(out)
    assert info["dpx"] == {"endian": endian, "transfer": "Logarithmic", "colorimetric": "Printing density"}
    assert info["bit_depth"] == bits and info["timecode"] == "01:02:03:04"


@pytest.mark.parametrize("name", ["a.tif", "a.png"])
def test_16bit_ldr_round_trip(tmp_path: Path, name: str) -> None:
    src = make_ldr(tmp_path / name, 16, alpha=True)
    f = read_frame(src)
    assert f.alpha is not None and not f.alpha_associated  # the fixture stores straight alpha
    # colour exactly as stored, never premultiplied on read
    np.testing.assert_array_equal(np.round(f.rgb[..., 0] * 65535), channel_bits(src, "R"))
    out = write_frame(f, f.rgb, tmp_path / "o" / name)
    for ch in "RGBA":
        np.testing.assert_array_equal(channel_bits(src, ch), channel_bits(out, ch))
    assert channel_bits(out, "R").dtype == np.uint16


def test_cross_format_writes_rgba_at_default_depth(tmp_path: Path) -> None:
    src = make_exr_frame(tmp_path / "plate.exr", 32, 24)
    f = read_frame(src)
    rgb = np.clip(f.rgb, 0, 1)
    # opaque, so OIIO's un-premultiply for PNG's straight alpha leaves colour alone
    opaque = dataclasses.replace(f, alpha=np.ones_like(f.alpha))
    png = write_frame(opaque, rgb, tmp_path / "p.png")
    spec = _spec(png)
    assert spec.channelnames == ("R", "G", "B", "A") and str(spec.format) == "uint16"
    np.testing.assert_array_equal(channel_bits(png, "G"), np.round(rgb[..., 1] * 65535).astype(np.uint16))
    assert (channel_bits(png, "A") == 65535).all()
    dpx = write_frame(f, rgb, tmp_path / "p.dpx")
    assert _spec(dpx).get_int_attribute("oiio:BitsPerSample") == 10
    assert _spec(dpx).getattribute("smpte:TimeCode") == (0x01020304, 0)
    jpg = write_frame(f, rgb, tmp_path / "p.jpg")
    assert _spec(jpg).nchannels == 3
    with pytest.raises(OutputError, match="unknown image extension"):
        write_frame(f, rgb, tmp_path / "p.xyz")


def test_straight_alpha_source_is_premultiplied_for_exr_and_dpx(tmp_path: Path) -> None:
    """A PNG's straight colour goes into EXR/DPX premultiplied, as their readers expect it,
    and stays straight in another PNG/TIFF."""
    src = make_ldr(tmp_path / "s.png", 16, 32, 24, alpha=True)
    f = read_frame(src)
    assert not f.alpha_associated
    exr = write_frame(f, f.rgb, tmp_path / "o.exr")
    back = read_frame(exr)
    assert back.alpha_associated
    np.testing.assert_array_equal(back.rgb, (f.rgb * f.alpha[..., None]).astype(np.float16).astype(np.float32))
    dpx = read_frame(write_frame(f, f.rgb, tmp_path / "o.dpx"))
    np.testing.assert_allclose(dpx.rgb, f.rgb * f.alpha[..., None], atol=1 / 1023)
    tif = read_frame(write_frame(f, f.rgb, tmp_path / "o.tif"))
    assert not tif.alpha_associated
    np.testing.assert_array_equal(tif.rgb, f.rgb)


# -------------------------------------------------------------------------------- safety nets


def test_refuses_source_and_protected(tmp_path: Path) -> None:
    src = make_exr_frame(tmp_path / "plate.exr", 16, 12)
    other = make_exr_frame(tmp_path / "other.exr", 16, 12, seed=3)
    before = src.read_bytes(), other.read_bytes()
    f = read_frame(src)
    with pytest.raises(OutputError, match="refusing to overwrite a source"):
        write_frame(f, f.rgb, tmp_path / "." / "plate.exr")
    link = tmp_path / "link.exr"
    link.symlink_to(src)
    with pytest.raises(OutputError, match="refusing"):
        write_frame(f, f.rgb, link)
    with pytest.raises(OutputError, match="refusing"):
        write_frame(f, f.rgb, other, protect=[str(other)])
    assert (src.read_bytes(), other.read_bytes()) == before


def test_bad_rgb_rejected_before_writing(tmp_path: Path) -> None:
    src = make_exr_frame(tmp_path / "plate.exr", 16, 12)
    f = read_frame(src)
    outdir = tmp_path / "out"
    with pytest.raises(OutputError, match=r"shape \(12, 15, 3\), expected \(12, 16, 3\)"):
        write_frame(f, f.rgb[:, :15], outdir / "o.exr")
    with pytest.raises(OutputError, match="floating point"):
        write_frame(f, f.rgb.astype(np.int32), outdir / "o.exr")
    assert not outdir.exists()


def test_failure_midway_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = make_exr_frame(tmp_path / "plate.exr", 32, 24)
    f = read_frame(src)
    outdir = tmp_path / "out"
    previous = write_frame(f, f.rgb, outdir / "keep.exr").read_bytes()
    real = write_mod._emit_pixels

    def explode(out, pixels, name):  # write real data, then fail like a full disk would
        real(out, pixels, name)
        temps = [p for p in name.parent.iterdir() if p.name.startswith(f".{name.name}.tmp-") and p.suffix == ".exr"]
        assert len(temps) == 1, temps
        raise OutputError(f"{name}: simulated disk full")

    monkeypatch.setattr(write_mod, "_emit_pixels", explode)
    with pytest.raises(OutputError, match="simulated disk full"):
        write_frame(f, _stylize(f.rgb), outdir / "keep.exr")
    with pytest.raises(OutputError, match="simulated"):
        write_frame(f, _stylize(f.rgb), outdir / "new.exr")
    assert _dir_listing(outdir) == ["keep.exr"]
    assert (outdir / "keep.exr").read_bytes() == previous


def test_source_changed_since_read(tmp_path: Path) -> None:
    src = make_exr_frame(tmp_path / "plate.exr", 16, 12)
    f = read_frame(src)
    make_exr_frame(src, 16, 12, seed=9)
    os.utime(src, ns=(1, 1))
    with pytest.raises(InputError, match="changed on disk"):
        write_frame(f, f.rgb, tmp_path / "o.exr")


# ----------------------------------------------------------------------------------- describe


def test_describe_is_complete_and_json(tmp_path: Path) -> None:
    src = make_exr_frame(tmp_path / "plate.exr", 32, 24, data_window=(4, 4), display_window=(0, 0, 40, 32))
    info = describe(src)
    json.dumps(info, allow_nan=False)
    assert info["format"] == "openexr" and info["part_count"] == 1
    assert info["resolution"] == [32, 24]
    assert info["data_window"] == {"x": 4, "y": 4, "width": 32, "height": 24}
    assert info["display_window"] == {"x": 0, "y": 0, "width": 40, "height": 32}
    types = {c["name"]: c["type"] for c in info["channels"]}
    assert types["Z"] == "float" and types["diffuse.R"] == "half"
    assert set(info["layers"]) == {"", "diffuse", "matte"}
    assert info["bit_depth"] == 16 and info["compression"] == "piz" and info["tiled"] is False
    assert info["timecode"] == "01:02:03:04" and info["colorspace_hint"] == "lin_ap1_scene"
    meta = info["metadata"]
    assert meta["studio:shotNote"].startswith("plate with") and meta["studio:exposure"] == 1.5
    assert meta["studio:cameraMatrix"] == [float(v) for v in range(1, 17)]
    assert len(meta["chromaticities"]) == 8 and meta["Copyright"] == "Example Pictures Ltd"
    with pytest.raises(InputError):
        describe(tmp_path / "missing.exr")
