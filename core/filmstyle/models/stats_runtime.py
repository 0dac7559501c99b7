"""onnxruntime passes with recorded or frozen instance-norm statistics (see :mod:`filmstyle.models.norm`).

Two ONNX graphs per network (``cin26``, ``transformer``), traced from the float torch body with
the norm hooks of :mod:`filmstyle.models.norm` active, so each computes exactly what the torch
body computes inside :func:`~filmstyle.models.norm.record_stats` or
:func:`~filmstyle.models.norm.frozen_stats`:

* ``record``: ``image`` (B, 3, H, W), ``cond`` (B, D) -> ``stylized`` (B, 3, H, W), then
  ``mean_00`` .. ``mean_NN`` and ``var_00`` .. ``var_NN``, each (B, C_k, 1, 1), one per norm layer
  in data-flow order (18 for ``cin26``, 13 for ``transformer``).
* ``frozen``: ``image``, ``cond`` and every ``mean_k``, ``var_k`` -> ``stylized``; the layers
  normalise with the given statistics and the image's own are never computed.

Batch, height and width are dynamic (H, W multiples of 4), as in
:func:`~filmstyle.models.runtime.export_onnx`. The files are cached beside that export, named after
a sha256 of the exported network's tensors (not of the weights file: a network built with other
weights, as tests and custom weights do, must not pick up the pretrained network's graph), with
their own sha256 in a ``.sha256`` sidecar; a missing or altered file is exported again.
CPU, fp32, 2 threads, 1152x1152, best of 3: a recording pass takes 0.49 s (transformer) and
0.61 s (26-style net) against 0.77 s / 1.88 s for the torch body under ``record_stats`` (channels
last), a frozen pass 0.49 s / 0.56 s against 0.58 s / 0.96 s (torch skips the reductions there too).
"""

from __future__ import annotations

import io
import threading
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from filmstyle.errors import ModelError
from filmstyle.models.norm import NormStats, frozen_stats, record_stats
from filmstyle.models.runtime import (
    COND_DIM,
    cached_export,
    load_model,
    ort_available,
    ort_session,
    physical_cores,
    weights_digest,
)
from filmstyle.models.weights import cache_dir

if TYPE_CHECKING:
    import onnxruntime as ort

__all__ = ["STATS_GRAPHS", "STATS_BACKENDS", "StatsRunner", "export_stats_onnx", "norm_channels",
           "resolve_stats_backend"]

STATS_GRAPHS = ("record", "frozen")
STATS_BACKENDS = ("auto", "torch", "ort")
# Version of the record/frozen graphs only; export_onnx's plain graph keeps its own.
_EXPORT_VERSION = "1"


def resolve_stats_backend(device: torch.device, backend: str, precision: str = "fp32") -> str:
    """``"ort"`` or ``"torch"`` for ``backend`` in :data:`STATS_BACKENDS` on ``device``.

    ``"auto"`` is ORT on CPU in fp32 when onnxruntime imports, else torch (CUDA, and any other
    precision, always run torch: the ONNX graphs are float32).
    """
    if backend not in STATS_BACKENDS:
        raise ModelError(f"backend: expected one of {', '.join(STATS_BACKENDS)}, got {backend!r}")
    if backend == "auto":
        return "ort" if device.type == "cpu" and precision == "fp32" and ort_available() else "torch"
    if backend == "ort":
        if device.type != "cpu":
            raise ModelError("backend 'ort' runs on CPU only; use 'torch' or 'auto' with device 'cuda'")
        if precision != "fp32":
            raise ModelError(f"backend 'ort' runs fp32 only, got precision {precision!r}")
        if not ort_available():
            raise ModelError("backend 'ort': onnxruntime is not installed (pip install onnxruntime)")
    return backend


def norm_channels(net: nn.Module, cond_dim: int) -> tuple[int, ...]:
    """Channels of each norm layer of ``net.body`` in data-flow order, from one recorded 64x64 pass."""
    with record_stats() as stats, torch.inference_mode():
        net.body(torch.rand(1, 3, 64, 64), torch.full((1, cond_dim), 1.0 / cond_dim))
    return tuple(int(m.shape[1]) for m in stats.means)


def stat_names(layers: int) -> tuple[list[str], list[str]]:
    """ONNX names of the per-layer means and variances: ``mean_00`` .., ``var_00`` .."""
    return [f"mean_{k:02d}" for k in range(layers)], [f"var_{k:02d}" for k in range(layers)]


