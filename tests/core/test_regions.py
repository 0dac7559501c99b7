"""Regions: masks composited over real renders, exact outside the masks, on real EXR plates."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import OpenImageIO as oiio
import pytest

from filmstyle.errors import FilmStyleError, InputError
from filmstyle.job import build_plan, job_from_data
from filmstyle.job.masks import ellipse, parse_mask
from filmstyle.engine.compositing import composite
from filmstyle.job.regions import shift_mask
from filmstyle.engine.pipeline import FramePipeline
from filmstyle.engine.sequence import render_sequence
from filmstyle.engine.stylize import FrameStylizer
from tests.core.io_fixtures import channel_bits
from tests.core.plates import make_plate_sequence, photo_linear

W, H = 96, 64
ORIGIN = (8, 4)  # data window origin inside a display window starting at (0, 0), see tests.core.plates
FRAMES = (1001, 1002)


@pytest.fixture(scope="module")
def plates(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("region_plates")
    make_plate_sequence(folder, FRAMES, width=W, height=H, origin=ORIGIN)
    return folder


def rgb_bits(path: Path) -> np.ndarray:
    return np.dstack([channel_bits(path, c) for c in "RGB"])


def render(plates: Path, out: Path, frames: str = "1001", **fields) -> Path:
    data = {"filmstyle": 1, "input": str(plates / "shot.####.exr"), "output": str(out / "o.####.exr"),
            "frames": frames, "overwrite": True, **fields}
    render_sequence(build_plan(job_from_data(data, base_dir=out)))
    return out


def box(x0, y0, x1, y1) -> dict:
    """A hard rectangle given in DATA-window pixels, written in display-window coordinates."""
    ox, oy = ORIGIN
    return {"rectangle": {"box": [x0 + ox, y0 + oy, x1 + ox, y1 + oy]}}


# ------------------------------------------------------------------------------------------ pure parts


def test_composite_is_exact_at_mask_zero_and_one():
    base = np.array([[[-0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]]], np.float32)
    result = np.full_like(base, 0.1)
    mask = np.array([[0.0, 1.0, 0.25]], np.float32)
    out, touched = composite(base, [(mask, result)])
    assert np.signbit(out[0, 0, 0]) and out[0, 0, 0] == 0  # -0.0 kept bit for bit
    np.testing.assert_array_equal(out[0, 0], base[0, 0])
    np.testing.assert_array_equal(out[0, 1], result[0, 1])
    np.testing.assert_allclose(out[0, 2], base[0, 2] + 0.25 * (0.1 - base[0, 2]), rtol=1e-6)
    assert touched.tolist() == [[False, True, True]]
    # Later over earlier.
    second = np.full_like(base, 9.0)
    out2, _ = composite(base, [(mask, result), (np.ones_like(mask), second)])
    assert (out2 == 9.0).all()


def test_shift_moves_animated_shapes_exactly():
    spec = parse_mask({"ellipse": {"center": ["1:20, 11:40 smooth", 30], "radius": [12, 8], "feather": 4}})
    moved = shift_mask(spec, -8, -4)
    from filmstyle.job.masks import MaskContext

    ctx = MaskContext(64, 96)
    for frame in (1, 4.5, 11):
        cx = spec.center[0].value_at(frame)
        expected = ellipse(64, 96, cx - 8, 30 - 4, 12, 8, 0, 4)
        np.testing.assert_allclose(moved.evaluate(frame, ctx), expected, atol=1e-6)
        assert not np.array_equal(expected, ellipse(64, 96, cx, 30, 12, 8, 0, 4))
    op = parse_mask({"op": "max", "masks": [box(0, 0, 4, 4), {"polygon": {"points": [[8, 4], [20, 4], [8, 20]]}}]})
    m = shift_mask(op, -8, -4).evaluate(1, ctx)
    assert m[:4, :4].min() == 1.0 and m[0, 0] == 1.0 and m[10, 40] == 0.0


# ------------------------------------------------------------------------------------------ renders


def test_mask_zero_is_bit_identical_and_coordinates_are_display_window(plates, tmp_path):
    """A rectangle written in display coordinates lands on data pixels shifted by the data origin;
    every pixel outside it keeps its exact bits."""
    out = render(plates, tmp_path, regions=[{"mask": box(20, 10, 50, 40), "styles": ["teal-mosaic"]}])
    src, dst = rgb_bits(plates / "shot.1001.exr"), rgb_bits(out / "o.1001.exr")
    changed = (src != dst).any(axis=2)
    inside = np.zeros((H, W), bool)
    inside[10:40, 20:50] = True
    assert not changed[~inside].any(), "pixels outside the mask were modified"
    assert changed[inside].mean() > 0.9, "the region was not stylized where the mask is"


def test_two_regions_equal_full_frame_renders_inside_hard_masks(plates, tmp_path):
    looks = ("teal-mosaic", "crimson-fire")
    full = {}
    for name in looks:
        full[name] = rgb_bits(render(plates, tmp_path / name, styles=[name]) / "o.1001.exr")
    regions = [
        {"mask": box(6, 0, 40, 64), "styles": [looks[0]]},
        {"mask": box(50, 8, 96, 56), "styles": [looks[1]]},
    ]
    dst = rgb_bits(render(plates, tmp_path / "regions", regions=regions) / "o.1001.exr")
    src = rgb_bits(plates / "shot.1001.exr")
    np.testing.assert_array_equal(dst[:, 6:40], full[looks[0]][:, 6:40])
    np.testing.assert_array_equal(dst[8:56, 50:96], full[looks[1]][8:56, 50:96])
    untouched = np.ones((H, W), bool)
    untouched[:, 6:40] = False
    untouched[8:56, 50:96] = False
    np.testing.assert_array_equal(dst[untouched], src[untouched])


def test_default_look_covers_the_rest(plates, tmp_path):
    regions = [{"mask": box(40, 0, 96, 64), "styles": ["crimson-fire"]}]
    dst = rgb_bits(render(plates, tmp_path / "d", styles=["teal-mosaic"], regions=regions, default={}) / "o.1001.exr")
    full = rgb_bits(render(plates, tmp_path / "f", styles=["teal-mosaic"]) / "o.1001.exr")
    np.testing.assert_array_equal(dst[:, :40], full[:, :40])
    assert (dst[:, 40:] != full[:, 40:]).any(axis=2).mean() > 0.9


class CountingStylizer(FrameStylizer):
    def __init__(self):
        super().__init__()
        self.calls: list[tuple[str, ...]] = []

    # Every network run goes through stylize (apply is stylize plus the mix; a plate with
    # highlights above white takes stylize directly, so they can be kept).
    def stylize(self, working, blend, strength, **kw):
        self.calls.append(tuple(sw.style.label for sw in blend))
        return super().stylize(working, blend, strength, **kw)


def test_network_runs_once_per_distinct_look_and_only_for_visible_regions(plates, tmp_path):
    regions = [
        {"mask": box(0, 0, 30, 30), "styles": ["umber-ink"]},
        {"mask": box(40, 0, 70, 30), "styles": ["umber-ink"]},  # same look: computed once
        # Off frame on 1001, on frame at 1002.
        {"mask": {"ellipse": {"center": ["1001:-200, 1002:60", 40], "radius": 10}}, "styles": ["slate-ink"]},
    ]
    data = {"filmstyle": 1, "input": str(plates / "shot.####.exr"), "output": str(tmp_path / "o.####.exr"),
            "regions": regions}
    plan = build_plan(job_from_data(data, base_dir=tmp_path))
    counting = CountingStylizer()
    render_sequence(plan, pipeline=FramePipeline(plan, stylizer=counting))
    assert counting.calls == [("umber-ink",), ("umber-ink",), ("slate-ink",)]


def _write_exr(path: Path, channels: dict[str, np.ndarray], fmt: str = "half") -> Path:
    h, w = next(iter(channels.values())).shape
    spec = oiio.ImageSpec(w, h, len(channels), fmt)
    spec.channelnames = tuple(channels)
    spec.attribute("compression", "zip")
    path.parent.mkdir(parents=True, exist_ok=True)
    out = oiio.ImageOutput.create(str(path))
    assert out.open(str(path), spec), oiio.geterror()
    out.write_image(np.dstack(list(channels.values())).astype(np.float32))
    out.close()
    return path


def test_channel_mask_of_the_input_and_external_matte_sequence(tmp_path):
    rgb = photo_linear(W, H)
    left = np.zeros((H, W), np.float32)
    left[:, : W // 2] = 1.0
    src = _write_exr(tmp_path / "in" / "p.1001.exr",
                     {"R": rgb[..., 0], "G": rgb[..., 1], "B": rgb[..., 2], "A": np.ones((H, W), np.float32),
                      "matte.R": left})
    top = np.zeros((H, W), np.float32)
    top[: H // 2] = 1.0
    _write_exr(tmp_path / "job" / "mattes" / "sky.1001.exr", {"A": top})
    _write_exr(tmp_path / "job" / "small" / "sky.1001.exr", {"A": top[::2, ::2].copy()})
    base = {"filmstyle": 1, "input": str(tmp_path / "in" / "p.####.exr"), "overwrite": True}

    def run(name, mask):
        data = {**base, "output": f"out/{name}.####.exr", "regions": [{"mask": mask, "styles": ["teal-mosaic"]}]}
        render_sequence(build_plan(job_from_data(data, base_dir=tmp_path / "job")))
        return (rgb_bits(tmp_path / "job" / "out" / f"{name}.1001.exr") != rgb_bits(src)).any(axis=2)

    changed = run("channel", {"channel": "matte.R"})
    assert not changed[:, W // 2 :].any() and changed[:, : W // 2].mean() > 0.9
    changed = run("file", {"file": "mattes/sky.####.exr", "channel": "A"})  # relative to the job folder
    assert not changed[H // 2 :].any() and changed[: H // 2].mean() > 0.9
    with pytest.raises(InputError, match=r"48x32, frame is 96x64 \(set fit"):
        run("small", {"file": "small/sky.####.exr"})
    changed = run("fit", {"file": "small/sky.####.exr", "fit": "stretch"})
    assert not changed[H // 2 + 1 :].any() and changed[: H // 2 - 1].mean() > 0.9
    with pytest.raises(InputError, match=r"p\.1001\.exr.*no channel 'matte\.G', valid: R, G, B, A, matte\.R"):
        run("missing", {"channel": "matte.G"})


def test_untouched_pixels_keep_exact_float_bits_under_partial_alpha(tmp_path):
    """Float plates with soft alpha: un/premultiplying would move the last bit; untouched pixels
    must not go through it at all."""
    rng = np.random.default_rng(3)
    alpha = rng.uniform(0.05, 1.0, (H, W)).astype(np.float32)
    rgb = photo_linear(W, H) * alpha[..., None]
    rgb[::5, ::3, 1] = -0.0  # negative zeros must stay negative zeros (no `x + 0 * d` anywhere)
    src = _write_exr(tmp_path / "f.1001.exr",
                     {"R": rgb[..., 0], "G": rgb[..., 1], "B": rgb[..., 2], "A": alpha}, fmt="float")
    data = {"filmstyle": 1, "input": str(tmp_path / "f.####.exr"), "output": "o.####.exr",
            "regions": [{"mask": {"rectangle": {"box": [0, 0, 40, H]}}, "styles": ["umber-ink"]}]}
    render_sequence(build_plan(job_from_data(data, base_dir=tmp_path)))
    before, after = rgb_bits(src), rgb_bits(tmp_path / "o.1001.exr")
    np.testing.assert_array_equal(after[:, 40:], before[:, 40:])
    assert (after[:, :40] != before[:, :40]).any(axis=2).mean() > 0.9


def test_region_blend_of_two_models_is_refused_with_the_field(plates, tmp_path):
    from filmstyle.tools.sheets import sample_photograph

    data = {"filmstyle": 1, "input": str(plates / "shot.####.exr"), "output": "o.####.exr",
            "regions": [{"mask": box(0, 0, 9, 9), "styles": ["teal-mosaic", str(sample_photograph())]}]}
    with pytest.raises(FilmStyleError, match=r"^regions\[0\]\.styles: cannot blend built-in looks with image styles"):
        job_from_data(data, base_dir=tmp_path)
