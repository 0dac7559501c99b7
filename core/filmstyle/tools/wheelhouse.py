"""Carry filmstyle's dependencies to a GPU machine that has no network: prepare here, check there.

A lent or farm GPU machine often has a CUDA build of torch (of its own version) and a set of
common packages, but no network. filmstyle runs there from a source checkout
(``PYTHONPATH=core:plugin``) once the dependencies that machine lacks arrive as wheels:

* ``prepare`` (on a machine with network): reads ``[project] dependencies`` from
  ``pyproject.toml``, leaves out torch (the target's own CUDA build is used) and every package
  the target already has in a satisfying version (``--have``: the output of
  ``python3 -m pip list --format=freeze`` run there), downloads wheels of the rest and of their
  dependencies for the target's Python and platform with ``pip download --only-binary=:all:``,
  and writes ``MANIFEST.json`` (target Python, files, sizes). It prints the total against the
  budget given (what may travel in all, minus the checkout). ``--without NAME`` leaves out a
  requirement the run there does not need (PyAV, 33 MiB, is only imported for movie files).
* ``check`` (on the target, after ``pip install --no-index``): every requirement but torch
  imports in a satisfying version, else one line per problem and exit status 1; requirements the
  manifest lists as left out are named, not counted as problems.

Only the standard library is used, so both run before any dependency is installed.
Usage: ``python -m filmstyle.tools.wheelhouse prepare|check ...`` (``./dev gpu-check`` calls them).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Requirement", "read_requirements", "read_have", "missing", "prepare", "check", "main"]

#: Packages never carried: the target's own CUDA build of torch is the point of the exercise.
NEVER_CARRIED = ("torch",)
#: manylinux tags ``pip download`` accepts for an x86-64 Linux target (pip matches tags exactly).
PLATFORMS = tuple(f"manylinux_2_{n}_x86_64" for n in (17, 24, 27, 28, 31, 34, 35)) + (
    "manylinux2014_x86_64", "manylinux1_x86_64", "linux_x86_64")


def normalize(name: str) -> str:
    """PEP 503 name: lower case, runs of ``-_.`` as one ``-``."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _version_key(version: str) -> tuple[int, ...]:
    """Numeric release part of a version (``2.5.2`` -> (2, 5, 2); ``1.0rc1`` -> (1, 0))."""
    parts = []
    for piece in version.split("+")[0].split("."):
        m = re.match(r"\d+", piece)
        if m is None:
            break
        parts.append(int(m.group()))
        if m.end() != len(piece):
            break
    return tuple(parts)


_SPEC = re.compile(r"\s*(~=|==|!=|<=|>=|<|>)\s*([0-9][0-9A-Za-z.+*!-]*)\s*")


