"""DaVinci Resolve host layer: the Workspace ▸ Scripts entries and what they share.

Standard library only (Resolve's Python 3.9-3.12); Resolve objects are typed with PyPI's
``fusionscript-stubs`` for mypy, never imported at run time.

* :mod:`~filmstyle_plugin.resolve.markers` – the ``filmstyle`` marker syntax → keyed curves;
* :mod:`~filmstyle_plugin.resolve.media` – a media pool item's file pattern, frame numbers, timecode;
* :mod:`~filmstyle_plugin.resolve.timeline` – timeline items → source ranges with handles;
* :mod:`~filmstyle_plugin.resolve.stylize` – "Stylize clips": plan, render through the worker,
  import into the FilmStyle bin, add as a take;
* :mod:`~filmstyle_plugin.resolve.add_node` – "Add node": the Fuse in the current comp with a job's
  curves as BezierSpline keys;
* :mod:`~filmstyle_plugin.resolve.ui` – the UIManager windows;
* :mod:`~filmstyle_plugin.resolve.app` – finding ``resolve``/``fusion``/``bmd`` from a menu script.
"""
