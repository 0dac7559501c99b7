"""Job files: schema, line-numbered errors, curves through real renders, CLI commands, cancellation."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from filmstyle.cli import app
from filmstyle.errors import JobError, RenderCancelled
from filmstyle.job import (
    build_plan,
    job_from_data,
    job_json_schema,
    job_template,
    load_job,
    plan_from_cli,
)
from filmstyle.engine.sequence import render_sequence
from tests.core.io_fixtures import channel_bits
from tests.core.plates import make_plate_sequence

runner = CliRunner()
FRAMES = (1001, 1002, 1003)
REPO = Path(__file__).resolve().parents[2]


def cli(*args):
    return runner.invoke(app, [str(a) for a in args])


def rgb_bits(path: Path) -> np.ndarray:
    return np.dstack([channel_bits(path, c) for c in "RGB"])


@pytest.fixture(scope="module")
def plates(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("job_plates")
    make_plate_sequence(folder, FRAMES)
    return folder


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def one_line_error(result, *needles: str) -> str:
    assert result.exit_code == 1, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("filmstyle: error:")]
    assert len(errors) == 1, result.output
    for needle in needles:
        assert needle in errors[0], errors[0]
    return errors[0]


# --------------------------------------------------------------------------------- curves in renders


def test_strength_curve_through_a_real_render(plates, tmp_path):
    """Keyed 0 -> 1 over three frames: frame 1001 is the source bit for bit, 1003 is exactly the
    constant-strength-1 render, 1002 lies between."""
    src = plates / "shot.####.exr"
    keyed = cli("stylize", src, tmp_path / "k.####.exr", "--style", "umber-ink", "--strength", "1001:0, 1003:1")
    assert keyed.exit_code == 0, keyed.output
    full = cli("stylize", src, tmp_path / "f.####.exr", "--style", "umber-ink", "--strength", "1", "--frames", "1003")
    assert full.exit_code == 0, full.output
    np.testing.assert_array_equal(rgb_bits(tmp_path / "k.1001.exr"), rgb_bits(plates / "shot.1001.exr"))
    np.testing.assert_array_equal(rgb_bits(tmp_path / "k.1003.exr"), rgb_bits(tmp_path / "f.1003.exr"))
    mid = rgb_bits(tmp_path / "k.1002.exr")
    assert (mid != rgb_bits(plates / "shot.1002.exr")).mean() > 0.5


def test_nuke_curve_text_is_accepted_for_strength(plates, tmp_path):
    result = cli("stylize", plates / "shot.####.exr", tmp_path / "n.####.exr", "--style", "umber-ink",
                 "--strength", "{curve K x1001 0 x1002 1}", "--frames", "1001")
    assert result.exit_code == 0, result.output
    np.testing.assert_array_equal(rgb_bits(tmp_path / "n.1001.exr"), rgb_bits(plates / "shot.1001.exr"))


def test_cli_blend_migrates_from_first_style_to_last(plates, tmp_path):
    src = plates / "shot.####.exr"
    blend = cli("stylize", src, tmp_path / "b.####.exr", "--style", "umber-ink", "--style", "teal-gold",
                "--blend", "1001:0, 1003:1", "--frames", "1001,1003")
    assert blend.exit_code == 0, blend.output
    for style, frame in (("umber-ink", 1001), ("teal-gold", 1003)):
        out = tmp_path / style / "o.####.exr"
        assert cli("stylize", src, out, "--style", style, "--frames", str(frame)).exit_code == 0
        np.testing.assert_array_equal(rgb_bits(tmp_path / f"b.{frame}.exr"), rgb_bits(out.parent / f"o.{frame}.exr"))
    bad = cli("stylize", src, tmp_path / "x.####.exr", "--style", "umber-ink", "--blend", "1001:0, 1003:1")
    one_line_error(bad, "--blend", "two --style")
    mixed = cli("stylize", src, tmp_path / "x.####.exr", "--style", "umber-ink", "--style", str(plates / "shot.1001.exr"))
    one_line_error(mixed, "cannot blend built-in looks with image styles")


def test_plan_from_cli_keeps_its_old_signature(plates, tmp_path):
    plan = plan_from_cli(input=str(plates / "shot.####.exr"), output=str(tmp_path / "o.####.exr"),
                         style="starry-blue", strength=1.0, overwrite=True)
    assert plan.model == "cin26" and len(plan.looks[0].styles) == 1 and plan.looks[0].strength(1001) == 1.0


# ------------------------------------------------------------------------------------ loading, errors


GOOD = """\
filmstyle: 1
input: plates/shot.####.exr
output: out/o.####.exr
styles:
  - style: umber-ink
    weight: "1001:1, 1003:0"
  - style: teal-gold
    weight: "1001:0, 1003:1"
