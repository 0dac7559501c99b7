"""The files the installer copies into Resolve: the Fuse's generated inputs, the Edit-page
template (read by a real Lua with the loader's strict rules), and the Workspace ▸ Scripts entries."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest
from lupa import luajit21

from filmstyle_plugin import fuse_gen, paths
from filmstyle_plugin.schema import Param, load_schema
from tests.plugin.test_schema_and_host_code import HOST_PYTHONS, host_python
from tests.resolve.conftest import ROOT
from tests.resolve.fuse_standin import FuseHost

TEMPLATE = ROOT / fuse_gen.TEMPLATE_PATH
SCRIPTS = sorted((ROOT / "resolve" / "Scripts").rglob("*.py"))
PAGES = {"Edit": ["Stylize clips"], "Color": ["Stylize clips"], "Comp": ["Add node"],
         "Utility": ["Check setup", "Panel"]}


def test_generated_files_match_the_schema():
    assert fuse_gen.update(ROOT, check=True) == [], "run: python -m filmstyle_plugin.fuse_gen"


def _param(**extra) -> Param:
    return Param({"name": "grain_size", "label": "grain size", "type": "float", "range": [0, 3], "default": 1.0,
                  "animatable": True, "job": "grain", **extra})


def test_the_fuse_control_follows_hosts_fuse_or_the_type():
    plain = _param()
    assert plain.hosts == {}  # listed in no host: not exposed
    assert fuse_gen.fuse_inputs([plain]) == []
    del plain.hosts  # a schema from before "hosts": the control follows the type
    assert [i.control for i in fuse_gen.fuse_inputs([plain])] == ["SliderControl"]
    screw = _param()
    screw.hosts = {"nuke": "Double_Knob", "fuse": "ScrewControl", "panel": "slider"}  # type: ignore[attr-defined]
    nuke_only = _param(name="nuke_thing")
    nuke_only.hosts = {"nuke": "Double_Knob"}  # type: ignore[attr-defined]
    made = fuse_gen.fuse_inputs([screw, nuke_only])
    assert [(i.id, i.control) for i in made] == [("GrainSize", "ScrewControl")]
    attrs = dict(made[0].attrs())
    assert attrs["INP_MinAllowed"] == 0 and attrs["INP_MaxAllowed"] == 3 and attrs["LINKID_DataType"] == "Number"
    block = fuse_gen.render_fuse_block(made)
    assert 'id = "GrainSize"' in block and "ScrewControl" in block and "nuke_thing" not in block


def test_every_fuse_parameter_of_the_schema_is_an_input_with_its_range_and_default():
    inputs = {i.name: i for i in fuse_gen.fuse_inputs()}
    assert set(inputs) == {p.name for p in load_schema(host="fuse")}
    for p in load_schema(host="fuse"):
        inp = inputs[p.name]
        attrs = dict(inp.attrs())
        if p.type in ("float", "int") and p.range:
            assert (attrs["INP_MinScale"], attrs["INP_MaxScale"]) == p.range
        if p.type == "enum":
            assert [v for k, v in inp.attrs() if k == "CCS_AddString"] == p.choices
            assert attrs["INP_Default"] == p.choices.index(p.default)


# ---------------------------------------------------------------------------------- the template

_SETTING_ENV = """
ordered = function() return function(t) return t end end
local function kind(name) return function(t) t.__kind = name; return t end end
MacroOperator, GroupOperator = kind("MacroOperator"), kind("GroupOperator")
InstanceInput, InstanceOutput = kind("InstanceInput"), kind("InstanceOutput")
GroupInfo, OperatorInfo, Input = kind("GroupInfo"), kind("OperatorInfo"), kind("Input")
Fuse = setmetatable({}, { __index = function(_, name) return kind("Fuse." .. name) end })
"""


def _lua_items(table) -> dict:
    return {k: v for k, v in table.items()}


def test_the_edit_page_template_wraps_the_fuse_and_publishes_its_controls(filmstyle_env, tmp_path):
    text = TEMPLATE.read_text(encoding="utf-8")
    assert text.lstrip().startswith("{"), "a .setting file is one table literal"
    lua = luajit21.LuaRuntime()
    lua.execute(_SETTING_ENV)
    setting = lua.execute("return " + text)
    tools = _lua_items(setting.Tools)
    assert list(tools) == [setting.ActiveTool], "ActiveTool must name the one top-level tool [SETG 9]"
    macro = tools[setting.ActiveTool]
    assert macro.__kind in ("MacroOperator", "GroupOperator")
    inner = _lua_items(macro.Tools)
    fuse = FuseHost(ROOT / "resolve" / "Fuses" / "FilmStyle.fuse", tmp_path).add_tool()
    assert {name: t.__kind for name, t in inner.items()} == {"FilmStyle1": f"Fuse.{fuse.registered.name}"}
    fuse_inputs = fuse.input_ids()
    published = re.findall(r"^\t+(\w+) = InstanceInput", text, flags=re.M)  # file order = Inspector order
    inputs = _lua_items(macro.Inputs)
    assert sorted(published) == sorted(inputs)
    for key in published:
        entry = inputs[key]
        assert entry.__kind == "InstanceInput"
        assert entry.SourceOp in inner, f"{key}: SourceOp {entry.SourceOp} is not in the macro [SETG 3]"
        assert entry.Source in fuse_inputs, f"{key}: {entry.Source} is not an input of the Fuse (case matters)"
        source = fuse.input(entry.Source)
        if entry.Default is not None and source["items"] is not None:
            assert 0 <= entry.Default < len(source["items"])
        if entry.MinAllowed is not None:
            assert entry.MinAllowed <= entry.Default <= entry.MaxAllowed
    assert published[0] == "MainInput1" and inputs["MainInput1"].Source == "Input"
    expected = [i for i in fuse_inputs if i not in ("Input", "Mask", "MaskChannel")]
    assert [inputs[k].Source for k in published[1:]] == expected
    outputs = _lua_items(macro.Outputs)
    assert outputs["MainOutput1"].SourceOp == "FilmStyle1" and outputs["MainOutput1"].Source == "Output"


def test_the_template_is_in_a_category_folder():
    # Loose in Templates/Edit it shows only in the Fusion page library [SETG gotcha 14].
    assert TEMPLATE.parent.name == "Effects" and TEMPLATE.parent.parent.name == "Edit"


# ------------------------------------------------------------------------------------ the scripts


def _bootstrap(path: Path) -> str:
    text = path.read_text(encoding="utf-8")
    start = text.index("# -- bootstrap")
    end = text.index("# -- end of bootstrap")
    return text[start:end]


def test_the_scripts_of_each_page_with_the_same_bootstrap():
    pages: dict[str, list[str]] = {}
    for p in SCRIPTS:
        pages.setdefault(p.parent.name, []).append(p.stem.replace("FilmStyle - ", ""))
    assert pages == PAGES
    assert len({_bootstrap(p) for p in SCRIPTS}) == 1


@pytest.mark.parametrize("platform", ["linux", "darwin", "win32"])
def test_the_bootstrap_finds_the_config_folder_the_plugin_uses(platform, monkeypatch, tmp_path):
    namespace: dict = {}
    exec(compile(_bootstrap(SCRIPTS[0]).split("\n_path = ")[0], "bootstrap", "exec"), namespace)
    monkeypatch.setattr(sys, "platform", platform)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("LOCALAPPDATA", str(tmp_path / "Local"))
    for env in ({}, {"XDG_CONFIG_HOME": str(tmp_path / "xdg")}, {"FILMSTYLE_CONFIG_DIR": str(tmp_path / "c")}):
        for key in ("XDG_CONFIG_HOME", "FILMSTYLE_CONFIG_DIR"):
            monkeypatch.delenv(key, raising=False)
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        folder = paths.config_dir()
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "host.json").write_text('{"plugin_path": "%s"}' % (ROOT / "plugin"))
        assert Path(namespace["_filmstyle_plugin_path"]()) == ROOT / "plugin", (platform, env)
        (folder / "host.json").unlink()
        assert namespace["_filmstyle_plugin_path"]() is None


def test_scripts_import_only_the_stdlib_and_the_plugin():
    for path in SCRIPTS:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module] if isinstance(node, ast.ImportFrom) and node.module else [])
            for name in names:
                top = name.split(".")[0]
                assert top == "filmstyle_plugin" or top in sys.stdlib_module_names, f"{path.name}: {name}"


@pytest.mark.parametrize("version", HOST_PYTHONS)
def test_scripts_run_under_each_resolve_python(version, resolve_config, tmp_path):
    exe = host_python(version)
    if exe is None:
        pytest.skip(f"no Python {version} interpreter here")
    # Compiles, and with no Resolve around says so in one line instead of a traceback.
    for path in SCRIPTS:
        proc = subprocess.run([exe, str(path)], capture_output=True, text=True, timeout=120,
                              env={"FILMSTYLE_CONFIG_DIR": str(resolve_config), "PATH": "/usr/bin:/bin",
                                   "HOME": str(tmp_path)})
        assert proc.returncode == 0, (path.name, proc.stderr)
        assert proc.stderr == "", (path.name, proc.stderr)
        assert proc.stdout.startswith("FilmStyle: "), (path.name, proc.stdout)
