"""Plays the ``nuke`` executable for the stand-in: start-up scripts, then ``-t``, ``-x`` or the GUI.

    python -I -S launch.py [--gui] -t script.py [args...]     # Python mode (a farm's wrapper)
    python -I -S launch.py -x script.json [-F first-last]       # render every active Write
    python -I -S launch.py --gui script.py [args...]            # GUI session driven by a script

Start-up follows pythondevguide/startup.html: the plug-in path is ``~/.nuke``, then the
``NUKE_PATH`` folders; "NUKE initialization scripts are run in reverse order of the NUKE plug-in
path" and "init.py ... is read for both command-line and interactive sessions", while menu.py is
GUI only (hosts.md [NSTART]). Only the standard library and this stand-in are importable here, as
in a Nuke whose Python has nothing else installed: run with ``-I -S``.
"""

import os
import sys


def main(argv):
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path.insert(0, here)
    import nuke

    gui = "--gui" in argv
    argv = [a for a in argv if a != "--gui"]
    nuke._standin_set_gui(gui)
    home_nuke = os.path.join(os.path.expanduser("~"), ".nuke")
    path = [home_nuke] + [p for p in os.environ.get("NUKE_PATH", "").split(os.pathsep) if p]
    nuke._app.state.plugin_paths = list(path)
    for p in path:
        if p not in sys.path:
            sys.path.append(p)
    ran = set()
    for p in reversed(path):
        init = os.path.join(p, "init.py")
        if init not in ran:
            ran.add(init)
            nuke._standin_run_plugin_file(init)
    if gui:
        for p in reversed(nuke.pluginPath()):
            nuke._standin_run_plugin_file(os.path.join(p, "menu.py"))
    if argv and argv[0] == "-x":
        script, first, last = argv[1], None, None
        if "-F" in argv:
            lo, _, hi = argv[argv.index("-F") + 1].partition("-")
            first, last = int(lo), int(hi or lo)
        nuke.scriptOpen(script)
        root = nuke.root()
        first = first if first is not None else int(root["first_frame"].value())
        last = last if last is not None else int(root["last_frame"].value())
        try:
            nuke._standin_render_all(first, last)
        except RuntimeError as exc:
            sys.stderr.write("ERROR: %s\n" % exc)
            return 1
        return 0
    if argv and argv[0] == "-t":
        argv = argv[1:]
    if argv:
        sys.argv = list(argv)
        nuke._standin_run_plugin_file(argv[0])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
