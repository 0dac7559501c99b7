"""The ``metrics`` command: temporal and style quality of a rendered sequence against its source."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, Optional

import typer

from filmstyle.cli import app, reports_errors
from filmstyle.job.params import DEFAULT_CUT_THRESHOLD

#: ``--flow-size`` bounds (0 means full size): below 16 pixels DIS has nothing to track; above
#: 8192 the flow of one pair would need gigabytes.
MIN_FLOW_SIZE, MAX_FLOW_SIZE = 16, 8192


class FramesOnDisk(Sequence):
    """Frames read when indexed (never all at once): ``load(paths[i])``."""

    def __init__(self, paths: list[Path], load: Callable[[Path], object]) -> None:
        self._paths = paths
        self._load = load

    def __len__(self) -> int:
        return len(self._paths)

    def __getitem__(self, index):  # type: ignore[override]
        if isinstance(index, slice):
            return [self._load(p) for p in self._paths[index]]
        return self._load(self._paths[index])


def _refuse_report_over_inputs(out: Path, sources: list[Path], outputs: list[Path], style: Optional[str]) -> None:
    """Refuse a report folder where a report file would replace a frame or the style image the
    command reads (``--out`` the folder of the frames); checked before the (long) measurement."""
    from filmstyle.io.targets import check_output_paths, refuse_inputs
    from filmstyle.tools.report import report_files

    files = report_files(out)
    check_output_paths(files)
    # A report file that does not exist yet cannot be an input (inputs exist): only the existing
    # ones are compared, so a long shot costs nothing in the usual case.
    existing = [f for f in files if f.exists()]
    if not existing:
        return
    inputs = [("source frame", p) for p in sources] + [("output frame", p) for p in outputs]
    if style:
        from filmstyle.job.styles import resolve_style

        inputs.append(("style image", resolve_style(style, field="--style").path))
    for f in existing:
        refuse_inputs(f, inputs, field=f"--out {out}: report file")


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
    flow_size: Annotated[int, typer.Option(help="Long side the optical flow is computed at, 16..8192 (0 = full size).")] = 640,
    cut_threshold: Annotated[float, typer.Option(help="Luma-histogram jump (0..2) that counts as a shot cut "
                                                 "(as the render's temporal_cut_threshold).")] = DEFAULT_CUT_THRESHOLD,
) -> None:
    """Measure flicker (warping error, t-1 and t-10, per shot: pairs across cuts are skipped), content
    fidelity, tone levels and style distance; write JSON + HTML."""
    import numpy as np

    from filmstyle import color, io
    from filmstyle.errors import InputError
    from filmstyle.job.styles import resolve_style
    from filmstyle.tools.metrics import evaluate_sequence, measurable
    from filmstyle.tools.report import write_report

    if not 0.0 < cut_threshold <= 2.0:
        raise InputError(f"--cut-threshold: expected a number in (0, 2], got {cut_threshold:g}")
    if flow_size != 0 and not MIN_FLOW_SIZE <= flow_size <= MAX_FLOW_SIZE:
        raise InputError(f"--flow-size: expected 0 (full size) or {MIN_FLOW_SIZE}..{MAX_FLOW_SIZE} pixels, "
                         f"got {flow_size}")
    src_seq = io.find_sequence(source, frames)
    out_seq = io.find_sequence(output, src_seq.frames if frames or len(src_seq.frames) > 1 else None)
    if len(out_seq.frames) != len(src_seq.frames):
        raise InputError(f"{output}: {len(out_seq.frames)} frames, the source has {len(src_seq.frames)}")
    _refuse_report_over_inputs(out, [src_seq.path(f) for f in src_seq.frames],
                               [out_seq.path(f) for f in out_seq.frames], style)
    config = color.load_config(ocio)
    transforms: dict[str, color.ColorTransform] = {}

    def transform_of(frame: io.SourceFrame) -> color.ColorTransform:
        name = input_colorspace or color.default_input_colorspace(frame.format_name, frame.colorspace_hint, config)
        if name not in transforms:
            transforms[name] = color.ColorTransform(config, name, None)
        return transforms[name]

    warned: set[Path] = set()

    def working(path: Path) -> np.ndarray:
        # Display-encoded [0, 1] for the metrics: the network's working space (identity for sRGB files).
        frame = io.read_frame(path)
        # Frames are read more than once (flow pairs, the sheet): a bad one is reported once.
        rgb = measurable(frame.rgb, str(path), warn=path not in warned)
        if rgb is not frame.rgb:
            warned.add(path)
        return np.clip(transform_of(frame).to_working(np.ascontiguousarray(rgb, dtype=np.float32)), 0, 1)

    # Frames are read as the measurement reaches them (it keeps the last ten): memory does not grow
    # with the length of the shot.
    src = FramesOnDisk([src_seq.path(f) for f in src_seq.frames], working)
    res = FramesOnDisk([out_seq.path(f) for f in out_seq.frames], working)
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
    from filmstyle.engine.look_render import working_codec

    # Tone levels are light levels of the plate's working space, as the render measures them.
    decode, _ = working_codec(transform_of(io.read_frame(src_seq.path(src_seq.frames[0]))))
    report = evaluate_sequence(src, res, style_image, flow_size=flow_size or None, cut_threshold=cut_threshold,
                               decode=decode)
    paths = write_report(report, out, source_frames=src, output_frames=res,
                         frame_labels=[str(f) for f in src_seq.frames], title=f"filmstyle metrics: {Path(output).name}")
    for key, value in report.summary().items():
        typer.echo(f"{key:>18}: {'-' if value is None else f'{value:.6g}'}")
    labels = [str(f) for f in src_seq.frames]
    shots = report.shots()
    if len(shots) > 1:
        typer.echo(f"{len(shots)} shots (cuts before {', '.join(labels[c] for c in report.cuts)}):")
        for shot in shots:
            figures = "  ".join(f"{k} {'-' if shot[k] is None else f'{shot[k]:.4g}'}"
                                for k in ("warp_error", "warp_error_long", "source_warp_error", "style_l2"))
            typer.echo(f"  {labels[shot['first']]}-{labels[shot['last']]}: {figures}")
    typer.echo(f"report: {paths['html']}")
