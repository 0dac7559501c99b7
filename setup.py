"""Build hook: the wheel carries the host folders as package data.

``nuke/``, ``resolve/`` and ``plugin/filmstyle_plugin/`` are copied to ``filmstyle/hosts/`` in the
wheel, in the same layout the installer gives them (``hosts/nuke`` beside
``hosts/plugin/filmstyle_plugin``), so ``install.py --wheel`` needs nothing but the wheel.
Everything else is configured in pyproject.toml.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
HOST_TREES = ("nuke", "resolve", "plugin/filmstyle_plugin")


def _wanted(path: Path) -> bool:
    return not any(p == "__pycache__" or p.startswith(".") for p in path.parts) and path.suffix not in (".pyc", ".pyo")


class BuildPyWithHosts(build_py):
    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install runs from the checkout, whose folders are the host folders
        hosts = Path(self.build_lib, "filmstyle", "hosts")
        shutil.rmtree(hosts, ignore_errors=True)  # no file left over from an earlier build
        for tree in HOST_TREES:
            source = ROOT / tree
            for path in sorted(source.rglob("*")):
                rel = path.relative_to(source)
                if path.is_file() and _wanted(rel):
                    target = hosts / tree / rel
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(path, target)


setup(cmdclass={"build_py": BuildPyWithHosts})
