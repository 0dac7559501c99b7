# FilmStyle for Nuke: put this folder on NUKE_PATH (or nuke.pluginAddPath it from ~/.nuke/init.py).
# Nuke runs init.py in every mode (GUI, -t, -x, farm): it adds paths and registers two callbacks
# (node ids, renders of frames the Render button has not made); it never imports torch and never
# blocks start-up. If filmstyle_plugin cannot be found it says so once and does nothing else.
import os
import sys

import nuke


def _filmstyle_folder():
    try:
        return os.path.dirname(os.path.abspath(__file__))
    except NameError:  # run without __file__: find this folder on the plug-in path
        for path in nuke.pluginPath():
            if os.path.isfile(os.path.join(path, "filmstyle_nuke", "__init__.py")):
                return path
        return None


def _filmstyle_setup():
    here = _filmstyle_folder()
    if here is None:
        sys.stderr.write("FilmStyle: cannot locate its nuke folder; the node is unavailable\n")
        return
    if here not in sys.path:
        sys.path.insert(0, here)
    nuke.pluginAddPath(os.path.join(here, "icons"), addToSysPath=False)
    try:
        import filmstyle_plugin  # noqa: F401  (already installed in Nuke's Python)
    except ImportError:
        # Installed layout and source checkout alike: ../plugin beside this folder, else the
        # folders in FILMSTYLE_PLUGIN_PATH.
        candidates = [os.path.join(os.path.dirname(here), "plugin")]
        candidates += [p for p in os.environ.get("FILMSTYLE_PLUGIN_PATH", "").split(os.pathsep) if p]
        found = next((c for c in candidates
                      if os.path.isfile(os.path.join(c, "filmstyle_plugin", "__init__.py"))), None)
        if found is None:
            sys.stderr.write("FilmStyle: filmstyle_plugin not found in %s or FILMSTYLE_PLUGIN_PATH; "
                             "the node is unavailable\n" % candidates[0])
            return
        sys.path.insert(0, found)
    import filmstyle_nuke.startup

    filmstyle_nuke.startup.install()


_filmstyle_setup()
del _filmstyle_setup, _filmstyle_folder
