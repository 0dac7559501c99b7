"""The installer's command line: ``install`` (the default), ``uninstall`` (or ``--uninstall``), ``doctor``.

Errors are one line on stderr and exit status 1; usage errors exit 2; a red doctor exits 1.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Mapping, Sequence

from filmstyle_install import doctor, environment, hosts
from filmstyle_install.fsops import InstallError
from filmstyle_install.installation import Options, install, uninstall
from filmstyle_install.layout import compute_layout
from filmstyle_install.sources import Source, SourceError

__all__ = ["main", "build_parser"]

COMMANDS = ("install", "uninstall", "doctor")
_CHECKOUT = Path(__file__).resolve().parents[2]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="install.py",
        description="Install filmstyle for Nuke and DaVinci Resolve: a Python environment with filmstyle and "
                    "its weights, the Nuke plugin path, the Resolve Fuse, templates and scripts, and host.json. "
                    "Commands: install (default), uninstall, doctor.",
        epilog="Examples: install.py | install.py --dry-run | install.py --hosts nuke --no-edit | "
               "install.py --all-users --nuke-version 15.1 | install.py doctor | install.py --uninstall",
    )
    p.add_argument("command", nargs="?", choices=COMMANDS, default="install", help="what to do (default: install)")
    where = p.add_argument_group("where")
    where.add_argument("--prefix", metavar="DIR", help="folder for the environment and the host folders "
                       "(default: the per-user data folder, or the all-users one with --all-users)")
    where.add_argument("--all-users", action="store_true",
                       help="install for every user of this machine (needs administrator/root rights)")
    where.add_argument("--hosts", default=",".join(hosts.HOSTS),
                       help="hosts to install for, comma-separated (default: nuke,resolve; '' for none)")
    where.add_argument("--nuke-version", action="append", default=[], metavar="X.Y",
                       help="with --all-users: Nuke release(s) whose shared plugins folder gets the block "
                            "(default: every Nuke installed in the standard folder)")
    where.add_argument("--no-edit", action="store_true",
                       help="do not edit Nuke's init.py; print the NUKE_PATH setting to add instead")
    env = p.add_argument_group("environment")
    env.add_argument("--python", metavar="PATH", help="use this existing environment's interpreter (filmstyle "
                     "already installed in it) instead of creating one; it is never removed")
    env.add_argument("--use-env", action="store_true",
                     help="shorthand for --python with the interpreter running this installer")
    env.add_argument("--base-python", metavar="PATH", help="interpreter (3.10+) to create the environment with")
    env.add_argument("--source", type=Path, help="filmstyle checkout to install from (default: this one)")
    env.add_argument("--wheel", type=Path, help="install from this filmstyle wheel instead of a checkout")
    env.add_argument("--editable", action="store_true", help="install the checkout in editable mode (development)")
    env.add_argument("--cuda", nargs="?", const="cu128", metavar="VARIANT",
                     help="install a CUDA build of torch from PyTorch's index (variant, default cu128)")
    env.add_argument("--torch-index-url", metavar="URL", help="package index to take torch from")
    env.add_argument("--no-weights", action="store_true", help="do not convert and cache the weights now")
    run = p.add_argument_group("run")
    run.add_argument("--uninstall", action="store_true", help="remove everything the installation added")
    run.add_argument("--dry-run", action="store_true", help="print every action, change nothing")
    run.add_argument("--force", action="store_true", help="replace files that are in the way (kept as backups "
                     "and restored on uninstall) and re-run pip")
    run.add_argument("-y", "--yes", action="store_true", help="do not ask before uninstalling")
    run.add_argument("-v", "--verbose", action="store_true", help="show pip's output")
    doc = p.add_argument_group("doctor")
    doc.add_argument("--json", action="store_true", help="print the doctor's report as JSON")
    doc.add_argument("--skip", default="", help=f"doctor sections to skip, comma-separated: {', '.join(doctor.SECTIONS)}")
    return p


def _split(text: str, valid: Sequence[str], option: str) -> tuple[str, ...]:
    items = tuple(x.strip() for x in text.split(",") if x.strip())
    bad = [x for x in items if x not in valid]
    if bad:
        raise InstallError(f"{option}: unknown {', '.join(map(repr, bad))}, valid: {', '.join(valid)}")
    return items


def _prefix(raw: str | None, checkouts: Sequence[Path]) -> Path | None:
    """``--prefix`` as an absolute folder, refused where installing (and uninstalling) would do harm.

    Uninstall removes what was put into the prefix, so a prefix in a filmstyle checkout would
    copy the host folders over their own sources, and ``/`` or an empty string (the current
    folder, wherever the command happens to run) would scatter filmstyle's folders there.
    """
    if raw is None:
        return None
    if not raw.strip():
        raise InstallError("--prefix: empty; name the folder to install into")
    prefix = Path(os.path.abspath(raw))
    real = Path(os.path.realpath(prefix))
    if real.parent == real:
        raise InstallError(f"--prefix: {raw} is the filesystem root; name a folder for filmstyle")
    for checkout in checkouts:
        root = Path(os.path.realpath(checkout))
        if (root / "pyproject.toml").is_file() and (real == root or root in real.parents):
            raise InstallError(f"--prefix: {raw} is in the filmstyle checkout {root}; install outside it")
    existing = next((p for p in (prefix, *prefix.parents) if os.path.lexists(p)), None)
    if existing is not None and not existing.is_dir():
        raise InstallError(f"--prefix: {existing} is a file, not a folder")
    return prefix


def main(argv: Sequence[str] | None = None, *, platform: str | None = None, environ: Mapping[str, str] | None = None,
         home: Path | None = None, system_root: Path | None = None) -> int:
    """Run the installer; returns the exit status.

    ``platform``, ``environ``, ``home`` and ``system_root`` default to this machine's; tests pass
    others to install the layout of another OS under a temporary folder.
    """
    args = build_parser().parse_args(argv)
    environ = os.environ if environ is None else environ
    plat = platform or ("linux" if sys.platform.startswith("linux") else sys.platform)

    def say(line: str) -> None:
        print(line, flush=True)

    try:
        versions = [v.strip() for item in args.nuke_version for v in item.split(",") if v.strip()]
        if args.cuda is not None and not environment.CUDA_VARIANT.fullmatch(args.cuda):
            raise InstallError(f"--cuda: expected a PyTorch CUDA variant such as cu128, got {args.cuda!r}")
        checkouts = [_CHECKOUT] + ([args.source] if args.source is not None else [])
        prefix = _prefix(args.prefix, checkouts)
        try:
            layout = compute_layout(plat, "all" if args.all_users else "user", environ=environ,
                                    home=Path(home) if home else Path.home(), prefix=prefix,
                                    nuke_versions=versions, system_root=system_root)
        except ValueError as exc:
            raise InstallError(str(exc)) from None
        command = "uninstall" if args.uninstall else args.command
        if command == "doctor":
            return _doctor(args, layout, environ)
        if command == "uninstall":
            if not args.dry_run and not args.yes and sys.stdin.isatty():
                answer = input(f"Remove filmstyle from {layout.prefix} and the host folders? [y/N] ")
                if answer.strip().lower() not in ("y", "yes"):
                    say("Nothing removed.")
                    return 1
            uninstall(layout, say, dry_run=args.dry_run)
            return 0
        python = sys.executable if args.use_env else args.python and os.path.abspath(args.python)
        if args.wheel is not None:
            source = Source(wheel=args.wheel.resolve())
        else:
            source = Source(root=(args.source or _CHECKOUT).resolve())
        opts = Options(hosts=_split(args.hosts, hosts.HOSTS, "--hosts"), python=python,
                       base_python=args.base_python, editable=args.editable, cuda=args.cuda,
                       torch_index_url=args.torch_index_url, no_edit=args.no_edit, weights=not args.no_weights,
                       dry_run=args.dry_run, force=args.force, verbose=args.verbose)
        install(opts, layout, source, say, environ)
        return 0
    except (InstallError, SourceError) as exc:
        print(f"install.py: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("install.py: interrupted; run it again to finish, or --uninstall to remove what was added",
              file=sys.stderr)
        return 130


def _doctor(args: argparse.Namespace, layout, environ: Mapping[str, str]) -> int:
    skip = _split(args.skip, doctor.SECTIONS, "--skip")
    python = sys.executable if args.use_env else args.python and os.path.abspath(args.python)
    checks = doctor.run_doctor(layout.host_config, python=python, skip=skip, environ=environ)
    print(doctor.report_json(checks) if args.json else doctor.format_report(checks))
    return doctor.exit_status(checks)
