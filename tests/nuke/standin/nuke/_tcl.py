"""The part of Nuke's TCL evaluation that string and file knobs go through.

``String_Knob.value()`` is "the evaluated value of this knob as a string - also see getText()"
and ``getText()`` "the non-evaluated value" (learn.foundry.com/nuke/developers/12.2/pythonreference/
nuke.String_Knob-class.html); ``nuke.value()`` "expand[s] brackets and dollar signs in string
knobs" (learn.foundry.com/nuke/developers/131/pythondevguide/_autosummary/nuke.value.html).
Evaluation follows Tcl's substitution rules (www.tcl.tk/man/tcl8.6/TclCmd/Tcl.htm, rules 7-9):
``[command]`` substitution, ``$variable`` substitution and backslash substitution, where a
backslash before any character without a special meaning is dropped: ``C:\\Users\\me`` evaluates
to ``C:Usersme`` and ``\\n`` to a newline. This is why a native Windows path stored in a knob is
mangled when Nuke evaluates it.

Commands implemented: ``python`` (``[python {expr}]`` / ``[python -exec {code}]``), ``value``,
``exists``, ``file dirname|tail|rootname|extension|join``, ``getenv``, ``frame``. Any other
command raises, as Nuke reports an unknown TCL command as an error.
"""

from __future__ import annotations

import os
import posixpath

__all__ = ["substitute", "TclError"]

_SIMPLE_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}


class TclError(RuntimeError):
    pass


def _backslash(text: str, i: int):
    """Tcl rule 9: the substitution for the backslash sequence at ``text[i]``; returns (str, next)."""
    if i + 1 >= len(text):
        return "\\", i + 1
    c = text[i + 1]
    if c in _SIMPLE_ESCAPES:
        return _SIMPLE_ESCAPES[c], i + 2
    if c == "\n":
        j = i + 2
        while j < len(text) and text[j] in " \t":
            j += 1
        return " ", j
    if c in "01234567":
        j = i + 1
        while j < len(text) and j < i + 4 and text[j] in "01234567":
            j += 1
        return chr(int(text[i + 1:j], 8) & 0xFF), j
    if c in "xu":
        limit = 2 if c == "x" else 4
        j = i + 2
        while j < len(text) and j < i + 2 + limit and text[j] in "0123456789abcdefABCDEF":
            j += 1
        if j > i + 2:
            return chr(int(text[i + 2:j], 16)), j
        return c, i + 2
    return c, i + 2  # any other character: the backslash is dropped


def _matching(text: str, i: int, open_c: str, close_c: str) -> int:
    depth = 0
    while i < len(text):
        c = text[i]
        if c == "\\":
            i += 2
            continue
        if c == open_c:
            depth += 1
        elif c == close_c:
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise TclError("missing close-%s" % ("bracket" if close_c == "]" else "brace"))


def _words(script: str, ctx) -> list:
    """Split a command into words: braces quote literally, brackets and $ substitute."""
    words, i, n = [], 0, len(script)
    while i < n:
        while i < n and script[i] in " \t\n":
            i += 1
        if i >= n:
            break
        if script[i] == "{":
            end = _matching(script, i, "{", "}")
            words.append(script[i + 1:end])
            i = end + 1
            continue
        if script[i] == '"':
            j = i + 1
            while j < n and script[j] != '"':
                j += 2 if script[j] == "\\" else 1
            words.append(substitute(script[i + 1:j], ctx))
            i = j + 1
            continue
        j = i
        while j < n and script[j] not in " \t\n":
            if script[j] == "[":
                j = _matching(script, j, "[", "]") + 1
            elif script[j] == "\\":
                j += 2
            else:
                j += 1
        words.append(substitute(script[i:j], ctx))
        i = j
    return words


def substitute(text: str, ctx) -> str:
    """Tcl substitution of ``text``; ``ctx`` is the knob's node (for ``value`` and ``python``)."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if c == "\\":
            s, i = _backslash(text, i)
            out.append(s)
        elif c == "[":
            end = _matching(text, i, "[", "]")
            out.append(_command(text[i + 1:end], ctx))
            i = end + 1
        elif c == "$" and i + 1 < n and (text[i + 1].isalnum() or text[i + 1] in "_{"):
            j = i + 1
            if text[j] == "{":
                end = text.index("}", j)
                name, i = text[j + 1:end], end + 1
            else:
                while j < n and (text[j].isalnum() or text[j] in "_()"):
                    j += 1
                name, i = text[i + 1:j], j
            out.append(_variable(name))
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _variable(name: str) -> str:
    if name.startswith("env(") and name.endswith(")"):
        key = name[4:-1]
        if key not in os.environ:
            raise TclError("can't read \"env(%s)\": no such variable" % key)
        return os.environ[key]
    from . import _app

    if name == "gui":
        return "1" if _app.state.gui else "0"
    raise TclError("can't read \"%s\": no such variable" % name)


def _command(script: str, ctx) -> str:
    from . import _app

    words = _words(script.strip(), ctx)
    if not words:
        return ""
    cmd, args = words[0], words[1:]
    if cmd == "python":
        exec_mode = args and args[0] in ("-exec", "-execlocal")
        code = args[-1] if args else ""
        return _app.python_in_knob(code, ctx, exec_mode)
    if cmd == "value":
        return str(_app.knob_by_path(args[0], ctx).value())
    if cmd == "exists":
        return "1" if _app.path_exists(args[0], ctx) else "0"
    if cmd == "frame":
        return str(_app.frame())
    if cmd == "getenv":
        return os.environ.get(args[0], args[1] if len(args) > 1 else "")
    if cmd == "file" and args:
        sub, rest = args[0], args[1:]
        if sub == "dirname":
            d = posixpath.dirname(rest[0])
            return d if d else "."
        if sub == "tail":
            return posixpath.basename(rest[0])
        if sub == "rootname":
            return posixpath.splitext(rest[0])[0]
        if sub == "extension":
            return posixpath.splitext(rest[0])[1]
        if sub == "join":
            return posixpath.join(*rest)
    raise TclError("invalid command name \"%s\"" % cmd)
