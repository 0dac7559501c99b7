"""Documents generated from the parameter table: the JSON Schema, the job template, the host schema.

* :func:`job_json_schema` — JSON Schema (draft 2020-12) of the job format, for editors, hosts and
  the worker's OpenAPI request model.
* :func:`job_template` — the commented job file ``filmstyle job init`` writes.
* :func:`host_schema` — ``filmstyle_plugin/schema.json``, which the Nuke node, the Resolve Fuse and
  the panel build their controls from (a test regenerates it and fails on any difference).
"""

from __future__ import annotations

import json
import textwrap
from typing import Any

from filmstyle.choices import DEVICE_PATTERN
from filmstyle.job.limits import MAX_BLEND_STYLES, MAX_REGIONS
from filmstyle.job.model import JOB_VERSION
from filmstyle.job.params import HOSTS, Parameter, host_parameters, job_parameters

__all__ = ["job_json_schema", "job_template", "host_schema", "host_schema_text", "HOST_SCHEMA_VERSION"]

#: Version of the host schema's own layout (not of the job format).
HOST_SCHEMA_VERSION = 2

_CURVE = {
    "description": "A number, compact keys '1001:0, 1040:1 smooth, 1100:0.3 hold', Nuke text "
    "'{curve x1001 0 x1040 1}', a list of [frame, value(, interp)] or {frame, value, interp}, or {keys: ...}.",
    "anyOf": [
        {"type": "number"},
        {"type": "string", "minLength": 1},
        {"type": "array", "minItems": 1},
        {"type": "object", "properties": {"keys": {}}, "required": ["keys"], "additionalProperties": False},
    ],
}
_STYLE = {
    "anyOf": [
        {"type": "string", "minLength": 1,
         "description": "Built-in look name/index, custom:MODEL.pth|onnx, a user style name, or a style image path."},
        {
            "type": "object",
            "properties": {"style": {"type": "string", "minLength": 1}, "weight": {"$ref": "#/$defs/curve"}},
            "required": ["style"],
            "additionalProperties": False,
        },
    ]
}
_STYLES = {
    "description": "A blend; weights are normalised per frame; all styles of one blend use one model.",
    "anyOf": [{"type": "string", "minLength": 1},
              {"type": "array", "minItems": 1, "maxItems": MAX_BLEND_STYLES, "items": {"$ref": "#/$defs/style"}}],
}
_MASK = {
    "description": "One of ellipse, rectangle, polygon, channel, file (+ channel, fit), luma, hue, or op; "
    "shape coordinates in display-window pixels, y down. See filmstyle.job.masks.parse_mask.",
    "type": "object",
    "minProperties": 1,
}
_LOOK = {"styles": {"$ref": "#/$defs/styles"}, "strength": {"$ref": "#/$defs/curve"}}


def _property(p: Parameter) -> dict[str, Any]:
    """The JSON Schema of one job field."""
    nullable = not p.required
    kind = p.kind
    if kind in ("path", "string"):
        out: dict[str, Any] = {"type": ["string", "null"] if nullable else "string", "minLength": 1}
    elif kind in ("frames", "part"):
        out = {"type": ["string", "integer", "null"]}
    elif kind == "choice":
        out = {"enum": [*p.choices, *p.aliases, *([None] if nullable else [])]}
    elif kind == "device":
        out = {"type": ["string", "null"] if nullable else "string", "pattern": DEVICE_PATTERN}
    elif kind == "bool":
        out = {"type": "boolean"}
    elif kind in ("number", "integer"):
        out = {"type": ["number" if kind == "number" else "integer", "null"]}
        if p.minimum is not None:
            out["exclusiveMinimum" if p.exclusive_minimum else "minimum"] = p.minimum
        if p.maximum is not None:
            out["exclusiveMaximum" if p.exclusive_maximum else "maximum"] = p.maximum
    elif kind == "curve":
        out = {"$ref": "#/$defs/curve"}
    elif kind == "styles":
        out = {"$ref": "#/$defs/styles"}
    elif kind == "regions":
        out = {
            "type": ["array", "null"],
            "maxItems": MAX_REGIONS,
            "items": {
                "type": "object",
                "required": ["mask"],
                "additionalProperties": False,
                "properties": {"name": {"type": "string"}, "mask": {"$ref": "#/$defs/mask"}, **_LOOK},
            },
        }
    elif kind == "frame_files":
        # {FRAME: FILE}, "FRAME=FILE" or a list of those; the job model checks the form.
        out = {"type": ["object", "array", "string", "null"], "items": {"type": "string", "minLength": 1}}
    else:  # look
        out = {"type": ["object", "null"], "additionalProperties": False, "properties": dict(_LOOK)}
    description = p.help
    if p.kind == "curve" and (p.minimum is not None or p.maximum is not None):
        description += f" Keys {p.bounds_text()}."
    if p.default is not None and p.kind not in ("styles", "regions", "look"):
        description += f" Default: {p.default}."
    out["description"] = description
    return out


