"""The panel: a PySide6 window for looking at a shot, choosing and keying looks, and rendering.

``filmstyle panel [job.yaml]`` (:func:`~filmstyle.panel.app.run_panel`) opens it. It is a client
of the local worker, like the Nuke node and the Resolve scripts: previews, thumbnails and renders
are jobs sent to ``filmstyle serve`` through :mod:`filmstyle_plugin.client`, so the panel never
imports torch, the engine or the models (a test checks ``torch`` stays out of ``sys.modules``).
It uses the torch-free parts of the core: the parameter table (its controls are built from each
entry's panel widget kind), the job model (load, validate, ``to_data``, curves, masks), OIIO
reads and OCIO display transforms.

It runs as its own process in the filmstyle environment's Python, also when a host starts it
(Nuke's menu and Resolve's script launch it with ``host.json``'s python, as they launch the
worker, see :mod:`filmstyle_plugin.panel`): so it has numpy, OpenImageIO, OpenColorIO and the job
model at the versions filmstyle is tested with, Resolve (which has no Qt) and Nuke 16 (whose own
PySide6 and Python differ between releases) need nothing but the standard library, and a
panel that is busy or fails never stalls the host's UI.

Rooms, bottom up:

* :mod:`.keys` — curve edits as pure functions (add, move, interpolation, delete);
* :mod:`.relocate` — paths in job data moved to another folder or made absolute;
* :mod:`.document` — the job being edited, validated after every edit, undo, atomic save;
* :mod:`.preview` — preview and thumbnail jobs at proxy size;
* :mod:`.display` — frames and masks for the viewer, OCIO display transform;
* :mod:`.service` — the background threads (worker link, frames, previews, thumbnails, render);
* widgets: :mod:`.viewer` (before/after wipe, mask overlay), :mod:`.curve_editor`,
  :mod:`.style_picker` (blend and thumbnails), :mod:`.controls` (settings from the table);
* :mod:`.window` — the main window; :mod:`.app` — start-up and ``--screenshot``.
"""
