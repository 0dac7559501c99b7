"""The script's colour settings, so the worker's ``scene_linear`` is Nuke's working space.

Nuke's root knobs (as read by deadline-cloud-for-nuke's ``nuke_util/ocio.py``): ``$OCIO`` wins,
then ``customOCIOConfigPath`` when ``OCIO_config`` is ``custom``, then ``OCIOConfigPath`` (the
stock config Nuke resolved); the working space is ``workingSpaceLUT``. The node's own knobs for
the job's ``<group>.ocio`` and ``<group>.input_colorspace`` fields override them when set (the
input colourspace left at ``scene_linear`` means the working space).
"""

import os

import nuke

from filmstyle_nuke.knobs import knob_path
from filmstyle_plugin.schema import load_schema

__all__ = ["root_config", "working_space", "colour_settings", "colour_fields"]


def colour_fields():
    """``(group, ocio knob, input colourspace knob)`` from the schema's job paths (``color.ocio``)."""
    by_field = {p.job.split(".", 1)[1]: p for p in load_schema() if p.job and p.job.count(".") == 1
                and p.job.split(".", 1)[1] in ("ocio", "input_colorspace")}
    group = by_field["ocio"].job.split(".")[0]
    return group, by_field["ocio"].name, by_field["input_colorspace"].name


def _root_value(name):
    knob = nuke.root().knob(name)
    if knob is None:
        return ""
    return knob_path(knob) if hasattr(knob, "getText") else str(knob.value())


def root_config():
    """The OCIO config the script uses (a file or ``ocio://`` URI), or ``None``."""
    if os.environ.get("OCIO"):
        return os.environ["OCIO"]
    if _root_value("colorManagement") == "OCIO" and _root_value("OCIO_config") == "custom":
        return _root_value("customOCIOConfigPath") or None
    return _root_value("OCIOConfigPath") or None


def working_space():
    return _root_value("workingSpaceLUT") or "scene_linear"


def colour_settings(node):
    """``{"ocio": ..., "input_colorspace": ...}`` for a job whose input is the node's Source."""
    _, ocio_knob, space_knob = colour_fields()
    ocio = knob_path(node[ocio_knob]) if node.knob(ocio_knob) is not None else ""
    ocio = ocio or root_config()
    space = node[space_knob].value() if node.knob(space_knob) is not None else ""
    if space in ("", "scene_linear"):
        space = working_space()
        if not ocio and space.lower() in ("linear", "default"):
            space = "lin_rec709"  # Nuke-managed colour without a config: linear Rec.709
    out = {"input_colorspace": space}
    if ocio:
        out["ocio"] = ocio
    return out
