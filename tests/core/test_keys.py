"""Keyframed curves: exact values, no overshoot, every parser form and its errors."""

from __future__ import annotations

import numpy as np
import pytest

from filmstyle.errors import JobError
from filmstyle.job.curves import Curve, Key, parse_curve

try:
    from hypothesis import given, settings
    from hypothesis import strategies as st
except ImportError:  # pragma: no cover - the seeded loop below still covers the property
    given = None


# ------------------------------------------------------------------------------------------ evaluation


def test_linear_midpoint_and_fractional_frames():
    c = Curve([Key(1001, 0.0), Key(1011, 1.0)])
    assert c.value_at(1006) == pytest.approx(0.5)
    assert c.value_at(1001.25) == pytest.approx(0.025)
    assert c.value_at(1001) == 0.0
    assert c.value_at(1011) == 1.0


def test_hold_extrapolation_outside_keys():
    c = parse_curve("1001:0.2, 1040:0.8")
    assert c.value_at(-5) == pytest.approx(0.2)
    assert c.value_at(1000.999) == pytest.approx(0.2)
    assert c.value_at(1040.5) == pytest.approx(0.8)
    assert c.value_at(99999) == pytest.approx(0.8)


def test_hold_is_a_step_until_the_next_key():
    c = parse_curve("10:1 hold, 20:5, 30:3")
    assert c.value_at(10) == 1.0
    assert c.value_at(19.999) == 1.0
    assert c.value_at(20) == 5.0
    assert c.value_at(25) == pytest.approx(4.0)  # the segment leaving frame 20 is linear


def test_keys_are_sorted_and_duplicates_rejected():
    c = Curve([Key(20, 1.0), Key(10, 0.0)])
    assert [k.frame for k in c.keys] == [10.0, 20.0]
    with pytest.raises(JobError, match="duplicate key at frame 10"):
        Curve([Key(10, 0.0), Key(10, 1.0)])
    with pytest.raises(JobError, match="strength: two keys on frame 1001"):
        parse_curve("1001:0, 1001:1", field="strength")


def test_constant_and_is_constant():
    c = Curve.constant(0.7)
    assert c.is_constant
    assert c.value_at(-1e6) == c.value_at(1e6) == pytest.approx(0.7)
    assert parse_curve("1:0.5, 9:0.5").is_constant
    assert not parse_curve("1:0.5, 9:0.6").is_constant


def test_sample_matches_value_at():
    c = parse_curve("0:0, 10:1 smooth, 20:0 hold, 30:2")
    frames = np.linspace(-5, 35, 81)
    np.testing.assert_allclose(c.sample(frames), [c.value_at(f) for f in frames])
    assert c.sample(frames).shape == (81,)


def test_smooth_is_symmetric_and_flat_at_ends():
    c = parse_curve("0:0 smooth, 10:1")
    assert c.value_at(5) == pytest.approx(0.5)
    assert c.value_at(2) == pytest.approx(1 - c.value_at(8))
    # Ease in: slower than linear near the first key.
    assert c.value_at(1) < 0.1


def test_smooth_differs_from_linear_through_a_middle_key():
    smooth = parse_curve("0:0 smooth, 10:1 smooth, 20:3 smooth")
    linear = parse_curve("0:0, 10:1, 20:3")
    assert smooth.value_at(10) == linear.value_at(10) == 1.0
    assert abs(smooth.value_at(15) - linear.value_at(15)) > 1e-3


def test_smooth_uses_weighted_harmonic_mean_tangents():
    # Secants 1 and 0.25 over spans 1 and 2: tangent at frame 1 is 9 / (5/1 + 4/0.25) = 3/7;
    # the end tangents are flat. Hermite at t = 0.5 of the first span: 0.5 - 0.125 * 3/7.
    c = parse_curve("0:0 smooth, 1:1 smooth, 3:1.5 smooth")
    assert c.value_at(0.5) == pytest.approx(0.5 - 0.125 * 3 / 7, abs=1e-12)
    # Second span (h = 2): 0.5 * 1 + 0.125 * 2 * 3/7 + 0.5 * 1.5 at its midpoint.
    assert c.value_at(2.0) == pytest.approx(0.5 + 0.25 * 3 / 7 + 0.75, abs=1e-12)


