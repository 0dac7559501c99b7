"""Generate the FilmStyle Fuse's inputs and its Edit-page template from ``schema.json``.

Two files come out of the parameter schema:

* the block between ``-- BEGIN GENERATED INPUTS`` and ``-- END GENERATED INPUTS`` in
  ``resolve/Fuses/FilmStyle.fuse``: a Lua table ``FS_PARAMS`` with, per parameter, its Fusion input
  (``self:AddInput`` attributes: control, default, ranges, combo items) and what ``Process`` needs to
  turn the control's value back into the schema value;
* ``resolve/Templates/Edit/Effects/FilmStyle.setting``: a macro that wraps the Fuse and publishes
  the same controls, in the same order, to the Edit and Cut page Inspector.

The control of a parameter is ``param.hosts["fuse"]`` when the schema names one (a parameter whose
``hosts`` has no ``"fuse"`` entry is not exposed), else it follows the type: float/int → slider,
bool → checkbox, enum → combo, string → text, file → file browser. The input colourspace is a combo
of Resolve's usual timeline spaces plus "Other", which reads a text field beside it.

``python -m filmstyle_plugin.fuse_gen`` rewrites both files; ``--check`` only compares (a test runs
it, so the files never drift from the schema).
"""

import argparse
import sys
from pathlib import Path
from typing import Any, List, Optional, Sequence, Tuple

from filmstyle_plugin.schema import Param, load_schema

__all__ = [
    "FUSE_ID",
    "FuseInput",
    "RESOLVE_COLOURSPACES",
    "fuse_inputs",
    "render_fuse_block",
    "render_template",
    "update",
    "main",
]

FUSE_ID = "FilmStyle"
TOOL_NAME = "FilmStyle1"
BEGIN = "-- BEGIN GENERATED INPUTS"
END = "-- END GENERATED INPUTS"
FUSE_PATH = Path("resolve") / "Fuses" / "FilmStyle.fuse"
TEMPLATE_PATH = Path("resolve") / "Templates" / "Edit" / "Effects" / "FilmStyle.setting"

TYPE_CONTROLS = {
    "float": "SliderControl",
    "int": "SliderControl",
    "bool": "CheckboxControl",
    "enum": "ComboControl",
    "string": "TextEditControl",
    "file": "FileControl",
}
#: Fusion's data type of each control's value.
_DATA_TYPES = {
    "SliderControl": "Number", "ScrewControl": "Number", "CheckboxControl": "Number", "ComboControl": "Number",
    "MultiButtonControl": "Number", "TextEditControl": "Text", "FileControl": "Text",
}
#: (label in the combo, OCIO colourspace name); None = read the text field beside the combo.
RESOLVE_COLOURSPACES: Tuple[Tuple[str, Optional[str]], ...] = (
    ("Rec.709 Gamma 2.4 (Resolve default timeline)", "Gamma 2.4 Encoded Rec.709"),
    ("DaVinci Wide Gamut / Intermediate", "DaVinci Intermediate WideGamut"),
    ("Linear DaVinci Wide Gamut", "Linear DaVinci WideGamut"),
    ("Linear Rec.709", "Linear Rec.709 (sRGB)"),
    ("sRGB", "sRGB Encoded Rec.709 (sRGB)"),
    ("ACEScg", "ACEScg"),
    ("ACEScct", "ACEScct"),
    ("Other (type the name below)", None),
)
COLORSPACE_PARAM = "input_colorspace"


