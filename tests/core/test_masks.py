"""Region masks: exact shape values, feathers, keys, operations and the declarative layer."""

from __future__ import annotations

import math

import numpy as np
import pytest

from filmstyle.errors import InputError, JobError
from filmstyle.job.masks import (
    MaskContext,
    blur,
    ellipse,
    grow_shrink,
    hue_key,
    invert,
    luma_key,
    maximum,
    multiply,
    nuke_to_image_y,
    parse_mask,
    polygon,
    rectangle,
    subtract,
)

# ------------------------------------------------------------------------------------------------ shapes


def test_hard_rectangle_is_exactly_zero_or_one():
    m = rectangle(20, 30, 10, 5, 20, 15)
    assert m.dtype == np.float32 and m.shape == (20, 30)
    want = np.zeros((20, 30), np.float32)
    want[5:15, 10:20] = 1.0
    np.testing.assert_array_equal(m, want)
    # Corners in either order.
    np.testing.assert_array_equal(rectangle(20, 30, 20, 15, 10, 5), want)


def test_rectangle_partial_pixel_is_area_coverage():
    m = rectangle(10, 10, 2.25, 0, 6, 10)
    assert m[5, 2] == pytest.approx(0.75)
    assert m[5, 1] == 0.0 and m[5, 3] == 1.0


def test_feathered_rectangle_ramp_is_centred_on_edge():
    m = rectangle(40, 200, 100, 0, 200, 40, feather=20)
    row = m[20]
    # Pixel centre x = c + 0.5; the ramp spans x in [90, 110] with 0.5 at x = 100.
    assert row[89] == 0.0 and row[110] == 1.0
    assert row[99] == pytest.approx(0.5 - 0.5 / 20)
    assert row[100] == pytest.approx(0.5 + 0.5 / 20)
    assert np.all(np.diff(row[80:120]) >= 0)


def test_feathered_ellipse_is_half_at_edge_and_monotone():
    h = w = 201
    m = ellipse(h, w, 100.5, 100.5, 60, 30, 0, feather=16)
    assert m[100, 100] == 1.0 and m[0, 0] == 0.0
    row = m[100, 100:]  # centre x = 100.5 + i; the edge is at i = 60
    assert row[60] == pytest.approx(0.5, abs=1e-6)
    assert np.all(np.diff(row) <= 0)
    assert row[52] == 1.0 and row[68] == 0.0
    # Along the short axis the edge is at 30 pixels.
    assert m[100 + 30, 100] == pytest.approx(0.5, abs=1e-6)


def test_ellipse_feather_follows_true_distance_everywhere():
    # For a circle the distance is radial, so the ramp must be the same on every direction.
    m = ellipse(101, 101, 50.5, 50.5, 30, 30, feather=10)
    yy, xx = np.mgrid[0:101, 0:101] + 0.5
    r = np.hypot(xx - 50.5, yy - 50.5)
    np.testing.assert_allclose(m, np.clip(0.5 + (30 - r) / 10, 0, 1), atol=1e-5)


def test_rotated_ellipse_swaps_axes():
    a = ellipse(101, 101, 50.5, 50.5, 40, 10, rotation_deg=90)
    b = ellipse(101, 101, 50.5, 50.5, 10, 40)
    np.testing.assert_allclose(a, b, atol=1e-5)
    assert a[50 + 35, 50] == 1.0 and a[50, 50 + 35] == 0.0  # y points down: long axis is vertical


def test_polygon_square_matches_rectangle_and_triangle_halves():
    sq = polygon(30, 30, [[5, 5], [25, 5], [25, 25], [5, 25]], feather=6)
    np.testing.assert_allclose(sq, rectangle(30, 30, 5, 5, 25, 25, feather=6), atol=1e-6)
    tri = polygon(40, 40, [[0, 0], [40, 0], [0, 40]])
    assert tri[5, 5] == 1.0 and tri[35, 35] == 0.0
    assert tri[19, 20] == pytest.approx(0.5, abs=1e-6)  # centre (20.5, 19.5) lies on x + y = 40


def test_zero_sized_shapes_are_empty():
    assert not ellipse(10, 10, 5, 5, 0, 3, feather=4).any()
    assert not rectangle(10, 10, 3, 3, 3, 8, feather=4).any()
    assert not ellipse(10, 10, -50, -50, 5, 5).any()  # off frame


def test_nuke_y_is_bottom_up():
    assert nuke_to_image_y(0, 1080) == 1080
    assert nuke_to_image_y(1080, 1080) == 0
    assert nuke_to_image_y(300.5, 1080) == pytest.approx(779.5)