def _padded(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    width = max(len(a), len(b))
    return a + (0,) * (width - len(a)), b + (0,) * (width - len(b))  # 0.1 == 0.1.0


def _meets(version: str, op: str, wanted: str) -> bool:
    """Whether ``version`` meets one specifier (release numbers only: pre-releases count as released)."""
    if wanted.endswith(".*"):  # ==X.* / !=X.*: a prefix
        prefix = _version_key(wanted[:-2])
        same = _version_key(version)[:len(prefix)] == prefix
        return same if op == "==" else not same
    a, b = _padded(_version_key(version), _version_key(wanted))
    if op == "~=":  # compatible release: >= X.Y.Z and == X.Y.*
        head = _version_key(wanted)[:-1]
        return a >= b and _version_key(version)[:len(head)] == head
    return {"==": a == b, "!=": a != b, ">=": a >= b, "<=": a <= b, ">": a > b, "<": a < b}[op]


@dataclass(frozen=True)
class Requirement:
    """One line of ``[project] dependencies``: a name, version specifiers, as written for pip.

    Extras and environment markers are kept in ``text`` for ``pip download`` (which evaluates
    markers for the target) and play no part in :meth:`satisfied_by`.
    """

    name: str
    specs: tuple[tuple[str, str], ...] = ()
    text: str = ""

    @classmethod
    def parse(cls, text: str) -> Requirement:
        body = text.split(";", 1)[0]
        m = re.fullmatch(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*(.*?)\s*", body)
        if m is None:
            raise ValueError(f"requirement {text!r}: not a name with optional version specifiers")
        specs = []
        for part in filter(None, (p.strip() for p in m.group(2).split(","))) if m.group(2) else ():
            spec = _SPEC.fullmatch(part)
            if spec is None:
                raise ValueError(f"requirement {text!r}: cannot read the version specifier {part!r}")
            specs.append((spec.group(1), spec.group(2)))
        return cls(m.group(1), tuple(specs), text.strip())

    def satisfied_by(self, version: str | None) -> bool:
        """Whether an installed ``version`` meets this; ``None`` = absent, ``""`` = present, version unknown."""
        if version is None:
            return False
        if version == "":
            return True  # trusted here; `check` on the target reads the real version
        return all(_meets(version, op, wanted) for op, wanted in self.specs)

    def __str__(self) -> str:
        return self.text or self.name + ",".join(op + v for op, v in self.specs)


def read_requirements(pyproject: Path) -> list[Requirement]:
    """``[project] dependencies`` of ``pyproject`` (the simple forms filmstyle uses)."""
    try:
        import tomllib
    except ImportError:  # Python 3.10: the list is simple enough to read by pattern
        text = pyproject.read_text()
        m = re.search(r"^dependencies\s*=\s*\[(.*?)^\]", text.split("[project]", 1)[-1], re.S | re.M)
        if m is None:
            raise ValueError(f"{pyproject}: no [project] dependencies list") from None
        items = re.findall(r'"([^"]+)"', m.group(1))
    else:
        items = tomllib.loads(pyproject.read_text()).get("project", {}).get("dependencies", [])
    return [Requirement.parse(s) for s in items]


def read_have(text: str) -> dict[str, str]:
    """``{normalized name: version}`` from ``pip list --format=freeze`` output (``name==version`` lines).

    A bare name counts as present in an unknown version (``""``).
    """
    have = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        name, _, version = line.partition("==")
        have[normalize(name.split(" @ ")[0])] = version.strip()
    return have


def missing(requirements: list[Requirement], have: dict[str, str], without: tuple[str, ...] = ()) -> list[Requirement]:
    """The requirements to carry: not torch, not left out, and not there in a satisfying version."""
    skip = set(NEVER_CARRIED) | {normalize(n) for n in without}
    return [r for r in requirements
            if normalize(r.name) not in skip and not r.satisfied_by(have.get(normalize(r.name)))]


def _wheel_name(path: Path) -> str:
    return normalize(path.name.split("-", 1)[0])


def checkout_bytes(root: Path) -> int:
    """Bytes of the files git would carry from ``root``: tracked plus untracked, not ignored."""
    out = subprocess.run(["git", "-C", str(root), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                         capture_output=True, check=True).stdout
    return sum((root / p).stat().st_size for p in out.decode().split("\0") if p and (root / p).is_file())


def prepare(dest: Path, *, pyproject: Path, python_version: str, have: dict[str, str],
            without: tuple[str, ...] = (), budget: int | None = None,
            pip: tuple[str, ...] = (sys.executable, "-m", "pip")) -> dict:
    """Download the wheels the target lacks into ``dest`` (emptied first); returns the manifest."""
    needed = missing(read_requirements(pyproject), have, without)
    dest.mkdir(parents=True, exist_ok=True)
    for old in dest.glob("*.whl"):
        old.unlink()
    if needed:
        with tempfile.TemporaryDirectory() as tmp:
            cmd = [*pip, "download", "--quiet", "--only-binary=:all:", "--python-version", python_version,
                   "--implementation", "cp", "--dest", tmp]
            for platform in PLATFORMS:
                cmd += ["--platform", platform]
            subprocess.run(cmd + [str(r) for r in needed], check=True)
            for wheel in sorted(Path(tmp).glob("*.whl")):
                # Dependencies of what we carry that the target has already stay behind.
                name = _wheel_name(wheel)
                if name in have or name in NEVER_CARRIED or name in {normalize(n) for n in without}:
                    continue
                wheel.replace(dest / wheel.name)
    files = {w.name: w.stat().st_size for w in sorted(dest.glob("*.whl"))}
    manifest = {"python": python_version, "carried": [str(r) for r in needed],
                "left_out": sorted(normalize(n) for n in without), "files": files,
                "bytes": sum(files.values()), "budget": budget}
    (dest / "MANIFEST.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def check(pyproject: Path, left_out: tuple[str, ...] = ()) -> list[str]:
    """Problems with the installed requirements (torch checked only for being importable).

    ``left_out``: requirements not carried on purpose; not problems when absent.
    """
    import importlib.metadata as metadata

    problems = []
    for req in read_requirements(pyproject):
        if normalize(req.name) in {normalize(n) for n in left_out}:
            continue
        try:
            version = metadata.version(req.name)
        except metadata.PackageNotFoundError:
            problems.append(f"{req.name}: not installed (carry it in the wheelhouse)")
            continue
        if normalize(req.name) in NEVER_CARRIED:
            continue  # the machine's own torch, whatever its version
        if not req.satisfied_by(version):
            problems.append(f"{req.name}: {version} installed, {req} required")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m filmstyle.tools.wheelhouse", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("prepare", help="download the wheels a target machine lacks")
    p.add_argument("--dest", type=Path, required=True)
    p.add_argument("--pyproject", type=Path, default=Path("pyproject.toml"))
    p.add_argument("--python-version", default="3.12", help="the target's Python, e.g. 3.12")
    p.add_argument("--have", type=Path, help="the target's `pip list --format=freeze` (default: nothing there)")
    p.add_argument("--budget-mib", type=float, default=64.0, help="what may travel in all, checkout included")
    p.add_argument("--without", action="append", default=[], metavar="NAME",
                   help="leave this requirement out (repeat), e.g. av when no movie files are read there")
    c = sub.add_parser("check", help="every requirement installed in a satisfying version")
    c.add_argument("--pyproject", type=Path, default=Path("pyproject.toml"))
    c.add_argument("--manifest", type=Path, help="the wheelhouse's MANIFEST.json (its left-out names are not problems)")
    args = parser.parse_args(argv)
    try:
        return _run(args)
    except (OSError, ValueError, KeyError, subprocess.CalledProcessError) as exc:
        print(f"filmstyle: error: {_problem(exc)}", file=sys.stderr)
        return 1


def _problem(exc: BaseException) -> str:
    """One line for what stopped ``prepare`` or ``check``."""
    if isinstance(exc, subprocess.CalledProcessError):
        return f"pip download failed (exit status {exc.returncode}); its message is above"
    if isinstance(exc, FileNotFoundError) and exc.filename:
        return f"{exc.filename}: no such file"
    if isinstance(exc, OSError) and exc.filename:
        return f"{exc.filename}: {exc.strerror or exc}"
    if isinstance(exc, json.JSONDecodeError):
        return f"not valid JSON: {exc.msg} (line {exc.lineno})"
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _run(args: argparse.Namespace) -> int:
    if args.command == "check":
        left_out: tuple[str, ...] = ()
        if args.manifest:
            try:
                left_out = tuple(json.loads(args.manifest.read_text()).get("left_out", ()))
            except json.JSONDecodeError as exc:
                raise ValueError(f"{args.manifest}: not valid JSON ({exc.msg}, line {exc.lineno})") from None
        if left_out:
            print(f"filmstyle: left out of the wheelhouse on purpose: {', '.join(left_out)}", file=sys.stderr)
        problems = check(args.pyproject, left_out)
        for line in problems:
            print(f"filmstyle: error: {line}", file=sys.stderr)
        return 1 if problems else 0
    have = read_have(args.have.read_text()) if args.have else {}
    root = args.pyproject.resolve().parent
    tree = checkout_bytes(root)
    budget = int(args.budget_mib * 2**20) - tree
    manifest = prepare(args.dest, pyproject=args.pyproject, python_version=args.python_version, have=have,
                       without=tuple(args.without), budget=budget)
    for name, size in manifest["files"].items():
        print(f"  {size / 2**20:7.2f} MiB  {name}")
    total = manifest["bytes"]
    left = f"; left out: {', '.join(manifest['left_out'])}" if manifest["left_out"] else ""
    print(f"wheelhouse: {len(manifest['files'])} wheels, {total / 2**20:.2f} MiB for Python {args.python_version} "
          f"(carried: {', '.join(manifest['carried']) or 'nothing'}{left}); checkout {tree / 2**20:.2f} MiB; "
          f"{'fits' if total <= budget else 'DOES NOT FIT'} in {args.budget_mib:g} MiB "
          f"({(budget - total) / 2**20:.2f} MiB left)")
    return 0 if total <= budget else 1


if __name__ == "__main__":
    sys.exit(main())
