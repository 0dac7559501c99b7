"""The ``metrics`` command: temporal and style quality of a rendered sequence against its source."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from filmstyle.cli import app, reports_errors


@app.command()
@reports_errors
def metrics(
    source: Annotated[str, typer.Argument(help="Source sequence: shot.####.exr, shot.%04d.exr, shot.$F4.exr.")],
    output: Annotated[str, typer.Argument(help="Stylized sequence, same frames.")],
    style: Annotated[
        Optional[str],
        typer.Option("--style", "-s", help="Style image, or a built-in look (compared through its render of the sample photograph)."),
    ] = None,
    frames: Annotated[Optional[str], typer.Option(help="Frames: 1001-1100, 1001-1100x2, 1001,1005.")] = None,
    out: Annotated[Path, typer.Option(help="Report folder (metrics.json, report.html, plots, contact sheet).")] = Path("filmstyle-metrics"),
    ocio: Annotated[Optional[str], typer.Option(help="OCIO config (default: $OCIO, else built-in ACES studio config).")] = None,
    input_colorspace: Annotated[Optional[str], typer.Option(help="Colourspace of both sequences (default per format).")] = None,
    flow_size: Annotated[int, typer.Option(help="Long side the optical flow is computed at (0 = full size).")] = 640,
) -> None:
    """Measure flicker (warping error), content fidelity and style distance; write JSON + HTML."""
    import numpy as np

    from filmstyle import color, io
    from filmstyle.errors import InputError
    from filmstyle.job.styles import resolve_style
    from filmstyle.tools.metrics import evaluate_sequence
    from filmstyle.tools.report import write_report

    src_seq = io.find_sequence(source, frames)
    out_seq = io.find_sequence(output, src_seq.frames if frames or len(src_seq.frames) > 1 else None)
    if len(out_seq.frames) != len(src_seq.frames):
        raise InputError(f"{output}: {len(out_seq.frames)} frames, the source has {len(src_seq.frames)}")
    config = color.load_config(ocio)
    transforms: dict[str, color.ColorTransform] = {}

    def working(path: Path) -> np.ndarray:
        # Display-encoded [0, 1] for the metrics: the network's working space (identity for sRGB files).
        frame = io.read_frame(path)
        name = input_colorspace or color.default_input_colorspace(frame.format_name, frame.colorspace_hint, config)
        if name not in transforms:
            transforms[name] = color.ColorTransform(config, name, None)
        rgb = color.clean_nonfinite(frame.rgb) if color.count_nonfinite(frame.rgb) else frame.rgb
        return np.clip(transforms[name].to_working(np.ascontiguousarray(rgb, dtype=np.float32)), 0, 1)

    src = [working(src_seq.path(f)) for f in src_seq.frames]
    res = [working(out_seq.path(f)) for f in out_seq.frames]
    style_image = None
    if style:
        ref = resolve_style(style, field="--style")
        if ref.kind == "image":
            style_image = working(ref.path)
        else:
            from filmstyle.models import Cin26Stylizer
            from filmstyle.tools.sheets import sample_photograph

            photo = np.clip(io.read_frame(sample_photograph()).rgb, 0, 1).astype(np.float32)
            weights = np.zeros(26, np.float32)
            weights[ref.index] = 1.0
            style_image = Cin26Stylizer()(photo, weights)
    report = evaluate_sequence(src, res, style_image, flow_size=flow_size or None)
    paths = write_report(report, out, source_frames=src, output_frames=res,
                         frame_labels=[str(f) for f in src_seq.frames], title=f"filmstyle metrics: {Path(output).name}")
    for key, value in report.summary().items():
        typer.echo(f"{key:>18}: {'-' if value is None else f'{value:.6g}'}")
    typer.echo(f"report: {paths['html']}")
