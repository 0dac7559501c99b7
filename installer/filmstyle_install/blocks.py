"""A clearly delimited block in a user's text file (``~/.nuke/init.py``), added and removed exactly.

The block starts with a line beginning :data:`BEGIN` and ends with the line :data:`END`. Adding it
to text that lacks it appends a separator (a blank line) and the block; adding it again replaces
the block in place; removing it takes out the block and the separator that was added, so the file
comes back byte for byte. Line endings follow the file's own (``\\r\\n`` stays ``\\r\\n``).
"""

from __future__ import annotations

__all__ = ["BEGIN", "END", "BlockError", "nuke_block", "find_block", "with_block", "without_block"]

BEGIN = "# >>> filmstyle >>>"
END = "# <<< filmstyle <<<"


class BlockError(Exception):
    """The file holds a damaged block (a start without an end, or two blocks)."""


def nuke_block(nuke_dir: str, newline: str = "\n") -> str:
    """The ``init.py`` block that puts the installed ``nuke`` folder on Nuke's plugin path.

    ``pluginAddPath`` also runs that folder's ``init.py`` and puts it on ``sys.path``; the folder is
    checked first so a removed installation never stops Nuke from starting.
    """
    lines = [
        f"{BEGIN} added by the filmstyle installer; `install.py --uninstall` removes this block",
        "import os as _filmstyle_os",
        "import nuke as _filmstyle_nuke",
        f"_filmstyle_dir = {nuke_dir!r}",
        "if _filmstyle_os.path.isdir(_filmstyle_dir):",
        "    _filmstyle_nuke.pluginAddPath(_filmstyle_dir)",
        "else:",
        "    print('filmstyle: %s is missing; run the filmstyle installer again' % _filmstyle_dir)",
        "del _filmstyle_os, _filmstyle_nuke, _filmstyle_dir",
        END,
    ]
    return newline.join(lines) + newline


def newline_of(text: str) -> str:
    return "\r\n" if "\r\n" in text else "\n"


def find_block(text: str) -> tuple[int, int] | None:
    """``(start, end)`` offsets of the block (end past its last newline), ``None`` when absent.

    Raises:
        BlockError: a start line without an end line, or more than one block.
    """
    start = _line_start(text, BEGIN)
    if start is None:
        if _line_start(text, END) is not None:
            raise BlockError(f"found {END!r} without {BEGIN!r}")
        return None
    end_line = _line_start(text, END, start)
    if end_line is None:
        raise BlockError(f"found {BEGIN!r} without {END!r}")
    end = text.find("\n", end_line)
    end = len(text) if end < 0 else end + 1
    if _line_start(text, BEGIN, end) is not None:
        raise BlockError(f"found more than one {BEGIN!r} block")
    return start, end


def _line_start(text: str, marker: str, offset: int = 0) -> int | None:
    pos = offset
    while True:
        pos = text.find(marker, pos)
        if pos < 0:
            return None
        if pos == 0 or text[pos - 1] == "\n":
            return pos
        pos += len(marker)


def with_block(text: str, block: str) -> tuple[str, str]:
    """``text`` with ``block`` added or replaced; also the separator that was added ('' if none).

    Raises:
        BlockError: see :func:`find_block`.
    """
    span = find_block(text)
    if span is not None:
        return text[: span[0]] + block + text[span[1]:], ""
    if not text:
        return block, ""
    nl = newline_of(text)
    separator = nl if text.endswith(nl) or text.endswith("\n") else nl + nl
    return text + separator + block, separator


def without_block(text: str, separator: str) -> tuple[str, str | None]:
    """``text`` without the block (and the ``separator`` just before it); also the block's text.

    Returns ``(text, None)`` unchanged when there is no block.

    Raises:
        BlockError: see :func:`find_block`.
    """
    span = find_block(text)
    if span is None:
        return text, None
    start, end = span
    block = text[start:end]
    if separator and text[:start].endswith(separator):
        start -= len(separator)
    return text[:start] + text[end:], block
