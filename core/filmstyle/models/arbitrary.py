"""Arbitrary-image stylisation (Magenta): a MobileNetV2 style predictor and a small CIN transformer.

The predictor turns a 256x256 style image into a 100-d style vector; the transformer stylises a
content image of any size with that vector. Both are float rebuilds of the int8 mobile models.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from filmstyle.models.layers import ReflectConv, check_image, instance_norm_affine, pad_to_multiple

__all__ = ["StylePredictor", "StyleTransformer", "STYLE_DIM", "STYLE_SIZE", "MOBILENET_BLOCKS",
           "TRANSFORMER_STAGES"]

STYLE_DIM = 100
STYLE_SIZE = 256

# MobileNetV2 (width 1.0) inverted residual blocks: (expansion, input channels, output channels, stride).
MOBILENET_BLOCKS: tuple[tuple[int, int, int, int], ...] = (
    (1, 32, 16, 1),
    (6, 16, 24, 2), (6, 24, 24, 1),
    (6, 24, 32, 2), (6, 32, 32, 1), (6, 32, 32, 1),
    (6, 32, 64, 2), (6, 64, 64, 1), (6, 64, 64, 1), (6, 64, 64, 1),
    (6, 64, 96, 1), (6, 96, 96, 1), (6, 96, 96, 1),
    (6, 96, 160, 2), (6, 160, 160, 1), (6, 160, 160, 1),
    (6, 160, 320, 1),
)

# Transformer stages in data-flow order: (name, in, out, kernel, stride, upsample, has_norm).
TRANSFORMER_STAGES: tuple[tuple[str, int, int, int, int, int, bool], ...] = (
    ("contract.0", 3, 8, 9, 1, 1, False),
    ("contract.1", 8, 16, 3, 2, 1, False),
    ("contract.2", 16, 32, 3, 2, 1, False),
    *((f"residual.{i}.conv{j}", 32, 32, 3, 1, 1, True) for i in range(5) for j in (1, 2)),
    ("expand.0", 32, 16, 3, 1, 2, True),
    ("expand.1", 16, 8, 3, 1, 2, True),
    ("expand.2", 8, 3, 9, 1, 1, True),
)


class SameConv2d(nn.Conv2d):
    """Zero-padded convolution with TensorFlow "SAME" padding (extra row/column at the bottom/right)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pads = []
        for size, k, s in zip(x.shape[-2:], self.kernel_size, self.stride):
            total = max((math.ceil(size / s) - 1) * s + k - size, 0)
            pads.append((total // 2, total - total // 2))
        (top, bottom), (left, right) = pads
        if top or bottom or left or right:
            x = F.pad(x, (left, right, top, bottom))
        return F.conv2d(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


class InvertedResidual(nn.Module):
    """MobileNetV2 block: 1x1 expand + ReLU6, 3x3 depthwise + ReLU6, linear 1x1 projection, skip if shapes allow."""

    def __init__(self, expansion: int, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        hidden = cin * expansion
        self.expand = SameConv2d(cin, hidden, 1) if expansion != 1 else None
        self.depthwise = SameConv2d(hidden, hidden, 3, stride=stride, groups=hidden)
        self.project = SameConv2d(hidden, cout, 1)
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu6(self.expand(x)) if self.expand is not None else x
        y = self.project(F.relu6(self.depthwise(y)))
        return x + y if self.residual else y


class StylePredictor(nn.Module):
    """MobileNetV2 style predictor (batch norm folded into conv biases).

    Example:
        >>> StylePredictor()(torch.rand(2, 3, 256, 256)).shape
        torch.Size([2, 100])
    """

    def __init__(self) -> None:
        super().__init__()
        self.stem = SameConv2d(3, 32, 3, stride=2)
        self.blocks = nn.ModuleList(InvertedResidual(*cfg) for cfg in MOBILENET_BLOCKS)
        self.head = SameConv2d(320, 1280, 1)
        self.proj = nn.Conv2d(1280, STYLE_DIM, 1)

    def conv_layers(self) -> list[tuple[str, nn.Conv2d]]:
        """Every convolution with its state-dict prefix, in data-flow order."""
        out: list[tuple[str, nn.Conv2d]] = [("stem", self.stem)]
        for i, block in enumerate(self.blocks):
            for part in ("expand", "depthwise", "project"):
                conv = getattr(block, part)
                if conv is not None:
                    out.append((f"blocks.{i}.{part}", conv))
        out += [("head", self.head), ("proj", self.proj)]
        return out

    def forward(self, style: torch.Tensor) -> torch.Tensor:
        """Map ``style`` (B, 3, 256, 256) float in [0, 1] to style vectors ``(B, 100)``.

        Other sizes run too, but the network was trained on 256x256 inputs.
        """
        check_image(style, "StylePredictor input", min_side=32)
        x = F.relu6(self.stem(style))
        for block in self.blocks:
            x = block(x)
        x = F.relu6(self.head(x))
        x = x.mean(dim=(2, 3), keepdim=True)
        return self.proj(x).flatten(1)


class StyleNorm(nn.Module):
    """Instance norm whose scale and shift are linear projections of the style vector.

    ``float_out``: return float32 whatever the weights' dtype (the last stage, before the sigmoid).
    """

    def __init__(self, channels: int, float_out: bool = False) -> None:
        super().__init__()
        self.gamma = nn.Linear(STYLE_DIM, channels)
        self.beta = nn.Linear(STYLE_DIM, channels)
        self.float_out = float_out

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        # type_as, not .to(dtype): a traced graph must follow the weights' dtype after .half().
        s = style.type_as(self.gamma.weight)
        return instance_norm_affine(x, self.gamma(s), self.beta(s), float_out=self.float_out)


class Stage(nn.Module):
    """Reflect-padded conv with bias, optional style norm; activation applied by the caller."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int, upsample: int, norm: bool,
                 float_out: bool = False) -> None:
        super().__init__()
        self.conv = ReflectConv(cin, cout, kernel, stride, bias=True, upsample=upsample)
        self.norm = StyleNorm(cout, float_out) if norm else None

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        return self.norm(y, style) if self.norm is not None else y


class StyleTransformer(nn.Module):
    """Magenta's small mobile style transformer with 13 style-conditioned instance norms.

    Runs in the dtype of its weights; norm statistics, the last norm and the sigmoid are float32
    in every dtype, so the output is always float32.

    Example:
        >>> net = StyleTransformer().eval()
        >>> net(torch.rand(1, 3, 37, 53), torch.randn(1, 100)).shape
        torch.Size([1, 3, 37, 53])
    """

    def __init__(self) -> None:
        super().__init__()
        self.stages = nn.ModuleDict()
        last = TRANSFORMER_STAGES[-1][0]
        for name, cin, cout, k, s, up, norm in TRANSFORMER_STAGES:
            self.stages[name.replace(".", "_")] = Stage(cin, cout, k, s, up, norm, float_out=name == last)

    def stage(self, name: str) -> Stage:
        """The stage called ``name`` in :data:`TRANSFORMER_STAGES` (e.g. ``"residual.2.conv1"``)."""
        return self.stages[name.replace(".", "_")]  # type: ignore[return-value]

    def residual_block(self, i: int, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        y = torch.relu(self.stage(f"residual.{i}.conv1")(x, style))
        return x + self.stage(f"residual.{i}.conv2")(y, style)

    def body(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        """Run on ``x`` (B, 3, H, W) in [0, 1] with ``H % 4 == W % 4 == 0``; ``style`` is (B, 100).

        Returns ``(B, 3, H, W)`` float32 in [0, 1].
        """
        for name in ("contract.0", "contract.1", "contract.2"):
            x = torch.relu(self.stage(name)(x, style))
        for i in range(5):
            x = self.residual_block(i, x, style)
        x = torch.relu(self.stage("expand.0")(x, style))
        x = torch.relu(self.stage("expand.1")(x, style))
        return torch.sigmoid(self.stage("expand.2")(x, style))

    def forward(self, content: torch.Tensor, style_vector: torch.Tensor) -> torch.Tensor:
        """Stylise ``content`` (B, 3, H, W) float in [0, 1] with ``style_vector`` (B, 100).

        Any H, W >= 8: sides that are not multiples of 4 are reflect-padded and the result cropped.
        ``content`` must have the weights' dtype. Returns ``(B, 3, H, W)`` float32 in [0, 1].
        """
        check_image(content, "StyleTransformer input")
        if style_vector.ndim == 1:
            style_vector = style_vector.expand(content.shape[0], -1)
        x, h, w = pad_to_multiple(content, 4)
        return self.body(x, style_vector)[..., :h, :w]
