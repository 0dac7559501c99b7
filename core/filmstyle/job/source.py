"""Reading a job file: YAML in, a validated :class:`~filmstyle.job.model.Job` out, errors with lines."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from filmstyle.errors import JobError
from filmstyle.job.model import Job, job_from_data

__all__ = ["load_job", "yaml_lines"]


def yaml_lines(node: Any, path: str = "", out: dict[str, int] | None = None) -> dict[str, int]:
    """Field path → 1-based line of its key (mapping entries) or item (sequence entries)."""
    import yaml

    out = {} if out is None else out
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            name = str(key.value)
            child = f"{path}.{name}" if path else name
            out.setdefault(child, key.start_mark.line + 1)
            yaml_lines(value, child, out)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            child = f"{path}[{i}]"
            out.setdefault(child, item.start_mark.line + 1)
            yaml_lines(item, child, out)
    return out


def load_job(path: str | Path, *, overrides: Mapping[str, Any] | None = None) -> Job:
    """Read, validate and compile a YAML job file; relative paths in it resolve from its folder.

    Args:
        overrides: top-level fields that replace the file's (``render --frames``, ``--overwrite``),
            checked like the rest.

    Raises:
        JobError: unreadable file, invalid YAML, or any field error (with its line number).
    """
    import yaml

    path = Path(path).expanduser()
    name = path.name
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise JobError(f"{path}: job file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise JobError(f"{path}: cannot read job file: {exc}") from None
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise JobError(f"{name}: not valid YAML{where}: {problem}") from None
    finally:
        loader.dispose()
    if data is None:
        raise JobError(f"{name}: the job file is empty; `filmstyle job init` writes a template")
    lines = yaml_lines(node) if node is not None else {}
    if isinstance(data, dict):
        lines.setdefault("filmstyle", 1)
        for key, value in (overrides or {}).items():
            if value is not None:
                data[key] = value
                lines.pop(key, None)
    return job_from_data(data, base_dir=path.resolve().parent, source=name, lines=lines)
