"""The per-OS path table: every folder for Linux, macOS and Windows, per user and for all users."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from filmstyle_install.layout import compute_layout, installed_nuke_versions
from filmstyle_plugin import paths

from .conftest import make_machine

BMD = ("Blackmagic Design", "DaVinci Resolve")


def test_linux_user(tmp_path):
    m = make_machine(tmp_path, "linux")
    lay = compute_layout("linux", environ=m.environ, home=m.home)
    assert lay.prefix == m.home / ".local/share/filmstyle"
    assert lay.venv_python == m.home / ".local/share/filmstyle/venv/bin/python"
    assert lay.host_config == m.home / ".config/filmstyle/host.json"
    assert lay.fusion_root == m.home / ".local/share/DaVinciResolve/Fusion"
    assert lay.nuke_init_files == (m.home / ".nuke/init.py",)
    assert lay.nuke_dir.parent == lay.plugin_dir.parent == lay.prefix  # nuke/ beside plugin/


def test_linux_user_follows_xdg(tmp_path):
    m = make_machine(tmp_path, "linux")
    env = dict(m.environ, XDG_DATA_HOME=str(tmp_path / "data"), XDG_CONFIG_HOME=str(tmp_path / "conf"))
    lay = compute_layout("linux", environ=env, home=m.home)
    assert lay.prefix == tmp_path / "data/filmstyle"
    assert lay.config_dir == tmp_path / "conf/filmstyle"
    assert lay.fusion_root == m.home / ".local/share/DaVinciResolve/Fusion"  # Resolve's own fixed folder


def test_macos_user(tmp_path):
    m = make_machine(tmp_path, "darwin")
    lay = compute_layout("darwin", environ=m.environ, home=m.home)
    support = m.home / "Library" / "Application Support"
    assert lay.prefix == lay.config_dir == support / "filmstyle"
    assert lay.fusion_root == support.joinpath(*BMD, "Fusion")
    assert lay.nuke_init_files == (m.home / ".nuke/init.py",)
    assert lay.venv_python == support / "filmstyle/venv/bin/python"


def test_windows_user(tmp_path):
    m = make_machine(tmp_path, "win32")
    lay = compute_layout("win32", environ=m.environ, home=m.home)
    local, roaming = Path(m.environ["LOCALAPPDATA"]), Path(m.environ["APPDATA"])
    assert lay.prefix == lay.config_dir == local / "filmstyle"
    assert lay.venv_python == local / "filmstyle/venv/Scripts/python.exe"
    assert lay.fusion_root == roaming.joinpath(*BMD, "Support", "Fusion")
    assert lay.nuke_init_files == (Path(m.environ["USERPROFILE"]) / ".nuke/init.py",)
    # Nuke reads %HOME%\.nuke when HOME is set (Foundry: else %USERPROFILE%).
    env = dict(m.environ, HOME=str(tmp_path / "nukehome"))
    assert compute_layout("win32", environ=env, home=m.home).nuke_init_files == (tmp_path / "nukehome/.nuke/init.py",)


def test_linux_all_users_finds_installed_nuke_releases(tmp_path):
    m = make_machine(tmp_path, "linux")
    for name in ("Nuke15.1v3", "Nuke16.0v2", "Nuke16.0v4", "NukeStudio", "Nuke"):
        (m.system_root / "usr/local" / name).mkdir(parents=True)
    lay = compute_layout("linux", "all", environ=m.environ, home=m.home, system_root=m.system_root)
    assert lay.prefix == m.system_root / "opt/filmstyle"
    assert lay.host_config == m.system_root / "opt/filmstyle/host.json"
    assert lay.fusion_root == m.system_root / "opt/resolve/Fusion"
    assert lay.nuke_init_files == (m.system_root / "usr/local/Nuke/15.1/plugins/init.py",
                                   m.system_root / "usr/local/Nuke/16.0/plugins/init.py")
    named = compute_layout("linux", "all", environ=m.environ, home=m.home, system_root=m.system_root,
                           nuke_versions=["14.0"])
    assert named.nuke_init_files == (m.system_root / "usr/local/Nuke/14.0/plugins/init.py",)


def test_macos_all_users(tmp_path):
    m = make_machine(tmp_path, "darwin")
    (m.system_root / "Applications/Nuke16.0v2").mkdir(parents=True)
    lay = compute_layout("darwin", "all", environ=m.environ, home=m.home, system_root=m.system_root)
    support = m.system_root / "Library" / "Application Support"
    assert lay.prefix == support / "filmstyle"
    assert lay.fusion_root == support.joinpath(*BMD, "Fusion")
    assert lay.nuke_init_files == (support / "Nuke/16.0/plugins/init.py",)


def test_windows_all_users(tmp_path):
    m = make_machine(tmp_path, "win32")
    (Path(m.environ["ProgramFiles"]) / "Nuke15.1v3").mkdir(parents=True)
    lay = compute_layout("win32", "all", environ=m.environ, home=m.home)
    program_data = Path(m.environ["PROGRAMDATA"])
    assert lay.prefix == program_data / "filmstyle"
    assert lay.fusion_root == program_data.joinpath(*BMD, "Fusion")
    assert lay.nuke_init_files == (Path(m.environ["CommonProgramFiles"]) / "Nuke/15.1/plugins/init.py",)
    assert installed_nuke_versions("win32", m.environ) == ["15.1"]


def test_all_users_without_nuke_has_no_block_target(tmp_path):
    m = make_machine(tmp_path, "linux")
    lay = compute_layout("linux", "all", environ=m.environ, home=m.home, system_root=m.system_root)
    assert lay.nuke_init_files == ()


@pytest.mark.parametrize("kwargs, message", [
    ({"platform": "beos"}, "platform: expected one of linux, darwin, win32, got 'beos'"),
    ({"scope": "site"}, "scope: expected one of user, all, got 'site'"),
    ({"scope": "all", "nuke_versions": ["15"]}, "--nuke-version: expected major.minor"),
])
def test_bad_arguments_are_one_line(tmp_path, kwargs, message):
    args = {"platform": "linux", "scope": "user", **kwargs}
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        compute_layout(args.pop("platform"), args.pop("scope"), environ={}, home=tmp_path, **args)


def test_config_folder_is_the_one_host_code_and_worker_read(tmp_path, monkeypatch):
    import platformdirs

    plat = "linux" if sys.platform.startswith("linux") else sys.platform
    monkeypatch.delenv("FILMSTYLE_CONFIG_DIR", raising=False)
    lay = compute_layout(plat, environ=dict(__import__("os").environ), home=Path.home())
    assert lay.config_dir == paths.config_dir() == Path(platformdirs.user_config_dir("filmstyle", appauthor=False))


def test_host_code_falls_back_to_the_all_users_host_json(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("FILMSTYLE_CONFIG_DIR", raising=False)
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    site = tmp_path / "site"
    monkeypatch.setattr(paths, "site_dir", lambda *a, **k: site)
    user = paths.config_dir() / "host.json"
    assert paths.host_config_file() == user  # neither exists: the user's is where to write
    site.mkdir()
    (site / "host.json").write_text("{}")
    assert paths.host_config_file() == site / "host.json"
    user.parent.mkdir(parents=True)
    user.write_text("{}")
    assert paths.host_config_file() == user
