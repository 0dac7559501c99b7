# FilmStyle for Nuke: GUI only (Nuke does not run menu.py for -t, -x or farm renders).
import nuke

try:
    import filmstyle_plugin  # noqa: F401  (init.py put it on sys.path, or says why not)

    _command = "import filmstyle_nuke.node; filmstyle_nuke.node.create_node()"
except ImportError:
    _command = ("nuke.message('FilmStyle: filmstyle_plugin was not found beside the nuke folder or in "
                "FILMSTYLE_PLUGIN_PATH: run the installer or set FILMSTYLE_PLUGIN_PATH')")

_toolbar = nuke.menu("Nodes").addMenu("FilmStyle", icon="FilmStyle.png")
_toolbar.addCommand("FilmStyle", _command, icon="FilmStyle.png")