# -------------------------------------------------------------------------------------------------- keys


def _ramp_image() -> np.ndarray:
    grey = np.linspace(0, 1, 11, dtype=np.float32)
    return np.repeat(np.repeat(grey[None, :, None], 3, axis=2), 2, axis=0)  # (2, 11, 3), luma = x/10


def test_luma_key_with_softness():
    m = luma_key(_ramp_image(), low=0.6, high=0.8, softness=0.2)
    np.testing.assert_allclose(m[0], [0, 0, 0, 0, 0.0, 0.5, 1, 1, 1, 0.5, 0], atol=1e-6)
    hard = luma_key(_ramp_image(), low=0.6, high=math.inf)
    np.testing.assert_array_equal(hard[0], [0] * 6 + [1] * 5)


def test_a_luma_key_whose_fixed_ends_cross_is_refused():
    with pytest.raises(JobError, match="low 1 is above high 0"):
        parse_mask({"luma": {"low": 1, "high": 0}}, field="regions[0].mask")
    parse_mask({"luma": {"low": "1:1, 10:0", "high": 0.5}}, field="regions[0].mask")  # keyed: may cross a while


def test_luma_key_uses_rec709_weights():
    img = np.zeros((1, 3, 3), np.float32)
    img[0, 0] = (1, 0, 0)
    img[0, 1] = (0, 1, 0)
    img[0, 2] = (0, 0, 1)
    assert luma_key(img, 0.5, 1.0)[0].tolist() == [0.0, 1.0, 0.0]
    assert luma_key(img, 0.5, 1.0, luma_coeffs=(1, 0, 0))[0].tolist() == [1.0, 0.0, 0.0]


def test_hue_key_on_primaries_and_grey():
    img = np.array(
        [[[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0], [0.5, 0.5, 0.5], [1, 0, 0.5], [1, 0.98, 0.98]]],
        dtype=np.float32,
    )
    m = hue_key(img, hue_deg=120, width_deg=20, softness_deg=40)
    # green in; yellow (60) is 50 degrees off: 10 past the half-width of a 40-wide ramp.
    np.testing.assert_allclose(m[0], [0, 1, 0, 0.0, 0, 0, 0], atol=1e-6)
    m = hue_key(img, hue_deg=350, width_deg=20, softness_deg=20)
    # red (0) within 10 degrees across the wrap; magenta-ish red (330) 20 off -> halfway down the ramp.
    assert m[0, 0] == pytest.approx(1.0)
    assert m[0, 5] == pytest.approx(0.5)
    assert m[0, 4] == 0.0  # grey has no hue
    assert m[0, 6] == 0.0  # saturation 0.02 is under the 0.05 gate


def test_hue_key_saturation_gate_is_soft():
    img = np.array([[[1, 1 - s, 1 - s] for s in (0.02, 0.0375, 0.05, 0.5)]], dtype=np.float32)
    m = hue_key(img, 0, 10, 0, min_saturation=0.05)
    np.testing.assert_allclose(m[0], [0, 0.5, 1, 1], atol=1e-5)


# --------------------------------------------------------------------------------------------------- ops


def test_boolean_ops():
    a = np.array([[0, 0.5, 1, 1]], np.float32)
    b = np.array([[1, 0.5, 0, 0.25]], np.float32)
    np.testing.assert_allclose(invert(a), [[1, 0.5, 0, 0]])
    np.testing.assert_allclose(multiply(a, b), [[0, 0.25, 0, 0.25]])
    np.testing.assert_allclose(maximum(a, b), [[1, 0.5, 1, 1]])
    np.testing.assert_allclose(subtract(a, b), [[0, 0, 1, 0.75]])
    with pytest.raises(InputError, match="masks differ in size, 4x1 vs 2x1"):
        multiply(a, b[:, :2])


def test_zero_mask_stays_exactly_zero():
    z = np.zeros((32, 48), np.float32)
    for out in (blur(z, 8), blur(z, 0.3), grow_shrink(z, 3.5), grow_shrink(z, -2), grow_shrink(z, 0)):
        assert out.dtype == np.float32 and out.shape == z.shape
        assert not out.any()


def test_blur_spreads_and_conserves():
    m = rectangle(64, 64, 24, 24, 40, 40)
    b = blur(m, 6)
    # sigma = 3: the centre of a 16-pixel square keeps erf(8 / (3 sqrt 2))^2 of its value.
    assert b[32, 20] > 0 and b[32, 32] == pytest.approx(math.erf(8 / (3 * math.sqrt(2))) ** 2, abs=3e-3)
    assert b.sum() == pytest.approx(m.sum(), rel=1e-3)
    assert b.max() <= 1.0 and b.min() >= 0.0


