"""What ``init.py`` registers, in every mode (GUI, ``-t``, ``-x``, farm): node ids and renders."""

import nuke

__all__ = ["install"]


def _on_create():
    from filmstyle_nuke.node import ensure_unique_id

    ensure_unique_id(nuke.thisNode())


def _before_frame_render():
    from filmstyle_nuke.farm import before_frame_render

    before_frame_render()


def install():
    """Register the callbacks; running init.py twice (NUKE_PATH and pluginAddPath) registers once."""
    for remove, add, call, node_class in (
        (nuke.removeOnCreate, nuke.addOnCreate, _on_create, "Group"),
        (nuke.removeBeforeFrameRender, nuke.addBeforeFrameRender, _before_frame_render, "*"),
    ):
        try:
            remove(call, nodeClass=node_class)
        except (ValueError, KeyError):
            pass
        add(call, nodeClass=node_class)
