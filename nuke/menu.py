# FilmStyle for Nuke: GUI only (Nuke does not run menu.py for -t, -x or farm renders).
import nuke

_toolbar = nuke.menu("Nodes").addMenu("FilmStyle", icon="FilmStyle.png")
_toolbar.addCommand("FilmStyle", "import filmstyle_nuke.node; filmstyle_nuke.node.create_node()", icon="FilmStyle.png")
