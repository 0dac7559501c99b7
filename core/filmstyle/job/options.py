"""Command-line options as a job: ``stylize`` flags go through the same boundary as job files.

The options are named after the parameter table (:mod:`filmstyle.job.params`); ``--style`` may be
given several times and ``--blend`` keys the weight of the last one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from filmstyle.errors import FilmStyleError, JobError
from filmstyle.job.curves import Curve, Key, parse_curve
from filmstyle.job.model import Job, job_from_data
from filmstyle.job.params import BY_NAME, JOB_VERSION, cli_parameters
from filmstyle.job.plan import RenderPlan, build_plan

__all__ = ["blend_weights", "job_from_options", "plan_from_cli"]


def blend_weights(styles: list[str], blend: Any = None, *, field: str = "--blend") -> list[dict[str, Any]]:
    """Style entries (job data) for ``--style A --style B [--blend CURVE]``.

    Without ``blend`` every style gets weight 1 (an even mix). With it, ``blend`` (0..1, a number
    or a curve) is the weight of the LAST style and the others share ``1 - blend`` evenly, so
    ``--style A --style B --blend "1001:0, 1100:1"`` migrates from A to B over the shot.
    """
    if not styles:
        raise JobError("--style: at least one style is required")
    if blend is None:
        return [{"style": s} for s in styles]
    if len(styles) < 2:
        raise JobError(f"{field}: needs at least two --style options (it is the weight of the last one)")
    try:
        curve = parse_curve(blend, field=field)
    except FilmStyleError as exc:
        raise JobError(str(exc)) from None
    p = BY_NAME["blend"]
    values = [k.value for k in curve.keys]
    if min(values) < p.minimum or max(values) > p.maximum:  # type: ignore[operator]
        raise JobError(f"{field}: expected values in {p.bounds_text()}, got {min(values):g}..{max(values):g}")
    share = len(styles) - 1
    # Scaling and offsetting every key transforms every interpolated value the same way, so
    # the other styles' weights are exactly (1 - blend) / share on every frame.
    rest = Curve([Key(k.frame, (1.0 - k.value) / share, k.interp) for k in curve.keys])
    return ([{"style": s, "weight": rest.to_data()} for s in styles[:-1]]
            + [{"style": styles[-1], "weight": curve.to_data()}])


def job_from_options(*, style: str | list[str] = (), blend: Any = None, base_dir: Path | None = None,
                     **options: Any) -> Job:
    """A job from command-line values named as in the parameter table (None = not given).

    ``style`` is one style or a list (``--style`` given several times); ``blend`` see
    :func:`blend_weights`; curves may be numbers or any curve text.
    """
    names = [style] if isinstance(style, str) else list(style)
    data: dict[str, Any] = {"filmstyle": JOB_VERSION}
    if names or not options.get("keyframes"):  # painted keyframes alone are a look of their own
        data["styles"] = blend_weights(names, blend)
    known = {p.name: p for p in cli_parameters() if p.path is not None}
    for name, value in options.items():
        param = known.get(name)
        if param is None:
            raise TypeError(f"unknown option {name!r}")
        if value is None:
            continue
        node = data if param.group is None else data.setdefault(param.group, {})
        node[param.key] = value
    return job_from_data(data, base_dir=base_dir or Path.cwd(), source="<command line>")


def plan_from_cli(*, style: str | list[str] = (), blend: Any = None, **options: Any) -> RenderPlan:
    """The ``stylize`` command's values as a render plan (flags and job files share one code path)."""
    return build_plan(job_from_options(style=style, blend=blend, **options))