class FuseInput:
    """One Fuse input made from a schema parameter."""

    def __init__(self, param: Param, control: str) -> None:
        self.param = param
        self.name = param.name
        self.id = "".join(part[:1].upper() + part[1:] for part in param.name.split("_"))
        self.label = param.label[:1].upper() + param.label[1:]
        self.control = control
        self.kind = {"float": "number", "int": "number", "bool": "bool", "enum": "enum"}.get(param.type, "text")
        self.choices: List[str] = list(param.choices)
        self.values: Optional[List[str]] = None  # combo index -> schema value, when not the choices
        self.other_id: Optional[str] = None
        if param.name == COLORSPACE_PARAM and control in ("ComboControl", "TextEditControl"):
            # Resolve hands Fusion pixels in the timeline's colourspace: offer those by name.
            self.control, self.kind = "ComboControl", "colorspace"
            self.choices = [label for label, _ in RESOLVE_COLOURSPACES]
            self.values = [name or "" for _, name in RESOLVE_COLOURSPACES]
            self.other_id = self.id + "Other"
        self.other_label = self.label + " (Other)"

    @property
    def data_type(self) -> str:
        return _DATA_TYPES.get(self.control, "Number" if self.kind in ("number", "bool", "enum") else "Text")

    @property
    def default(self) -> Any:
        """The control's default (combo index, checkbox 0/1, number or text)."""
        p = self.param
        if self.kind == "enum":
            return self.choices.index(p.default) if p.default in self.choices else 0
        if self.kind == "colorspace":
            return 0
        if self.kind == "bool":
            return 1 if p.default else 0
        if self.kind == "number":
            return p.default if p.default is not None else 0
        return p.default or ""

    def attrs(self) -> List[Tuple[str, Any]]:
        """``self:AddInput`` attributes, in order (combo items as ``("CCS_AddString", item)``)."""
        p = self.param
        out: List[Tuple[str, Any]] = [("LINKID_DataType", self.data_type), ("INPID_InputControl", self.control)]
        if self.data_type == "Number":
            out.append(("INP_Default", self.default))
        if self.kind in ("enum", "colorspace", "bool") or p.type == "int":
            out.append(("INP_Integer", True))
        if self.kind == "number" and p.range is not None:
            # MinScale/MaxScale only set the slider's span; MinAllowed/MaxAllowed clamp the value.
            lo, hi = p.range
            out += [("INP_MinScale", lo), ("INP_MaxScale", hi), ("INP_MinAllowed", lo), ("INP_MaxAllowed", hi)]
        if self.control == "TextEditControl":
            out += [("TEC_Lines", 1), ("INPS_DefaultText", self.default)]
        if self.control == "FileControl":
            out += [("FC_IsSaver", False), ("FC_ClipBrowse", False)]
        if self.kind in ("enum", "colorspace"):
            out += [("CC_LabelPosition", "Horizontal")]
            out += [("CCS_AddString", c) for c in self.choices]
        return out


def _control(param: Param) -> Optional[str]:
    hosts = getattr(param, "hosts", None)
    if isinstance(hosts, dict):
        return hosts.get("fuse")  # no "fuse" entry: not exposed in Fusion
    return TYPE_CONTROLS[param.type]  # a schema without hosts: the control follows the type


def fuse_inputs(params: Optional[Sequence[Param]] = None) -> List[FuseInput]:
    """The Fuse's parameter inputs, in schema order."""
    out = []
    for param in load_schema() if params is None else params:
        control = _control(param)
        if control:
            out.append(FuseInput(param, control))
    return out


# ------------------------------------------------------------------------------------- Lua text


def lua_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if value is None:
        return "nil"
    text = str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    return f'"{text}"'


def _list(items: Sequence[Any]) -> str:
    return "{ " + ", ".join(lua_value(v) for v in items) + " }"


def render_fuse_block(inputs: Optional[List[FuseInput]] = None) -> str:
    """The generated Lua block, markers included."""
    inputs = fuse_inputs() if inputs is None else inputs
    lines = [
        f"{BEGIN}: made by `python -m filmstyle_plugin.fuse_gen` from plugin/filmstyle_plugin/schema.json.",
        "-- Edit the schema and regenerate; a test fails when this block and the schema differ.",
        "FS_PARAMS = {",
    ]
    for inp in inputs:
        lines.append("\t{")
        lines.append(f"\t\tname = {lua_value(inp.name)}, id = {lua_value(inp.id)}, label = {lua_value(inp.label)},")
        lines.append(f"\t\tkind = {lua_value(inp.kind)}, animatable = {lua_value(inp.param.animatable)},")
        if inp.kind in ("enum", "colorspace"):
            lines.append(f"\t\tchoices = {_list(inp.choices)},")
        if inp.values is not None:
            lines.append(f"\t\tvalues = {_list(inp.values)},")
        if inp.other_id:
            lines.append(f"\t\tother = {{ id = {lua_value(inp.other_id)}, label = {lua_value(inp.other_label)} }},")
        lines.append("\t\tattrs = {")
        for key, value in inp.attrs():
            if key == "CCS_AddString":
                lines.append(f"\t\t\t{{ CCS_AddString = {lua_value(value)} }},")
            else:
                lines.append(f"\t\t\t{key} = {lua_value(value)},")
        lines.append("\t\t},")
        lines.append("\t},")
    lines.append("}")
    lines.append(END)
    return "\n".join(lines)


