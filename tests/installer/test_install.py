"""Install into a temporary HOME as each OS would: files checked, twice = once, uninstall leaves nothing."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from filmstyle_install import installation
from filmstyle_install.blocks import BEGIN
from filmstyle_install.fsops import InstallError
from filmstyle_install.layout import compute_layout
from filmstyle_install.manifest import Manifest

from .conftest import RESOLVE_FIXTURES, make_machine, seed_user_files, snapshot


def layout_of(m, *args, **kwargs):
    return compute_layout(m.platform, *args, environ=m.environ, home=m.home, system_root=m.system_root, **kwargs)


def check_installed(m, checkout: Path, lay) -> None:
    for rel, text in RESOLVE_FIXTURES.items():
        target = lay.fusion_root / rel
        if rel.startswith(("Fuses/", "Templates/", "Scripts/")):
            assert target.read_text() == text, rel
        else:
            assert not target.exists(), f"{rel} is not a Fusion folder and must stay behind"
    for tree, dest in (("nuke", lay.nuke_dir), ("plugin/filmstyle_plugin", lay.plugin_dir / "filmstyle_plugin")):
        for src in (checkout / tree).rglob("*"):
            if src.is_file():
                assert (dest / src.relative_to(checkout / tree)).read_bytes() == src.read_bytes()
    config = json.loads(lay.host_config.read_text())
    assert config["python"] == sys.executable
    assert Path(config["plugin_path"]) == lay.plugin_dir and Path(config["nuke_path"]) == lay.nuke_dir
    assert config["serve_args"] == [] and config["version"] and Path(config["prefix"]) == lay.prefix
    for init in lay.nuke_init_files:
        text = init.read_text()
        assert text.count(BEGIN) == 1 and repr(str(lay.nuke_dir)) in text


@pytest.mark.parametrize("platform", ["linux", "darwin", "win32"])
def test_install_twice_is_once_and_uninstall_leaves_nothing(platform, machine_for, checkout, capsys):
    m = machine_for(platform)
    seed_user_files(m)
    before = snapshot(m.root)
    assert m.install("--source", str(checkout), "--yes") == 0
    lay = layout_of(m)
    check_installed(m, checkout, lay)
    init = lay.nuke_init_files[0].read_bytes()
    assert init.startswith(b"import nuke\r\nnuke.pluginAddPath('/studio/gizmos')\r\n\r\n")  # theirs first, untouched
    assert (lay.fusion_root / "Fuses" / "Studio.fuse").read_text() == "-- the studio's own Fuse\n"
    first = snapshot(m.root)
    capsys.readouterr()
    assert m.install("--source", str(checkout)) == 0
    assert "nothing changed" in capsys.readouterr().out
    assert snapshot(m.root) == first
    (lay.config_dir / "worker.log").write_text("filmstyle worker log\n")  # the hosts started a worker
    styles = lay.config_dir / "styles.yaml"
    styles.write_text("my-look: {image: /shows/ref.jpg}\n")  # the artist's own styles: never removed
    assert m.run("--uninstall", "--yes") == 0
    out = capsys.readouterr().out
    assert f"removed {lay.config_dir / 'worker.log'} (written by the worker)" in out
    assert f"kept {lay.config_dir}: holds files filmstyle did not install (styles.yaml)" in out
    after = snapshot(m.root)
    theirs = {p.relative_to(m.root).as_posix() for p in [styles, *styles.parents] if m.root in p.parents}
    assert set(after) - set(before) == theirs - set(before)  # their styles file and its folders, nothing else
    assert {k: after[k] for k in before} == before


def test_weights_cache_in_home_is_recorded_and_doctor_is_green(tmp_path, checkout, capsys):
    """The default cache folder, converted for real; doctor with every check; then nothing left."""
    from filmstyle_install.doctor import run_doctor

    m = make_machine(tmp_path, "linux")  # no FILMSTYLE_CACHE_DIR: the platform's cache folder in HOME
    before = snapshot(m.root)
    assert m.install("--source", str(checkout), "--weights") == 0
    first = snapshot(m.root)
    assert m.install("--source", str(checkout), "--weights") == 0
    assert snapshot(m.root) == first and "already cached" in capsys.readouterr().out
    cache = m.home / ".cache" / "filmstyle"
    assert sorted(p.name for p in (cache / "weights").glob("*.safetensors")) == [
        "cin26-0a2a0c9436a9.safetensors", "predictor-d832a92a6afc.safetensors", "transformer-866c80c340be.safetensors"]
    lay = layout_of(m)
    manifest = Manifest.load(lay.manifest_file)
    assert {Path(f.path) for f in manifest.files if f.role == "cache"} == {p for p in cache.rglob("*") if p.is_file()}
    assert str(m.home / ".cache") in manifest.dirs
    checks = run_doctor(lay.host_config, environ=m.environ)
    assert [(c.name, c.status) for c in checks if c.status != "ok"] == [], checks
    assert {c.name for c in checks} >= {"installation", "image formats", "OCIO config", "torch devices",
                                        "weights cache", "worker", "Nuke", "Resolve"}
    assert m.run("--uninstall", "--yes") == 0
    assert snapshot(m.root) == before  # also nothing from onnxruntime or the worker in HOME


def test_dry_run_writes_nothing(machine_for, checkout, capsys):
    m = machine_for("win32")
    seed_user_files(m)
    lay = layout_of(m)
    before = snapshot(m.root)
    assert m.install("--source", str(checkout), "--dry-run") == 0
    out = capsys.readouterr().out
    assert f"would add {lay.fusion_root / 'Fuses' / 'FilmStyleFixture.fuse'}" in out
    assert f"would edit {lay.nuke_init_files[0]}" in out and "nothing was written" in out
    assert snapshot(m.root) == before
    assert m.install("--source", str(checkout)) == 0
    installed = snapshot(m.root)
    for args in (("--dry-run",), ("--dry-run", "--hosts", "nuke"), ("--uninstall", "--dry-run")):
        assert m.install("--source", str(checkout), *args) == 0
        assert snapshot(m.root) == installed, args
    assert "would remove" in capsys.readouterr().out


def test_a_users_file_in_the_way_is_refused_then_forced_and_restored(machine_for, checkout, capsys):
    m = machine_for("linux")
    lay = layout_of(m)
    same = lay.fusion_root / "Scripts" / "Utility" / "FilmStyle Fixture.py"
    same.parent.mkdir(parents=True)
    same.write_text(RESOLVE_FIXTURES["Scripts/Utility/FilmStyle Fixture.py"])  # theirs, identical to ours
    theirs = lay.fusion_root / "Fuses" / "FilmStyleFixture.fuse"
    theirs.parent.mkdir(parents=True)
    theirs.write_text("-- somebody else's Fuse of the same name\n")
    before = snapshot(m.root)
    assert m.install("--source", str(checkout)) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{theirs}: exists and is not from filmstyle (--force" in err
    assert snapshot(m.root) == before  # refused before anything was written
    assert m.install("--source", str(checkout), "--force") == 0
    assert theirs.read_text() == RESOLVE_FIXTURES["Fuses/FilmStyleFixture.fuse"]
    assert m.run("--uninstall", "--yes") == 0
    assert snapshot(m.root) == before  # their Fuse is back, byte for byte


def test_files_changed_since_install_are_kept(machine_for, checkout, capsys):
    m = machine_for("darwin")
    before = snapshot(m.root)
    assert m.install("--source", str(checkout)) == 0
    lay = layout_of(m)
    script = lay.fusion_root / "Scripts" / "Utility" / "FilmStyle Fixture.py"
    script.write_text("# edited by the artist\n")
    capsys.readouterr()
    assert m.install("--source", str(checkout)) == 0  # a reinstall keeps their edit too
    assert script.read_text() == "# edited by the artist\n"
    assert f"kept {script}: changed since it was installed" in capsys.readouterr().out
    assert m.run("--uninstall", "--yes") == 0
    out = capsys.readouterr().out
    assert f"kept {script}: changed since install" in out
    left = set(snapshot(m.root)) - set(before)
    assert left == {p.relative_to(m.root).as_posix() for p in [script, *script.parents]
                    if m.root in p.parents and p.relative_to(m.root).as_posix() not in before}
    assert script.read_text() == "# edited by the artist\n"


def test_fewer_hosts_on_reinstall_removes_the_others(machine_for, checkout):
    m = machine_for("linux")
    before = snapshot(m.root)
    assert m.install("--source", str(checkout)) == 0
    lay = layout_of(m)
    assert (lay.fusion_root / "Fuses" / "FilmStyleFixture.fuse").is_file()
    assert m.install("--source", str(checkout), "--hosts", "nuke") == 0
    assert not lay.fusion_root.exists() and not (m.home / ".local" / "share" / "DaVinciResolve").exists()
    assert lay.nuke_init_files[0].is_file()
    assert m.install("--source", str(checkout), "--hosts", "resolve") == 0
    assert not lay.nuke_init_files[0].exists() and not lay.nuke_dir.exists()
    assert (lay.plugin_dir / "filmstyle_plugin" / "client.py").is_file()  # the Resolve scripts use it too
    assert m.run("--uninstall", "--yes") == 0
    assert snapshot(m.root) == before


@pytest.mark.parametrize("platform", ["linux", "win32"])
def test_all_users(platform, machine_for, checkout):
    m = machine_for(platform)
    apps = Path(m.environ["ProgramFiles"]) if platform == "win32" else m.system_root / "usr" / "local"
    (apps / "Nuke15.1v3").mkdir(parents=True)
    before = snapshot(m.root)
    assert m.install("--source", str(checkout), "--all-users") == 0
    lay = layout_of(m, "all")
    assert lay.host_config == lay.prefix / "host.json" and lay.host_config.is_file()
    assert not (lay.config_dir / "host.json").exists()  # nothing per-user
    check_installed(m, checkout, lay)
    assert str(lay.nuke_init_files[0]).endswith(str(Path("Nuke", "15.1", "plugins", "init.py")))
    assert m.run("--uninstall", "--yes", "--all-users") == 0
    assert snapshot(m.root) == before


def test_no_edit_prints_nuke_path_and_leaves_init_alone(machine_for, checkout, capsys):
    from filmstyle_install.doctor import run_doctor

    for platform, line in (("linux", 'export NUKE_PATH="'), ("win32", 'setx NUKE_PATH "')):
        m = machine_for(platform)
        assert m.install("--source", str(checkout), "--no-edit") == 0
        lay = layout_of(m)
        assert f"{line}{lay.nuke_dir}" in capsys.readouterr().out
        assert not lay.nuke_init_files[0].exists()
        if platform == "linux":
            nuke = next(c for c in run_doctor(lay.host_config, environ=m.environ, skip=("env", "worker"))
                        if c.name == "Nuke")
            assert nuke.status == "warn" and "NUKE_PATH" in nuke.fix
            env = dict(m.environ, NUKE_PATH=f"/studio/nuke:{lay.nuke_dir}")
            nuke = next(c for c in run_doctor(lay.host_config, environ=env, skip=("env", "worker")) if c.name == "Nuke")
            assert nuke.status == "ok"


def test_a_failed_install_can_still_be_uninstalled(machine_for, checkout, monkeypatch, capsys):
    m = machine_for("linux")
    before = snapshot(m.root)

    def broken(*args, **kwargs):
        raise InstallError("Resolve step failed on purpose")

    monkeypatch.setattr(installation, "_put", _fail_on_resolve(installation._put, broken))
    assert m.install("--source", str(checkout)) == 1
    assert "Resolve step failed on purpose" in capsys.readouterr().err
    lay = layout_of(m)
    assert lay.manifest_file.is_file() and lay.nuke_init_files[0].is_file()  # what was done is recorded
    monkeypatch.undo()
    assert m.run("--uninstall", "--yes") == 0
    assert snapshot(m.root) == before


def _fail_on_resolve(put, fail):
    def wrapped(rec, say, files, where):
        if any(role == "resolve" for _, _, role in files):
            fail()
        return put(rec, say, files, where)

    return wrapped


def test_installed_elsewhere_is_refused(machine_for, checkout, tmp_path, capsys):
    m = machine_for("linux")
    assert m.install("--source", str(checkout), "--hosts", "") == 0
    assert m.install("--source", str(checkout), "--prefix", str(tmp_path / "other")) == 1
    err = capsys.readouterr().err
    assert "already installed in" in err and "--uninstall --prefix" in err
    assert m.run("--uninstall", "--prefix", str(tmp_path / "other"), "--yes") == 1
    assert "no filmstyle installation here; host.json names" in capsys.readouterr().err


def test_bad_options_are_one_line(machine_for, checkout, capsys):
    m = machine_for("linux")
    assert m.install("--source", str(checkout), "--hosts", "nuke,houdini") == 1
    assert capsys.readouterr().err == "install.py: error: --hosts: unknown 'houdini', valid: nuke, resolve\n"
    assert m.install("--source", str(m.root)) == 1
    assert "not a filmstyle checkout" in capsys.readouterr().err
    assert m.install("--source", str(checkout), "--all-users", "--nuke-version", "15") == 1
    assert "--nuke-version: expected major.minor" in capsys.readouterr().err
    assert not (m.home / ".local").exists()
