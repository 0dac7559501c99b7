"""Chunked renders on render farms: Dask, OpenCue and Deadline.

* :mod:`~filmstyle.farm.chunks` — a job cut into chunks of ``filmstyle render JOB.yaml --frames
  A-B`` (shot cuts found first, warm-up for chunks inside a shot).
* :mod:`~filmstyle.farm.dask_farm` — runs the chunks on a ``distributed`` scheduler or a local
  cluster, with per-frame progress and retries.
* :mod:`~filmstyle.farm.opencue_farm` — an OpenCue job built with ``opencue-pyoutline``.
* :mod:`~filmstyle.farm.deadline_farm` — job-info and plugin-info files for Deadline's
  CommandLine plugin, submitted with ``deadlinecommand``.
"""

from filmstyle.farm.chunks import Chunk, FarmPlan, auto_warmup, plan_farm

__all__ = ["Chunk", "FarmPlan", "plan_farm", "auto_warmup"]
