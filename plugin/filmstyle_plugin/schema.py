"""Load ``schema.json``: the one description of FilmStyle's parameters."""

import json
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

__all__ = ["Param", "load_schema", "SCHEMA_FILE", "TYPES"]

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
        self.host: Optional[str] = data.get("host")
        self.available: bool = bool(data.get("available", True))

    def __repr__(self) -> str:
        return f"Param({self.name!r}, {self.type}, job={self.job!r})"


def load_schema(path: Optional[Path] = None, *, include_unavailable: bool = False) -> List[Param]:
    """The parameters in schema order; those the core does not offer yet are left out unless asked."""
    data = json.loads(Path(path or SCHEMA_FILE).read_text(encoding="utf-8"))
    params = [Param(p) for p in data["params"]]
    return [p for p in params if p.available or include_unavailable]
