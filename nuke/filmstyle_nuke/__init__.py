"""FilmStyle's Nuke node.

:mod:`.node` builds the node, :mod:`.bake` is its Render button, :mod:`.farm` renders what a
Write, ``nuke -x`` or a farm needs, :mod:`.startup` registers the callbacks (from ``init.py``),
:mod:`.knobs`, :mod:`.colour` and :mod:`.cache` hold the knob, colour and cache rules.
"""