def test_smooth_flattens_at_a_local_extremum():
    c = parse_curve("0:0 smooth, 10:1 smooth, 20:0 smooth")
    assert c.value_at(10) == 1.0
    assert c.value_at(9.5) < 1.0 and c.value_at(10.5) < 1.0
    assert c.value_at(9.9) == pytest.approx(c.value_at(10.1))


def _assert_bounded(c: Curve, frames: np.ndarray) -> None:
    keys = c.keys
    for a, b in zip(keys, keys[1:]):
        inside = frames[(frames >= a.frame) & (frames <= b.frame)]
        values = c.sample(inside)
        lo, hi = min(a.value, b.value), max(a.value, b.value)
        assert np.all(values >= lo) and np.all(values <= hi), (a, b, values.min(), values.max())
        # Monotone too: no wiggle inside a segment.
        d = np.diff(values)
        assert np.all(d >= -1e-12) or np.all(d <= 1e-12)


def test_smooth_never_overshoots_seeded():
    rng = np.random.default_rng(1234)
    for _ in range(300):
        n = int(rng.integers(2, 8))
        frames = np.cumsum(rng.uniform(0.1, 30.0, n))
        values = rng.choice([rng.uniform(-5, 5), 0.0, 1.0], size=n) if rng.random() < 0.3 else rng.uniform(-5, 5, n)
        interps = rng.choice(["smooth", "smooth", "linear", "hold"], size=n)
        c = Curve([Key(float(f), float(v), str(i)) for f, v, i in zip(frames, values, interps)])
        _assert_bounded(c, np.linspace(frames[0], frames[-1], 400))


if given is not None:

    @settings(max_examples=150, deadline=None)
    @given(
        st.lists(
            st.tuples(
                st.floats(0.05, 50.0),
                st.floats(-1e3, 1e3, allow_nan=False),
                st.sampled_from(["smooth", "linear", "hold"]),
            ),
            min_size=2,
            max_size=7,
        )
    )
    def test_smooth_never_overshoots_property(raw):
        frames = np.cumsum([r[0] for r in raw])
        c = Curve([Key(float(f), v, i) for f, (_, v, i) in zip(frames, raw)])
        _assert_bounded(c, np.linspace(frames[0], frames[-1], 200))


# ---------------------------------------------------------------------------------------------- parsers


def test_number_and_numeric_string():
    assert parse_curve(0.25) == Curve.constant(0.25)
    assert parse_curve(3) == Curve.constant(3.0)
    assert parse_curve(" 0.5 ") == Curve.constant(0.5)


def test_compact_form_with_interp_words():
    c = parse_curve("1001:0, 1040:1 smooth, 1100:0.3 hold, 1110:1 step, 1120:0 ease, 1130:1 LINEAR")
    assert [k.interp for k in c.keys] == ["linear", "smooth", "hold", "hold", "smooth", "linear"]
    assert [k.frame for k in c.keys] == [1001, 1040, 1100, 1110, 1120, 1130]
    assert c.value_at(1105) == pytest.approx(0.3)


def test_yaml_list_and_dict_forms_agree():
    want = parse_curve("1:0, 5:2 smooth, 9:1")
    assert parse_curve([[1, 0], [5, 2, "smooth"], [9, 1]]) == want
    dicts = [{"frame": 1, "value": 0}, {"frame": 5, "value": 2, "interp": "ease"}, {"frame": 9, "value": 1}]
    assert parse_curve(dicts) == want
    assert parse_curve({"keys": [[1, 0], [5, 2, "smooth"], [9, 1]]}) == want
    assert parse_curve({"keys": "1:0, 5:2 smooth, 9:1"}) == want


def test_to_data_round_trips():
    for c in (parse_curve("1001:0, 1040:1 smooth, 1100:0.3 hold"), Curve.constant(0.4), parse_curve("1.5:2")):
        assert parse_curve(c.to_data()) == c
    assert Curve.constant(0.4).to_data() == 0.4


