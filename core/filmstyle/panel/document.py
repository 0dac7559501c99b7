"""The job being edited: plain job data, checked by the job model after every edit, saved safely.

A :class:`JobDocument` holds the job as the plain data of the job format (what
:meth:`~filmstyle.job.model.Job.to_data` returns, so a version-1 file is edited as version 2) and
re-validates it with :func:`~filmstyle.job.model.job_from_data` after every edit: :attr:`job` is
the compiled job, or None with :attr:`error` holding the job model's one-line message. An edit
that leaves the job invalid is kept (switching one style of a blend from a built-in look to an
image is invalid until the other one follows); saving, previews and renders wait until it is
valid again. Fields the panel has no control for pass through untouched.

Curves are written in the compact form (``"1001:0 smooth, 1040:1"``), one-key curves as plain
numbers; style entries with weight 1 as ``{style: NAME}``. Edits are undoable; consecutive edits
with the same ``merge`` tag (one mouse drag) are one undo step.

:meth:`JobDocument.save` writes YAML to a temp file in the target folder and renames it over the
target, refuses a target that is one of the job's own files (input, output, styles, mattes, OCIO
config) and rewrites relative paths when the job moves to another folder.
"""

from __future__ import annotations

import copy
import math
import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from filmstyle import io
from filmstyle.errors import FilmStyleError, JobError
from filmstyle.job.curves import Curve, parse_curve
from filmstyle.job.look import MAX_STRENGTH
from filmstyle.job.model import Job, job_from_data
from filmstyle.job.params import Parameter, job_parameters
from filmstyle.job.paths import job_paths
from filmstyle.job.source import load_job
from filmstyle.panel.keys import curve_text
from filmstyle.panel.relocate import absolute, relocate

__all__ = ["Lane", "JobDocument", "JOB_SUFFIXES", "yaml_text", "job_file_named", "field_path", "normalise"]

JOB_SUFFIXES = (".yaml", ".yml")
_UNDO_LIMIT = 200
Path_ = tuple  # a path into the job data: ("strength",), ("styles", 0, "weight"), ("color", "ocio")


@dataclass(frozen=True)
class Lane:
    """One curve the curve editor shows: where it lives in the job data, its bounds and view range."""

    path: Path_
    label: str
    default: float
    minimum: float | None = None
    maximum: float | None = None
    view: tuple[float, float] = (0.0, 1.0)

    @property
    def id(self) -> str:
        return ".".join(str(p) for p in self.path)


def field_path(param: Parameter) -> Path_:
    """Where a table entry's value lives in the job data: its job field, or for a host control the
    job field named in ``host["job"]`` (dotted, without list indices)."""
    path = param.path or param.host.get("job")
    if not isinstance(path, str) or "[" in path:
        raise JobError(f"{param.name}: not a plain job field")
    return tuple(path.split("."))


def _plain_curve(value: Any, where: str) -> Any:
    try:
        return curve_text(parse_curve(value, field=where))
    except FilmStyleError:
        return value  # left as written: the job model names the problem


def _normalise_styles(entries: Any, where: str) -> Any:
    if not isinstance(entries, list):
        return entries
    out = []
    for i, item in enumerate(entries):
        if isinstance(item, dict) and "weight" in item:
            weight = _plain_curve(item["weight"], f"{where}[{i}].weight")
            item = {k: v for k, v in item.items() if k != "weight"}
            if weight != 1.0:
                item["weight"] = weight
        if isinstance(item, dict) and set(item) == {"style"}:
            item = item["style"]
        out.append(item)
    return out


def normalise(data: dict[str, Any]) -> dict[str, Any]:
    """Curves as compact text, weight-1 style entries as plain names (same job, shorter file)."""
    out = copy.deepcopy(data)
    for param in job_parameters():
        if param.kind != "curve":
            continue
        node = out.get(param.group) if param.group else out
        if isinstance(node, dict) and param.key in node:
            node[param.key] = _plain_curve(node[param.key], param.path)  # type: ignore[arg-type]
    if "styles" in out:
        out["styles"] = _normalise_styles(out["styles"], "styles")
    looks = [(f"regions[{i}]", r) for i, r in enumerate(out.get("regions") or []) if isinstance(r, dict)]
    if isinstance(out.get("default"), dict):
        looks.append(("default", out["default"]))
    for where, look in looks:
        if "strength" in look:
            look["strength"] = _plain_curve(look["strength"], f"{where}.strength")
        if "styles" in look:
            look["styles"] = _normalise_styles(look["styles"], f"{where}.styles")
    return out


