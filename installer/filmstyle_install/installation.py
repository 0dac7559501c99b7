"""Install and uninstall: the environment, the weights, the host files and ``host.json``.

:func:`install` runs the steps in order, each one skipped when its result is already in place,
so installing twice leaves the same files as installing once. Everything added is recorded in the
manifest (saved even when a step fails, so ``--uninstall`` can still clean up); :func:`uninstall`
removes exactly that.
"""

from __future__ import annotations

import datetime
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from filmstyle_install import environment, hosts
from filmstyle_install.blocks import BlockError, find_block, nuke_block
from filmstyle_install.fsops import InstallError, Recorder, Say, undo
from filmstyle_install.layout import Layout
from filmstyle_install.manifest import FileEntry, Manifest, ManifestError, sha256_file
from filmstyle_install.sources import Source

__all__ = ["Options", "install", "uninstall", "read_host_json"]


@dataclass
class Options:
    """What the user asked for (the command line, parsed)."""

    hosts: tuple[str, ...] = hosts.HOSTS
    python: str | None = None  # an existing environment: used as is, never removed
    base_python: str | None = None
    editable: bool = False
    cuda: str | None = None  # a PyTorch CUDA wheel variant such as "cu128"
    torch_index_url: str | None = None
    no_edit: bool = False
    weights: bool = True
    dry_run: bool = False
    force: bool = False
    verbose: bool = False
    serve_args: list[str] = field(default_factory=list)


def read_host_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _text(value: object) -> str:
    """A string field of a file the user may have edited; anything else counts as absent."""
    return value if isinstance(value, str) else ""


def _pid(info: dict) -> int:
    pid = info.get("pid")
    return pid if isinstance(pid, int) and not isinstance(pid, bool) else 0


def _step(say: Say, n: int, total: int, text: str) -> None:
    say(f"[{n}/{total}] {text}")


def install(opts: Options, layout: Layout, source: Source, say: Say, environ: Mapping[str, str]) -> Manifest:
    """Install filmstyle as ``opts`` asks into ``layout`` from ``source``; returns the manifest.

    Raises:
        InstallError: a conflict, a permission problem or a failed step (one line naming the path).
    """
    started = time.monotonic()
    if opts.python:  # before anything is written: a real install would already have made the prefix
        problem = environment.interpreter_problem(opts.python)
        if problem:
            raise InstallError(f"--python: {opts.python} {problem}")
    try:
        old = Manifest.load(layout.manifest_file)
    except ManifestError as exc:
        raise InstallError(f"{exc}; move it away to start afresh") from None
    other = _text(read_host_json(layout.host_config).get("prefix"))
    if other and Path(other) != layout.prefix and (Path(other) / layout.manifest_file.name).is_file():
        raise InstallError(f"filmstyle is already installed in {other}; uninstall it first "
                           f"(--uninstall --prefix {other}) or install there again")
    version = source.version()
    verb = "Would install" if opts.dry_run else "Installing"
    say(f"{verb} filmstyle {version} from the {source.describe()}")
    say(f"  into {layout.prefix} ({layout.platform}, {'all users' if layout.scope == 'all' else 'this user'}; "
        f"hosts: {', '.join(opts.hosts) or 'none'})")
    venv = None if opts.python else str(layout.venv_dir)
    python = opts.python or str(layout.venv_python)
    new = Manifest(version, layout.platform, layout.scope, str(layout.prefix), python, venv=venv,
                   installed_at=(old.installed_at if old else "") or _now(),
                   options={"hosts": list(opts.hosts), "cuda": opts.cuda, "editable": opts.editable,
                            "no_edit": opts.no_edit, "source": source.describe()})
    rec = Recorder(old, new, say, dry_run=opts.dry_run, force=opts.force, backup_dir=layout.backup_dir)
    plan = _plan_files(opts, layout, source, say)
    _preflight(rec, plan, opts, layout)
    total = 5
    try:
        rec.ensure_dir(layout.prefix)
        _step(say, 1, total, "environment")
        _environment(opts, layout, source, rec, say, environ)
        _step(say, 2, total, "weights")
        if opts.weights:
            _weights(python, rec, old, say, environ)
        else:
            say("  skipped (--no-weights): the first render converts them")
        _step(say, 3, total, "filmstyle_plugin and Nuke")
        _put(rec, say, [(t, d, r) for t, d, r in plan if r == "plugin"], layout.plugin_dir)
        if "nuke" in opts.hosts:
            _put(rec, say, [(t, d, r) for t, d, r in plan if r == "nuke"], layout.nuke_dir)
            _nuke(opts, layout, rec, say)
        else:
            say("  Nuke skipped (--hosts)")
        _step(say, 4, total, "Resolve")
        if "resolve" in opts.hosts:
            _put(rec, say, [(t, d, r) for t, d, r in plan if r == "resolve"], layout.fusion_root)
        else:
            say("  skipped (--hosts)")
        _step(say, 5, total, "host config")
        config = read_host_json(layout.host_config)
        config.update({"python": python, "serve_args": config.get("serve_args", opts.serve_args),
                       "plugin_path": str(layout.plugin_dir), "nuke_path": str(layout.nuke_dir),
                       "device": "cuda" if opts.cuda else "cpu", "version": version, "prefix": str(layout.prefix)})
        rec.put_file(layout.host_config, (json.dumps(config, indent=2) + "\n").encode("utf-8"), "config",
                     replace_foreign=True, replace_modified=True)
        say(f"  {layout.host_config}: python {python}")
        rec.finish()
    except BaseException:
        if not opts.dry_run and layout.prefix.is_dir():
            rec.partial().save(layout.manifest_file)
        raise
    if opts.dry_run:
        say(f"Dry run: {rec.changed} change(s) listed above; nothing was written.")
        return new
    new.save(layout.manifest_file)
    seconds = time.monotonic() - started
    done = "already installed; nothing changed" if rec.changed == 0 else f"{rec.changed} file(s) changed"
    say(f"Done in {seconds:.1f} s: {done}. Manifest: {layout.manifest_file}")
    say("Check it with: python3 installer/install.py doctor" + _scope_args(layout))
    return new