# Knob lines as Nuke writes them in a .nk script.
NUKE_LINES = {
    " white {{curve x1001 1 x1006 2}}": [(1001, 1.0), (1006, 2.0)],
    " mix {{curve x1001 0 x1040 1 1.5}}": [(1001, 0.0), (1040, 1.0), (1079, 1.5)],
    " size {{curve x1001 2224 2224.851074 2225.715332}}": [(1001, 2224.0), (1002, 2224.851074), (1003, 2225.715332)],
    " which {{curve K x1001 1}}": [(1001, 1.0)],
    " opacity {{curve L x1 0 s0 t1.5 x10 1 u0.3 v0.7 x20 0}}": [(1, 0.0), (10, 1.0), (20, 0.0)],
    "{curve i R x1 0 C x5 1 Z x9 0}": [(1, 0.0), (5, 1.0), (9, 0.0)],
    "{curve x1001 0.1000 x1002 0.0000 x1003 0.1000}": [(1001, 0.1), (1002, 0.0), (1003, 0.1)],
}


@pytest.mark.parametrize("text", list(NUKE_LINES))
def test_nuke_curve_text(text):
    c = parse_curve(text)
    want = NUKE_LINES[text]
    assert [k.frame for k in c.keys] == [f for f, _ in want]
    assert [k.value for k in c.keys] == pytest.approx([v for _, v in want])


def test_nuke_interpolation_letters_are_sticky():
    c = parse_curve("{curve K x1 0 x5 1 L x9 0 x12 1 S x20 3}")
    assert [k.interp for k in c.keys] == ["hold", "hold", "linear", "linear", "smooth"]
    assert c.value_at(4.9) == 0.0
    assert c.value_at(10.5) == pytest.approx(0.5)
    # Without a letter Nuke keys are smooth.
    assert {k.interp for k in parse_curve("{curve x1 0 x9 1}").keys} == {"smooth"}


def test_nuke_bare_values_continue_the_spacing():
    c = parse_curve("{curve x10 0 x12 1 2 3}")
    assert [k.frame for k in c.keys] == [10, 12, 14, 16]
    assert [k.frame for k in parse_curve("{curve 5 6 7}").keys] == [0, 1, 2]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("1040:x", "strength: bad key '1040:x' (expected FRAME:VALUE [linear|smooth|hold])"),
        ("1001:0, 1040:1 bouncy", "strength: bad key '1040:1 bouncy'"),
        ("1001:0,, 1040:1", "strength: bad key ''"),
        ("soft", "strength: expected a number, 'FRAME:VALUE, ...' or a Nuke {curve ...}, got 'soft'"),
        ("", "strength: expected a number or keys, got an empty string"),
        ("{{curve x1 0} {curve x1 1}}", "strength: several values/curves in one Nuke knob"),
        ("translate {{curve x1001 0 10 x1005 20} 0 500}", "strength: several values/curves"),
        ("{curve x1 0 bogus}", "strength: bad Nuke curve token 'bogus'"),
        ("{curve}", "strength: Nuke curve has no keys"),
        ("{frame/10}", "strength: Nuke expressions are not supported"),
        ("{curve x5 0 x3 1}", "strength: Nuke curve key at frame 3 does not come after frame 5"),
        (True, "strength: expected a number"),
        (None, "strength: expected a number"),
        (float("nan"), "strength: expected a finite number, got nan"),
        ([1, 2], "strength[0]: expected [frame, value] or [frame, value, interp], got 1"),
        ([[1, "a"]], "strength[0][1]: expected a finite number, got 'a'"),
        ([[1, 0, "wobble"]], "strength[0][2]: expected linear|smooth|hold (or ease, step), got 'wobble'"),
        ([{"frame": 1, "valu": 0}], "strength[0]: unknown key 'valu', valid: frame, value, interp"),
        ({"key": []}, "strength: expected a mapping with only 'keys'"),
        ([], "strength: expected at least one key, got none"),
    ],
)
def test_errors_name_field_and_token(value, message):
    with pytest.raises(JobError) as info:
        parse_curve(value, field="strength")
    text = str(info.value)
    assert message in text
    assert "\n" not in text


def test_key_rejects_bad_interp_and_non_finite():
    with pytest.raises(JobError, match="interp"):
        Key(1, 0, "cubic")  # type: ignore[arg-type]
    with pytest.raises(JobError, match="value"):
        Key(1, float("inf"))