def yaml_text(data: dict[str, Any]) -> str:
    """The job as YAML: block style for the job's structure, flow style for short lists, and keys
    and other text holding a colon in double quotes, as the README writes them."""
    import yaml

    class Dumper(yaml.SafeDumper):
        pass

    def text(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style='"' if ":" in value else None)

    Dumper.add_representer(str, text)
    body = yaml.dump(data, Dumper=Dumper, sort_keys=False, default_flow_style=None, allow_unicode=True, width=110)
    return "# filmstyle job (format 2): `filmstyle validate` checks it, `filmstyle render` renders it.\n" + body


def _get(data: Any, path: Path_) -> Any:
    node = data
    for part in path:
        if isinstance(part, int):
            if not isinstance(node, list) or not -len(node) <= part < len(node):
                return None
            node = node[part]
        else:
            if not isinstance(node, dict) or part not in node:
                return None
            node = node[part]
    return node


def _assign(data: dict[str, Any], path: Path_, value: Any) -> None:
    node: Any = data
    for part in path[:-1]:
        if isinstance(part, int):
            node = node[part]
        elif isinstance(node.get(part), (dict, list)):
            node = node[part]
        elif value is None:
            return  # nothing there to remove
        else:
            node = node.setdefault(part, {})
    last = path[-1]
    if value is not None:
        node[last] = copy.deepcopy(value)
    elif isinstance(node, dict):
        node.pop(last, None)
    elif isinstance(node, list) and isinstance(last, int) and 0 <= last < len(node):
        node.pop(last)


