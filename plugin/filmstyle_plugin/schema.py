"""Load ``schema.json``: FilmStyle's host controls, generated from the core's parameter table.

Each entry says which job field the control's value lands in and which widget each host shows it
with (``hosts``: ``{"nuke": "Double_Knob", "fuse": "SliderControl", "panel": "curve"}``; a host
not listed does not show the control).
"""

import json
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

__all__ = ["Param", "load_schema", "job_version", "SCHEMA_FILE", "TYPES"]

SCHEMA_FILE = Path(__file__).with_name("schema.json")
TYPES = ("float", "int", "bool", "enum", "string", "file")


class Param:
    """One parameter: name, type, range, default, whether it animates, help, and its job field."""

    def __init__(self, data: Dict[str, Any]) -> None:
        self.name: str = data["name"]
        self.label: str = data.get("label", self.name)
        self.type: str = data["type"]
        if self.type not in TYPES:
            raise ValueError(f"schema: {self.name}: type {self.type!r}, valid: {', '.join(TYPES)}")
        rng = data.get("range")
        self.range: Optional[Tuple[float, float]] = (float(rng[0]), float(rng[1])) if rng else None
        self.default: Any = data.get("default")
        self.animatable: bool = bool(data.get("animatable", False))
        self.help: str = data.get("help", "")
        self.choices: List[str] = list(data.get("choices", []))
        self.job: Optional[str] = data.get("job")
        self.complement: Optional[str] = data.get("complement")
        self.overrides: Optional[str] = data.get("overrides")
        self.requires: Optional[str] = data.get("requires")
        self.none_value: Optional[str] = data.get("none")
        self.role: Optional[str] = data.get("role")
        self.hosts: Dict[str, str] = dict(data.get("hosts", {}))
        self.available: bool = bool(data.get("available", True))

    def __repr__(self) -> str:
        return f"Param({self.name!r}, {self.type}, job={self.job!r})"


def _read(path: Optional[Path]) -> Dict[str, Any]:
    return json.loads(Path(path or SCHEMA_FILE).read_text(encoding="utf-8"))


def load_schema(path: Optional[Path] = None, *, include_unavailable: bool = False,
                host: Optional[str] = None) -> List[Param]:
    """The controls in schema order (only those ``host`` shows, when given); entries marked
    unavailable are left out unless asked."""
    params = [Param(p) for p in _read(path)["params"]]
    return [p for p in params if (p.available or include_unavailable) and (host is None or host in p.hosts)]


def job_version(path: Optional[Path] = None) -> int:
    """The job format version the schema's ``job`` paths belong to."""
    return int(_read(path).get("job_version", 1))
