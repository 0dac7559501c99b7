"""``filmstyle compare``: nothing but intended differences after ``stylize`` on real samples, and
every unintended difference found when there is one."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import OpenImageIO as oiio
import pytest
from typer.testing import CliRunner

from filmstyle.cli import app
from filmstyle.tools.compare import INTENDED, intended_markdown
from tests.core.qc_samples import dpx_put, make_samples

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[2]


def cli(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """Every sample stylized by the CLI with real weights: name -> (source, output)."""
    folder = tmp_path_factory.mktemp("qc")
    pairs = {}
    for name, src in make_samples(folder / "src").items():
        out = folder / "out" / src.name
        result = cli("stylize", src, out, "--style", "starry-blue")
        assert result.exit_code == 0, (name, result.output)
        pairs[name] = (src, out)
    return pairs


def test_samples_differ_only_as_intended(rendered):
    for name, (src, out) in rendered.items():
        result = cli("compare", src, out, "--json")
        report = json.loads(result.output)
        assert result.exit_code == 0, (name, [d for f in report["files"] for d in f["differences"] if not d["intended"]])
        diffs = report["files"][0]["differences"]
        # the stylized RGB is found and is the only change for these samples (dwaa: the codec too)
        assert {d["what"] for d in diffs if d["intended"] == "stylized-rgb"} >= {
            "channel R pixels", "channel G pixels", "channel B pixels"}, name
        allowed = {"stylized-rgb", "lossy-codec"} if name == "dwaa" else {"stylized-rgb"}
        assert {d["intended"] for d in diffs} <= allowed, (name, diffs)


def test_compare_names_header_changes_an_ordinary_rewrite_makes(rendered, tmp_path):
    src, _ = rendered["scanline_half_piz"]
    rewritten = tmp_path / "rewritten.exr"
    # What writing the file back through OIIO does: capDate added, the preview and tiff:* dropped.
    assert oiio.ImageBuf(str(src)).write(str(rewritten))
    result = cli("compare", src, rewritten)
    assert result.exit_code == 1
    for expected in ("attribute capDate", "attribute preview", "attribute tiff:Software"):
        assert expected in result.output, result.output


def test_compare_finds_a_changed_untouched_channel(rendered, tmp_path):
    src, out = rendered["tiled_float_uint"]
    broken = tmp_path / "broken.exr"
    inp = oiio.ImageInput.open(str(out))
    spec = inp.spec().copy()
    pixels = np.asarray(inp.read_image(0, 0, 0, spec.nchannels, "float")).copy()
    inp.close()
    pixels[5, 7, list(spec.channelnames).index("A")] = 0.25
    o = oiio.ImageOutput.create(str(broken))
    o.open(str(broken), spec)
    o.write_image(pixels)
    o.close()
    result = cli("compare", src, broken, "--json")
    assert result.exit_code == 1
    unintended = [d for d in json.loads(result.output)["files"][0]["differences"] if not d["intended"]]
    assert {"where": "part 0", "what": "channel A pixels", "source": "", "output": "1 of 3072 values differ",
            "intended": None} in unintended


def test_compare_reads_dpx_fields_itself(rendered, tmp_path):
    src, out = rendered["dpx10_scanner"]
    changed = tmp_path / "changed.dpx"
    shutil.copy(out, changed)
    dpx_put(changed, 160, b"Some Writer 1.0".ljust(100, b"\0"))  # creator
    dpx_put(changed, 2048 + 40, b"\x99")  # one byte of user data
    result = cli("compare", src, changed)
    assert result.exit_code == 1
    assert "field creator: null -> Some Writer 1.0" in result.output
    assert "field user_data" in result.output


def test_compare_sequences_and_missing_outputs(rendered, tmp_path):
    src, out = rendered["dpx8"]
    for frame in (1, 2, 3):
        shutil.copy(src, tmp_path / f"src.{frame:04d}.dpx")
    for frame in (1, 2):
        shutil.copy(out, tmp_path / f"out.{frame:04d}.dpx")
    result = cli("compare", tmp_path / "src.####.dpx", tmp_path / "out.####.dpx", "--json")
    report = json.loads(result.output)
    assert result.exit_code == 1 and report["unintended"] == 1
    assert [f["unintended"] for f in report["files"]] == [0, 0, 1]
    ok = cli("compare", tmp_path / "src.####.dpx", tmp_path / "out.####.dpx", "--frames", "1-2")
    assert ok.exit_code == 0, ok.output
    assert "2 file(s) compared, 0 unintended difference(s)" in ok.output


def test_compare_errors_are_one_line(tmp_path):
    result = cli("compare", tmp_path / "missing.exr", tmp_path / "other.exr")
    assert result.exit_code == 1
    assert result.output.strip().count("\n") == 0 and "missing.exr" in result.output


def test_readme_quotes_the_intended_differences():
    readme = (ROOT / "README.md").read_text()
    assert intended_markdown() in readme
    assert len(INTENDED) == len({i.id for i in INTENDED})


@pytest.fixture(scope="module")
def plate_pair(tmp_path_factory):
    """A multi-layer EXR plate and its stylized frame."""
    from tests.core.plates import make_plate_sequence

    folder = tmp_path_factory.mktemp("choice")
    make_plate_sequence(folder / "src", (1,), width=48, height=32)
    src, out = folder / "src" / "shot.0001.exr", folder / "out" / "o.0001.exr"
    result = cli("stylize", src, out, "--style", "starry-blue")
    assert result.exit_code == 0, result.output
    return src, out


@pytest.mark.parametrize("args, needles", [
    (("--part", "99"), ("--part 99", "1 part")),
    (("--part", "-1"), ("--part -1", "1 part")),
    (("--layer", "nope"), ("--layer 'nope'", "diffuse")),
    (("--part", "0", "--layer", "nope"), ("--layer 'nope'", "part 0")),
])
def test_compare_refuses_a_part_or_layer_the_source_lacks(plate_pair, args, needles):
    from tests.core.hostile import one_line

    one_line(cli("compare", *plate_pair, *args), "shot.0001.exr", *needles)
    assert cli("compare", *plate_pair, "--part", "0").exit_code == 0
    assert cli("compare", *plate_pair, "--layer", "").exit_code == 0


def test_compare_says_an_output_folder_is_a_folder(plate_pair, tmp_path):
    from tests.core.hostile import one_line

    one_line(cli("compare", plate_pair[0], tmp_path), str(tmp_path), "is a folder")
