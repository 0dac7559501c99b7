"""Building blocks shared by the style networks."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from filmstyle.errors import InputError
from filmstyle.models.norm import layer_stats

__all__ = ["ReflectConv", "instance_norm_affine", "pad_to_multiple", "check_image"]


def check_image(x: torch.Tensor, name: str, min_side: int = 8) -> None:
    """Raise :class:`InputError` unless ``x`` is a ``(B, 3, H, W)`` tensor with both sides >= ``min_side``."""
    if x.ndim != 4 or x.shape[1] != 3:
        raise InputError(f"{name}: expected a (B, 3, H, W) tensor, got shape {tuple(x.shape)}")
    if min(x.shape[-2:]) < min_side:
        raise InputError(f"{name}: image is {x.shape[-1]}x{x.shape[-2]}, both sides must be >= {min_side}")


def pad_to_multiple(x: torch.Tensor, multiple: int) -> tuple[torch.Tensor, int, int]:
    """Reflect-pad the bottom/right of ``x`` (B, C, H, W) so both sides divide by ``multiple``.

    Returns:
        The padded tensor and the original ``(H, W)`` to crop back to.
    """
    h, w = x.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    if ph or pw:
        x = F.pad(x, (0, pw, 0, ph), mode="reflect")
    return x, h, w


def instance_norm_affine(x: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor, eps: float = 1e-5,
                         *, float_out: bool = False) -> torch.Tensor:
    """Instance normalisation with per-sample affine parameters.

    Statistics are the biased mean/variance over the whole image, per sample and channel, as in
    both pretrained graphs, unless :mod:`filmstyle.models.norm` is recording or freezing them.
    They and the affine are computed in float32 whatever the network's dtype: in fp16 the
    variance of a large feature map can overflow, and the last layer's output feeds the sigmoid,
    which should see float32 (see ``float_out``).

    Written to trace into TorchScript graphs that still run after ``.to(torch.float16)`` or
    ``.to(torch.bfloat16)``: the only fixed conversion is *to* float32 (a no-op for a float32
    network), and the way back follows ``gamma``'s dtype at run time (``type_as``). The tracer
    re-binds a tensor to the result of a conversion that returned it unchanged, so ``x`` is not
    used after its float32 view is taken, and ``gamma``/``beta`` (tiny) are copied, not viewed.

    Args:
        x: features ``(B, C, H, W)``.
        gamma: scale ``(B, C)``, in the network's dtype.
        beta: shift ``(B, C)``.
        eps: added to the variance.
        float_out: return float32 (for the layer before the output activation).

    Returns:
        ``(B, C, H, W)`` in ``gamma``'s dtype, or float32 with ``float_out``.
    """
    xs = x.float()
    var, mean = layer_stats(xs)
    # Fold normalisation and affine into one scale/shift so the full-size tensor is touched once.
    scale = gamma.to(torch.float32, copy=True)[:, :, None, None] * torch.rsqrt(var + eps)
    shift = beta.to(torch.float32, copy=True)[:, :, None, None] - mean * scale
    y = torch.addcmul(shift, xs, scale)
    return y if float_out else y.type_as(gamma)


class ReflectConv(nn.Module):
    """Reflection-padded convolution with "same" output size at stride 1.

    Args:
        cin: input channels.
        cout: output channels.
        kernel: square kernel size (odd).
        stride: 1 or 2; stride 2 gives ``ceil(H / 2)`` rows.
        bias: whether the convolution has a bias.
        upsample: nearest-neighbour upsampling factor applied before padding (1 = none).
    """

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, bias: bool = True,
                 upsample: int = 1) -> None:
        super().__init__()
        self.pad = kernel // 2
        self.upsample = upsample
        self.conv = nn.Conv2d(cin, cout, kernel, stride=stride, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.upsample != 1:
            x = F.interpolate(x, scale_factor=float(self.upsample), mode="nearest")
        x = F.pad(x, (self.pad,) * 4, mode="reflect")
        return self.conv(x)