def test_grow_and_shrink_move_the_edge():
    m = rectangle(40, 40, 10, 10, 30, 30)
    grown = grow_shrink(m, 3)
    assert grown[20, 7] == 1.0 and grown[20, 6] == 0.0
    shrunk = grow_shrink(m, -3)
    assert shrunk[20, 13] == 1.0 and shrunk[20, 12] == 0.0
    half = grow_shrink(m, 2.5)
    assert half[20, 7] == pytest.approx(0.5) and half[20, 8] == 1.0
    np.testing.assert_array_equal(grow_shrink(m, 0), m)


# ----------------------------------------------------------------------------------------- declarative


def ctx(h: int = 60, w: int = 80, **kw) -> MaskContext:
    return MaskContext(height=h, width=w, **kw)


def test_parsed_ellipse_equals_functional():
    spec = parse_mask({"ellipse": {"center": [40, 30], "radius": [20, 10], "rotation": 15, "feather": 6}})
    np.testing.assert_array_equal(spec.evaluate(1001, ctx()), ellipse(60, 80, 40, 30, 20, 10, 15, 6))
    circle = parse_mask({"ellipse": {"center": [40, 30], "radius": 12}})
    np.testing.assert_array_equal(circle.evaluate(1, ctx()), ellipse(60, 80, 40, 30, 12, 12))


def test_animated_centre_moves_between_frames():
    spec = parse_mask({"ellipse": {"center": ["1001:20, 1011:60", 30], "radius": [8, 8]}})
    at = {f: spec.evaluate(f, ctx()) for f in (1001, 1006, 1011, 1020)}
    cols = {f: float((m.sum(axis=0) * (np.arange(80) + 0.5)).sum() / m.sum()) for f, m in at.items()}
    assert cols[1001] == pytest.approx(20, abs=0.05)
    assert cols[1006] == pytest.approx(40, abs=0.05)
    assert cols[1011] == pytest.approx(60, abs=0.05)
    assert cols[1020] == pytest.approx(60, abs=0.05)  # held after the last key


def test_rectangle_forms_and_polygon_with_nuke_curve():
    box = parse_mask({"rectangle": {"box": [10, 5, 30, 25]}}).evaluate(0, ctx())
    cs = parse_mask({"rectangle": {"center": [20, 15], "size": [20, 20]}}).evaluate(0, ctx())
    np.testing.assert_array_equal(box, cs)
    np.testing.assert_array_equal(box, rectangle(60, 80, 10, 5, 30, 25))
    poly = parse_mask({"polygon": {"points": [[10, 5], ["{curve L x1 30 x11 50}", 5], [30, 25], [10, 25]]}})
    assert poly.evaluate(1, ctx())[15, 35] == 0.0
    assert poly.evaluate(11, ctx())[15, 35] == 1.0


def test_ops_tree():
    spec = parse_mask(
        {
            "op": "subtract",
            "masks": [
                {"rectangle": {"box": [0, 0, 80, 60]}},
                {"op": "grow", "pixels": 2, "mask": {"rectangle": {"box": [30, 20, 50, 40]}}},
            ],
        }
    )
    m = spec.evaluate(0, ctx())
    assert m[30, 28] == 0.0 and m[30, 27] == 1.0 and m[5, 5] == 1.0  # hole grown from column 30 to 28
    left = {"rectangle": {"box": [0, 0, 40, 60]}}
    inv = parse_mask({"op": "invert", "mask": {"op": "blur", "radius": 0, "mask": left}})
    assert inv.evaluate(0, ctx())[10, 10] == 0.0 and inv.evaluate(0, ctx())[10, 60] == 1.0
    corners = [{"rectangle": {"box": [0, 0, 10, 10]}}, {"rectangle": {"box": [70, 50, 80, 60]}}]
    both = parse_mask({"op": "max", "masks": corners})
    assert both.evaluate(0, ctx()).sum() == 200


def test_channel_and_keys_from_context():
    matte = np.full((60, 80), 0.25, np.float32)
    seen = []

    def channel(name):
        seen.append(name)
        return matte

    assert parse_mask({"channel": "matte.R"}).evaluate(0, ctx(channel=channel))[0, 0] == 0.25
    assert seen == ["matte.R"]
    rgb = np.full((60, 80, 3), 0.9, np.float32)
    assert parse_mask({"luma": {"low": 0.6}}).evaluate(0, ctx(rgb=rgb)).min() == 1.0
    rgb[..., 1:] = 0.0
    assert parse_mask({"hue": {"hue": 0, "width": 10}}).evaluate(0, ctx(rgb=rgb)).min() == 1.0
    with pytest.raises(InputError, match="mask.luma: needs the frame's RGB"):
        parse_mask({"luma": {"low": 0.6}}).evaluate(0, ctx())
    with pytest.raises(InputError, match="mask.channel: 'matte.R' is 10x5, frame is 80x60"):
        parse_mask({"channel": "matte.R"}).evaluate(0, ctx(channel=lambda n: np.zeros((5, 10))))