strength: "1001:0.5 smooth, 1003:1"
regions:
  - name: box
    mask: {rectangle: {box: [10, 10, 40, 40], feather: 2}}
    styles: [slate-ink]
default: {}
"""


@pytest.mark.parametrize(
    "old, new, needles",
    [
        ("strength:", "strenght:", ("strenght (line 9)", "unknown key", "did you mean 'strength'")),
        ('"1001:0.5 smooth, 1003:1"', '"1001:0.5 smoth, 1003:1"', ("strength (line 9)", "1001:0.5 smoth")),
        ("  - style: teal-gold", "  - style: teal-gould", ("styles[1].style (line 7)", "teal-gold")),
        ("default: {}", "default: 3", ("default (line 14)", "expected a mapping", "got integer 3")),
        ("feather: 2}}", "fether: 2}}", ("regions[0].mask.rectangle (line 12)", "unknown key 'fether'")),
        ("    styles: [slate-ink]", "    styles: [slate-ink]\n    strenght: 1", ("regions[0].strenght (line 14)",)),
        ("filmstyle: 1", "filmstyle: 3", ("filmstyle (line 1)", "version 3 is not supported", "supported: 1, 2")),
        ("input: plates/shot.####.exr", "input: [a, b]", ("input (line 2)", "expected a non-empty string")),
        ("  - style: umber-ink", "  - style: umber-ink\n    weigth: 1", ("styles[0].weigth (line 6)",)),
    ],
)
def test_errors_name_the_field_and_the_line(tmp_path, old, new, needles):
    assert old in GOOD
    path = write(tmp_path / "job.yaml", GOOD.replace(old, new, 1))
    with pytest.raises(JobError) as info:
        load_job(path)
    message = str(info.value)
    assert "\n" not in message and message.startswith("job.yaml: ")
    for needle in needles:
        assert needle in message, message


def test_good_job_loads_round_trips_and_resolves_paths_from_its_folder(plates, tmp_path, monkeypatch):
    job_dir = tmp_path / "jobs" / "sq010"
    shutil.copytree(plates, job_dir / "plates")
    path = write(job_dir / "job.yaml", GOOD)
    monkeypatch.chdir(tmp_path)  # somewhere else: paths must not resolve from here
    job = load_job(path)
    again = job_from_data(yaml.safe_load(yaml.safe_dump(job.to_data())), base_dir=job.base_dir)
    assert again == job
    plan = build_plan(job)
    assert plan.source.path(1001) == job_dir / "plates" / "shot.1001.exr"
    assert plan.output.path(1002) == job_dir / "out" / "o.1002.exr"
    # Weights normalised per frame; regions inherit the top-level strength when they have none.
    default = plan.looks[plan.default]
    assert [sw.weight for sw in default.blend_at(1002)] == pytest.approx([0.5, 0.5])
    assert plan.looks[plan.regions[0].look].strength(1003) == 1.0 and default.strength(1001) == 0.5
    # A job file with a relative style image finds it beside the job, not in the cwd.
    shutil.copy(job_dir / "plates" / "shot.1001.exr", job_dir / "look.exr")
    image_job = write(job_dir / "image.yaml", "filmstyle: 1\ninput: plates/shot.####.exr\noutput: o/o.####.exr\n"
                                              "styles: [look.exr]\nstrength: 1.5\n")
    assert build_plan(load_job(image_job)).looks[0].styles[0].style.path == job_dir / "look.exr"
    # The output colourspace of a DPX render of the EXR plates reaches the plan.
    dpx_job = write(job_dir / "dpx.yaml", "filmstyle: 1\ninput: plates/shot.####.exr\noutput: o/o.####.dpx\n"
                                          "styles: [umber-ink]\ncolour: {output_colorspace: ACEScct}\n")
    assert build_plan(load_job(dpx_job)).output_colorspace == "ACEScct"


def test_version_1_files_load_through_the_upgrade(plates, tmp_path):
    """Format 1 spelled colour the British way; such files load as format 2 and write back as 2."""
    old = write(tmp_path / "old.yaml", f"filmstyle: 1\ninput: {plates}/shot.####.exr\noutput: o/o.####.exr\n"
                                       "styles: [umber-ink]\ncolour: {input_colorspace: ACEScg}\npreserve_colour: 0.5\n")
    job = load_job(old)
    assert job.input_colorspace == "ACEScg" and job.preserve_color.value_at(1) == 0.5
    data = job.to_data()
    assert data["filmstyle"] == 2 and data["color"] == {"input_colorspace": "ACEScg"} and data["preserve_color"] == 0.5
    with pytest.raises(JobError, match=r"preserve_colour \(line 6\): unknown key, did you mean 'preserve_color'"):
        load_job(write(tmp_path / "mixed.yaml", old.read_text().replace("filmstyle: 1", "filmstyle: 2")
                       .replace("colour: {", "color: {")))


def test_yaml_syntax_error_and_missing_version(tmp_path):
    with pytest.raises(JobError, match=r"^bad\.yaml: not valid YAML \(line 3\)"):
        load_job(write(tmp_path / "bad.yaml", "filmstyle: 1\ninput: a\n  output: [b\n"))
    with pytest.raises(JobError, match=r"filmstyle \(line 1\): missing the job format version"):
        load_job(write(tmp_path / "nov.yaml", "input: a.exr\noutput: b.exr\nstyles: [umber-ink]\n"))
    with pytest.raises(JobError, match=r"^strength: expected values 0\.\.1, got 1\.5$"):
        job_from_data({"filmstyle": 1, "input": "a", "output": "b", "styles": ["umber-ink"], "strength": 1.5},
                      base_dir=tmp_path)


# ---------------------------------------------------------------------------------------- schema


def _conforms(value, schema, root) -> bool:
    """A small JSON Schema checker for the keywords job_json_schema uses."""
    if "$ref" in schema:
        return _conforms(value, root["$defs"][schema["$ref"].rsplit("/", 1)[1]], root)
    if "anyOf" in schema and not any(_conforms(value, s, root) for s in schema["anyOf"]):
        return False
    if "const" in schema and value != schema["const"]:
        return False
    if "enum" in schema and value not in schema["enum"]:
        return False
    if "pattern" in schema and isinstance(value, str) and not re.search(schema["pattern"], value):
        return False
    types = schema.get("type")
    if types is not None:
        types = [types] if isinstance(types, str) else types
        checks = {"string": lambda v: isinstance(v, str), "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
                  "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
                  "boolean": lambda v: isinstance(v, bool), "null": lambda v: v is None,
                  "object": lambda v: isinstance(v, dict), "array": lambda v: isinstance(v, list)}
        if not any(checks[t](value) for t in types):
            return False
    if isinstance(value, dict):
        props = schema.get("properties", {})
        if any(k not in value for k in schema.get("required", ())):
            return False
        if schema.get("additionalProperties") is False and any(k not in props for k in value):
            return False
        return all(_conforms(v, props[k], root) for k, v in value.items() if k in props)
    if isinstance(value, list) and "items" in schema:
        return all(_conforms(v, schema["items"], root) for v in value)
    return True


def test_schema_accepts_the_template_and_example_and_matches_the_loader(tmp_path):
    schema = job_json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    template = yaml.safe_load(job_template())
    example = yaml.safe_load((REPO / "examples" / "migration.yaml").read_text())
    for data in (template, example):
        assert _conforms(data, schema, schema)
        job_from_data(data, base_dir=tmp_path)  # the loader agrees
    assert not _conforms({**template, "strenght": 1}, schema, schema)
    assert not _conforms({**template, "device": "tpu"}, schema, schema)
    assert _conforms({**template, "device": "cuda:1"}, schema, schema)
    # Every top-level key the schema lists is one the loader accepts, and no other.
    from filmstyle.job.params import job_parameters

    assert set(schema["properties"]) == {"filmstyle", *(p.group or p.key for p in job_parameters())}


# ------------------------------------------------------------------------------------------ CLI


def test_validate_render_init_and_schema_commands(plates, tmp_path):
    job_dir = tmp_path / "shot"
    shutil.copytree(plates, job_dir / "plates")
    path = write(job_dir / "job.yaml", GOOD)
    result = cli("validate", path)
    assert result.exit_code == 0, result.output
    out = result.output
    assert "frames: 1001-1003 (3 frames)" in out
    assert "regions: 1" in out and "outside them: the default look" in out
    strength_row = [line for line in out.splitlines() if line.strip().startswith("strength")][-1]
    assert strength_row.split()[1:] == ["0.500", "0.750", "1.000"]
    bad = write(job_dir / "bad.yaml", GOOD.replace("teal-gold", "teal-gould"))
    one_line_error(cli("validate", bad), "styles[1].style (line 7)")

    result = cli("render", path, "--frames", "1002")
    assert result.exit_code == 0, result.output
    assert (job_dir / "out" / "o.1002.exr").exists() and not (job_dir / "out" / "o.1001.exr").exists()
    stamp = (job_dir / "out" / "o.1002.exr").stat().st_mtime_ns
    assert cli("render", path, "--frames", "1002").exit_code == 0
    assert (job_dir / "out" / "o.1002.exr").stat().st_mtime_ns == stamp  # skipped
    assert cli("render", path, "--frames", "1002", "--overwrite").exit_code == 0
    assert (job_dir / "out" / "o.1002.exr").stat().st_mtime_ns != stamp

    new = tmp_path / "init" / "job.yaml"
    result = cli("job", "init", new)
    assert result.exit_code == 0, result.output
    assert new.read_text() == job_template()
    one_line_error(cli("job", "init", new), "already exists")

    result = cli("job", "schema", "--out", tmp_path / "schema.json")
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "schema.json").read_text()) == job_json_schema()
    printed = cli("job", "schema")
    assert json.loads(printed.stdout)["title"] == "filmstyle job"


# ---------------------------------------------------------------------------------- cancellation


def test_should_stop_finishes_the_frame_in_flight_then_raises(plates, tmp_path):
    plan = plan_from_cli(input=str(plates / "shot.####.exr"), output=str(tmp_path / "c.####.exr"), style="umber-ink")
    asked = []

    def stop() -> bool:
        asked.append(1)
        return len(asked) > 1  # let the first frame start, stop before the second

    with pytest.raises(RenderCancelled, match="before frame 1002") as info:
        render_sequence(plan, should_stop=stop)
    assert [r.frame for r in info.value.report.results] == [1001]
    assert (tmp_path / "c.1001.exr").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.1001.exr"]  # no temp or partial files
    np.testing.assert_array_equal(channel_bits(tmp_path / "c.1001.exr", "A"), channel_bits(plates / "shot.1001.exr", "A"))


# ---------------------------------------------------------------------------------------- example


def test_example_migration_job_validates_and_renders(tmp_path):
    spec = importlib.util.spec_from_file_location("make_example_shot", REPO / "examples" / "make_example_shot.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.make_shot(tmp_path / "shot")
    job = shutil.copy(REPO / "examples" / "migration.yaml", tmp_path / "migration.yaml")
    result = cli("validate", job)
    assert result.exit_code == 0, result.output
    assert "frames: 1001-1024 (24 frames)" in result.output
    result = cli("render", job, "--frames", "1001,1024")
    assert result.exit_code == 0, result.output
    plan = build_plan(load_job(job))
    src, out = rgb_bits(tmp_path / "shot" / "plate.1001.exr"), rgb_bits(tmp_path / "render" / "migration.1001.exr")
    changed = (src != out).any(axis=2)
    # Frame 1001: strength 0 outside the ellipse (untouched), the third style inside it.
    from filmstyle.job.masks import MaskContext

    inside = plan.regions[0].mask.evaluate(1001, MaskContext(270, 480))
    assert not changed[inside == 0].any()
    assert changed[inside == 1].mean() > 0.9
    last = (rgb_bits(tmp_path / "shot" / "plate.1024.exr") != rgb_bits(tmp_path / "render" / "migration.1024.exr"))
    assert last.any(axis=2).mean() > 0.9  # strength 0.3 of style B everywhere else
