"""Hypothesis on the parsers that take what users type and hosts send: frame ranges, curves and
whole jobs (arbitrary JSON-like data, and data valid against the job's JSON Schema). Every case
ends in a correct value or a clean one-line FilmStyleError, never another exception, a hang or a
huge allocation. Derandomised and bounded in examples, so CI sees the same cases every run."""

from __future__ import annotations

import itertools
import math
import os
import re
import string
import sys
from pathlib import Path

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from filmstyle.errors import FilmStyleError, InputError, JobError, PathRefused
from filmstyle.io.frame_range import MAX_FRAME, FrameRange
from filmstyle.io.sequence import parse_frame_range
from filmstyle.job.curves import Curve, parse_curve
from filmstyle.job.model import job_from_data
from filmstyle.job.schema import job_json_schema
from filmstyle.job.styles import BUILTIN_STYLES

def fuzz(examples: int) -> settings:
    return settings(max_examples=examples, deadline=None, derandomize=True, database=None, print_blob=True,
                    suppress_health_check=list(HealthCheck))


def one_line(exc: BaseException) -> None:
    text = str(exc)
    assert text and "\n" not in text and len(text) <= 500, text[:300]


# -- frame ranges --------------------------------------------------------------------------------

small = st.integers(-50, 400)
huge = st.integers(-MAX_FRAME, MAX_FRAME)


@st.composite
def range_items(draw, large: bool):
    start = draw(huge if large else small)
    kind = draw(st.sampled_from(["one", "span", "step"]))
    if kind == "one":
        return str(start), [start]
    end = draw(st.integers(start, MAX_FRAME) if large else st.integers(start, start + 5000))
    if kind == "span":
        return f"{start}-{end}", (start, end, 1)
    step = draw(st.integers(1, 50))
    sep = draw(st.sampled_from(["x", ":", " x "]))
    return f"{start}-{end}{sep}{step}", (start, end, step)


def _naive(spec) -> set[int]:
    out: set[int] = set()
    for item in spec:
        out.update(item if isinstance(item, list) else range(item[0], item[1] + 1, item[2]))
    return out


@fuzz(400)
@given(st.lists(range_items(False), min_size=1, max_size=6), st.sampled_from([",", ", ", " ,"]))
def test_small_frame_ranges_are_exact(items, sep):
    text = sep.join(t for t, _ in items)
    expected = sorted(_naive([s for _, s in items]))
    rng = FrameRange.parse(text)
    assert list(rng) == expected and len(rng) == len(expected)
    assert parse_frame_range(text) == tuple(expected)
    for probe in expected[:5] + [expected[0] - 1, expected[-1] + 1, 10**12]:
        assert (probe in rng) == (probe in set(expected))
    assert [r.step for r in rng.runs] and all(a[-1] < b.start for a, b in zip(rng.runs, rng.runs[1:]))


@fuzz(300)
@given(st.lists(range_items(True), min_size=1, max_size=4))
def test_huge_frame_ranges_never_expand(items):
    text = ",".join(t for t, _ in items)
    try:
        rng = FrameRange.parse(text)
    except InputError as exc:  # large items that overlap unevenly are refused in one line
        one_line(exc)
        assert "overlap" in str(exc)
        return
    upper = sum(1 if isinstance(s, list) else len(range(s[0], s[1] + 1, s[2])) for _, s in items)
    assert 1 <= len(rng) <= upper
    assert rng.first == min(s[0] for _, s in items)
    present = set(itertools.islice(rng.runs[0], 3))
    count, first = rng.missing(present)
    assert count == len(rng) - len(present) and len(first) <= 10
    if len(rng) > 1_000_000:
        with pytest.raises(InputError, match="at most 1000000 can be listed"):
            parse_frame_range(text)


@fuzz(400)
@given(st.one_of(st.text(max_size=60),
                 st.text(alphabet="0123456789-x:, \t", max_size=40),
                 st.from_regex(r"-?\d{1,40}(-\d{1,40}(x\d{1,20})?)?(,\d{1,3})*", fullmatch=True)))
def test_any_text_is_a_range_or_one_line(text):
    try:
        rng = FrameRange.parse(text)
    except InputError as exc:
        one_line(exc)
        return
    assert len(rng) >= 1 and -MAX_FRAME <= rng.first <= rng.last <= MAX_FRAME


# -- curves --------------------------------------------------------------------------------------

finite = st.floats(allow_nan=False, allow_infinity=False, width=64, min_value=-1e12, max_value=1e12)
numbers = st.one_of(st.integers(-10**6, 10**6), finite)
interp_words = st.sampled_from(["linear", "smooth", "hold", "ease", "step", "LINEAR", "wobble", ""])


