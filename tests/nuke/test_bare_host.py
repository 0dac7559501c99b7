"""The node imported and run the way Nuke runs it: a bare interpreter (Python 3.9 where Debian's
``pypy3`` is installed), only the standard library, the stand-in, and what the README or the
installer sets up: ``NUKE_PATH`` (or a ``pluginAddPath`` line in ``~/.nuke/init.py``) and
``host.json``."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np

from tests.nuke.conftest import FRAMES, NUKE_DIR, ROOT, rgb_of, run_like_nuke, write_plates

SESSION = r'''
import json, sys
import nuke
from nuke import _exr

plates, script = sys.argv[1], sys.argv[2]
report = {"python": list(sys.version_info[:2]), "implementation": sys.implementation.name,
          "site": "site" in sys.modules, "numpy": "numpy" in sys.modules, "torch": "torch" in sys.modules}
nuke.root()["format"].setValue("64 48")
nuke.root()["name"].setValue(script)
read = nuke.nodes.Read(file=plates, first=1001, last=1002)
read.setSelected(True)
command, icon = nuke.menu("Nodes").findItem("FilmStyle").findItem("FilmStyle")
exec(command, {"nuke": nuke})                  # the artist picks Nodes > FilmStyle
node = nuke.selectedNodes()[-1] if nuke.selectedNodes() else None
report["messages"] = list(nuke._standin_messages())
if node is not None and node.knob("fs_id") is not None:
    report["connected"] = node.input(0) is read
    node["first"].setValue(1001)
    node["last"].setValue(1002)
    nuke.scriptSave(script)
    node["fs_render"].execute()                # the artist presses Render
    import filmstyle_nuke.bake as bake
    nuke._standin_pump(until=lambda: not bake.running(node), timeout=300)
    report["result"] = bake.last_result(node)
    report["status"] = node["fs_status"].value()
    report["frames"] = [sum(node.image(f).planes[0]) for f in (1001, 1002)]
    report["cache"] = nuke.toNode(node.name() + ".fs_read")["file"].value()
    report["messages"] = list(nuke._standin_messages())
print("REPORT " + json.dumps(report))
'''


def session(tmp_path, home, **kw):
    script = tmp_path / "gui_session.py"
    script.write_text(SESSION)
    plates = write_plates(tmp_path / "plates", FRAMES[:2])
    proc = run_like_nuke(["--gui", str(script), plates, str(tmp_path / "shot.nk")], home=home, **kw)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("REPORT ")]
    assert lines, proc.stdout + proc.stderr
    return json.loads(lines[-1][len("REPORT "):]), proc, plates


def test_bare_interpreter_cannot_import_the_project_by_itself(tmp_path, artist_home):
    probe = tmp_path / "probe.py"
    probe.write_text("import importlib.util as u\nprint('FOUND', [m for m in ('filmstyle_plugin', 'filmstyle_nuke', "
                     "'filmstyle', 'numpy') if u.find_spec(m)])\n")
    proc = run_like_nuke(["-t", str(probe)], home=artist_home, nuke_path="")
    assert "FOUND []" in proc.stdout, proc.stdout + proc.stderr


def test_readme_steps_nuke_path_then_menu_then_render(tmp_path, artist_home):
    report, proc, plates = session(tmp_path, artist_home, nuke_path=str(NUKE_DIR))
    assert report["python"][0] == 3 and not report["site"] and not report["numpy"] and not report["torch"]
    assert report["connected"] and report["result"]["state"] == "done", (report, proc.stderr)
    assert report["result"]["written"] == list(FRAMES[:2])
    assert all(v > 0 for v in report["frames"]) and not report["messages"]
    cache = Path(report["cache"].replace("%04d", "1001"))
    assert cache.parent.parent == tmp_path / "filmstyle_cache"
    assert np.abs(rgb_of(cache) - rgb_of(plates.replace("####", "1001"))).mean() > 0.01


def test_installer_layout_plugin_add_path_from_home_init(tmp_path, artist_home):
    home_nuke = artist_home / ".nuke"
    home_nuke.mkdir(exist_ok=True)
    (home_nuke / "init.py").write_text(
        "# >>> filmstyle >>>\nimport nuke\nnuke.pluginAddPath(%r)\n# <<< filmstyle <<<\n" % str(NUKE_DIR))
    try:
        report, proc, _ = session(tmp_path, artist_home, nuke_path="")
    finally:
        (home_nuke / "init.py").unlink()
    assert report["result"]["state"] == "done", (report, proc.stderr)


def test_without_filmstyle_plugin_nuke_still_starts_and_says_why(tmp_path, artist_home):
    lonely = tmp_path / "install" / "nuke"
    shutil.copytree(NUKE_DIR, lonely, ignore=shutil.ignore_patterns("__pycache__"))
    report, proc, _ = session(tmp_path, artist_home, nuke_path=str(lonely))
    assert "filmstyle_plugin not found" in proc.stderr
    assert report["messages"] and "FILMSTYLE_PLUGIN_PATH" in report["messages"][0]
    # The same folder works once FILMSTYLE_PLUGIN_PATH names the plugin folder.
    report, proc, _ = session(tmp_path, artist_home, nuke_path=str(lonely),
                              extra_env={"FILMSTYLE_PLUGIN_PATH": str(ROOT / "plugin")})
    assert report["result"]["state"] == "done", (report, proc.stderr)