def _put(rec: Recorder, say: Say, files: list[tuple[Path, bytes, str]], where: Path) -> None:
    before = rec.changed
    for target, data, role in files:
        rec.put_file(target, data, role)
    changed = rec.changed - before
    say(f"  {len(files)} file(s) in {where}" + (f" ({changed} new or updated)" if changed else " (up to date)"))


def _scope_args(layout: Layout) -> str:
    return " --all-users" if layout.scope == "all" else ""


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat()


def _plan_files(opts: Options, layout: Layout, source: Source, say: Say) -> list[tuple[Path, bytes, str]]:
    """Every host file to install: ``(target, bytes, role)``."""
    plan = [(layout.plugin_dir / "filmstyle_plugin" / Path(*rel.split("/")), data, "plugin")
            for rel, data in source.tree("plugin")]
    if not plan:
        raise InstallError(f"{source.describe()}: no filmstyle_plugin package to install")
    if "nuke" in opts.hosts:
        plan += [(layout.nuke_dir / Path(*rel.split("/")), data, "nuke") for rel, data in source.tree("nuke")]
    if "resolve" in opts.hosts:
        targets, skipped = hosts.resolve_targets(source.tree("resolve"), layout.fusion_root)
        for name in skipped:
            say(f"  note: resolve/{name}/ is not a Fusion folder ({', '.join(hosts.FUSION_FOLDERS)}); not installed")
        plan += [(t, d, "resolve") for t, d in targets]
    return plan


def _writable(path: Path) -> bool:
    for folder in [path, *path.parents]:
        if folder.exists():
            return os.access(folder, os.W_OK)
    return False


def _preflight(rec: Recorder, plan: list[tuple[Path, bytes, str]], opts: Options, layout: Layout) -> None:
    """Refuse before changing anything: a user's files in the way, damaged blocks, no permission."""
    problems = [p for p in (rec.conflict(t, d) for t, d, _ in plan) if p]
    targets = [layout.prefix, layout.host_config] + [t for t, _, _ in plan]
    if "nuke" in opts.hosts and not opts.no_edit:
        targets += list(layout.nuke_init_files)
        for init in layout.nuke_init_files:
            try:
                if init.is_file():
                    find_block(init.read_text(encoding="utf-8"))
            except (BlockError, UnicodeDecodeError) as exc:
                problems.append(f"{init}: {exc}; fix or remove the filmstyle lines by hand")
    denied = sorted({str(next(f for f in [t, *t.parents] if f.exists())) for t in targets if not _writable(t)})
    for folder in denied:
        hint = "run as an administrator or root, or install for this user" if layout.scope == "all" else "check its permissions"
        problems.append(f"{folder}: not writable ({hint})")
    if problems:
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        raise InstallError("; ".join(problems[:3]) + more)


def _environment(opts: Options, layout: Layout, source: Source, rec: Recorder, say: Say,
                 environ: Mapping[str, str]) -> None:
    if opts.python:
        info = environment.run_probe(opts.python, "info", env=dict(environ), timeout=300)
        say(f"  using the existing environment {opts.python} (filmstyle {info['version']}; left as it is)")
        return
    venv_dir, python = layout.venv_dir, str(layout.venv_python)
    ours = rec.old is not None and rec.old.venv == str(venv_dir)
    if venv_dir.exists() and not ours and not (venv_dir / environment.STAMP).is_file():
        raise InstallError(f"{venv_dir}: a folder that filmstyle did not create is in the way; move it or use --prefix")
    torch_args = source.first_requirements()
    index = opts.torch_index_url or (environment.CUDA_INDEX.format(variant=opts.cuda) if opts.cuda else None)
    if index:
        torch_args += ["--index-url", index]
    target = ["-e", source.pip_target] if opts.editable else [source.pip_target]
    wanted = {"source": source.digest(), "torch": torch_args, "editable": opts.editable}
    if environment.read_stamp(venv_dir) == wanted and Path(python).exists() and not opts.force:
        say(f"  {venv_dir} is up to date")
        return
    if opts.dry_run:
        if not venv_dir.exists():
            say(f"  would create the environment {venv_dir} ({environment.find_base_python(opts.base_python)})")
        say(f"  would pip install {' '.join(torch_args)} (first, pinned: nothing later may pull another torch build)")
        say(f"  would pip install {' '.join(target)}")
        rec.changed += 1
        return
    if not venv_dir.exists():
        base = environment.find_base_python(opts.base_python)
        say(f"  creating {venv_dir} with {base}")
        environment.create_venv(base, venv_dir, environ)
    rec.changed += 1
    pip = environment.Pip(python, say, env=environ, verbose=opts.verbose)
    build = f"CUDA build from {index}" if opts.cuda else "CPU build" if not index else f"from {index}"
    say(f"  pip install {' '.join(torch_args)} (pinned {source.torch_requirement()}, {build}; "
        "a large download the first time)")
    seconds = pip.install(torch_args, " ".join(torch_args))
    say(f"  pip install {' '.join(target)} (and its dependencies) [took {seconds:.0f} s]")
    seconds = pip.install(target, "filmstyle")
    say(f"  done in {seconds:.0f} s")
    pip.discard_log()
    environment.write_stamp(venv_dir, wanted)