@st.composite
def compact_curves(draw):
    keys = draw(st.lists(st.tuples(st.integers(-10, 5000), numbers, interp_words), min_size=1, max_size=8))
    parts = [f"{f}:{v!r} {w}".strip() if draw(st.booleans()) else f"{f}:{v}" for f, v, w in keys]
    return draw(st.sampled_from([", ", ",", " , "])).join(parts)


@st.composite
def nuke_curves(draw):
    tokens = ["curve"]
    for _ in range(draw(st.integers(0, 8))):
        tokens.append(draw(st.one_of(
            st.sampled_from(["K", "L", "S", "C", "R", "Z", "i", "I", "k", "l"]),
            st.integers(-5, 3000).map(lambda f: f"x{f}"),
            numbers.map(repr),
            finite.map(lambda s: f"s{s!r}"), finite.map(lambda s: f"t{s!r}"),
            st.sampled_from(["u0.5", "v1", "x", "q7", "{", "}", "curve"]),
        )))
    depth = draw(st.integers(0, 3))
    text = "{" * depth + " ".join(tokens) + "}" * depth
    return draw(st.sampled_from([text, "white " + text, "{" + text + "} {curve 1}", text + "}"]))


key_lists = st.lists(st.one_of(
    st.tuples(numbers, numbers).map(list),
    st.tuples(numbers, numbers, interp_words).map(list),
    st.fixed_dictionaries({"frame": numbers, "value": numbers}, optional={"interp": interp_words}),
    compact_curves(),
    st.lists(numbers, max_size=4),
), max_size=8)

json_like = st.recursive(
    st.none() | st.booleans() | numbers | st.floats() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)

curve_inputs = st.one_of(numbers, st.floats(), compact_curves(), nuke_curves(), key_lists,
                         key_lists.map(lambda k: {"keys": k}), compact_curves().map(lambda c: {"keys": c}),
                         st.text(max_size=40), json_like)


@fuzz(800)
@given(curve_inputs, st.lists(st.floats(-1e4, 1e4), min_size=1, max_size=5))
def test_curves_parse_to_a_bounded_curve_or_one_line(value, frames):
    try:
        curve = parse_curve(value, field="strength")
    except JobError as exc:
        one_line(exc)
        assert str(exc).startswith(("strength", "key ", "curve")), str(exc)
        return
    assert isinstance(curve, Curve)
    low, high = min(k.value for k in curve.keys), max(k.value for k in curve.keys)
    for f in frames:
        v = curve.value_at(f)
        assert math.isfinite(v) and low - 1e-9 * max(1.0, abs(low)) <= v <= high + 1e-9 * max(1.0, abs(high))
    assert parse_curve(curve.to_data(), field="strength") == curve


def test_curve_text_with_a_million_braces_is_fast():
    text = "{" * 500_000 + "curve x1 0 x2 1" + "}" * 500_000
    assert parse_curve(text).value_at(1.5) == pytest.approx(0.5)


# -- jobs ----------------------------------------------------------------------------------------

SCHEMA = job_json_schema()
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("fuzz_jobs")
    (root / "paint.png").write_bytes(b"\x89PNG not really")
    (root / "model.onnx").write_bytes(b"not a model")
    return root


@pytest.fixture(autouse=True)
def no_user_styles(tmp_path_factory, monkeypatch):
    folder = tmp_path_factory.mktemp("fuzz_config")
    monkeypatch.setenv("FILMSTYLE_CONFIG_DIR", str(folder))
    monkeypatch.delenv("FILMSTYLE_STYLES", raising=False)


style_names = st.one_of(
    st.sampled_from(BUILTIN_STYLES), st.sampled_from(["style07", "19", "Starry Blue", "teal-gould"]),
    st.sampled_from(["paint.png", "./paint.png", "missing.exr", "../outside.png", "/etc/hostname.png",
                     "custom:model.onnx", "custom:/etc/model.pth", "custom:../x.onnx", "custom:", "~/x.png",
                     "~no_such_user_here/x.png", "a/b\\c.tif", "paint.txt", "x" * 300 + ".png"]),
    st.text(string.printable, max_size=12),
)


def _ellipse():
    return st.fixed_dictionaries({"center": st.lists(curve_inputs, min_size=2, max_size=2),
                                  "radius": st.one_of(curve_inputs, st.lists(numbers, min_size=2, max_size=2))},
                                 optional={"feather": curve_inputs, "rotation": curve_inputs})