def job_json_schema() -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of the job format, generated from the parameter table."""
    properties: dict[str, Any] = {"filmstyle": {"const": JOB_VERSION, "description": "Job format version."}}
    for p in job_parameters():
        if p.group is None:
            properties[p.key] = _property(p)
            continue
        group = properties.setdefault(p.group, {"type": ["object", "null"], "additionalProperties": False,
                                                "properties": {}})
        group["properties"][p.key] = _property(p)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://filmstyle.invalid/schemas/job-{JOB_VERSION}.json",
        "title": "filmstyle job",
        "description": f"A filmstyle render job (format version {JOB_VERSION}). Relative paths resolve from "
        "the job file's folder.",
        "type": "object",
        "required": ["filmstyle", *(p.key for p in job_parameters() if p.required)],
        "additionalProperties": False,
        "properties": properties,
        "$defs": {"curve": _CURVE, "style": _STYLE, "styles": _STYLES, "mask": _MASK},
    }


# ------------------------------------------------------------------------------------------ template

#: Section titles of the template, at the first field of each section.
_SECTIONS = {
    "input": "Files.",
    "ocio": "Colour (OpenColorIO). Null means the default.",
    "device": "Model options.",
    "styles": "The look: a blend of styles (built-in looks from `filmstyle styles`, or image files, not both in\n"
              "one blend). Weights are numbers or curves, normalised per frame; this one migrates from the\n"
              "first look to the second over frames 1001-1100.",
    "bit_depth": "Output options.",
    "temporal": "Shot quality (all optional; the values shown are the defaults, i.e. off).",
}


def _yaml_scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _comment(text: str, indent: str = "") -> list[str]:
    return textwrap.wrap(text, width=100, initial_indent=f"{indent}# ", subsequent_indent=f"{indent}# ")


def job_template() -> str:
    """The commented job file ``filmstyle job init`` writes: every field, its help and default."""
    lines = [
        f"# filmstyle job (format version {JOB_VERSION}). Check it with `filmstyle validate JOB.yaml`,",
        "# render it with `filmstyle render JOB.yaml`. Relative paths resolve from this file's folder.",
        f"filmstyle: {JOB_VERSION}",
    ]
    group_open: str | None = None
    for p in job_parameters():
        if p.name in _SECTIONS:
            lines.append("")
            lines += [f"# {t}" for t in _SECTIONS[p.name].splitlines()]
        indent = ""
        if p.group is not None:
            indent = "  "
            if group_open != p.group:
                lines.append(f"{p.group}:")
                group_open = p.group
        else:
            group_open = None
        lines += _comment(p.help, indent)
        mark = "# " if p.template_commented else ""
        if p.kind in ("styles", "regions", "look") and p.template and "\n" in p.template:
            lines.append(f"{indent}{mark}{p.key}:")
            lines += [f"{indent}{mark}  {row}" for row in p.template.splitlines()]
            continue
        value = p.template if p.template is not None else _yaml_scalar(p.default)
        lines.append(f"{indent}{mark}{p.key}: {value}")
    return "\n".join(lines) + "\n"


# -------------------------------------------------------------------------------------- host schema

_HOST_TYPES = {"curve": "float", "number": "float", "integer": "int", "bool": "bool", "choice": "enum", "device": "enum",
               "path": "file", "string": "string"}


def host_schema() -> dict[str, Any]:
    """The host schema (``filmstyle_plugin/schema.json``): one entry per host control."""
    params = []
    for p in host_parameters():
        host = dict(p.host)
        entry: dict[str, Any] = {"name": p.name, "label": p.label or p.name.replace("_", " "),
                                 "type": _HOST_TYPES[p.kind]}
        if p.choices:
            entry["choices"] = [str(c) for c in p.choices]
        rng = p.soft_range or ((p.minimum, p.maximum) if p.minimum is not None and p.maximum is not None else None)
        if rng is not None:
            entry["range"] = [float(rng[0]), float(rng[1])]
        default = host.pop("default", p.default if p.default is not None else host.get("none"))
        entry["default"] = "" if default is None and entry["type"] in ("file", "string") else default
        entry["animatable"] = p.keyable
        entry["job"] = host.pop("job", p.path)
        entry["hosts"] = {h: p.hosts[h] for h in HOSTS if h in p.hosts}
        entry.update(host)
        entry["help"] = p.help
        params.append(entry)
    return {
        "schema": "filmstyle.params",
        "version": HOST_SCHEMA_VERSION,
        "job_version": JOB_VERSION,
        "about": "Generated from filmstyle.job.params (do not edit; `python -m filmstyle.job.schema` writes it). "
        "One entry per host control: 'job' is the job field its value lands in (null: used by the host itself); "
        "'hosts' gives the widget per host (a host not listed does not show the control); 'complement', "
        "'overrides', 'requires' and 'none' say how host values map onto job fields.",
        "params": params,
    }


def host_schema_text() -> str:
    """:func:`host_schema` as the exact text of ``schema.json``."""
    return json.dumps(host_schema(), indent=1, ensure_ascii=False) + "\n"


def _main() -> None:
    import sys
    from pathlib import Path

    target = Path(sys.argv[1]) if len(sys.argv) > 1 else None
    if target is None:
        sys.stdout.write(host_schema_text())
    else:
        target.write_text(host_schema_text(), encoding="utf-8")


if __name__ == "__main__":
    _main()

