"""``doctor``: is everything filmstyle needs in place and working? One line per check, a fix per failure.

Checks, in order: the installation (``host.json`` and its interpreter), the environment
(package, OpenImageIO formats, the OCIO config, torch devices, onnxruntime, the weights cache:
answered by :mod:`filmstyle_install.probe` in that interpreter), the worker (a fresh one is started
in a scratch config folder and must answer ``/health``), and the host folders (the Nuke block and
folders, every installed Resolve file, unchanged). ``python3 installer/install.py doctor`` and
``filmstyle doctor`` both run :func:`run_doctor`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Mapping, Sequence

from filmstyle_install import environment
from filmstyle_install.blocks import BlockError, find_block
from filmstyle_install.fsops import InstallError
from filmstyle_install.manifest import Manifest, ManifestError, json_type, sha256_file

__all__ = ["Check", "SECTIONS", "run_doctor", "format_report", "report_json", "exit_status"]

SECTIONS = ("install", "env", "worker", "hosts")
_REINSTALL = "python3 installer/install.py"


@dataclass(frozen=True)
class Check:
    """One doctor line: ``status`` is ``ok``, ``warn``, ``fail`` or ``skip``."""

    name: str
    status: str
    detail: str
    fix: str = ""


def run_doctor(host_config: Path, *, python: str | None = None, skip: Sequence[str] = (),
               environ: Mapping[str, str] | None = None, worker_timeout: float = 120.0) -> list[Check]:
    """Run every check.

    Args:
        host_config: the ``host.json`` the host code reads.
        python: the environment to check (default: ``host.json``'s ``python``).
        skip: sections to leave out: ``install`` (host.json and the manifest), ``env``, ``worker``,
            ``hosts``.
        environ: environment for the interpreters started (default: this process's).
    """
    env = dict(os.environ if environ is None else environ)
    checks: list[Check] = []
    install: list[Check] = []
    config, problem = _read_host_config(host_config)
    manifest = None
    if config is None:
        install.append(Check("installation", "fail", f"{host_config}: not found; hosts cannot find filmstyle",
                             f"install it: {_REINSTALL}"))
    elif problem:
        install.append(Check("installation", "fail", problem, f"install again: {_REINSTALL}"))
    else:
        prefix = config.get("prefix")
        try:
            manifest = Manifest.load(Path(prefix) / "install-manifest.json") if prefix else None
        except ManifestError as exc:
            install.append(Check("installation", "fail", str(exc), f"install again: {_REINSTALL}"))
        else:
            install.append(_installation(host_config, config, manifest))
    if "install" not in skip:
        checks += install
    python = python or (config or {}).get("python")
    unrunnable = environment.interpreter_problem(python) if python else "not found"
    runnable = not unrunnable
    device = (config or {}).get("device") or "cpu"
    if "env" not in skip:
        if runnable:
            checks += _environment(str(python), device, env)
        else:
            checks.append(Check("environment", "fail", f"interpreter {python or '(none configured)'} {unrunnable}",
                                f"install again: {_REINSTALL}"))
    if "worker" not in skip:
        if runnable:
            checks.append(_worker(str(python), list((config or {}).get("serve_args", [])), env, worker_timeout))
        else:
            checks.append(Check("worker", "skip", "no interpreter to start it with"))
    if "hosts" not in skip:
        checks += _hosts(manifest, config or {}, env)
    return checks


_HOST_TEXT = ("python", "prefix", "plugin_path", "nuke_path", "device", "version")


def _read_host_config(path: Path) -> tuple[dict | None, str]:
    """``host.json``'s entries and, when it cannot be used, why (one line naming the file).

    ``(None, "")`` when there is none; ``({}, why)`` when it is a folder, unreadable, not JSON or
    has an entry of the wrong type, so the checks after it see no configuration at all.
    """
    if path.is_dir():  # Windows reports reading a folder as a permission problem
        return {}, f"{path}: a folder, not a file; hosts cannot read it"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None, ""
    except UnicodeDecodeError:
        return {}, f"{path}: not a text file (not UTF-8); hosts cannot read it"
    except ValueError as exc:
        return {}, f"{path}: not valid JSON ({exc}); hosts cannot read it"
    except OSError as exc:
        return {}, f"{path}: unreadable ({exc.strerror or exc}); hosts cannot read it"
    if not isinstance(data, dict):
        return {}, f"{path}: should hold a JSON object, holds {json_type(data)}; hosts cannot read it"
    for key in _HOST_TEXT:
        if data.get(key) is not None and not isinstance(data[key], str):
            return {}, f"{path}: \"{key}\" should be a string, got {json_type(data[key])}"
    args = data.get("serve_args", [])
    if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        return {}, f"{path}: \"serve_args\" should be a list of strings, got {json.dumps(args)[:60]}"
    return data, ""


def _read_json(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _installation(path: Path, config: dict, manifest: Manifest | None) -> Check:
    python = config.get("python")
    if not python:
        return Check("installation", "fail", f"{path}: no \"python\" entry", f"install again: {_REINSTALL}")
    problem = environment.interpreter_problem(python)
    if problem:
        return Check("installation", "fail", f"{path}: python {python} {problem}",
                     f"install again: {_REINSTALL}")
    plugin = config.get("plugin_path")
    if plugin and not (Path(plugin) / "filmstyle_plugin" / "__init__.py").is_file():
        return Check("installation", "fail", f"{path}: plugin_path {plugin} holds no filmstyle_plugin",
                     f"install again: {_REINSTALL}")
    where = f"installed in {config['prefix']}" if manifest is not None else "no install manifest (set up by hand)"
    return Check("installation", "ok", f"filmstyle {config.get('version', '?')} {where}; python {python}")


def _environment(python: str, device: str, env: dict[str, str]) -> list[Check]:
    try:
        rows = environment.run_probe(python, "check", "--device", str(device), env=env, timeout=600)
    except InstallError as exc:
        return [Check("environment", "fail", str(exc), f"install again: {_REINSTALL}")]
    return [Check(r["name"], r["status"], r["detail"], r.get("fix", "")) for r in rows]


def _worker(python: str, serve_args: list[str], env: dict[str, str], timeout: float) -> Check:
    """Start ``filmstyle serve`` as the hosts would, in a scratch config folder; ask ``/health``."""
    from filmstyle_plugin.client import WorkerClient, WorkerError

    fix = f"run it by hand to see why: {python} -c \"from filmstyle.cli import main; main()\" serve"
    scratch = Path(tempfile.mkdtemp(prefix="filmstyle-doctor-"))
    log_path = scratch / "worker.log"
    args = [python, "-c", "from filmstyle.cli import main; main()", "serve", "--port", "0", *serve_args]
    start = time.monotonic()
    try:
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(args, env=dict(environment.quiet_env(env), FILMSTYLE_CONFIG_DIR=str(scratch)), stdin=subprocess.DEVNULL,
                                    stdout=log, stderr=log)
        try:
            while time.monotonic() - start < timeout:
                if proc.poll() is not None:
                    lines = log_path.read_text(errors="replace").strip().splitlines() or ["no output"]
                    return Check("worker", "fail", f"exited with status {proc.returncode} at start: {lines[-1]}", fix)
                info = _read_json(scratch / "worker.json")
                if info and "port" in info and "token" in info:
                    health = WorkerClient(info["port"], info["token"], info.get("host", "127.0.0.1")).health()
                    seconds = time.monotonic() - start
                    return Check("worker", "ok", f"started in {seconds:.1f} s and answered /health "
                                                 f"(filmstyle {health.get('version')}, status {health.get('status')})")
                time.sleep(0.1)
            return Check("worker", "fail", f"did not answer within {timeout:g} s", fix)
        except WorkerError as exc:
            return Check("worker", "fail", f"started but /health failed: {exc}", fix)
        finally:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    except OSError as exc:
        return Check("worker", "fail", f"cannot start {python}: {exc.strerror or exc}", fix)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _hosts(manifest: Manifest | None, config: dict, env: Mapping[str, str]) -> list[Check]:
    if manifest is None:
        return [Check("host folders", "fail", "no install manifest: the Nuke and Resolve files are not installed",
                      f"install them: {_REINSTALL}")]
    wanted = manifest.options.get("hosts", [])
    return [_nuke(manifest, config, env) if "nuke" in wanted else Check("Nuke", "skip", "not installed (--hosts)"),
            _resolve(manifest) if "resolve" in wanted else Check("Resolve", "skip", "not installed (--hosts)")]


def _changed(manifest: Manifest, roles: Sequence[str]) -> tuple[list[str], list[str]]:
    missing, changed = [], []
    for entry in manifest.files:
        if entry.role in roles:
            path = Path(entry.path)
            if not path.is_file():
                missing.append(entry.path)
            elif sha256_file(path) != entry.sha256:
                changed.append(entry.path)
    return missing, changed


def _nuke(manifest: Manifest, config: dict, env: Mapping[str, str]) -> Check:
    nuke_dir = Path(config.get("nuke_path") or Path(manifest.prefix) / "nuke")
    fix = f"install again: {_REINSTALL}"
    missing, changed = _changed(manifest, ("nuke", "plugin"))
    if missing:
        return Check("Nuke", "fail", f"{len(missing)} installed file(s) missing, e.g. {missing[0]}", fix)
    for name in ("init.py", "menu.py"):
        if not (nuke_dir / name).is_file():
            return Check("Nuke", "fail", f"{nuke_dir / name} missing", fix)
    if not manifest.blocks:
        entries = [p for p in env.get("NUKE_PATH", "").split(os.pathsep) if p]
        if any(Path(p) == nuke_dir for p in entries):
            return Check("Nuke", "ok", f"NUKE_PATH includes {nuke_dir}")
        return Check("Nuke", "warn", f"installed without editing init.py, and NUKE_PATH does not include {nuke_dir}",
                     f"add {nuke_dir} to NUKE_PATH in the environment Nuke starts from")
    for block in manifest.blocks:
        path = Path(block.path)
        try:
            span = find_block(path.read_text(encoding="utf-8")) if path.is_file() else None
        except (OSError, UnicodeDecodeError, BlockError) as exc:
            return Check("Nuke", "fail", f"{path}: {exc}", fix)
        if span is None:
            return Check("Nuke", "fail", f"{path}: the filmstyle block is gone, Nuke will not load FilmStyle", fix)
    note = f"; {len(changed)} installed file(s) changed since install" if changed else ""
    inits = ", ".join(b.path for b in manifest.blocks)
    return Check("Nuke", "warn" if changed else "ok", f"{inits} loads {nuke_dir}{note}", fix if changed else "")


def _resolve(manifest: Manifest) -> Check:
    fix = f"install again: {_REINSTALL}"
    entries = [e for e in manifest.files if e.role == "resolve"]
    if not entries:
        return Check("Resolve", "warn", "nothing was installed (the source had no Fuses, templates or scripts)",
                     "install from a checkout or wheel that has them")
    missing, changed = _changed(manifest, ("resolve",))
    if missing:
        return Check("Resolve", "fail", f"{len(missing)} installed file(s) missing, e.g. {missing[0]}", fix)
    kinds: dict[str, int] = {}
    for entry in entries:
        parts = Path(entry.path).parts
        kind = next((p for p in ("Fuses", "Templates", "Scripts", "Macros", "Modules", "Config") if p in parts), "other")
        kinds[kind] = kinds.get(kind, 0) + 1
    summary = ", ".join(f"{n} in {k}" for k, n in kinds.items())
    root = os.path.commonpath([e.path for e in entries])
    if changed:
        return Check("Resolve", "warn", f"{summary} under {root}; {len(changed)} changed since install", fix)
    return Check("Resolve", "ok", f"{summary} under {root}")


def exit_status(checks: Sequence[Check]) -> int:
    return 1 if any(c.status == "fail" for c in checks) else 0


def format_report(checks: Sequence[Check]) -> str:
    width = max((len(c.name) for c in checks), default=10)
    lines = []
    for c in checks:
        lines.append(f"  {c.status.upper() if c.status == 'fail' else c.status:<4}  {c.name:<{width}}  {c.detail}")
        if c.fix and c.status in ("fail", "warn"):
            lines.append(f"  {'':<4}  {'':<{width}}  fix: {c.fix}")
    counts = {s: sum(c.status == s for c in checks) for s in ("ok", "warn", "fail", "skip")}
    verdict = "red" if counts["fail"] else "green"
    lines.append(f"doctor: {verdict} ({counts['ok']} ok, {counts['warn']} warning(s), {counts['fail']} failure(s)"
                 f"{', %d skipped' % counts['skip'] if counts['skip'] else ''})")
    return "\n".join(lines)


def report_json(checks: Sequence[Check]) -> str:
    return json.dumps({"ok": exit_status(checks) == 0, "checks": [asdict(c) for c in checks]}, indent=2)
