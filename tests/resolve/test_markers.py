"""The ``filmstyle`` marker syntax: keys from well-formed notes, one clear line per hostile one."""

from __future__ import annotations

import pytest

from filmstyle_plugin.resolve.markers import MarkerError, parse_markers, parse_note


def marker(note: str, name: str = "filmstyle", duration: float = 1.0) -> dict:
    return {"color": "Green", "duration": duration, "note": note, "name": name, "customData": ""}


def parse(markers: dict):
    return parse_markers(markers, to_offset=lambda k: int(k), to_frame=lambda o: 1001 + o,
                         describe=lambda o: f"sh010: marker at +{o}")


def test_three_markers_make_a_migration_and_a_strength_ramp():
    keys = parse({
        0.0: marker("style=starry-blue strength=0"),
        12.0: marker("strength=1 smooth"),
        24.0: marker("style=pale-wash strength=0.4 hold"),
        30.0: marker("a note for the editor", name="Marker 4"),  # not ours: not read
    })
    assert keys.count == 3
    assert keys.styles == [("starry-blue", [[1001, 1.0, "linear"], [1025, 0.0, "hold"]]),
                           ("pale-wash", [[1001, 0.0, "linear"], [1025, 1.0, "hold"]])]
    assert keys.values == {"strength": [[1001, 0.0, "linear"], [1013, 1.0, "smooth"], [1025, 0.4, "hold"]]}
    job = keys.apply({"styles": [{"style": "umber-ink", "weight": 1.0}], "strength": 1.0, "temporal": 0.5})
    assert job["temporal"] == 0.5 and job["styles"][0]["style"] == "starry-blue"


def test_blends_spans_and_other_keys():
    keys = parse({
        2.0: marker("style=pale-wash:1,starry-blue:3 temporal=0.6 preserve_color=0.5", duration=5.0),
        20.0: marker("STYLE=Starry_Blue Ease"),
    })
    # A five-frame marker holds over its span: keys at its first and last frame.
    assert keys.styles == [("pale-wash", [[1003, 0.25, "linear"], [1007, 0.25, "linear"], [1021, 0.0, "smooth"]]),
                           ("starry-blue", [[1003, 0.75, "linear"], [1007, 0.75, "linear"], [1021, 1.0, "smooth"]])]
    assert keys.values == {"temporal": [[1003, 0.6, "linear"], [1007, 0.6, "linear"]],
                           "preserve_color": [[1003, 0.5, "linear"], [1007, 0.5, "linear"]]}


def test_a_style_image_path(tmp_path):
    art = tmp_path / "monet.jpg"
    art.write_bytes(b"jpeg")
    keys = parse({0.0: marker(f"style={art} strength=1.5")})
    assert keys.styles == [(str(art), [[1001, 1.0, "linear"]])]
    with pytest.raises(MarkerError, match="does not exist"):
        parse({0.0: marker(f"style={tmp_path / 'missing.jpg'}")})


@pytest.mark.parametrize("note, message", [
    ("strenght=0.5", "unknown key 'strenght' (did you mean strength?)"),
    ("blend=0.5", "a blend is written style=A:1,B:1"),
    ("strength=abc", "strength='abc' is not a number"),
    ("strength=nan", "strength='nan' is not a number"),
    ("strength=3", "strength=3 is outside 0..2"),
    ("temporal=0.99", "temporal=0.99 is outside 0..0.95"),
    ("style=teal-gould", "'teal-gould' is not a built-in look (did you mean teal-gold?)"),
    ("style=pale-wash:x", "weight 'x' of pale-wash is not a number"),
    ("style=pale-wash:-1", "weight -1 is negative"),
    ("style=pale-wash:0", "every weight is 0"),
    ("style=", "style= has no value"),
    ("strength=1 strength=2", "strength is given twice"),
    ("smooth hold strength=1", "two interpolation words"),
    ("smoooth strength=1", "neither key=value nor one of linear, smooth, hold (did you mean smooth?)"),
    ("", "the note sets nothing"),
])
def test_hostile_notes_name_the_marker_and_the_problem(note, message):
    with pytest.raises(MarkerError) as err:
        parse({36.0: marker(note)})
    assert len(err.value.lines) == 1
    assert err.value.lines[0].startswith("sh010: marker at +36: ")
    assert message in err.value.lines[0]


def test_overlapping_markers_and_every_problem_at_once():
    with pytest.raises(MarkerError) as err:
        parse({
            10.0: marker("strength=1", duration=8.0),
            14.0: marker("strength=0"),
            40.0: marker("strength=x"),
        })
    assert err.value.lines == [
        "sh010: marker at +40: strength='x' is not a number",
        "sh010: marker at +10 (8 frames) and sh010: marker at +14 overlap; FilmStyle markers must not overlap",
    ]


def test_parse_note_alone():
    styles, values, interp, errors = parse_note("style=umber-ink strength=0.7 step", "here")
    assert (styles, values, interp, errors) == ({"umber-ink": 1.0}, {"strength": 0.7}, "hold", [])