def _instance(key: str, source: str, *, name: str, default: Any = None, page: Optional[str] = None,
              extra: Sequence[Tuple[str, Any]] = ()) -> str:
    parts = [f'SourceOp = "{TOOL_NAME}"', f"Source = {lua_value(source)}", f"Name = {lua_value(name)}"]
    if default is not None:
        parts.append(f"Default = {lua_value(default)}")
    parts += [f"{k} = {lua_value(v)}" for k, v in extra]
    if page:
        parts.append(f"Page = {lua_value(page)}")
    return f"\t\t\t\t{key} = InstanceInput {{ {', '.join(parts)} }},"


def render_template(inputs: Optional[List[FuseInput]] = None) -> str:
    """The Edit-page effect: a MacroOperator around one FilmStyle Fuse publishing its controls."""
    inputs = fuse_inputs() if inputs is None else inputs
    published = [_instance("MainInput1", "Input", name="Input")]
    for inp in inputs:
        if getattr(inp.param, "role", None) == "mask":
            continue  # the Mask input is not published (an Edit-page effect has no second clip)
        extra: List[Tuple[str, Any]] = []
        if inp.kind == "number" and inp.param.range is not None:
            lo, hi = inp.param.range
            extra = [("MinScale", lo), ("MaxScale", hi), ("MinAllowed", lo), ("MaxAllowed", hi)]
        published.append(_instance(inp.id, inp.id, name=inp.label, default=inp.default, extra=extra))
        if inp.other_id:
            published.append(_instance(inp.other_id, inp.other_id, name=inp.other_label, default=""))
    published.append(_instance("Status", "Status", name="Status"))
    # No comments in the file: Fusion reads a .setting as one table literal.
    lines = [
        "{",
        "\tTools = ordered() {",
        f"\t\t{FUSE_ID} = MacroOperator {{",
        "\t\t\tCtrlWZoom = false,",
        "\t\t\tInputs = ordered() {",
        *published,
        "\t\t\t},",
        "\t\t\tOutputs = {",
        f'\t\t\t\tMainOutput1 = InstanceOutput {{ SourceOp = "{TOOL_NAME}", Source = "Output" }},',
        "\t\t\t},",
        "\t\t\tViewInfo = GroupInfo { Pos = { 0, 0 } },",
        "\t\t\tTools = ordered() {",
        f"\t\t\t\t{TOOL_NAME} = Fuse.{FUSE_ID} {{",
        "\t\t\t\t\tCtrlWZoom = false,",
        "\t\t\t\t\tViewInfo = OperatorInfo { Pos = { 0, 0 } },",
        "\t\t\t\t},",
        "\t\t\t},",
        "\t\t},",
        "\t},",
        f'\tActiveTool = "{FUSE_ID}",',
        "}",
        "",
    ]
    return "\n".join(lines)


# ----------------------------------------------------------------------------------- files


def splice(fuse_text: str, block: str) -> str:
    """``fuse_text`` with its generated block replaced by ``block``."""
    start = fuse_text.find(BEGIN)
    end = fuse_text.find(END)
    if start < 0 or end < start:
        raise ValueError(f"{FUSE_PATH}: no '{BEGIN}' ... '{END}' block")
    return fuse_text[:start] + block + fuse_text[end + len(END):]


def update(root: Path, *, check: bool = False) -> List[str]:
    """Regenerate the files under the repository ``root``; returns the paths that differ(ed)."""
    inputs = fuse_inputs()
    changed = []
    fuse = root / FUSE_PATH
    text = fuse.read_text(encoding="utf-8")
    new = splice(text, render_fuse_block(inputs))
    if new != text:
        changed.append(str(FUSE_PATH))
        if not check:
            fuse.write_text(new, encoding="utf-8")
    template = root / TEMPLATE_PATH
    old = template.read_text(encoding="utf-8") if template.exists() else None
    new_template = render_template(inputs)
    if new_template != old:
        changed.append(str(TEMPLATE_PATH))
        if not check:
            template.parent.mkdir(parents=True, exist_ok=True)
            template.write_text(new_template, encoding="utf-8")
    return changed


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m filmstyle_plugin.fuse_gen", description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[2],
                        help="repository root (default: this checkout)")
    parser.add_argument("--check", action="store_true", help="only report files that differ (exit 1)")
    args = parser.parse_args(argv)
    changed = update(args.root, check=args.check)
    for path in changed:
        print(("differs: " if args.check else "wrote: ") + path)
    return 1 if (args.check and changed) else 0


if __name__ == "__main__":
    sys.exit(main())
