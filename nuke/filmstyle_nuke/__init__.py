"""FilmStyle's Nuke node; see :mod:`filmstyle_nuke.node`."""