leaf_masks = st.one_of(
    st.builds(lambda e: {"ellipse": e}, _ellipse()),
    st.builds(lambda b, f: {"rectangle": {"box": b, "feather": f}}, st.lists(numbers, min_size=4, max_size=4), numbers),
    st.builds(lambda p: {"polygon": {"points": p}}, st.lists(st.lists(numbers, min_size=2, max_size=2), max_size=6)),
    st.builds(lambda c: {"channel": c}, st.sampled_from(["matte.R", "A", "", "x" * 300])),
    st.builds(lambda f, c: {"file": f, "channel": c}, st.sampled_from(["m.####.exr", "/etc/m.exr", "../m.exr", ""]),
              st.sampled_from(["A", "R"])),
    st.builds(lambda lo: {"luma": {"low": lo}}, curve_inputs),
    st.builds(lambda h, w: {"hue": {"hue": h, "width": w}}, curve_inputs, curve_inputs),
    json_like,
)
masks = st.recursive(leaf_masks, lambda inner: st.one_of(
    st.builds(lambda m: {"op": "invert", "mask": m}, inner),
    st.builds(lambda ms, op: {"op": op, "masks": ms}, st.lists(inner, max_size=4),
              st.sampled_from(["multiply", "max", "maximum", "subtract", "nope"])),
    st.builds(lambda m, r: {"op": "blur", "radius": r, "mask": m}, inner, curve_inputs),
    st.builds(lambda m, r: {"op": "grow", "pixels": r, "mask": m}, inner, curve_inputs),
), max_leaves=6)


def _valid_as(name: str, defs: dict):
    return jsonschema.Draft202012Validator({"$defs": defs, "$ref": f"#/$defs/{name}"}).is_valid


def _from_schema(node: dict, defs: dict) -> st.SearchStrategy:
    """Values valid against the subset of JSON Schema the job schema uses (checked below); where
    the schema is loose (a curve, a mask, a style) the domain's own forms are mixed in."""
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[1]
        domain = {"curve": curve_inputs, "mask": masks, "style": style_names, "styles": good_styles}.get(name)
        generic = st.deferred(lambda: _from_schema(defs[name], defs))
        return st.one_of(domain.filter(_valid_as(name, defs)), generic) if domain is not None else generic
    if "const" in node:
        return st.just(node["const"])
    if "enum" in node:
        return st.sampled_from(node["enum"])
    if "anyOf" in node:
        return st.one_of([_from_schema(n, defs) for n in node["anyOf"]])
    types = node.get("type")
    if types is None:
        return json_like
    if isinstance(types, list):
        return st.one_of([_from_schema({**node, "type": t}, defs) for t in types])
    if types == "null":
        return st.none()
    if types == "boolean":
        return st.booleans()
    if types in ("number", "integer"):
        lo, hi = node.get("minimum", node.get("exclusiveMinimum")), node.get("maximum")
        if types == "integer":
            return st.integers(None if lo is None else math.ceil(lo) + ("exclusiveMinimum" in node),
                               None if hi is None else math.floor(hi))
        return st.floats(lo, hi, allow_nan=False, allow_infinity=False,
                         exclude_min="exclusiveMinimum" in node and lo is not None)
    if types == "string":
        return st.one_of(st.text(min_size=node.get("minLength", 0), max_size=16),
                         st.sampled_from(["1001-1100", "1-3x2", "1,5", "shot.####.exr", "beauty", "ACEScg"]))
    if types == "array":
        return st.lists(_from_schema(node.get("items", {}), defs), min_size=node.get("minItems", 0), max_size=3)
    props = node.get("properties", {})
    required = set(node.get("required", []))

    def values(key: str, sub: dict) -> st.SearchStrategy:
        generic = _from_schema(sub, defs)
        hint = HINTS.get(key)
        return generic if hint is None else st.one_of(hint.filter(jsonschema.Draft202012Validator(
            {"$defs": defs, **sub}).is_valid), generic)

    fixed = {k: values(k, v) for k, v in props.items() if k in required}
    optional = {k: values(k, v) for k, v in props.items() if k not in required}
    if not props:
        return st.dictionaries(st.text(max_size=8), json_like, min_size=node.get("minProperties", 0), max_size=3)
    return st.fixed_dictionaries(fixed, optional=optional)


