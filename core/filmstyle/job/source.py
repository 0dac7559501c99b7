"""Reading a job file: YAML in, a validated :class:`~filmstyle.job.model.Job` out, errors with lines.

YAML can describe more than it spells out: anchors and aliases share a node, so a few lines can
stand for billions of values, and brackets can nest without end. The reader bounds both (nesting
while the document is composed, the expanded size while line numbers are collected) with the
limits of :mod:`filmstyle.job.limits`, so a hostile file is refused in milliseconds.
"""

from __future__ import annotations

import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from filmstyle.errors import JobError, clip
from filmstyle.job.limits import MAX_DEPTH, MAX_JOB_BYTES, MAX_VALUES
from filmstyle.job.model import Job, job_from_data

__all__ = ["load_job", "yaml_lines", "read_yaml"]


def yaml_lines(node: Any, path: str = "", out: dict[str, int] | None = None) -> dict[str, int]:
    """Field path → 1-based line of its key (mapping entries) or item (sequence entries).

    Iterative and bounded: a node reached through aliases is walked every time (its fields have
    paths of their own), so more than :data:`~filmstyle.job.limits.MAX_VALUES` visits are refused.
    """
    import yaml

    out = {} if out is None else out
    stack: list[tuple[Any, str]] = [(node, path)]
    visits = 0
    while stack:
        node, path = stack.pop()
        visits += 1
        if visits > MAX_VALUES:
            raise JobError(f"more than {MAX_VALUES} values (YAML aliases count every time they are used)")
        children = []
        if isinstance(node, yaml.MappingNode):
            first_line: dict[str, int] = {}
            for key, value in node.value:
                name = clip(key.value, 40) if isinstance(key.value, str) else "?"
                child = f"{path}.{name}" if path else name
                line = key.start_mark.line + 1
                # PyYAML keeps the last of two equal keys without a word: a field set twice is
                # almost always a paste gone wrong, and the line numbers would name the wrong one.
                if isinstance(key, yaml.ScalarNode) and key.tag != "tag:yaml.org,2002:merge":
                    if key.value in first_line:
                        raise JobError(f"{child}: set twice in one mapping (lines {first_line[key.value]} "
                                       f"and {line}); keep one")
                    first_line[key.value] = line
                out.setdefault(child, line)
                children.append((value, child))
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                child = f"{path}[{i}]"
                out.setdefault(child, item.start_mark.line + 1)
                children.append((item, child))
        stack.extend(reversed(children))
    return out


def _loader_class():
    import yaml

    class BoundedLoader(yaml.SafeLoader):
        """PyYAML's safe loader with a bound on nesting (its composer recurses per level)."""

        depth = 0

        def compose_node(self, parent, index):  # noqa: ANN001 - PyYAML's signature
            self.depth += 1
            try:
                if self.depth > MAX_DEPTH:
                    mark = self.peek_event().start_mark
                    raise yaml.YAMLError(f"nested deeper than {MAX_DEPTH} levels (line {mark.line + 1})")
                return super().compose_node(parent, index)
            finally:
                self.depth -= 1

    return BoundedLoader


def read_yaml(text: str, name: str) -> tuple[Any, dict[str, int]]:
    """``(data, lines)`` of a YAML document, bounded in nesting and expanded size.

    Raises:
        JobError: not valid YAML (with its line), or nested or expanding beyond the limits.
    """
    import yaml

    loader = _loader_class()(text)
    try:
        node = loader.get_single_node()
        lines = yaml_lines(node) if node is not None else {}
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise JobError(f"{name}: not valid YAML{where}: {clip(problem, 120)}") from None
    except JobError as exc:
        raise JobError(f"{name}: {exc}") from None
    except (ValueError, OverflowError) as exc:  # an integer of 5000 digits
        problem = "a number too long to read" if "digits" in str(exc) else clip(exc, 120)
        raise JobError(f"{name}: not valid YAML: {problem}") from None
    finally:
        loader.dispose()
    return data, lines


def load_job(path: str | Path, *, overrides: Mapping[str, Any] | None = None) -> Job:
    """Read, validate and compile a YAML job file; relative paths in it resolve from its folder.

    Args:
        overrides: top-level fields that replace the file's (``render --frames``, ``--overwrite``),
            checked like the rest.

    Raises:
        JobError: unreadable file, invalid YAML, or any field error (with its line number).
    """
    path = Path(path).expanduser()
    name = path.name
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):  # a device or a pipe has no size, or no end
            raise JobError(f"{path}: not a regular file (a job file is a YAML file)")
        with path.open("rb") as file:
            raw = file.read(MAX_JOB_BYTES + 1)  # bounded even if the file grows meanwhile
        if len(raw) > MAX_JOB_BYTES:
            raise JobError(f"{path}: job file is {max(info.st_size, len(raw))} bytes, at most {MAX_JOB_BYTES}")
        text = raw.decode("utf-8")
    except FileNotFoundError:
        raise JobError(f"{path}: job file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise JobError(f"{path}: cannot read job file: {clip(exc, 120)}") from None
    data, lines = read_yaml(text, name)
    if data is None:
        raise JobError(f"{name}: the job file is empty; `filmstyle job init` writes a template")
    if isinstance(data, dict):
        lines.setdefault("filmstyle", 1)
        for key, value in (overrides or {}).items():
            if value is not None:
                data[key] = value
                lines.pop(key, None)
    return job_from_data(data, base_dir=path.resolve().parent, source=name, lines=lines)
