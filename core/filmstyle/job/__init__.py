"""The job model: what to render, described once, validated at the boundary into immutable values.

* :mod:`~filmstyle.job.params` — the parameter table every surface is generated from.
* :mod:`~filmstyle.job.model` — :class:`Job` and :func:`job_from_data`, the one place values are
  checked and compiled; :mod:`~filmstyle.job.source` reads job files.
* :mod:`~filmstyle.job.plan` — :class:`RenderPlan` and :func:`build_plan` (the file system's say).
* :mod:`~filmstyle.job.schema` — the JSON Schema, the job template, the host schema.
* Building blocks: :mod:`~filmstyle.job.curves` (keyed values), :mod:`~filmstyle.job.look` (style
  blends at a strength), :mod:`~filmstyle.job.styles` and :mod:`~filmstyle.job.user_styles`,
  :mod:`~filmstyle.job.masks` and :mod:`~filmstyle.job.regions`.
"""

__all__ = [
    "JOB_VERSION",
    "SUPPORTED_VERSIONS",
    "Job",
    "job_from_data",
    "load_job",
    "RenderPlan",
    "build_plan",
    "blend_weights",
    "job_from_options",
    "plan_from_cli",
    "job_json_schema",
    "job_template",
    "host_schema",
]

# Exports load on first use, so the light parameter table can be imported alone (the command line
# builds its options from it without loading OpenImageIO).
_HOMES = {
    "JOB_VERSION": "model", "SUPPORTED_VERSIONS": "model", "Job": "model", "job_from_data": "model",
    "load_job": "source", "RenderPlan": "plan", "build_plan": "plan", "blend_weights": "options",
    "job_from_options": "options", "plan_from_cli": "options", "job_json_schema": "schema",
    "job_template": "schema", "host_schema": "schema",
}


def __getattr__(name: str):
    if name not in _HOMES:
        raise AttributeError(f"module 'filmstyle.job' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"filmstyle.job.{_HOMES[name]}"), name)
