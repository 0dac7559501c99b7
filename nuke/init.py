# FilmStyle for Nuke: put this folder on NUKE_PATH. Runs in every mode (GUI, -t, renders):
# it only adds paths, never imports torch and never blocks start-up.
import os

import nuke

_here = os.path.dirname(os.path.abspath(__file__))
nuke.pluginAddPath(os.path.join(_here, "icons"), addToSysPath=False)
# The stdlib host package (filmstyle_plugin) must be importable too: set FILMSTYLE_PLUGIN_PATH to
# the folder holding it when it is not installed in Nuke's Python.
for _p in filter(None, os.environ.get("FILMSTYLE_PLUGIN_PATH", "").split(os.pathsep)):
    nuke.pluginAddPath(_p)
