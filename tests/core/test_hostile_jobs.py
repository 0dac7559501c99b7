"""Hostile jobs through the command line: frame ranges, YAML, absurd values, paths, outputs that are
inputs, mattes. Each ends in one short line naming the field, file or frame, a non-zero exit, no
traceback, nothing written and nothing touched; those that could exhaust memory or time run in a
child process with both bounded."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import OpenImageIO as oiio
import pytest

from tests.core.hostile import bounded, cli, one_line, tree
from tests.core.plates import make_plate_sequence

W, H = 48, 32
BILLION = "1-1000000000"


def _write(path: Path, pixels: np.ndarray, names: tuple[str, ...], fmt: str = "half") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    spec = oiio.ImageSpec(pixels.shape[1], pixels.shape[0], len(names), fmt)
    spec.channelnames = names
    out = oiio.ImageOutput.create(str(path))
    assert out.open(str(path), spec), oiio.geterror()
    assert out.write_image(np.ascontiguousarray(pixels, dtype=np.float32))
    out.close()
    return path


@pytest.fixture(scope="module")
def shot(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("hostile_jobs")
    make_plate_sequence(root / "src", (1, 2, 3), width=W, height=H)
    gradient = np.dstack([np.linspace(0, 1, 32)[None, :].repeat(24, 0)] * 3)
    for name in ("paint.png", "region.png", "outside.png", "user.png"):
        _write(root / "styles" / name, gradient, ("R", "G", "B"), "uint8")
    for f in (1, 2, 3):
        _write(root / "mattes" / f"m.{f:04d}.exr", np.full((H, W, 1), 0.5), ("A",))
    _write(root / "gappy" / "g.0001.exr", np.full((H, W, 1), 0.5), ("A",))
    _write(root / "gappy" / "g.0003.exr", np.full((H, W, 1), 0.5), ("A",))
    return root


def job(folder: Path, name: str = "job.yaml", **fields) -> Path:
    """A job file (JSON is YAML) rendering ``src`` to ``out`` with one built-in look."""
    data = {"filmstyle": 2, "input": "src/shot.####.exr", "output": "out/o.####.exr", "styles": ["starry-blue"],
            **fields}
    path = folder / name
    path.write_text(json.dumps(data))
    return path


def raw_job(folder: Path, body: str, name: str = "raw.yaml") -> Path:
    path = folder / name
    path.write_text("filmstyle: 2\ninput: src/shot.####.exr\noutput: out/o.####.exr\n" + body)
    return path


def region(mask: dict, **extra) -> list[dict]:
    return [{"mask": mask, "styles": ["umber-ink"], **extra}]


ELLIPSE = {"ellipse": {"center": [20, 16], "radius": 8}}


# -- frame ranges: checked against the frames on disk, never expanded -------------------------------


@pytest.mark.parametrize("how", ["stylize", "validate", "render"])
def test_billion_frame_range_is_one_line_in_bounded_memory(shot, how):
    if how == "stylize":
        args = ["stylize", "src/shot.####.exr", "out/o.####.exr", "--style", "starry-blue", "--frames", BILLION]
    elif how == "validate":
        args = ["validate", job(shot, "billion.yaml", frames=BILLION)]
    else:
        args = ["render", job(shot, "plain.yaml"), "--frames", BILLION]
    before = tree(shot)
    result = bounded(*args, cwd=shot, memory_mb=1500, timeout=60)
    one_line(result, "missing frame 4", "shot.0004.exr", "999999997 of 1000000000 frames missing")
    assert tree(shot) == before


def test_frame_numbers_beyond_32_bits(shot):
    one_line(cli("validate", job(shot, frames="1-99999999999")), "frames", "outside")


def test_frame_range_with_a_5000_digit_number(shot):
    one_line(cli("validate", job(shot, frames="1-" + "9" * 5000)), "frames", "cannot parse")


def test_overlapping_stepped_billion_ranges(shot):
    result = bounded("validate", job(shot, frames="1-1000000000x2, 2-1000000000x3"), cwd=shot, memory_mb=1500)
    one_line(result, "frames", "overlap")


def test_frame_range_of_a_million_items_is_refused_and_not_echoed(shot):
    one_line(cli("validate", job(shot, frames=",".join(["1"] * 500_000))), "frames", "characters, at most 200000")


# -- YAML: aliases and nesting ------------------------------------------------------------------------

_LAUGHS = "".join(
    f"{name}: &{name} [{', '.join([f'*{prev}' if prev else '1'] * 9)}]\n"
    for prev, name in zip(["", "a", "b", "c", "d", "e", "f", "g", "h"], "abcdefghi")
)


def test_yaml_alias_bomb_is_refused_fast(shot):
    path = raw_job(shot, _LAUGHS + "styles: [starry-blue]\n", "bomb.yaml")
    result = bounded("validate", path, memory_mb=1500, timeout=60)
    one_line(result, "bomb.yaml", "more than 500000 values", "aliases")


def test_yaml_alias_bomb_inside_a_mask(shot):
    masks = "m0: &m0 {ellipse: {center: [1, 1], radius: 1}}\n"
    for i in range(1, 8):
        masks += f"m{i}: &m{i} {{op: max, masks: [{', '.join([f'*m{i - 1}'] * 8)}]}}\n"
    path = raw_job(shot, "styles: [starry-blue]\nx:\n" + "".join("  " + line + "\n" for line in masks.splitlines())
                   + "regions:\n  - mask: *m7\n", "maskbomb.yaml")
    one_line(bounded("validate", path, memory_mb=1500, timeout=60), "maskbomb.yaml")


def test_deeply_nested_yaml(shot):
    path = raw_job(shot, "styles: " + "[" * 5000 + "]" * 5000 + "\n", "deep.yaml")
    one_line(bounded("validate", path, memory_mb=1500, timeout=60), "deep.yaml", "nested deeper than 32", "line 4")


def test_deeply_nested_mask_operations(shot):
    mask: dict = ELLIPSE
    for _ in range(13):
        mask = {"op": "invert", "mask": mask}
    one_line(cli("validate", job(shot, regions=region(mask))), "regions[0].mask", "nested deeper than 12")


def test_yaml_integer_of_5000_digits(shot):
    one_line(cli("validate", raw_job(shot, "styles: [starry-blue]\ntile_size: 1" + "0" * 5000 + "\n")),
             "not valid YAML", "too long")


def test_job_file_over_4_mb(shot):
    path = shot / "huge.yaml"
    with path.open("wb") as fh:
        fh.truncate(5 << 20)  # sparse: the size alone refuses it
    one_line(cli("validate", path), "huge.yaml", "at most")


def test_a_job_file_that_is_a_device_or_a_pipe(shot):
    # /dev/zero has size 0 and no end (it used to be read until the kernel killed the process);
    # a pipe without a writer blocks its reader for ever.
    one_line(bounded("validate", "/dev/zero", memory_mb=1500, timeout=60), "/dev/zero", "not a regular file")
    fifo = shot / "pipe.yaml"
    os.mkfifo(fifo)
    one_line(bounded("render", fifo, memory_mb=1500, timeout=60), "pipe.yaml", "not a regular file")


def test_a_field_set_twice_is_refused_with_both_lines(shot):
    text = "styles: [starry-blue]\nstrength: 0\nframes: 1-2\nstrength: 0.5\n"
    one_line(cli("validate", raw_job(shot, text, "twice.yaml")), "twice.yaml", "strength: set twice", "lines 5 and 7")
    nested = "styles:\n  - style: starry-blue\n    weight: 1\n    weight: 2\n"
    one_line(cli("validate", raw_job(shot, nested, "twice2.yaml")), "styles[0].weight: set twice", "lines 6 and 7")
    merged = "base: &b {strength: 0.5}\nstyles: [starry-blue]\nx:\n  <<: *b\n  other: 1\n"
    assert "set twice" not in cli("validate", raw_job(shot, merged, "merge.yaml")).output


def test_aliases_within_the_limits_still_work(shot):
    text = ("styles: [starry-blue]\nframes: 1-2\nregions:\n  - mask: &face {ellipse: {center: [20, 16], radius: 8}}\n"
            "  - mask: {op: invert, mask: *face}\n")
    result = cli("validate", raw_job(shot, text, "shared.yaml"))
    assert result.exit_code == 0, result.output


# -- absurd values: refused by validate, never a traceback in render ---------------------------------

ABSURD = {
    "blur radius 1e12": (dict(regions=region({"op": "blur", "radius": 1e12, "mask": ELLIPSE})),
                         ("regions[0].mask.radius", "<= 4096")),
    "grow 1e9": (dict(regions=region({"op": "grow", "pixels": 1e9, "mask": ELLIPSE})),
                 ("regions[0].mask.pixels", "<= 500")),
    "shrink 1e9": (dict(regions=region({"op": "grow", "pixels": -1e9, "mask": ELLIPSE})),
                   ("regions[0].mask.pixels", ">= -500")),
    "feather 1e12": (dict(regions=region({"ellipse": {"center": [1, 1], "radius": 5, "feather": 1e12}})),
                     ("regions[0].mask.ellipse.feather", "<= 10000")),
    "box 1e300": (dict(regions=region({"rectangle": {"box": [0, 0, 1e300, 10]}})),
                  ("regions[0].mask.rectangle.box[2]", "<= 1e+06")),
    "rotation 1e300": (dict(regions=region({"ellipse": {"center": [1, 1], "radius": 5, "rotation": 1e300}})),
                       ("regions[0].mask.ellipse.rotation", "<= 1e+06")),
    "hue width 1e300": (dict(regions=region({"hue": {"hue": 200, "width": 1e300}})),
                        ("regions[0].mask.hue.width", "<= 1e+06")),
    "2000 polygon points": (dict(regions=region({"polygon": {"points": [[i % 40, i % 30] for i in range(2000)]}})),
                            ("regions[0].mask.polygon.points", "2000 points, at most 1000")),
    "100 masks in one op": (dict(regions=region({"op": "max", "masks": [ELLIPSE] * 100})),
                            ("regions[0].mask.masks", "at most 64")),
    "tile size 1e12": (dict(tile_size=10**12), ("tile_size", "64..8192")),
    "stroke scale 0.0001": (dict(stroke_scale=0.0001), ("stroke_scale", "0.25..100")),
    "style weight 1e308": (dict(styles=[{"style": "starry-blue", "weight": 1e308}]), ("styles[0].weight", "0..1e+06")),
    "key frame 10**20": (dict(strength=[[10**20, 1.0], [1, 0.5]]), ("strength", "key frame")),
    "matte channel of 1 MB": (dict(regions=region({"channel": "R" * (1 << 20)})),
                              ("regions[0].mask.channel", "at most 255")),
}


@pytest.mark.parametrize("case", list(ABSURD))
def test_absurd_values_are_refused_by_validate(shot, case):
    fields, needles = ABSURD[case]
    one_line(cli("validate", job(shot, f"absurd.yaml", **fields)), "absurd.yaml", *needles)


def test_nan_luma_coefficients(shot):
    path = raw_job(shot, "styles: [starry-blue]\nregions:\n  - mask: {luma: {low: 0.2, coeffs: [.nan, 1, 1]}}\n")
    one_line(cli("validate", path), "regions[0].mask.luma.coeffs")


def test_absurd_values_never_reach_render(shot):
    fields, needles = ABSURD["blur radius 1e12"]
    path = job(shot, "absurd_render.yaml", **fields)
    before = tree(shot)
    one_line(cli("render", path, "--overwrite"), *needles)
    assert tree(shot) == before and not (shot / "out").exists()


def test_curve_text_of_nested_braces_is_linear(shot):
    # Stripping 400 000 brace pairs one layer at a time was quadratic (hours); now one pass.
    text = "{" * 400_000 + "curve x1 0 x2 1" + "}" * 400_000
    result = bounded("validate", job(shot, "braces.yaml", strength=text + " oops"), cwd=shot, timeout=60)
    one_line(result, "strength")
    result = bounded("validate", job(shot, "braces2.yaml", strength=text), cwd=shot, timeout=60)
    assert result.returncode == 0, result.stderr[-500:]


# -- mattes and channels: validate checks what render will read --------------------------------------


def test_missing_matte_frames_are_caught_by_validate(shot):
    path = job(shot, regions=region({"file": "gappy/g.####.exr", "channel": "A"}))
    one_line(cli("validate", path), "regions[0].mask.file", "missing matte frame 2", "g.0002.exr", "1 of 3")


def test_missing_matte_file_is_caught_by_validate(shot):
    path = job(shot, regions=region({"file": "mattes/absent.exr"}))
    one_line(cli("validate", path), "regions[0].mask.file", "absent.exr")


def test_missing_matte_channel_is_caught_by_validate(shot):
    path = job(shot, regions=region({"op": "invert", "mask": {"file": "mattes/m.####.exr", "channel": "Q"}}))
    one_line(cli("validate", path), "regions[0].mask.mask.channel", "m.0001.exr", "no channel 'Q'", "valid: A")


def test_missing_input_channel_is_caught_by_validate(shot):
    path = job(shot, regions=region({"channel": "holdout.A"}))
    one_line(cli("validate", path), "regions[0].mask.channel", "shot.0001.exr", "no channel 'holdout.A'")


def test_present_mattes_and_channels_validate(shot):
    path = job(shot, regions=region({"op": "multiply", "masks": [{"file": "mattes/m.####.exr"}, {"channel": "matte.R"}]}))
    result = cli("validate", path)
    assert result.exit_code == 0, result.output


def test_matte_of_another_size_than_the_plate_is_caught_by_validate(shot):
    for f in (1, 2, 3):
        _write(shot / "small" / f"s.{f:04d}.exr", np.full((10, 10, 1), 0.5), ("A",))
    path = job(shot, "small.yaml", regions=region({"file": "small/s.####.exr", "channel": "A"}))
    one_line(cli("validate", path), "regions[0].mask.file", "s.0001.exr", "matte is 10x10, frame is 48x32",
             "fit: stretch or center")
    stretched = job(shot, "stretched.yaml", regions=region({"file": "small/s.####.exr", "fit": "stretch"}))
    assert cli("validate", stretched).exit_code == 0


def test_style_file_that_is_not_an_image_is_caught_by_validate(shot):
    (shot / "styles" / "text.exr").write_text("not an image\n")
    one_line(cli("validate", job(shot, "text_style.yaml", regions=[{"mask": ELLIPSE, "styles": ["styles/text.exr"]}])),
             "regions[0].styles[0].style", "text.exr", "cannot read")


@pytest.mark.parametrize("damage", ["text", "truncated"])
@pytest.mark.parametrize("frame", [2, 3])
def test_unreadable_input_frames_are_caught_by_validate(shot, damage, frame):
    folder = shot / f"bad_{damage}_{frame}"
    make_plate_sequence(folder, (1, 2, 3), width=W, height=H)
    bad = folder / f"shot.{frame:04d}.exr"
    if damage == "text":
        bad.write_text("not an image\n")
    else:
        bad.write_bytes(bad.read_bytes()[:3000])
    path = job(shot, f"bad_{damage}_{frame}.yaml", input=f"{folder.name}/shot.####.exr")
    one_line(cli("validate", path), f"shot.{frame:04d}.exr")


# -- style images: refused from the header when decoding them would take gigabytes -------------------


@pytest.fixture(scope="module")
def huge_style(shot) -> Path:
    """An 8200x8200 black PNG (under 1 MB on disk, 800 MB as float pixels), written a strip at a time."""
    path = shot / "styles" / "huge.png"
    spec = oiio.ImageSpec(8200, 8200, 3, "uint8")
    spec.attribute("png:compressionLevel", 1)
    out = oiio.ImageOutput.create(str(path))
    assert out.open(str(path), spec), oiio.geterror()
    strip = np.zeros((512, 8200, 3), np.uint8)
    for y in range(0, 8200, 512):
        rows = min(512, 8200 - y)
        assert out.write_scanlines(y, y + rows, 0, strip[:rows]), out.geterror()
    out.close()
    return path


@pytest.mark.parametrize("how", ["stylize", "validate", "render"])
def test_style_image_over_the_pixel_limit_is_refused_from_its_header(shot, huge_style, how):
    if how == "stylize":
        args = ["stylize", "src/shot.####.exr", "huge_out/o.####.exr", "--style", huge_style, "--frames", "1"]
        field = "styles[0].style"
    elif how == "validate":
        args, field = ["validate", job(shot, "huge.yaml", styles=["styles/huge.png"])], "styles[0].style"
    else:
        regions = [{"mask": ELLIPSE, "styles": ["styles/huge.png"]}]
        args = ["render", job(shot, "huge_region.yaml", output="huge_out/o.####.exr", regions=regions)]
        field = "regions[0].styles[0].style"
    result = bounded(*args, memory_mb=1000, timeout=60, cwd=shot)
    one_line(result, field, "huge.png", "is 8200x8200", "at most 67.1 megapixels (8192x8192)")
    assert not (shot / "huge_out").exists()


# -- an output that is an input of the job is refused, whatever overwrite says ------------------------


@pytest.mark.parametrize("where", ["styles", "region", "default", "user", "matte"])
def test_output_that_is_an_input_is_refused(shot, where, monkeypatch):
    fields: dict = {"frames": "1", "overwrite": True}
    if where == "styles":
        fields.update(styles=["styles/paint.png"], output="styles/paint.png")
        needles = ("styles[0].style",)
    elif where == "region":
        fields.update(regions=[{"mask": ELLIPSE, "styles": ["styles/region.png"]}], output="styles/region.png",
                      styles=["styles/paint.png"])
        needles = ("regions[0].styles[0].style",)
    elif where == "default":
        fields.update(regions=region(ELLIPSE), default={"styles": ["styles/outside.png"]}, output="styles/outside.png",
                      styles=["styles/paint.png"])
        needles = ("default.styles[0].style",)
    elif where == "user":
        users = shot / "user_styles.yaml"
        users.write_text(f"painterly: {shot / 'styles' / 'user.png'}\n")
        monkeypatch.setenv("FILMSTYLE_STYLES", str(users))
        fields.update(styles=["painterly"], output="styles/user.png")
        needles = ("styles[0].style",)
    else:
        fields.update(regions=region({"file": "mattes/m.####.exr"}), output="mattes/m.####.exr", frames="1-3")
        needles = ("regions[0].mask.file (frame 1)",)
    path = job(shot, f"into_{where}.yaml", **fields)
    before = tree(shot)
    one_line(cli("render", path), "an input of this job", *needles)
    assert tree(shot) == before


# -- paths a job names: names no file system takes, unknown users, unreadable folders ----------------


def test_over_long_style_image_name(shot):
    one_line(cli("validate", job(shot, styles=["styles/" + "p" * 300 + ".png"])),
             "styles[0].style", "file name is 304 bytes, at most 255")


def test_over_long_custom_model_name(shot):
    one_line(cli("validate", job(shot, styles=["custom:" + "m" * 300 + ".onnx"])), "styles[0].style", "at most 255")


def test_over_long_matte_name(shot):
    one_line(cli("validate", job(shot, regions=region({"file": "m" * 300 + ".####.exr"}))),
             "regions[0].mask.file", "at most 255")


def test_style_of_an_unknown_users_home(shot):
    one_line(cli("validate", job(shot, styles=["~no_such_user_here/paint.png"])), "styles[0].style", "unknown user")


def test_nul_in_a_matte_path(shot):
    one_line(cli("validate", raw_job(shot, 'styles: [starry-blue]\nregions:\n  - mask: {file: "m\\0.exr"}\n')),
             "regions[0].mask.file", "NUL")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every folder")
def test_style_image_in_a_folder_without_permission(shot):
    locked = shot / "locked"
    locked.mkdir(exist_ok=True)
    locked.chmod(0)
    try:
        one_line(cli("validate", job(shot, styles=["locked/inner/paint.png"])), "styles[0].style", "Permission denied")
    finally:
        locked.chmod(0o755)


# -- values of a megabyte are cut short in every message ---------------------------------------------


MEGA = "z" * (1 << 20)


def test_megabyte_style_name_on_the_command_line(shot):
    one_line(cli("stylize", shot / "src" / "shot.####.exr", shot / "out" / "o.####.exr", "--style", MEGA),
             "styles[0].style", "unknown style")


@pytest.mark.parametrize("field", ["key", "strength", "frames", "style", "layer", "mask kind"])
def test_megabyte_values_in_a_job_file_are_cut_short(shot, field):
    data = {"key": {MEGA: 1}, "strength": {"strength": MEGA}, "frames": {"frames": MEGA},
            "style": {"styles": [MEGA + "/x.png"]}, "layer": {"layer": 3, "part": [MEGA]},
            "mask kind": {"regions": region({MEGA: 1})}}[field]
    path = shot / "mega.yaml"
    base = {"filmstyle": 2, "input": "src/shot.####.exr", "output": "out/o.####.exr", "styles": ["starry-blue"]}
    path.write_text(json.dumps({**base, **data}))
    one_line(cli("validate", path), "mega.yaml")


# -- the worker's command line --------------------------------------------------------------------


def test_serve_on_a_port_out_of_range(tmp_path):
    result = bounded("serve", "--port", "70000", env={"FILMSTYLE_CONFIG_DIR": str(tmp_path)}, timeout=60)
    one_line(result, "--port", "0..65535", "70000")
    assert not (tmp_path / "worker.json").exists()


def test_serve_on_a_port_in_use(tmp_path):
    import socket

    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    try:
        port = taken.getsockname()[1]
        result = bounded("serve", "--port", port, env={"FILMSTYLE_CONFIG_DIR": str(tmp_path)}, timeout=60)
    finally:
        taken.close()
    one_line(result, f"127.0.0.1:{port}", "in use")
    assert not (tmp_path / "worker.json").exists()


@pytest.mark.parametrize("args, words", [
    (("--allow-path", "job.yaml"), "is a file, not a folder"), (("--allow-path", "nope"), "does not exist"),
    (("--allow-path", ""), "empty"), (("--time-limit", "0"), "--time-limit"), (("--time-limit", "nan"), "got nan"),
    (("--time-limit", "inf"), "got inf"),
])
def test_serve_refuses_folders_and_limits_it_cannot_keep(tmp_path, args, words):
    (tmp_path / "job.yaml").write_text("{}")
    result = bounded("serve", *(str(tmp_path / a) if a in ("job.yaml", "nope") else a for a in args),
                     env={"FILMSTYLE_CONFIG_DIR": str(tmp_path / "cfg")}, timeout=60)
    one_line(result, words)
    assert not (tmp_path / "cfg" / "worker.json").exists()


def test_a_second_worker_for_one_config_folder_is_refused(tmp_path):
    from tests.core.hostile import start_worker, stop_worker

    first = start_worker(tmp_path)
    try:
        before = (tmp_path / "cfg" / "worker.json").read_text()
        result = bounded("serve", env={"FILMSTYLE_CONFIG_DIR": str(tmp_path / "cfg")}, timeout=60)
        one_line(result, "a worker is already running for this config folder", f"pid {first['info']['pid']}")
        assert (tmp_path / "cfg" / "worker.json").read_text() == before  # the running one stays reachable
        assert first["client"].health()["status"] == "ok"
    finally:
        stop_worker(first)


def test_serve_on_an_address_this_machine_lacks(tmp_path):
    result = bounded("serve", "--host", "256.1.1.1", "--allow-remote", env={"FILMSTYLE_CONFIG_DIR": str(tmp_path)})
    one_line(result, "cannot listen on 256.1.1.1")


def test_an_os_error_no_check_caught_is_still_one_line():
    from filmstyle.cli import os_error_line

    assert os_error_line(FileNotFoundError(2, "No such file or directory", "/a/b.yaml")) == \
        "/a/b.yaml: No such file or directory"
    line = os_error_line(PermissionError(13, "Permission denied", "x" * 1000, None, "y"))
    assert line.endswith(" -> y: Permission denied") and len(line) < 300
    assert os_error_line(OSError(28, "No space left on device")) == "No space left on device"
    result = cli("job", "init", "/proc/no/such/folder/j.yaml")  # /proc refuses new folders
    one_line(result, "/proc/no")