class _RecordBody(nn.Module):
    """``body`` under :func:`record_stats`: (image, cond) -> (stylized, *means, *variances)."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, image: torch.Tensor, cond: torch.Tensor) -> tuple[torch.Tensor, ...]:
        with record_stats() as stats:
            out = self.net.body(image, cond)
        return (out, *stats.means, *stats.variances)


class _FrozenBody(nn.Module):
    """``body`` under :func:`frozen_stats`: (image, cond, *means, *variances) -> stylized."""

    def __init__(self, net: nn.Module, layers: int) -> None:
        super().__init__()
        self.net = net
        self.layers = layers

    def forward(self, image: torch.Tensor, cond: torch.Tensor, *stats: torch.Tensor) -> torch.Tensor:
        n = self.layers
        with frozen_stats(NormStats(list(stats[:n]), list(stats[n:]))):
            return self.net.body(image, cond)


def _check_graph(data: bytes, inputs: list[str], outputs: list[str], stats_in: list[str]) -> None:
    """Raise unless the exported graph has exactly these inputs/outputs and really uses the statistics.

    Guards against the tracer or constant folding turning statistics into constants: every
    statistics input must feed a node, and no output may be an initializer or a ``Constant``.
    """
    import onnx

    graph = onnx.load_model_from_string(data).graph
    got_in, got_out = [i.name for i in graph.input], [o.name for o in graph.output]
    if got_in != inputs or got_out != outputs:
        raise ModelError(f"ONNX statistics export: expected inputs {inputs} and outputs {outputs}, "
                         f"got {got_in} and {got_out}")
    consumed = {name for node in graph.node for name in node.input}
    unused = [name for name in stats_in if name not in consumed]
    constants = {i.name for i in graph.initializer}
    constants |= {o for node in graph.node if node.op_type == "Constant" for o in node.output}
    folded = [name for name in outputs if name in constants]
    if unused or folded:
        raise ModelError(f"ONNX statistics export: statistics folded into the graph "
                         f"(unused inputs {unused}, constant outputs {folded})")


def _trace(name: str, kind: str, net: nn.Module) -> bytes:
    """ONNX bytes of the ``kind`` graph of ``net`` (see the module docstring)."""
    cond_dim = COND_DIM[name]
    channels = norm_channels(net, cond_dim)
    means, variances = stat_names(len(channels))
    image, cond = torch.rand(1, 3, 64, 64), torch.full((1, cond_dim), 1.0 / cond_dim)
    axes: dict[str, dict[int, str]] = {"image": {0: "batch", 2: "height", 3: "width"}, "cond": {0: "batch"},
                                       "stylized": {0: "batch", 2: "height", 3: "width"}}
    # Statistics get their own batch symbol: one recorded set (batch 1) may serve a batch of tiles.
    axes.update({s: {0: "stats_batch"} for s in means + variances})
    if kind == "record":
        module, example = _RecordBody(net), (image, cond)
        inputs, outputs, stats_in = ["image", "cond"], ["stylized", *means, *variances], []
    else:
        # Example statistics of a real pass, so the trace sees the shapes the graph will get.
        with record_stats() as rec, torch.inference_mode():
            net.body(image, cond)
        module, example = _FrozenBody(net, len(channels)), (image, cond, *rec.means, *rec.variances)
        inputs, outputs, stats_in = ["image", "cond", *means, *variances], ["stylized"], means + variances
    buf = io.BytesIO()
    # The norm hooks are thread-local; the tracer runs forward() in this thread, so they apply.
    with warnings.catch_warnings(), torch.inference_mode():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, example, buf, input_names=inputs, output_names=outputs,
                          dynamic_axes=axes, opset_version=17, dynamo=False)
    data = buf.getvalue()
    _check_graph(data, inputs, outputs, stats_in)
    return data


def export_stats_onnx(name: str, kind: str, net: nn.Module | None = None) -> Path:
    """Cached ONNX file of the ``kind`` (``"record"`` or ``"frozen"``) graph of ``cin26``/``transformer``.

    Args:
        name: ``"cin26"`` or ``"transformer"``.
        kind: see the module docstring for inputs and outputs.
        net: the float network to export; default the pretrained one.

    Returns:
        ``<cache>/onnx/<name>-<weights sha256[:12]>-<kind>-stats-v<N>.onnx``.
    """
    if name not in COND_DIM:
        raise ModelError(f"no ONNX export for model {name!r}, valid: {', '.join(COND_DIM)}")
    if kind not in STATS_GRAPHS:
        raise ModelError(f"ONNX statistics export: kind must be one of {', '.join(STATS_GRAPHS)}, got {kind!r}")
    net = net if net is not None else load_model(name)
    path = cache_dir() / "onnx" / f"{name}-{weights_digest(net)[:12]}-{kind}-stats-v{_EXPORT_VERSION}.onnx"
    return cached_export(path, lambda: _trace(name, kind, net))


def _stats_feed(stats: NormStats, channels: tuple[int, ...]) -> dict[str, np.ndarray]:
    """``stats`` as the frozen graph's float32 numpy inputs, checked like :func:`frozen_stats` checks them.

    As in torch, layers take the first recorded pairs in order and extra pairs are ignored.
    """
    if len(stats) < len(channels):
        raise ModelError(f"frozen norm statistics: the network has more than the {len(stats)} "
                         "recorded norm layers (statistics from another model?)")
    means, variances = stat_names(len(channels))
    feed: dict[str, np.ndarray] = {}
    for k, c in enumerate(channels):
        mean, var = stats.means[k], stats.variances[k]
        if mean.shape[1] != c:
            raise ModelError(f"frozen norm statistics: layer {k} has {c} channels, "
                             f"the recorded one {mean.shape[1]} (statistics from another model?)")
        feed[means[k]] = mean.detach().to("cpu", torch.float32).contiguous().numpy()
        feed[variances[k]] = var.detach().to("cpu", torch.float32).contiguous().numpy()
    return feed


def _graph_channels(sess: ort.InferenceSession, kind: str) -> tuple[int, ...]:
    """Channels of each norm layer, read from the statistics a session's graph takes or returns."""
    args = sess.get_outputs()[1:] if kind == "record" else sess.get_inputs()[2:]
    return tuple(int(a.shape[1]) for a in args[:len(args) // 2])


class StatsRunner:
    """onnxruntime (CPU, fp32) sessions for the record and frozen graphs of one network.

    Args:
        name: ``"cin26"`` or ``"transformer"``.
        net: the float network; default the pretrained one.
        threads: intra-op threads; default the number of physical cores.
        mem_arena: keep onnxruntime's CPU memory arena, as :class:`~filmstyle.models.NetworkRunner`
            does: faster, more memory (see :func:`~filmstyle.models.runtime.ort_session`).

    Unlike :class:`~filmstyle.models.NetworkRunner` the sessions plan no memory pattern: they
    see a thumbnail and tiles of several sizes, and a pattern per size bloats the arena.

    Sessions are created (and the graphs exported if not cached) on first use; :meth:`record`
    and :meth:`frozen` may be called from several threads.
    """

    def __init__(self, name: str, net: nn.Module | None = None, *, threads: int | None = None,
                 mem_arena: bool = True) -> None:
        if name not in COND_DIM:
            raise ModelError(f"no statistics runner for model {name!r}, valid: {', '.join(COND_DIM)}")
        self.name = name
        self.threads = threads or physical_cores()
        self.mem_arena = mem_arena
        self._net = net
        self._sessions: dict[str, ort.InferenceSession] = {}
        self._channels: tuple[int, ...] = ()
        self._init_lock = threading.Lock()

    def _session(self, kind: str) -> ort.InferenceSession:
        """The session of the ``kind`` graph, created (and the graph exported if not cached) once."""
        sess = self._sessions.get(kind)
        if sess is None:
            with self._init_lock:
                sess = self._sessions.get(kind)
                if sess is None:
                    if self._net is None:
                        self._net = load_model(self.name)
                    sess = ort_session(export_stats_onnx(self.name, kind, self._net), self.threads,
                                       mem_arena=self.mem_arena, mem_pattern=False)
                    self._channels = _graph_channels(sess, kind)
                    self._sessions[kind] = sess
        return sess

    def record(self, image: np.ndarray, cond: np.ndarray) -> tuple[np.ndarray, NormStats]:
        """Stylise ``image`` (B, 3, H, W) float32, H and W multiples of 4, with ``cond`` (B, D).

        Returns:
            ``(B, 3, H, W)`` float32 and the :class:`NormStats` of the pass (CPU tensors,
            ``(B, C, 1, 1)`` each), as :func:`record_stats` records them.
        """
        out = self._session("record").run(None, {"image": image, "cond": cond})
        n = (len(out) - 1) // 2
        stats = NormStats([torch.from_numpy(m) for m in out[1:1 + n]],
                          [torch.from_numpy(v) for v in out[1 + n:1 + 2 * n]])
        return out[0], stats

    def frozen(self, image: np.ndarray, cond: np.ndarray, stats: NormStats) -> np.ndarray:
        """Stylise ``image`` (B, 3, H, W) float32 with ``cond`` (B, D), normalising with ``stats``.

        Returns:
            ``(B, 3, H, W)`` float32, as the torch body inside :func:`frozen_stats` computes it.
        """
        sess = self._session("frozen")
        feed = _stats_feed(stats, self._channels)
        feed.update(image=image, cond=cond)
        return sess.run(None, feed)[0]
