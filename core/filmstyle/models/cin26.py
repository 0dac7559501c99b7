"""The 26-style conditional-instance-norm network (multi-style network of the TensorFlow Android demo)."""

from __future__ import annotations

import torch
from torch import nn

from filmstyle.models.layers import ReflectConv, check_image, instance_norm_affine, pad_to_multiple

__all__ = ["Cin26Net", "NUM_BUILTIN_STYLES", "CIN26_LAYERS"]

NUM_BUILTIN_STYLES = 26

# (name, in, out, kernel, stride, upsample, relu): the order data flows through the network.
CIN26_LAYERS: tuple[tuple[str, int, int, int, int, int, bool], ...] = (
    ("contract.0", 3, 32, 9, 1, 1, True),
    ("contract.1", 32, 32, 3, 2, 1, True),
    ("contract.2", 32, 32, 3, 2, 1, True),
    *(
        (f"res.{i}.{j}", 32, 32, 3, 1, 1, j == 0)
        for i in range(6) for j in range(2)
    ),
    ("expand.0", 32, 8, 3, 1, 2, True),
    ("expand.1", 8, 4, 3, 1, 2, True),
    ("expand.2", 4, 3, 9, 1, 1, False),
)


class CinConv(nn.Module):
    """Reflect-padded convolution (no bias) then instance norm whose affine is a blend of 26 styles.

    Attributes:
        conv: the :class:`ReflectConv`.
        float_out: the norm returns float32 (the last layer, before the sigmoid).
        gamma: ``(26, C_out)`` per-style scales.
        beta: ``(26, C_out)`` per-style shifts.
    """

    def __init__(self, cin: int, cout: int, kernel: int, stride: int, upsample: int, relu: bool,
                 float_out: bool = False) -> None:
        super().__init__()
        self.conv = ReflectConv(cin, cout, kernel, stride, bias=False, upsample=upsample)
        self.gamma = nn.Parameter(torch.ones(NUM_BUILTIN_STYLES, cout))
        self.beta = nn.Parameter(torch.zeros(NUM_BUILTIN_STYLES, cout))
        self.relu = relu
        self.float_out = float_out

    def forward(self, x: torch.Tensor, style_weights: torch.Tensor) -> torch.Tensor:
        # type_as, not .to(dtype): a traced graph must follow the weights' dtype after .half().
        w = style_weights.type_as(self.gamma)
        y = instance_norm_affine(self.conv(x), w @ self.gamma, w @ self.beta, float_out=self.float_out)
        return torch.relu(y) if self.relu else y


class Cin26Net(nn.Module):
    """Feed-forward stylisation with 26 built-in styles, blended by weight.

    Down (9x9 conv, two stride-2 3x3 convs), six residual blocks at 32 channels, up (two nearest x2
    + 3x3 conv, one 9x9 conv) and a sigmoid. Every convolution is followed by conditional
    instance norm; reflection padding throughout.

    Runs in the dtype of its weights (``.half()``, ``.bfloat16()``); norm statistics, the last
    norm and the sigmoid are float32 in every dtype, so the output is always float32.

    Example:
        >>> net = Cin26Net().eval()
        >>> w = torch.zeros(1, 26); w[0, 7] = 1.0
        >>> net(torch.rand(1, 3, 64, 96), w).shape
        torch.Size([1, 3, 64, 96])
    """

    def __init__(self) -> None:
        super().__init__()
        self.layers = nn.ModuleDict()
        last = CIN26_LAYERS[-1][0]
        for name, cin, cout, k, s, up, relu in CIN26_LAYERS:
            self.layers[name.replace(".", "_")] = CinConv(cin, cout, k, s, up, relu, float_out=name == last)

    def layer(self, name: str) -> CinConv:
        """The layer called ``name`` in :data:`CIN26_LAYERS` (e.g. ``"res.3.1"``)."""
        return self.layers[name.replace(".", "_")]  # type: ignore[return-value]

    def body(self, x: torch.Tensor, style_weights: torch.Tensor) -> torch.Tensor:
        """Run the network on an image whose sides are multiples of 4 (no padding or cropping).

        Args:
            x: ``(B, 3, H, W)`` float in [0, 1], ``H % 4 == W % 4 == 0``.
            style_weights: ``(B, 26)`` blend weights (normalised by the caller, usually summing to 1).

        Returns:
            ``(B, 3, H, W)`` float32 in [0, 1].
        """
        for name in ("contract.0", "contract.1", "contract.2"):
            x = self.layer(name)(x, style_weights)
        for i in range(6):
            y = self.layer(f"res.{i}.0")(x, style_weights)
            x = x + self.layer(f"res.{i}.1")(y, style_weights)
        for name in ("expand.0", "expand.1", "expand.2"):
            x = self.layer(name)(x, style_weights)
        return torch.sigmoid(x)

    def forward(self, image: torch.Tensor, style_weights: torch.Tensor) -> torch.Tensor:
        """Stylise ``image`` (B, 3, H, W) in [0, 1] with ``style_weights`` (B, 26); any H, W >= 8.

        Sides that are not multiples of 4 are reflect-padded and the result cropped back.
        ``image`` must have the weights' dtype. Returns ``(B, 3, H, W)`` float32 in [0, 1].
        """
        check_image(image, "Cin26Net input")
        if style_weights.ndim == 1:
            style_weights = style_weights.expand(image.shape[0], -1)
        x, h, w = pad_to_multiple(image, 4)
        return self.body(x, style_weights)[..., :h, :w]
