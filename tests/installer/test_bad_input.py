"""Bad input (options, a hand-edited manifest or host.json): one line naming it, exit 1, nothing done."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from filmstyle_install.manifest import FORMAT, sha256_file

from .conftest import REPO, snapshot
from .test_install import layout_of

posix_only = pytest.mark.skipif(os.name == "nt", reason="execute permission is a POSIX file mode")


def refused(capsys, *needles: str) -> str:
    """The one error line, which must name every needle; nothing on stdout."""
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and err.startswith("install.py: error: "), (out, err)
    for needle in needles:
        assert needle in err, err
    return err


# --- options --------------------------------------------------------------------------------------

@posix_only
@pytest.mark.parametrize("dry_run", [True, False])
def test_python_that_cannot_run_is_refused_before_anything(dry_run, machine_for, checkout, capsys):
    m = machine_for("linux")
    plain = m.root / "python"
    plain.write_text("not a program\n")
    plain.chmod(0o644)
    before = snapshot(m.root)
    for python, why in ((plain, "is not executable"), (m.root, "is not a file"), (m.root / "gone", "does not exist")):
        args = ("--source", str(checkout)) + (("--dry-run",) if dry_run else ())
        assert m.install(*args, python=str(python)) == 1
        refused(capsys, f"--python: {python} {why}")
        assert snapshot(m.root) == before  # not even the prefix folder


def test_prefix_that_is_a_file_says_so(machine_for, checkout, capsys):
    m = machine_for("linux")
    plain = m.root / "a-file"
    plain.write_text("x\n")
    for prefix in (plain, plain / "below"):
        assert m.install("--source", str(checkout), "--dry-run", "--prefix", str(prefix)) == 1
        err = refused(capsys, f"--prefix: {plain} is a file, not a folder")
        assert "manifest" not in err


def test_prefix_in_a_checkout_at_the_root_or_empty_is_refused(machine_for, checkout, capsys):
    m = machine_for("linux")
    before = snapshot(m.root)
    cases = [(REPO, "is in the filmstyle checkout"),  # the checkout the installer runs from
             (REPO / "core", "is in the filmstyle checkout"),
             (checkout, "is in the filmstyle checkout"),  # the --source checkout
             (checkout / "nuke" / "sub", "is in the filmstyle checkout"),
             (Path(os.path.abspath(os.sep)), "is the filesystem root"),
             ("", "--prefix: empty")]
    for prefix, why in cases:
        assert m.install("--source", str(checkout), "--dry-run", "--prefix", str(prefix)) == 1, prefix
        refused(capsys, "--prefix", why)
        assert m.run("--uninstall", "--dry-run", "--source", str(checkout), "--prefix", str(prefix)) == 1
        refused(capsys, "--prefix", why)
    assert snapshot(m.root) == before


def test_relative_prefix_is_made_absolute(machine_for, checkout, capsys, monkeypatch):
    m = machine_for("linux")
    monkeypatch.chdir(m.root)
    assert m.install("--source", str(checkout), "--dry-run", "--hosts", "", "--prefix", "rel") == 0
    assert f"into {m.root / 'rel'} (linux" in capsys.readouterr().out


def test_nuke_version_and_cuda_forms_are_checked_always(machine_for, checkout, capsys):
    m = machine_for("linux")
    before = snapshot(m.root)
    assert m.install("--source", str(checkout), "--dry-run", "--nuke-version", "abc") == 1  # no --all-users
    refused(capsys, "--nuke-version: expected major.minor", "'abc'")
    for cuda in ("cu1 28;rm", "cuda128", "cu", "128", "cu128/../x"):
        assert m.install("--source", str(checkout), "--dry-run", "--cuda", cuda) == 1, cuda
        refused(capsys, "--cuda: expected a PyTorch CUDA variant such as cu128", repr(cuda))
    assert snapshot(m.root) == before


def test_cuda_variants_reach_the_index_url(machine_for, checkout, capsys):
    m = machine_for("linux")
    for args, variant in ((("--cuda",), "cu128"), (("--cuda", "cu126"), "cu126")):
        # No --python: the dry run prints the pip lines for the environment it would create.
        assert m.run("--source", str(checkout), "--dry-run", "--no-weights", "--base-python", sys.executable,
                     *args) == 0
        assert f"--index-url https://download.pytorch.org/whl/{variant} " in capsys.readouterr().out


# --- a hand-edited install manifest ---------------------------------------------------------------

def _manifest(m, lay) -> dict:
    """A manifest for one real installed file, so a partial uninstall would show."""
    ours = lay.prefix / "nuke" / "menu.py"
    ours.parent.mkdir(parents=True)
    ours.write_text("# installed\n")
    return {"format": FORMAT, "version": "1.0", "platform": "linux", "scope": "user", "prefix": str(lay.prefix),
            "python": sys.executable, "venv": None, "dirs": [str(lay.prefix / "nuke")],
            "files": [{"path": str(ours), "sha256": sha256_file(ours), "role": "nuke"},
                      {"path": str(lay.prefix / "nuke" / "init.py"), "sha256": "0" * 64, "role": "nuke"}],
            "blocks": [{"path": str(m.home / ".nuke" / "init.py"), "sha256": "0" * 64, "separator": "\n",
                        "created_file": True}]}


@pytest.mark.parametrize("edit, message", [
    (lambda d: d.update(venv=5), "field 'venv' should be a string, got a number"),
    (lambda d: d["blocks"][0].update(path=5), "field 'blocks[0].path' should be a string, got a number"),
    (lambda d: d["files"][1].update(path=None), "field 'files[1].path' should be a string, got null"),
    (lambda d: d["files"].__setitem__(1, 3), "field 'files[1]' should be an object, got a number"),
    (lambda d: d["files"][1].update(owned="no"), "field 'files[1].owned' should be true or false, got a string"),
    (lambda d: d["files"][1].update(path="menu.py"), "field 'files[1].path' should be an absolute path"),
    (lambda d: d.update(dirs="nuke"), "field 'dirs' should be a list, got a string"),
    (lambda d: d.update(options={"hosts": "nuke"}), "field 'options.hosts' should be a list, got a string"),
    (lambda d: d["files"][1].pop("sha256"), "install manifest is missing field 'files[1].sha256'"),
])
def test_malformed_manifest_is_named_before_anything_is_removed(edit, message, machine_for, capsys):
    m = machine_for("linux")
    lay = layout_of(m)
    data = _manifest(m, lay)
    edit(data)
    lay.manifest_file.write_text(json.dumps(data))
    before = snapshot(m.root)
    for args in (("--dry-run",), ("--yes",)):
        assert m.run("--uninstall", *args) == 1
        refused(capsys, str(lay.manifest_file), message)
        assert snapshot(m.root) == before


def test_the_manifest_check_accepts_what_install_writes(machine_for, capsys):
    m = machine_for("linux")
    lay = layout_of(m)
    lay.manifest_file.parent.mkdir(parents=True)
    lay.manifest_file.write_text(json.dumps(_manifest(m, lay)))
    assert m.run("--uninstall", "--yes") == 0
    assert not (lay.prefix / "nuke").exists()


# --- a hand-edited host.json ----------------------------------------------------------------------

def _installation(m, capsys, *skip: str) -> dict:
    """doctor's installation line, from the text report and the JSON one (they must agree)."""
    skip_arg = ",".join(("worker",) + skip)
    assert m.run("doctor", "--skip", skip_arg) == 1
    text = capsys.readouterr().out
    assert m.run("doctor", "--skip", skip_arg, "--json") == 1
    report = {c["name"]: c for c in json.loads(capsys.readouterr().out)["checks"]}
    assert f"FAIL  installation  {report['installation']['detail']}" in text
    assert all("\n" not in c["detail"] for c in report.values())
    return report


