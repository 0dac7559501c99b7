"""The Resolve scripts type-check against PyPI's ``fusionscript-stubs``, and the stand-ins the tests
drive them with have the stubs' method names and parameters."""

from __future__ import annotations

import ast
import importlib.util
import inspect
import subprocess
import sys
from pathlib import Path

import pytest

from tests.resolve import resolve_standin as rs
from tests.resolve.conftest import ROOT

PLUGIN = ROOT / "plugin" / "filmstyle_plugin"
CHECKED = [PLUGIN / "resolve", PLUGIN / "fuse_bridge.py", PLUGIN / "fuse_gen.py", PLUGIN / "exr_header.py",
           *sorted((ROOT / "resolve" / "Scripts").glob("[!C]*/*.py")),  # Color's script is Edit's (below)
           *sorted((ROOT / "resolve" / "Scripts").glob("Comp/*.py"))]
MYPY_INI = """\
[mypy]
python_version = 3.10
strict = True
# Modules of the plugin other hosts share are checked where they are used, not inside.
[mypy-filmstyle_plugin.client,filmstyle_plugin.protocol,filmstyle_plugin.paths,filmstyle_plugin.schema]
follow_imports = silent
"""
STANDINS = ("Resolve", "ProjectManager", "Project", "Timeline", "TimelineItem", "MediaPool", "Folder",
            "MediaPoolItem")


def _stubs() -> Path:
    spec = importlib.util.find_spec("mypy")
    assert spec is not None
    for base in map(Path, sys.path):
        candidate = base / "fusionscript-stubs" / "fusionscript.pyi"
        if candidate.is_file():
            return candidate
    pytest.fail("fusionscript-stubs is not installed (it is in the test extra)")


def test_scripts_pass_mypy_strict_against_the_stubs(tmp_path):
    _stubs()
    ini = tmp_path / "mypy.ini"
    ini.write_text(MYPY_INI)
    proc = subprocess.run([sys.executable, "-m", "mypy", "--config-file", str(ini), "--cache-dir", str(tmp_path / "c"),
                           *map(str, CHECKED)], capture_output=True, text=True, timeout=600, cwd=ROOT / "plugin")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_color_page_script_is_the_edit_page_script():
    edit = (ROOT / "resolve" / "Scripts" / "Edit" / "FilmStyle - Stylize clips.py").read_text().split('"""', 2)[2]
    color = (ROOT / "resolve" / "Scripts" / "Color" / "FilmStyle - Stylize clips.py").read_text().split('"""', 2)[2]
    assert edit == color


def _stub_methods() -> dict[str, dict[str, list[str]]]:
    tree = ast.parse(_stubs().read_text(encoding="utf-8"))
    out: dict[str, dict[str, list[str]]] = {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name in STANDINS:
            methods = out.setdefault(node.name, {})
            for item in node.body:
                if isinstance(item, ast.FunctionDef):
                    methods.setdefault(item.name, [a.arg for a in item.args.args[1:]])
    return out


def test_standins_have_the_stubs_names_and_parameters():
    stubs = _stub_methods()
    for class_name in STANDINS:
        cls = getattr(rs, class_name)
        for name, fn in vars(cls).items():
            if not name[:1].isupper() or not callable(fn):
                continue
            assert name in stubs[class_name], f"{class_name}.{name} is not in fusionscript-stubs"
            params = inspect.signature(fn).parameters
            positional = [p.name for p in params.values()
                          if p.name != "self" and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
            variadic = [p.name for p in params.values() if p.kind == p.VAR_POSITIONAL]
            expected = stubs[class_name][name]
            # 18.x takes no frame-getter argument and 19.0.2+ an optional one: *subframe_precision.
            assert positional + variadic == expected, f"{class_name}.{name}{tuple(positional + variadic)} vs {expected}"


def test_every_resolve_call_the_scripts_make_exists_on_the_standins():
    stubs = _stub_methods()
    stub_names = {name for methods in stubs.values() for name in methods}
    standin_names = {name for c in (*STANDINS, "ResolveObject") for name in vars(getattr(rs, c))}
    called = set()
    for path in sorted((PLUGIN / "resolve").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr in stub_names:
                called.add(node.attr)
    assert called and called <= standin_names, sorted(called - standin_names)
