"""Fixtures for the installer: a source checkout with Resolve files, per-OS temporary roots, snapshots.

The installer runs in-process (``filmstyle_install.cli.main``) with the platform, environment and
home of the OS under test, against the test run's own environment (``--python``), so no test
downloads or builds torch.
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
INSTALLER = REPO / "installer"
if str(INSTALLER) not in sys.path:  # the installer runs from the checkout, before any environment
    sys.path.insert(0, str(INSTALLER))

from filmstyle_install import cli  # noqa: E402

#: Small stand-ins for the Resolve files, in the folders Fusion reads; installed beside whatever
#: the checkout's resolve/ holds.
RESOLVE_FIXTURES = {
    "Fuses/FilmStyleFixture.fuse": 'FuRegisterClass("FilmStyleFixture", CT_Tool, {REGS_Name = "FilmStyle Fixture"})\n',
    "Templates/Edit/Effects/FilmStyle/FilmStyle Fixture.setting": "{ Tools = ordered() { } }\n",
    "Scripts/Utility/FilmStyle Fixture.py": "# Utility menu script\n",
    "Scripts/Edit/FilmStyle Fixture Edit.py": "# Edit page script\n",
    "Scripts/Comp/FilmStyle Fixture Comp.py": "# Fusion page script\n",
    "docs/notes.md": "not a Fusion folder: stays behind\n",
    "README.md": "top-level file: stays behind\n",
}
_STRIP = ("HOME", "USERPROFILE", "APPDATA", "LOCALAPPDATA", "PROGRAMDATA", "ProgramFiles", "CommonProgramFiles",
          "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "FILMSTYLE_CONFIG_DIR", "FILMSTYLE_CACHE_DIR",
          "FILMSTYLE_PYTHON", "NUKE_PATH", "OCIO")


@pytest.fixture(scope="session")
def checkout(tmp_path_factory) -> Path:
    """A filmstyle checkout: this repository's host folders, plus fixture Resolve files."""
    root = tmp_path_factory.mktemp("checkout")
    for name in ("pyproject.toml", "requirements.txt"):
        shutil.copyfile(REPO / name, root / name)
    (root / "core" / "filmstyle").mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(REPO / "nuke", root / "nuke", ignore=ignore)
    shutil.copytree(REPO / "plugin" / "filmstyle_plugin", root / "plugin" / "filmstyle_plugin", ignore=ignore)
    shutil.copytree(REPO / "resolve", root / "resolve", ignore=ignore)
    for rel, text in RESOLVE_FIXTURES.items():
        path = root / "resolve" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


@dataclass
class Machine:
    """One OS's folders under a temporary root: run the installer as that OS would."""

    platform: str
    root: Path
    home: Path
    environ: dict[str, str]
    system_root: Path

    def run(self, *args: str) -> int:
        return cli.main(list(args), platform=self.platform, environ=self.environ, home=self.home,
                        system_root=self.system_root)

    def install(self, *args: str, python: str = sys.executable) -> int:
        """Install with the test run's environment; weights only where a test asks (--weights)."""
        args = tuple(a for a in args if a != "--weights") if "--weights" in args else (*args, "--no-weights")
        return self.run("--python", python, *args)


def make_machine(root: Path, platform: str, cache: Path | None = None) -> Machine:
    env = {k: v for k, v in os.environ.items() if k not in _STRIP and not k.startswith("XDG_")}
    system_root = root / "sys"
    system_root.mkdir(parents=True, exist_ok=True)
    if platform == "win32":
        home = root / "Users" / "artist"
        env.update(USERPROFILE=str(home), APPDATA=str(home / "AppData" / "Roaming"),
                   LOCALAPPDATA=str(home / "AppData" / "Local"), PROGRAMDATA=str(system_root / "ProgramData"),
                   ProgramFiles=str(system_root / "Program Files"),
                   CommonProgramFiles=str(system_root / "Program Files" / "Common Files"))
    else:
        home = root / "home" / "artist"
    home.mkdir(parents=True)
    env["HOME"] = str(home)  # what the environment's own processes see
    for tool, folder in (("RUSTUP_HOME", ".rustup"), ("CARGO_HOME", ".cargo")):
        # pip runs `rustc --version` for its user agent; a rustup proxy on PATH then writes its
        # settings into HOME unless told where its own home is. Not the installer's doing.
        real = os.environ.get(tool) or str(Path.home() / folder)
        if Path(real).is_dir():
            env[tool] = real
    if cache is not None:
        env["FILMSTYLE_CACHE_DIR"] = str(cache)
    return Machine(platform, root, home, env, system_root)


@pytest.fixture
def machine_for(tmp_path):
    def make(platform: str) -> Machine:
        return make_machine(tmp_path / platform, platform)

    return make


def snapshot(root: Path) -> dict[str, bytes | None]:
    """Every file (its bytes) and folder (``None``) under ``root``, by relative path."""
    out: dict[str, bytes | None] = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        out[rel] = None if path.is_dir() else path.read_bytes()
    return out


def seed_user_files(m: Machine) -> None:
    """What an artist already has: their own init.py (no final newline), a Fuse, a Resolve script."""
    from filmstyle_install.layout import compute_layout

    layout = compute_layout(m.platform, environ=m.environ, home=m.home)
    init = layout.nuke_init_files[0]
    init.parent.mkdir(parents=True)
    init.write_bytes(b"import nuke\r\nnuke.pluginAddPath('/studio/gizmos')")
    for rel, text in (("Fuses/Studio.fuse", "-- the studio's own Fuse\n"),
                      ("Scripts/Utility/Studio Tool.py", "# the studio's own script\n")):
        path = layout.fusion_root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