def test_file_matte_fit_modes():
    calls = []

    def load(path, frame, channel):
        calls.append((path, frame, channel))
        return np.ones((30, 40), np.float32)

    spec = parse_mask({"file": "mattes/sky.####.exr"}, field="regions[0].mask")
    with pytest.raises(InputError) as info:
        spec.evaluate(1003, ctx(load_matte=load))
    assert "mattes/sky.####.exr" in str(info.value) and "40x30" in str(info.value) and "80x60" in str(info.value)
    assert calls == [("mattes/sky.####.exr", 1003, "A")]
    stretched = parse_mask({"file": "m.exr", "fit": "stretch"}).evaluate(1, ctx(load_matte=load))
    assert stretched.min() == 1.0
    centred = parse_mask({"file": "m.exr", "fit": "center", "channel": "R"}).evaluate(1, ctx(load_matte=load))
    assert centred.sum() == 1200 and centred[15:45, 20:60].min() == 1.0
    big = parse_mask({"file": "m.exr", "fit": "center"}).evaluate(1, ctx(20, 10, load_matte=load))
    assert big.shape == (20, 10) and big.min() == 1.0


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"ellipse": {"center": [1, 2], "radius": [300]}},
            "regions[1].mask.ellipse.radius: expected 2 numbers or curves, got [300]",
        ),
        (
            {"ellipse": {"center": [1, 2], "radius": 5, "feathr": 3}},
            "regions[1].mask.ellipse: unknown key 'feathr', valid: center, radius, rotation, feather",
        ),
        ({"ellipse": {"radius": 5}}, "regions[1].mask.ellipse: missing 'center'"),
        (
            {"ellipse": {"center": [1, 2], "radius": 5, "feather": -1}},
            "regions[1].mask.ellipse.feather: expected values >= 0, got -1",
        ),
        ({"ellipse": {"center": ["1:x", 2], "radius": 5}}, "regions[1].mask.ellipse.center[0]: bad key '1:x'"),
        ({"blob": {}}, "regions[1].mask: expected exactly one of ellipse, rectangle"),
        ({"ellipse": {}, "rectangle": {}}, "regions[1].mask: expected exactly one of"),
        ({"rectangle": {"box": [1, 2, 3, 4], "size": [1, 1]}}, "regions[1].mask.rectangle: expected either box"),
        ({"polygon": {"points": [[0, 0], [1, 1]]}}, "regions[1].mask.polygon.points: expected at least 3"),
        (
            {"polygon": {"points": [[0, 0], [1, 1], [2]]}},
            "regions[1].mask.polygon.points[2]: expected 2 numbers or curves",
        ),
        (
            {"op": "xor", "masks": []},
            "regions[1].mask.op: expected one of invert, multiply, max, subtract, blur, grow, got 'xor'",
        ),
        ({"op": "multiply", "masks": [{"channel": "A"}]}, "regions[1].mask.masks: expected a list of at least 2 masks"),
        ({"op": "blur", "mask": {"channel": "A"}}, "regions[1].mask: missing 'radius'"),
        (
            {"op": "invert", "mask": {"channel": "A"}, "radius": 2},
            "regions[1].mask: unknown key 'radius', valid: op, mask",
        ),
        ({"op": "invert", "mask": {"elipse": {}}}, "regions[1].mask.mask: expected exactly one of"),
        ({"file": "a.exr", "fit": "crop"}, "regions[1].mask.fit: expected one of error, stretch, center, got 'crop'"),
        ({"luma": {"low": 0.5, "coeffs": [1, 2]}}, "regions[1].mask.luma.coeffs: expected 3 numbers"),
        ({"hue": {"hue": 0}}, "regions[1].mask.hue: missing 'width'"),
        ({"channel": ""}, "regions[1].mask.channel: expected a channel name"),
        ("ellipse", "regions[1].mask: expected a mapping"),
    ],
)
def test_parse_errors_name_the_path(data, message):
    with pytest.raises(JobError) as info:
        parse_mask(data, field="regions[1].mask")
    assert message in str(info.value)
    assert "\n" not in str(info.value)
