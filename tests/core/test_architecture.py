"""The core's rooms stay layered: every import points down, no import circles, small modules.

Layers, lowest first: the ground floor (errors, cpu, config, choices); io, color and models; the
job model; the engine; tools, the worker and the panel; the command line. A module may import its own room
and anything below, also inside functions (a lazy import is still a dependency).
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "core" / "filmstyle"
LAYERS = {
    "errors": 0, "cpu": 0, "config": 0, "choices": 0,
    "io": 1, "color": 1, "models": 1,
    "job": 2,
    "engine": 3,
    "tools": 4, "server": 4, "panel": 4, "farm": 4,
    "cli": 5,
}  # fmt: skip
MAX_LINES = 500


def modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        name = ".".join(("filmstyle", *parts[:-1])) if parts[-1] == "__init__" else ".".join(("filmstyle", *parts))
        out[name] = path
    return out


def imports(path: Path, *, top_level_only: bool = False) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    found = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("filmstyle")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("filmstyle") and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names}
    return {f for f in found if f.split(".")[0] == "filmstyle"}


def room(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def test_every_room_has_a_layer():
    rooms = {room(m) for m in modules()} - {None}
    assert rooms <= set(LAYERS), rooms - set(LAYERS)


def test_imports_point_down():
    known = modules()
    upward = []
    for name, path in known.items():
        here = room(name)
        if here is None:
            continue
        for target in imports(path):
            there = room(target)
            if there in LAYERS and there != here and LAYERS[there] > LAYERS[here]:
                upward.append(f"{name} -> {target}")
            # Rooms on one floor do not lean on each other either (io, color, models are independent).
            if there in LAYERS and there != here and LAYERS[there] == LAYERS[here] and LAYERS[here] in (0, 1):
                upward.append(f"{name} -> {target} (same floor)")
    assert not upward, "\n".join(upward)


def test_no_import_circles_at_module_level():
    known = modules()
    graph = {name: {t for t in imports(path, top_level_only=True) if t in known and t != name}
             for name, path in known.items()}
    # A package's __init__ importing its own submodules is how packages export; leave those out.
    graph = {n: {t for t in ts if not t.startswith(n + ".")} for n, ts in graph.items()}
    state: dict[str, int] = {}
    cycle: list[str] = []

    def visit(node: str, stack: list[str]) -> bool:
        state[node] = 1
        for nxt in graph[node]:
            if state.get(nxt) == 1:
                cycle.extend(stack[stack.index(nxt):] + [nxt])
                return True
            if state.get(nxt) is None and visit(nxt, stack + [nxt]):
                return True
        state[node] = 2
        return False

    for start in graph:
        if state.get(start) is None and visit(start, [start]):
            break
    assert not cycle, " -> ".join(cycle)


def test_no_imports_of_private_names_across_modules():
    found = []
    for name, path in modules().items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("filmstyle"):
                for alias in node.names:
                    if alias.name.startswith("_") and not alias.name.startswith("__"):
                        found.append(f"{name}: from {node.module} import {alias.name}")
    assert not found, "\n".join(found)


def test_modules_stay_small():
    big = {name: n for name, path in modules().items()
           if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert not big, big


def test_importing_the_models_writes_nothing_into_home(tmp_path):
    """onnxruntime's device-id file stays out of an artist's home folder."""
    import os
    import subprocess
    import sys

    env = dict(os.environ, HOME=str(tmp_path))
    env.pop("ORT_DISABLE_TELEMETRY", None)
    subprocess.run([sys.executable, "-c", "import filmstyle.models.runtime, onnxruntime"], env=env, check=True)
    assert not list(tmp_path.rglob("*")), sorted(map(str, tmp_path.rglob("*")))