@pytest.mark.parametrize("content, detail", [
    ('{"python": 5}', '"python" should be a string, got a number'),
    ('{"prefix": 7}', '"prefix" should be a string, got a number'),
    ('{"python": "%(python)s", "serve_args": "--port 1"}', '"serve_args" should be a list of strings'),
    ("{not json", "not valid JSON"),
    ("[1, 2]", "should hold a JSON object, holds a list"),
    (b"\xff\xfe\x00binary", "not a text file"),
    (None, "a folder, not a file"),
])
def test_doctor_names_what_is_wrong_with_host_json(content, detail, machine_for, capsys):
    m = machine_for("linux")
    config = layout_of(m).host_config
    config.parent.mkdir(parents=True)
    if content is None:
        config.mkdir()
    elif isinstance(content, bytes):
        config.write_bytes(content)
    else:
        config.write_text(content % {"python": sys.executable} if "%(" in content else content)
    report = _installation(m, capsys)
    assert report["installation"]["status"] == "fail"
    assert report["installation"]["detail"].startswith(f"{config}: {detail}")
    assert report["environment"]["detail"] == "interpreter (none configured) not found"


@posix_only
def test_doctor_with_an_interpreter_that_cannot_run(machine_for, capsys):
    m = machine_for("linux")
    config = layout_of(m).host_config
    config.parent.mkdir(parents=True)
    plain = m.root / "python"
    plain.write_text("not a program\n")
    plain.chmod(0o644)
    for python, why in ((plain, "is not executable"), (m.root, "is not a file")):
        config.write_text(json.dumps({"python": str(python)}))
        report = _installation(m, capsys)
        assert report["installation"]["detail"] == f"{config}: python {python} {why}"
        assert report["environment"]["detail"] == f"interpreter {python} {why}"
    # --python names the interpreter for the environment checks; it must not be run either.
    config.write_text(json.dumps({"python": sys.executable}))
    assert m.run("doctor", "--skip", "install,worker,hosts", "--python", str(plain)) == 1
    assert f"interpreter {plain} is not executable" in capsys.readouterr().out


def test_run_probe_reports_an_interpreter_it_cannot_start(tmp_path):
    from filmstyle_install import environment
    from filmstyle_install.fsops import InstallError

    with pytest.raises(InstallError, match="cannot run it"):
        environment.run_probe(str(tmp_path), "info")  # a folder: PermissionError or IsADirectoryError


def test_wrong_types_in_host_json_and_worker_json_do_not_break_install_or_uninstall(machine_for, checkout, capsys):
    m = machine_for("linux")
    lay = layout_of(m)
    lay.host_config.parent.mkdir(parents=True)
    lay.host_config.write_text('{"prefix": 7}')
    assert m.run("--uninstall", "--dry-run") == 1
    refused(capsys, "no filmstyle installation here")
    assert m.install("--source", str(checkout), "--dry-run", "--hosts", "") == 0
    capsys.readouterr()
    lay.manifest_file.parent.mkdir(parents=True)
    lay.manifest_file.write_text(json.dumps(_manifest(m, lay)))
    (lay.config_dir / "worker.json").write_text('{"pid": "1234"}')
    assert m.run("--uninstall", "--dry-run") == 0
    assert "would remove" in capsys.readouterr().out