class JobDocument:
    """An editable job. ``path`` is the job file (None until saved), ``base_dir`` where its
    relative paths resolve from."""

    def __init__(self, data: dict[str, Any], base_dir: Path, path: Path | None = None) -> None:
        self.data: dict[str, Any] = normalise(data)
        self.base_dir = Path(base_dir)
        self.path = None if path is None else Path(path)
        self.dirty = False
        self.job: Job | None = None
        self.error: str | None = None
        self._undo: list[dict[str, Any]] = []
        self._redo: list[dict[str, Any]] = []
        self._merge: str | None = None
        self._listeners: list[Callable[[JobDocument], None]] = []
        self._frames: tuple[tuple[Any, ...], tuple[int, ...] | str] | None = None
        self._validate()

    @classmethod
    def open(cls, path: str | Path) -> JobDocument:
        """Read a job file (any supported format version) through the job model.

        Raises:
            JobError: the file's one-line error (name, field and line).
        """
        path = Path(path).expanduser().resolve()
        job = load_job(path)
        return cls(job.to_data(), path.parent, path)

    # -- state -----------------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.path.name if self.path is not None else "untitled.yaml"

    def on_change(self, listener: Callable[[JobDocument], None]) -> None:
        """Call ``listener(document)`` after every edit, undo and redo."""
        self._listeners.append(listener)

    def _validate(self) -> None:
        try:
            self.job = job_from_data(copy.deepcopy(self.data), base_dir=self.base_dir, source=self.name)
            self.error = None
        except FilmStyleError as exc:
            self.job, self.error = None, str(exc)

    def _changed(self) -> None:
        self._validate()
        for listener in list(self._listeners):
            listener(self)

    # -- plain edits -----------------------------------------------------------------------------
    def value(self, path: Path_, default: Any = None) -> Any:
        found = _get(self.data, path)
        return default if found is None else copy.deepcopy(found)

    def set(self, path: Path_, value: Any, *, merge: str | None = None) -> None:
        """Set (or with ``value=None`` remove) the field at ``path``; empty groups are removed.

        Edits with the same non-None ``merge`` tag in a row are undone together.
        """
        if merge is None or merge != self._merge:
            self._undo.append(copy.deepcopy(self.data))
            del self._undo[:-_UNDO_LIMIT]
        self._merge = merge
        self._redo.clear()
        _assign(self.data, path, value)
        for group in {p.group for p in job_parameters() if p.group}:
            if self.data.get(group) == {}:
                del self.data[group]
        self.dirty = True
        self._changed()

    def undo(self) -> bool:
        if not self._undo:
            return False
        self._redo.append(copy.deepcopy(self.data))
        self.data, self._merge, self.dirty = self._undo.pop(), None, True
        self._changed()
        return True

    def redo(self) -> bool:
        if not self._redo:
            return False
        self._undo.append(copy.deepcopy(self.data))
        self.data, self._merge, self.dirty = self._redo.pop(), None, True
        self._changed()
        return True

    # -- table fields ------------------------------------------------------------------------------
    def param_value(self, param: Parameter) -> Any:
        """The value of a job field as the job file has it, else the job's default (what renders;
        not a host control's own default, which is for a new node)."""
        found = _get(self.data, field_path(param))
        if found is not None:
            return copy.deepcopy(found)
        return param.default

    def set_param(self, param: Parameter, value: Any, *, merge: str | None = None) -> None:
        """Set a job field from a control; the table's ``none`` value, "" and the default remove it."""
        unset = value is None or value == "" or ("none" in param.host and value == param.host["none"])
        if not unset and not param.required and param.kind != "curve" and value == param.default:
            unset = True
        if not unset and param.kind == "curve" and isinstance(value, Curve):
            value = curve_text(value)
            unset = value == param.default
        self.set(field_path(param), None if unset else value, merge=merge)

    # -- curves ----------------------------------------------------------------------------------
    def lanes(self) -> list[Lane]:
        """The curves the curve editor shows: the table's keyable fields that have a panel control
        (strength first), every style's blend weight, and regions' own strengths. A strength's
        range is its look's (1 for built-in looks and user models, 2 for image styles)."""
        out: list[Lane] = []
        looks = self.job.compiled.looks if self.job is not None else ()
        for p in job_parameters():
            if p.kind != "curve" or "panel" not in p.hosts:
                continue
            lo, hi = p.soft_range or (p.minimum or 0.0, p.maximum if p.maximum is not None else 1.0)
            maximum = p.maximum
            if p.name == "strength" and looks and self.data.get("styles"):
                maximum = min(maximum if maximum is not None else math.inf, MAX_STRENGTH[looks[0].model])
                hi = min(hi, maximum)
            out.append(Lane(field_path(p), p.label or p.name.replace("_", " "), float(p.default or 0.0),
                            p.minimum, maximum, (float(lo), float(hi))))
        styles = self.data.get("styles") if isinstance(self.data.get("styles"), list) else []
        if len(styles) > 1:
            for i, entry in enumerate(styles):
                name = entry.get("style") if isinstance(entry, dict) else entry
                out.append(Lane(("styles", i, "weight"), f"weight {i + 1}: {name}", 1.0, 0.0, None, (0.0, 1.0)))
        regions = self.job.compiled.regions if self.job is not None else ()
        for i, region in enumerate(self.data.get("regions") or []):
            if isinstance(region, dict) and "strength" in region:
                label = region.get("name") or f"region {i + 1}"
                top = MAX_STRENGTH[looks[regions[i].look].model] if i < len(regions) else 2.0
                out.append(Lane(("regions", i, "strength"), f"{label} strength", 1.0, 0.0, top, (0.0, top)))
        return out

    def curve(self, lane: Lane) -> Curve:
        """The lane's curve (its default as a constant when the job leaves it out or it is invalid)."""
        value = _get(self.data, lane.path)
        if value is None:
            return Curve.constant(lane.default)
        try:
            return parse_curve(value, field=lane.id)
        except FilmStyleError:
            return Curve.constant(lane.default)

    def set_curve(self, lane: Lane, curve: Curve, *, merge: str | None = None) -> None:
        text = curve_text(curve)
        top_default = len(lane.path) == 1 and text == lane.default
        self.set(lane.path, None if top_default else text, merge=merge)

    # -- styles ----------------------------------------------------------------------------------
    def styles(self) -> list[dict[str, Any]]:
        """The top-level blend as ``{style, weight?}`` entries (written back as plain names when the
        weight is 1)."""
        raw = self.data.get("styles")
        items = [raw] if isinstance(raw, str) else raw if isinstance(raw, list) else []
        return [dict(i) if isinstance(i, dict) else {"style": i} for i in items]

    def set_style(self, index: int, style: str) -> None:
        entries = self.styles()
        if index == len(entries):
            entries.append({"style": style})
        else:
            entries[index]["style"] = style
        self.set(("styles",), _normalise_styles(entries, "styles"))

    def remove_style(self, index: int) -> None:
        entries = self.styles()
        if 0 <= index < len(entries):
            del entries[index]
            if len(entries) == 1:
                entries[0].pop("weight", None)  # a lone style has nothing to blend with
            self.set(("styles",), _normalise_styles(entries, "styles") or None)

    # -- frames ----------------------------------------------------------------------------------
    def frames(self) -> tuple[int, ...]:
        """The frames the job renders (its ``frames`` field, else the input's frames on disk).

        Raises:
            InputError: the input is missing (the one-line message names it).
        """
        key = (self.data.get("input"), self.data.get("frames"), self.base_dir)
        if self._frames is None or self._frames[0] != key:
            pattern = self.data.get("input")
            try:
                if not isinstance(pattern, str):
                    raise JobError("input: missing (required)")
                full = absolute({"input": pattern}, self.base_dir)["input"]
                seq = io.find_sequence(full, self.data.get("frames"))
                result: tuple[int, ...] | str = seq.frames
            except FilmStyleError as exc:
                result = str(exc)
            self._frames = (key, result)
        found = self._frames[1]
        if isinstance(found, str):
            raise JobError(found)
        return found

    def absolute_data(self) -> dict[str, Any]:
        """The job with every path absolute, for the worker."""
        return absolute(self.data, self.base_dir)

    # -- saving ----------------------------------------------------------------------------------
    def save(self, target: str | Path | None = None) -> Path:
        """Write the job to ``target`` (default: its own file) and make that its file.

        Raises:
            JobError: the job is invalid, the target is not a ``.yaml``/``.yml`` file or is one of
                the job's own files, or it cannot be written; nothing is written then.
        """
        if target is None and self.path is None:
            raise JobError("save: the job has no file yet; choose where to save it")
        dest = Path(target if target is not None else self.path).expanduser().absolute()  # type: ignore[arg-type]
        if dest.suffix.lower() not in JOB_SUFFIXES:
            raise JobError(f"{dest.name}: a job file ends in .yaml or .yml")
        data = self.data if dest.parent.resolve() == self.base_dir.resolve() else \
            relocate(self.data, self.base_dir, dest.parent.resolve())
        try:
            job = job_from_data(copy.deepcopy(data), base_dir=dest.parent, source=dest.name)
        except FilmStyleError as exc:
            raise JobError(f"not saved: {exc}") from None
        where = job_file_named(job, dest)
        if where is not None:
            raise JobError(f"{dest.name}: not saved: the job's {where} is this file")
        _atomic_write(dest, yaml_text(data))
        self.data, self.base_dir, self.path, self.dirty = data, dest.parent.resolve(), dest, False
        self._frames = None
        self._changed()
        return dest