# Plausible values where the schema only says "a string": most generated jobs get past their
# first field, so the checks behind it are reached too.
good_styles = st.lists(st.one_of(st.sampled_from(BUILTIN_STYLES), st.fixed_dictionaries(
    {"style": st.sampled_from(BUILTIN_STYLES)}, optional={"weight": st.one_of(numbers, compact_curves())})),
    min_size=1, max_size=3)
HINTS = {
    "frames": st.sampled_from(["1001-1100", "1-3x2", "1,5,7-9", "1-1000000000", 7, "0-2147483647"]),
    "strength": st.one_of(st.floats(0, 2), st.sampled_from(["1:0, 10:1 smooth, 20:0.5 hold", "{curve x1 0 x5 1}"])),
    "temporal": st.floats(0, 0.95), "preserve_color": st.floats(0, 1), "histogram_match": st.floats(0, 1),
    "input_colorspace": st.sampled_from(["ACEScg", "sRGB", "nope"]), "part": st.sampled_from([0, "beauty"]),
    "layer": st.sampled_from(["diffuse", "beauty"]), "compression": st.sampled_from(["zip", "piz", "dwaa", "bogus"]),
}
schema_valid_jobs = st.tuples(_from_schema(SCHEMA, SCHEMA["$defs"]), st.integers(0, 3)).map(
    lambda pair: pair[0] if pair[1] == 0 or "styles" in pair[0] else {**pair[0], "styles": ["starry-blue"]})


def _run(data, base: Path):
    """job_from_data with an allow-list of ``base``; records every file looked at."""
    checked: list[Path] = []
    looked: list[str] = []

    def check(field: str, path: Path):
        checked.append(path)
        resolved = os.path.realpath(path)
        return None if resolved == str(base) or resolved.startswith(str(base) + os.sep) else f"{field}: outside"

    real_stat = os.stat

    def spy(path, *args, **kwargs):
        looked.append(os.fspath(path))
        return real_stat(path, *args, **kwargs)

    os.stat = spy
    try:
        try:
            job = job_from_data(data, base_dir=base, check_path=check)
        except PathRefused as exc:
            one_line(exc)
            job = None
        except FilmStyleError as exc:
            one_line(exc)
            job = None
    finally:
        os.stat = real_stat
    ours = (str(base), os.environ["FILMSTYLE_CONFIG_DIR"], sys.prefix, sys.base_prefix)
    for path in looked:  # nothing outside the allowed folder is looked at (the config folder and
        real = os.path.realpath(path)  # Python's own modules, read by imports, are not the job's)
        assert real.startswith(ours), (path, data)
    return job


@fuzz(300)
@given(schema_valid_jobs)
def test_schema_valid_jobs_compile_or_fail_in_one_line(base, data):
    VALIDATOR.validate(data)  # the strategy is right: every case is valid against the schema
    job = _run(data, base)
    if job is not None:
        assert job_from_data(job.to_data(), base_dir=base) == job


@fuzz(300)
@given(st.one_of(json_like, st.dictionaries(
    st.sampled_from(["filmstyle", "input", "output", "styles", "strength", "regions", "default", "color", "frames",
                     "tile_size", "temporal", "part", "layer", "bit_depth", "tiling", "other"]),
    st.one_of(json_like, curve_inputs, st.lists(style_names, max_size=3), st.lists(st.fixed_dictionaries(
        {"mask": masks}, optional={"styles": st.lists(style_names, max_size=2)}), max_size=2)),
    max_size=8).map(lambda d: {"filmstyle": 2, **d})))
def test_arbitrary_data_compiles_or_fails_in_one_line(base, data):
    _run(data, base)


def test_deep_and_aliased_data_is_refused_without_recursion(base):
    deep: list = []
    for _ in range(100_000):
        deep = [deep]
    with pytest.raises(JobError, match="nested deeper than 32"):
        job_from_data({"filmstyle": 2, "input": "a", "output": "b", "styles": deep}, base_dir=base)
    shared: list = [1]
    for _ in range(30):
        shared = [shared, shared]  # 2**30 values when expanded, a few objects in memory
    with pytest.raises(JobError, match="more than 500000 values"):
        job_from_data({"filmstyle": 2, "input": "a", "output": "b", "styles": shared}, base_dir=base)


def test_messages_name_fields_with_a_path_syntax():
    with pytest.raises(JobError) as info:
        job_from_data({"filmstyle": 2, "input": "a", "output": "b", "styles": ["starry-blue"],
                       "regions": [{"mask": {"op": "blur", "radius": -1, "mask": {"channel": "A"}}}]},
                      base_dir=Path("."))
    assert re.match(r"^regions\[0\]\.mask\.radius: ", str(info.value)), str(info.value)
