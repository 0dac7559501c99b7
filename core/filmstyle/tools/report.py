"""Metrics reports: JSON for machines, a self-contained HTML page with per-frame plots for people.

:func:`write_report` writes, into one folder:

* ``metrics.json`` — :meth:`filmstyle.tools.metrics.MetricsReport.to_dict` (summary and per-frame values);
* ``plot_*.png`` — per-frame plots (matplotlib, Agg backend), also embedded in the HTML;
* ``contact_sheet.png`` — a few source/output pairs (:func:`filmstyle.tools.sheets.contact_sheet`), when
  the frames are given;
* ``report.html`` — the summary table, the plots and the sheet, with no external references.
"""

from __future__ import annotations

import base64
import html
import json
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from filmstyle.errors import OutputError
from filmstyle.tools.metrics import MetricsReport

__all__ = ["write_report", "report_files", "PLOTS"]

#: Plot file stem -> (title, metrics on it, y label).
PLOTS: dict[str, tuple[str, tuple[str, ...], str]] = {
    "fidelity": ("Content fidelity (output vs source)", ("psnr",), "PSNR dB"),
    "ssim": ("Structure (output vs source)", ("ssim",), "SSIM (luma)"),
    "warp": ("Warping error (lower = steadier)", ("warp_error", "warp_error_long", "source_warp_error"),
             "MSE over reliable pixels"),
    "style": ("Style (output vs style image)", ("ssi", "style_cosine"), "SSI / cosine distance"),
    "tone": ("Tone (output vs source luminance levels 5/50/95 %)", ("tone_stops", "tone_codes"),
             "largest |difference|: stops / codes"),
}


def _plot(report: MetricsReport, keys: Sequence[str], title: str, ylabel: str, path: Path) -> bool:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series = {k: [(f.index, getattr(f, k)) for f in report.frames
                  if getattr(f, k) is not None and math.isfinite(getattr(f, k))] for k in keys}
    series = {k: v for k, v in series.items() if v}
    if not series:
        return False
    fig, ax = plt.subplots(figsize=(8, 3), dpi=100)
    for k, pts in series.items():
        x, y = zip(*pts)
        ax.plot(x, y, marker=".", linewidth=1, label=k)
    for n, cut in enumerate(report.cuts):
        # A cut sits between two frames; the pairs across it are not measured.
        ax.axvline(cut - 0.5, color="tab:red", linestyle="--", linewidth=1, label="cut" if n == 0 else None)
    ax.set_title(title)
    ax.set_xlabel("frame (index in sequence)")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    from filmstyle.io.targets import atomic_target

    try:
        with atomic_target(path) as tmp:
            fig.savefig(tmp, format="png")
    finally:
        plt.close(fig)
    return True


def _sheet(source_frames, output_frames, labels_from: Sequence[str] | None, path: Path,
           count: int = 6) -> Path | None:
    from filmstyle.tools.sheets import contact_sheet

    # Sequences (frames read when indexed) are indexed, only the picked frames are read.
    src = source_frames if isinstance(source_frames, Sequence) else list(source_frames)
    out = output_frames if isinstance(output_frames, Sequence) else list(output_frames)
    if not src or len(src) != len(out):
        return None
    picks = sorted(set(np.linspace(0, len(src) - 1, min(count, len(src))).round().astype(int).tolist()))
    tiles, labels = [], []
    for i in picks:
        name = labels_from[i] if labels_from else str(i)
        tiles += [np.clip(src[i], 0, 1), np.clip(out[i], 0, 1)]
        labels += [f"src {name}", f"out {name}"]
    return contact_sheet(tiles, labels, path, columns=4, tile_width=240)


def _fmt(v: float | None) -> str:
    if v is None:
        return "–"
    if isinstance(v, float) and math.isinf(v):
        return "inf"
    return f"{v:.5g}"


def report_files(out_dir: str | Path) -> list[Path]:
    """Every file :func:`write_report` may write into ``out_dir`` (the plots only when they have data)."""
    out = Path(out_dir)
    return [out / "metrics.json", *(out / f"plot_{name}.png" for name in PLOTS), out / "contact_sheet.png",
            out / "report.html"]


