"""``filmstyle info`` for a movie: the facts a colorist checks before a render."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from filmstyle.errors import FilmStyleError

__all__ = ["show_movie", "format_movie"]


def _default_colorspace(description: dict[str, Any]) -> str:
    from filmstyle import color

    try:
        config = color.load_config(None)
        return color.default_input_colorspace("movie", description.get("colorspace_hint"), config)
    except FilmStyleError as exc:  # an unusable $OCIO must not hide the file's facts
        return f"unknown ({exc})"


def show_movie(path: Path, as_json: bool) -> None:
    """Print a movie's description (JSON or text)."""
    from filmstyle import io

    description = io.describe_movie(path)
    description["colorspace_default"] = _default_colorspace(description)
    typer.echo(json.dumps(description, indent=2) if as_json else format_movie(description))


def format_movie(d: dict[str, Any]) -> str:
    """The text form of :func:`filmstyle.io.describe_movie`'s facts."""
    width, height = d["resolution"]
    profile = f" {d['profile']}" if d.get("profile") else ""
    colour = d["colour"]
    lines = [
        d["path"],
        f"  container    {d['container']}" + (f" (brand {d['container_brand']})" if d.get("container_brand") else ""),
        f"  codec        {d['codec']}{profile} ({d['codec_long_name']})"
        + (", intra-only" if d.get("intra_only") else ", long GOP"),
        f"  pixels       {d['pixel_format']}, {d['bit_depth']}-bit {d['chroma']}" + (", alpha" if d["alpha"] else ""),
        f"  resolution   {width}x{height}",
        f"  frame rate   {d['frame_rate']} fps",
        f"  timecode     {d['timecode'] or 'none'}" + (" (drop frame)" if d.get("drop_frame") else ""),
        f"  frames       {d['first_frame']}-{d['last_frame']} ({d['frame_count']} frames, "
        + ("numbered from the timecode" if d["timecode"] else "numbered from 1001: no timecode")
        + ("; counted packet by packet)" if d["frame_count_source"] == "counted" else "; from the container index)"),
        f"  duration     {d['duration_seconds']:.3f} s",
        f"  colour tags  range {colour['range']}, matrix {colour['matrix']}, primaries {colour['primaries']}, "
        f"transfer {colour['transfer']}",
        f"  decoded as   {d['decoded_as']['matrix']} matrix, {d['decoded_as']['range']} range "
        f"-> default input colourspace {d.get('colorspace_default')}",
    ]
    if not d["audio"]:
        lines.append("  audio        none")
    for a in d["audio"]:
        lines.append(f"  audio #{a['index']}     {a['codec']}, {a['sample_rate']} Hz, {a['channels']} ch"
                     + (f" ({a['layout']})" if a.get("layout") else "")
                     + (f", {a['duration_seconds']:.3f} s" if a.get("duration_seconds") is not None else ""))
    return "\n".join(lines)