def _weights(python: str, rec: Recorder, old: Manifest | None, say: Say, environ: Mapping[str, str]) -> None:
    if rec.dry_run:
        say(f"  would convert and cache the pretrained weights with {python} (if not cached yet)")
        return
    result = environment.run_probe(python, "prepare", env=environ)
    cache = Path(result["cache_dir"])
    for name in result["files"]:
        rec.new.files.append(FileEntry(name, sha256_file(Path(name)), "cache"))
    for name in result["dirs"]:
        rec.new.dirs.append(name)
    for entry in old.files if old else []:  # cached by an earlier install and still there
        path = Path(entry.path)
        if entry.role == "cache" and rec.new.file(entry.path) is None and path.is_file():
            rec.new.files.append(FileEntry(entry.path, sha256_file(path), "cache"))
    for folder in old.dirs if old else []:
        here = Path(folder)
        related = here == cache or cache in here.parents or here in cache.parents
        if related and here.is_dir() and folder not in rec.new.dirs:
            rec.new.dirs.append(folder)
    rec.changed += len(result["files"])
    state = f"{len(result['files'])} file(s) written" if result["files"] else "already cached"
    say(f"  {cache}: {state} ({result['seconds']:.1f} s)")


def _nuke(opts: Options, layout: Layout, rec: Recorder, say: Say) -> None:
    if opts.no_edit or not layout.nuke_init_files:
        if not opts.no_edit:
            say("  no Nuke release found for an all-users block (--nuke-version 15.1 names one)")
        for line in hosts.nuke_path_instructions(layout.platform, layout.nuke_dir):
            say("  " + line)
        return
    for init in layout.nuke_init_files:
        rec.put_block(init, nuke_block(str(layout.nuke_dir)))


def uninstall(layout: Layout, say: Say, *, dry_run: bool = False) -> list[str]:
    """Remove what the manifest in ``layout.prefix`` lists; returns the warnings (what was kept).

    Raises:
        InstallError: no readable manifest, or a worker from this environment still runs.
    """
    try:
        manifest = Manifest.load(layout.manifest_file)
    except ManifestError as exc:
        raise InstallError(str(exc)) from None
    if manifest is None:
        hint = _text(read_host_json(layout.host_config).get("prefix"))
        where = f"; host.json names {hint} (--prefix {hint})" if hint and Path(hint) != layout.prefix else ""
        raise InstallError(f"{layout.manifest_file}: no filmstyle installation here{where}")
    worker = read_host_json(layout.config_dir / "worker.json")
    if _pid(worker) and _alive(_pid(worker)) and manifest.venv:
        raise InstallError(f"a filmstyle worker (pid {worker['pid']}) is running; stop it first")
    say(f"{'Would remove' if dry_run else 'Removing'} filmstyle {manifest.version} from {layout.prefix}")
    for runtime in _runtime_files(layout):
        say(f"  {'would remove' if dry_run else 'removed'} {runtime} (written by the worker)")
        if not dry_run:
            runtime.unlink()
    manifest_entry = FileEntry(str(layout.manifest_file), sha256_file(layout.manifest_file), "manifest")
    manifest.files.append(manifest_entry)
    warnings = undo(manifest, say, dry_run=dry_run)
    if dry_run:
        say("Dry run: nothing was removed.")
    elif warnings:
        say(f"Uninstalled; kept {len(warnings)} item(s) listed above (yours, or changed since install).")
    else:
        say("Uninstalled; nothing left behind.")
    return warnings


def _runtime_files(layout: Layout) -> list[Path]:
    """What filmstyle itself leaves in the config folder while it runs: the worker's log, and its
    ``worker.json`` once that worker is gone. Never the user's styles or settings."""
    found = []
    log = layout.config_dir / "worker.log"
    if log.is_file():
        found.append(log)
    worker = layout.config_dir / "worker.json"
    info = read_host_json(worker)
    if worker.is_file() and not _alive(_pid(info)):
        found.append(worker)
    return found


def _alive(pid: int) -> bool:
    if os.name == "nt" or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True