def write_report(report: MetricsReport, out_dir: str | Path, *, source_frames=None, output_frames=None,
                 frame_labels: Sequence[str] | None = None, title: str = "filmstyle metrics") -> dict[str, Path]:
    """Write the JSON, plots, contact sheet and HTML of ``report`` into ``out_dir``.

    Args:
        report: from :func:`filmstyle.tools.metrics.evaluate_sequence`.
        out_dir: folder, created if needed.
        source_frames, output_frames: the frames (display-encoded ``(H, W, 3)`` in [0, 1]) for
            the contact sheet; omitted = no sheet.
        frame_labels: a label per frame (e.g. frame numbers); default the index.
        title: page title.

    Returns:
        Paths by kind: ``"json"``, ``"html"``, ``"sheet"`` (if written) and ``"plot_<name>"``.
    """
    from filmstyle.io.targets import write_file

    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{out}: cannot create the report folder ({exc.strerror or exc})") from None
    paths: dict[str, Path] = {}
    data = report.to_dict()
    if frame_labels is not None:
        for row, label in zip(data["per_frame"], frame_labels):
            row["frame"] = label
    paths["json"] = out / "metrics.json"
    write_file(paths["json"], (json.dumps(data, indent=2, allow_nan=True) + "\n").encode("utf-8"))
    for name, (ptitle, keys, ylabel) in PLOTS.items():
        p = out / f"plot_{name}.png"
        if _plot(report, keys, ptitle, ylabel, p):
            paths[f"plot_{name}"] = p
    if source_frames is not None and output_frames is not None:
        sheet = _sheet(source_frames, output_frames, frame_labels, out / "contact_sheet.png")
        if sheet is not None:
            paths["sheet"] = sheet

    def img(p: Path, alt: str) -> str:
        b64 = base64.b64encode(p.read_bytes()).decode("ascii")
        return f'<figure><img alt="{html.escape(alt)}" src="data:image/png;base64,{b64}"></figure>'

    rows = "".join(f"<tr><td>{html.escape(k)}</td><td>{_fmt(v)}</td></tr>" for k, v in data["summary"].items())
    labels = [row.get("frame", str(row["index"])) for row in data["per_frame"]]
    shot_keys = ("warp_error", "warp_error_long", "source_warp_error", "style_l2", "tone_stops")
    shot_rows = "".join(
        "<tr><td>{}</td><td>{}–{}</td><td>{}</td>{}</tr>".format(
            shot["shot"] + 1, html.escape(str(labels[shot["first"]])), html.escape(str(labels[shot["last"]])),
            shot["frames"], "".join(f"<td>{_fmt(shot[k])}</td>" for k in shot_keys))
        for shot in data["shots"])
    shot_head = "".join(f"<th>{k}</th>" for k in ("shot", "frames", "count", *shot_keys))
    cuts_text = (", ".join(html.escape(str(labels[c])) for c in data["cuts"]) or "none")
    figures = "".join(img(p, k) for k, p in paths.items() if k.startswith("plot_"))
    sheet_html = img(paths["sheet"], "contact sheet") if "sheet" in paths else ""
    page = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;margin:2em;background:#111;color:#ddd}} table{{border-collapse:collapse}}
td{{padding:2px 12px;border-bottom:1px solid #333}} img{{max-width:100%}} figure{{margin:1em 0}}</style></head>
<body><h1>{html.escape(title)}</h1>
<p>{data['frames']} frames, {data['width']}x{data['height']}, flow: {html.escape(data['flow'])}.
PSNR and SSIM (Rec.709 luma) compare each output with its source; warping errors are MSE of RGB in [0, 1]
over pixels passing the forward-backward flow check (flow from the source frames), short term t-1 and long
term t-10; source_warp_error is the same on the source (the floor the flow sets); SSI and style distances
compare the output with the style image through the style predictor; tone_stops and tone_codes are the
largest difference of the 5/50/95 % luminance levels between output and source, in log2 stops and in
working-space code units.</p>
<h2>Means</h2><table>{rows}</table>
<h2>Shots</h2><p>Cuts (found with the render's detector; dashed red lines on the plots, pairs across
them not measured) before frames: {cuts_text}.</p>
<table><tr>{shot_head}</tr>{shot_rows}</table>
<h2>Per frame</h2>{figures}
<h2>Contact sheet</h2>{sheet_html or '<p>not written (frames not given)</p>'}
</body></html>
"""
    paths["html"] = out / "report.html"
    write_file(paths["html"], page.encode("utf-8"))
    return paths
