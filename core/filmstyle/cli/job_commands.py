"""Job-file commands: render, validate, job init, job schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from filmstyle.cli import app, render_with_progress, reports_errors
from filmstyle.errors import FilmStyleError

job_app = typer.Typer(help="Write a job template or the job file's JSON Schema.", no_args_is_help=True)
app.add_typer(job_app, name="job")


def _load(job_file: Path, *, overwrite: bool = False, frames: Optional[str] = None, proxy: Optional[str] = None):
    from filmstyle.job import load_job

    return load_job(job_file, overrides={"overwrite": True if overwrite else None, "frames": frames, "proxy": proxy})


@app.command()
@reports_errors
def render(
    job_file: Annotated[Path, typer.Argument(metavar="JOB.yaml", help="A job file (see `filmstyle job init`).")],
    overwrite: Annotated[bool, typer.Option(help="Re-render frames whose output already exists.")] = False,
    frames: Annotated[Optional[str], typer.Option(help="Render only these frames (overrides the job's frames).")] = None,
    proxy: Annotated[Optional[str], typer.Option(help="Preview at 1/2 or 1/4 (overrides the job's proxy).")] = None,
    warmup: Annotated[int, typer.Option(
        min=0, help="Temporal jobs: stylize this many of the job's frames before the first one rendered, "
        "without writing them, so a chunk's history matches a render of the whole shot.")] = 0,
    warmup_from: Annotated[Optional[int], typer.Option(
        help="With --warmup: never warm on frames before this one (the shot's first frame).")] = None,
    progress: Annotated[str, typer.Option(
        help="bar (on stderr) or json (one line per frame on stdout, for render managers).")] = "bar",
) -> None:
    """Render a YAML job file (or a chunk of its frames, for a farm)."""
    from filmstyle.errors import JobError
    from filmstyle.job import build_plan

    if progress not in ("bar", "json"):
        raise JobError(f"--progress: expected bar or json, got {progress!r}")
    plan = build_plan(_load(job_file, overwrite=overwrite, frames=frames, proxy=proxy))
    before = _frames_before(job_file, plan) if warmup and frames else ()
    if warmup_from is not None:
        before = tuple(f for f in before if f >= warmup_from)
    options = {"warmup": warmup, "before": before}
    if progress == "json":
        from filmstyle.cli.render_json import render_json

        render_json(plan, **options)
    else:
        render_with_progress(plan, **options)


def _frames_before(job_file: Path, plan) -> tuple[int, ...]:
    """The job's own frames (before ``--frames`` replaced them) that come before the plan's first."""
    from filmstyle import io
    from filmstyle.job.plan import resolve_path

    job = _load(job_file)
    first = plan.source.frames[0]
    try:
        frames = io.find_sequence(resolve_path(job.input, job.base_dir), job.frames).frames
    except FilmStyleError:
        return ()  # the job's frames are not all on disk: warm from the frames before that are
    return tuple(f for f in frames if f < first)


@app.command()
@reports_errors
def validate(
    job_file: Annotated[Path, typer.Argument(metavar="JOB.yaml", help="A job file.")],
) -> None:
    """Check a job file (fields, styles, curves, masks, input frames) and summarise it."""
    from filmstyle.job import build_plan

    job = _load(job_file)
    plan = build_plan(job)
    typer.echo(format_summary(job, plan))


def format_summary(job, plan) -> str:
    """What a job will do: files, frames, looks and their curves at the first, middle and last frame."""
    from filmstyle import io
    from filmstyle.job import JOB_VERSION

    frames = plan.source.frames
    samples = sorted({frames[0], frames[len(frames) // 2], frames[-1]})
    lines = [
        f"job: {job.source} (format {JOB_VERSION})",
        f"input: {plan.source.pattern}",
        f"output: {plan.output.pattern}",
        f"frames: {io.format_frame_range(frames)} ({len(frames)} frames)",
        f"device: {job.device} {job.precision}",
    ]

    def curve_rows(look, label: str) -> list[str]:
        rows = [f"{label} ({look.model}):"]
        rows.append(f"  {'strength':<30}" + "".join(f"{look.strength(f):>10.3f}" for f in samples))
        for layer in look.styles:
            cells = [f"{'-':>10}" if look.key_at(f) is None else f"{_weight(look, layer, f):>10.3f}" for f in samples]
            rows.append(f"  {'weight ' + layer.style.label:<30.30}" + "".join(cells))
        return rows

    lines.append(f"{'curves at frame':<32}" + "".join(f"{f:>10}" for f in samples))
    if plan.regions:
        outside = "untouched" if plan.default is None else "the default look"
        lines.append(f"regions: {len(plan.regions)} (later over earlier); outside them: {outside}")
        for i, region in enumerate(plan.regions):
            name = f" {region.name!r}" if region.name else ""
            kinds = ", ".join(map(str, job.regions[i].mask_data))
            lines += curve_rows(plan.looks[region.look], f"regions[{i}]{name} mask {kinds}")
        if plan.default is not None:
            lines += curve_rows(plan.looks[plan.default], "default")
    else:
        lines += curve_rows(plan.looks[0], "look")
    lines.append("weights are normalised per frame; '-' where the strength is 0 (source untouched)")
    quality = _quality_summary(plan, samples)
    if quality:
        lines.append(quality)
    return "\n".join(lines)


def _quality_summary(plan, samples) -> str:
    """One line with the shot-quality settings that are on (empty when all are off)."""
    from filmstyle.job.params import BY_NAME, DEFAULT_TILE_SIZE

    parts = []
    for name, param in BY_NAME.items():
        curve = plan.params.get(name)
        if param.keyable and param.off is not None and curve is not None:
            parts.append(f"{name} " + "/".join(f"{curve(f):.2f}" for f in samples))
    net = plan.network
    if net.stroke_scale is not None:
        parts.append(f"stroke_scale {net.stroke_scale:g} (detail {net.stroke_detail:g})")
    if net.tiling != "auto" or net.tile_size != DEFAULT_TILE_SIZE:
        parts.append(f"tiling {net.tiling} ({net.tile_size} px)")
    if net.shot_stats:
        parts.append("shot_stats")
    return "shot quality: " + ", ".join(parts) if parts else ""


def _weight(look, layer, frame) -> float:
    return sum(sw.weight for sw, lay in zip(look.blend_at(frame), look.styles) if lay is layer)


@job_app.command("init")
@reports_errors
def job_init(
    path: Annotated[Path, typer.Argument(help="Where to write the template.")] = Path("job.yaml"),
) -> None:
    """Write a commented job template (never overwrites a file)."""
    from filmstyle.errors import OutputError
    from filmstyle.io.targets import check_output_paths, write_file
    from filmstyle.job import job_template

    check_output_paths([path])  # before exists(): a name too long makes exists() raise
    if path.exists() or path.is_symlink():
        raise OutputError(f"{path}: already exists; choose another name (job init never overwrites)")
    try:
        write_file(path, job_template().encode("utf-8"), replace=False)
    except OutputError:
        if path.exists():  # made by someone else between the check and the write
            raise OutputError(f"{path}: already exists; choose another name (job init never overwrites)") from None
        raise
    typer.echo(f"wrote {path}; edit input/output/styles, then `filmstyle validate {path}`")


@job_app.command("schema")
@reports_errors
def job_schema(
    out: Annotated[Optional[Path], typer.Option(help="Write the schema to this file instead of stdout.")] = None,
) -> None:
    """Print the JSON Schema (draft 2020-12) of job files, for hosts and editors."""
    from filmstyle.io.targets import check_output_paths, write_file
    from filmstyle.job import job_json_schema

    schema = job_json_schema()
    text = json.dumps(schema, indent=2) + "\n"
    if out is None:
        typer.echo(text, nl=False)
    else:
        check_output_paths([out])
        _refuse_foreign_file(out, schema)
        write_file(out, text.encode("utf-8"))
        typer.echo(f"wrote {out}", err=True)


def _refuse_foreign_file(out: Path, schema: dict) -> None:
    """Refuse ``out`` when it exists and is not a filmstyle job schema: regenerating the schema an
    editor points at is the point of --out, replacing a plate or a job file by mistake is not (as
    ``job init``, there is no --force: choose another name)."""
    from filmstyle.errors import OutputError

    if not out.is_file():
        return  # missing: written; a folder or device: refused by the write with its own reason
    try:
        with out.open("rb") as fh:
            head = fh.read(1 << 20)
        existing = json.loads(head)
    except (OSError, ValueError):
        existing = None
    if not (isinstance(existing, dict) and existing.get("title") == schema.get("title")
            and str(existing.get("$id", "")).startswith(schema["$id"].rsplit("-", 1)[0])):
        raise OutputError(f"--out {out}: exists and is not a filmstyle job schema; choose another name "
                          "(job schema only replaces its own schema files)")
