"""Recorded and frozen instance-norm statistics (the URST idea, for our CIN networks).

Every conditional instance norm in :class:`~filmstyle.models.Cin26Net` and
:class:`~filmstyle.models.StyleTransformer` goes through
:func:`~filmstyle.models.layers.instance_norm_affine`, which asks this module for its per-channel
mean and variance:

* no context active: the statistics of the tensor itself (the normal network);
* inside :func:`record_stats`: the same, and each layer's ``(mean, var)`` is appended, in
  data-flow order, to a :class:`NormStats`;
* inside :func:`frozen_stats`: layer *k* uses the *k*-th recorded pair instead of its own, so a
  tile, or a later frame of the same shot, is normalised exactly like the frame they came from.

The context is per thread, so two renders in one process do not see each other's statistics.

Example:
    >>> net = Cin26Net().eval()
    >>> w = torch.full((1, 26), 1 / 26)
    >>> with record_stats() as stats:
    ...     _ = net(torch.rand(1, 3, 64, 64), w)
    >>> len(stats)
    18
    >>> with frozen_stats(stats):
    ...     tile = net.body(torch.rand(1, 3, 32, 32), w)
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import torch

from filmstyle.errors import ModelError

__all__ = ["NormStats", "record_stats", "frozen_stats", "layer_stats"]

_local = threading.local()


@dataclass
class NormStats:
    """Per-layer instance-norm statistics of one network pass, in data-flow order.

    Attributes:
        means: one ``(B, C, 1, 1)`` float32 tensor per norm layer.
        variances: the matching biased variances, same shapes.
    """

    means: list[torch.Tensor] = field(default_factory=list)
    variances: list[torch.Tensor] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.means)

    def to(self, device: torch.device | str) -> NormStats:
        """A copy on ``device``."""
        return NormStats([m.to(device) for m in self.means], [v.to(device) for v in self.variances])

    def lerp(self, other: NormStats, weight: float) -> NormStats:
        """``(1 - weight) * self + weight * other`` layer by layer (to smooth statistics over time).

        Variances are interpolated as standard deviations, so the result stays a valid variance.
        """
        if len(other) != len(self):
            raise ModelError(f"norm statistics: cannot blend {len(self)} layers with {len(other)}")
        w = float(weight)
        means = [torch.lerp(a, b, w) for a, b in zip(self.means, other.means)]
        variances = [torch.lerp(a.sqrt(), b.sqrt(), w) ** 2 for a, b in zip(self.variances, other.variances)]
        return NormStats(means, variances)


class _Recorder:
    def __init__(self, stats: NormStats) -> None:
        self.stats = stats

    def __call__(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        var, mean = torch.var_mean(x, dim=(2, 3), unbiased=False, keepdim=True)
        self.stats.means.append(mean.detach().float())
        self.stats.variances.append(var.detach().float())
        return var, mean


class _Frozen:
    def __init__(self, stats: NormStats) -> None:
        self.stats = stats
        self.index = 0

    def __call__(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.index >= len(self.stats):
            raise ModelError(f"frozen norm statistics: the network has more than the {len(self.stats)} "
                             "recorded norm layers (statistics from another model?)")
        k = self.index
        self.index += 1
        mean, var = self.stats.means[k], self.stats.variances[k]
        if mean.shape[1] != x.shape[1]:
            raise ModelError(f"frozen norm statistics: layer {k} has {x.shape[1]} channels, "
                             f"the recorded one {mean.shape[1]} (statistics from another model?)")
        return var.to(x.device, x.dtype), mean.to(x.device, x.dtype)


def layer_stats(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(var, mean)``, each ``(B, C, 1, 1)``, that the norm layer now running should use for ``x`` (B, C, H, W)."""
    hook = getattr(_local, "hook", None)
    if hook is None:
        return torch.var_mean(x, dim=(2, 3), unbiased=False, keepdim=True)
    return hook(x)


@contextmanager
def _active(hook) -> Iterator[None]:
    previous = getattr(_local, "hook", None)
    _local.hook = hook
    try:
        yield
    finally:
        _local.hook = previous


@contextmanager
def record_stats(stats: NormStats | None = None) -> Iterator[NormStats]:
    """Record every norm layer's statistics of the passes run inside the ``with`` block.

    Yields:
        The :class:`NormStats` being filled (``stats`` when given).
    """
    stats = stats if stats is not None else NormStats()
    with _active(_Recorder(stats)):
        yield stats


@contextmanager
def frozen_stats(stats: NormStats) -> Iterator[None]:
    """Normalise with ``stats`` instead of each tensor's own statistics inside the ``with`` block.

    Layers take the recorded pairs in order, so use one ``with`` block per network pass (per tile);
    a pass with more norm layers than recorded, or other channel counts, raises :class:`ModelError`.
    """
    frozen = _Frozen(stats)
    with _active(frozen):
        yield

