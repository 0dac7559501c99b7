"""The CPU this process may use, without importing torch (the render layer sizes its pools by it)."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["physical_cores"]


def physical_cores() -> int:
    """Physical CPU cores available to this process (SMT siblings counted once)."""
    try:
        cpus = sorted(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return max(1, (os.cpu_count() or 2) // 2)
    cores = set()
    for cpu in cpus:
        try:
            siblings = Path(f"/sys/devices/system/cpu/cpu{cpu}/topology/thread_siblings_list").read_text()
            cores.add(siblings.strip())
        except OSError:
            cores.add(str(cpu))
    return max(1, len(cores))
