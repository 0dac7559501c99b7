"""The local render worker: one HTTP service per user that keeps the networks loaded between jobs.

Hosts (Nuke, Resolve, a panel) never import torch; they send a job as JSON to this worker and poll
its progress. Pieces:

* :mod:`~filmstyle.server.discovery` – ``worker.json`` (port, token, pid; mode 0600) in the user
  config dir, bind-address and path allow-list rules;
* :mod:`~filmstyle.server.queue` – one queue, one render thread, models cached per device/precision;
* :mod:`~filmstyle.server.app` – the FastAPI routes, bearer-token and body-size guards, and
  :func:`serve`.
"""

from __future__ import annotations

from filmstyle.server.app import WorkerSettings, create_app, serve
from filmstyle.server.discovery import LOOPBACK_HOSTS, PathPolicy, config_dir, read_worker_file, worker_file
from filmstyle.server.queue import JobQueue, JobRecord

__all__ = [
    "WorkerSettings",
    "create_app",
    "serve",
    "LOOPBACK_HOSTS",
    "PathPolicy",
    "config_dir",
    "worker_file",
    "read_worker_file",
    "JobQueue",
    "JobRecord",
]