def job_file_named(job: Job, dest: Path) -> str | None:
    """The field of ``job`` whose file (or sequence) ``dest`` is (``"input"``, ...), else None."""
    for where, path in job_paths(job):
        if _names_file(path, Path(dest).absolute()):
            return where
    return None


def _names_file(path: Path, dest: Path) -> bool:
    """True when ``path`` (a file or a sequence pattern) names ``dest``."""
    parts = io.split_pattern(str(path))
    if parts is None:
        try:
            return Path(path).resolve() == dest.resolve()
        except OSError:
            return False
    directory, prefix, _pad, suffix = parts
    if Path(directory).resolve() != dest.parent.resolve():
        return False
    return re.fullmatch(re.escape(prefix) + r"-?\d+" + re.escape(suffix), dest.name) is not None


def _atomic_write(dest: Path, text: str) -> None:
    folder = dest.parent
    if not folder.is_dir():
        raise JobError(f"{dest}: not saved: folder {folder} does not exist")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise JobError(f"{dest}: not saved: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        if dest.exists():
            os.chmod(tmp, dest.stat().st_mode & 0o7777)
        else:
            os.chmod(tmp, 0o644)
        os.replace(tmp, dest)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise JobError(f"{dest}: not saved: {exc.strerror or exc}") from None
