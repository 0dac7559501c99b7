"""The delimited init.py block: added, refreshed and removed so the file comes back byte for byte."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from filmstyle_install.blocks import BEGIN, END, BlockError, find_block, nuke_block, with_block, without_block

BLOCK = nuke_block("/opt/filmstyle/nuke")


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=200)
       .filter(lambda t: "filmstyle" not in t),
       st.sampled_from(["\n", "\r\n"]))
def test_add_then_remove_gives_the_same_text(text, newline):
    text = text.replace("\r\n", "\n").replace("\n", newline)
    block = BLOCK.replace("\n", newline)
    added, separator = with_block(text, block)
    assert added.count(BEGIN) == 1 and added.startswith(text)
    again, second = with_block(added, block)
    assert again == added and second == ""  # a second install changes nothing
    removed, found = without_block(added, separator)
    assert removed == text and found == block


def test_block_keeps_the_users_lines_and_line_endings():
    user = "import nuke\r\nnuke.pluginAddPath('/studio')"  # CRLF, no final newline
    added, separator = with_block(user, BLOCK.replace("\n", "\r\n"))
    assert separator == "\r\n\r\n"
    assert added.startswith(user + "\r\n\r\n" + BEGIN)
    assert "\n" not in added.replace("\r\n", "")


def test_refresh_replaces_the_block_in_place():
    old = "a = 1\n\n" + nuke_block("/old/nuke") + "b = 2\n"
    new, separator = with_block(old, BLOCK)
    assert new == "a = 1\n\n" + BLOCK + "b = 2\n" and separator == ""
    removed, _ = without_block(new, "\n")
    assert removed == "a = 1\nb = 2\n"


def test_block_calls_plugin_add_path_only_for_an_existing_folder(tmp_path):
    calls = []

    class Nuke:
        @staticmethod
        def pluginAddPath(path):
            calls.append(path)

    import sys

    sys.modules["nuke"] = Nuke  # the block imports nuke as Nuke's init.py would
    try:
        exec(compile(nuke_block(str(tmp_path)), "init.py", "exec"), {})
        exec(compile(nuke_block(str(tmp_path / "gone")), "init.py", "exec"), {})
    finally:
        del sys.modules["nuke"]
    assert calls == [str(tmp_path)]


def test_windows_paths_survive_as_python_literals():
    path = r"C:\Users\artist\AppData\Local\filmstyle\nuke"
    namespace: dict = {}
    body = nuke_block(path).replace("import nuke as _filmstyle_nuke", "_filmstyle_nuke = None")
    exec(compile(body.replace("del _filmstyle_os, _filmstyle_nuke, _filmstyle_dir", "x = _filmstyle_dir"),
                 "init.py", "exec"), namespace)
    assert namespace["x"] == path


@pytest.mark.parametrize("text, message", [
    (f"{BEGIN}\nx = 1\n", "without"),
    (f"x = 1\n{END}\n", "without"),
    (BLOCK + BLOCK, "more than one"),
])
def test_damaged_blocks_are_refused(text, message):
    with pytest.raises(BlockError, match=message):
        find_block(text)


def test_markers_inside_a_line_are_not_blocks():
    text = f"print('{BEGIN}')\n"
    assert find_block(text) is None
