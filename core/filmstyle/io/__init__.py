"""Frames and sequences in and out through OpenImageIO, with nothing lost.

* :func:`find_sequence` / :func:`output_sequence` / :func:`parse_frame_range` – patterns
  (``####``, ``%04d``, ``$F4``, ``@@@@``) and ranges (``1001-1100x2``, ``1001,1005``).
* :func:`read_frame` – RGB (+ alpha) of one layer of one EXR part / DPX / TIFF / PNG / JPEG;
  :func:`read_header` – the header of that part, checked the same way, no pixels decoded.
* :func:`write_frame` – the source file again with only the RGB replaced, written atomically.
* :func:`describe` – headers, parts, channels and metadata as JSON-able data.
* :func:`format_for_path` – the OIIO format an output extension implies.
* :func:`check_output_paths` / :func:`clean_stale_temps` – outputs refused before a render,
  temp files of killed renders removed; :class:`FrameChecks` – per-frame size and alpha checks.
* Movies (MOV/MP4/MXF: ProRes, DNxHR, H.264, H.265) are sequences too: :func:`probe_movie` /
  :func:`describe_movie` (facts, frame numbering), ``find_sequence``/``read_frame`` read them
  frame-accurately, :class:`MovieOutput` writes a ProRes ``.mov`` with timecode and audio.
"""

from __future__ import annotations

from filmstyle.io._oiio import Window, format_for_path
from filmstyle.io.checks import MIN_FRAME_SIDE, FrameChecks
from filmstyle.io.frame import SourceFrame, read_channels, read_frame, read_header, rgb_layer_names
from filmstyle.io.inspect import describe
from filmstyle.io.movie import MovieFramePath, MovieInfo, describe_movie, is_movie_path, probe_movie
from filmstyle.io.movie_decode import close_movie_readers
from filmstyle.io.movie_write import MovieOutput, check_movie_output
from filmstyle.io.sequence import (
    FrameSequence,
    find_sequence,
    format_frame_range,
    output_sequence,
    parse_frame_range,
    split_pattern,
)
from filmstyle.io.targets import check_output_paths, clean_stale_temps
from filmstyle.io.write import BIT_DEPTHS, EXR_COMPRESSIONS, WriteOptions, check_write_options, write_frame

__all__ = [
    "Window",
    "format_for_path",
    "SourceFrame",
    "read_frame",
    "read_header",
    "read_channels",
    "rgb_layer_names",
    "describe",
    "FrameSequence",
    "find_sequence",
    "output_sequence",
    "parse_frame_range",
    "format_frame_range",
    "split_pattern",
    "WriteOptions",
    "check_write_options",
    "write_frame",
    "BIT_DEPTHS",
    "EXR_COMPRESSIONS",
    "check_output_paths",
    "clean_stale_temps",
    "FrameChecks",
    "MIN_FRAME_SIDE",
    "MovieFramePath",
    "MovieInfo",
    "MovieOutput",
    "check_movie_output",
    "describe_movie",
    "is_movie_path",
    "probe_movie",
    "close_movie_readers",
]
