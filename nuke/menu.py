# FilmStyle for Nuke: GUI only (Nuke does not run menu.py for -t, -x or farm renders).
import nuke

try:
    import filmstyle_plugin  # noqa: F401  (init.py put it on sys.path, or says why not)

    _command = "import filmstyle_nuke.node; filmstyle_nuke.node.create_node()"
    _panel_command = "import filmstyle_nuke.panel; filmstyle_nuke.panel.open_panel()"
except ImportError:
    _command = ("nuke.message('FilmStyle: filmstyle_plugin was not found beside the nuke folder or in "
                "FILMSTYLE_PLUGIN_PATH: run the installer or set FILMSTYLE_PLUGIN_PATH')")
    _panel_command = _command

_toolbar = nuke.menu("Nodes").addMenu("FilmStyle", icon="FilmStyle.png")
_toolbar.addCommand("FilmStyle", _command, icon="FilmStyle.png")
# The panel (looks, keys, previews) is its own window: in the menu bar and beside the node.
_toolbar.addCommand("FilmStyle Panel", _panel_command, icon="FilmStyle.png")
nuke.menu("Nuke").addMenu("FilmStyle").addCommand("Open Panel...", _panel_command)
