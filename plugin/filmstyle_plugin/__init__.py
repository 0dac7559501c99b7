"""Host side of filmstyle: parameter schema, job building and the worker client.

Standard library only, Python 3.9+: this package is imported inside Nuke, Resolve and other hosts,
which never import torch or the ``filmstyle`` core; renders happen in the worker process
(``filmstyle serve``) that :class:`~filmstyle_plugin.client.WorkerClient` finds or starts.
"""

from filmstyle_plugin.client import WorkerClient, WorkerError
from filmstyle_plugin.schema import Param, load_schema

__all__ = ["WorkerClient", "WorkerError", "Param", "load_schema"]
