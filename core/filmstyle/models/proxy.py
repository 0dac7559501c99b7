"""Proxy networks: the style networks run on a 1/2 or 1/4 frame with the full render's strokes.

A feed-forward style network paints strokes of a fixed size in *pixels* of the grid its residual
core runs on (a quarter of the input's resolution). Running the unchanged network on a frame
half as large therefore paints strokes twice as large relative to the frame: measured at 1080p,
SSIM against the full render fell to 0.07 (``starry-blue``) - 0.6, a different picture rather
than a preview of the same one.

A proxy network keeps the residual core on exactly the grid of the full render (``H/4``) and
changes only the layers that run finer than the proxy frame: each becomes the same linear
operator seen from the proxy grid. Its input is modelled as the bilinear enlargement of the
proxy-grid features to the layer's own grid, its output as the area average of its own grid
down to the proxy grid, so ``area_down(conv(bilinear_up(x)))`` folds into one stride-1 kernel on
the proxy grid (exact for the linear part; instance norm and ReLU follow as usual). The network
then returns the stylized frame at the proxy resolution, with the full render's stroke layout, for
:mod:`filmstyle.engine.preview` to enlarge guided by the full-resolution plate; or, for networks
whose decoder stays whole (:data:`FULL_DECODER`), the full-size frame itself.

Grids are named by their factor against the full frame (1 = full, 2 = half, 4 = quarter):

============  =========  ==========  ===========================================
layer         full grid  stride/up   at proxy ``f`` (grid = ``max(grid, f)``)
============  =========  ==========  ===========================================
contract.0    1 -> 1     s1          folded for f >= 2
contract.1    1 -> 2     s2          folded for f >= 2 (stride 1 on the proxy)
contract.2    2 -> 4     s2          folded for f = 4
residual core 4 -> 4     s1          unchanged: the strokes' grid
expand.0      4 -> 2     up x2       folded for f = 4 (no enlargement)
expand.1      2 -> 1     up x2       folded for f >= 2
expand.2      1 -> 1     s1          folded for f >= 2
============  =========  ==========  ===========================================

(expand layers only where the decoder is folded.) The residual core is most of the work and
stays, so a proxy saves what lies above ``H/4``: :func:`proxy_flops` counts it per network.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from filmstyle.errors import InputError, ModelError
from filmstyle.models.layers import instance_norm_affine

__all__ = ["PROXY_FACTORS", "FULL_DECODER", "full_decoder_for", "fold_taps", "ProxyNet", "ProxyRunner", "proxy_flops", "network_flops"]

#: Proxy factors the networks support: the residual core must stay on the full ``H/4`` grid.
PROXY_FACTORS = (2, 4)
#: Whether a network's proxy keeps its decoder as it is, returning a full-size frame. The 26-style
#: network paints its fine texture in a thin full-resolution tail (4 channels, 6 % of its FLOPs):
#: folding it cost ``starry-blue`` half its SSIM against the full render (0.90 -> 0.45 at 1/2).
#: The transformer's tail is wide (8 and 16 channels, 25 % of its FLOPs) and folding it plus the
#: guided enlargement scored as well as keeping it (0.89 against 0.87 at 1/2).
FULL_DECODER = {"cin26": True, "transformer": False}

# (name, full input grid, full output grid, stride, nearest upsampling): both networks' layout.
_GRIDS = {
    "contract.0": (1, 1, 1, 1), "contract.1": (1, 2, 2, 1), "contract.2": (2, 4, 2, 1),
    "expand.0": (4, 2, 1, 2), "expand.1": (2, 1, 1, 2), "expand.2": (1, 1, 1, 1),
}  # fmt: skip


def _bilinear_up(n: int, a: int) -> np.ndarray:
    """``(a*n, n)`` matrix of a half-pixel-centred linear enlargement by ``a`` (edges clamped)."""
    m = np.zeros((a * n, n))
    for t in range(a * n):
        c = (t + 0.5) / a - 0.5
        lo = int(np.floor(c))
        frac = c - lo
        m[t, min(max(lo, 0), n - 1)] += 1.0 - frac
        m[t, min(max(lo + 1, 0), n - 1)] += frac
    return m


def fold_taps(kernel: int, stride: int, upsample: int, a: int, b: int) -> np.ndarray:
    """1-D tap map of one layer seen from the proxy grid: ``(K', kernel)``.

    Row ``r`` of the result says how much of each original tap lands on proxy offset
    ``r - K' // 2`` when the layer's input is the ``a``-times bilinear enlargement of proxy-grid
    features and its output is averaged over ``b`` samples (``a * upsample == stride * b``).
    The 2-D kernel follows as ``T @ W @ T.T`` per channel pair (the maps are separable).
    """
    if a * upsample != stride * b:
        raise ModelError(f"proxy fold: a={a}, upsample={upsample}, stride={stride}, b={b} is not stride 1")
    n = 64
    centre = n // 2
    up = _bilinear_up(n, a)
    near = np.kron(np.eye(a * n), np.ones((upsample, 1)))  # nearest enlargement by `upsample`
    fine = near @ up  # (a*u*n, n)
    length = fine.shape[0]
    out_len = -(-length // stride)
    taps = np.zeros((kernel, n))
    for j in range(kernel):
        conv = np.zeros((out_len, length))
        for o in range(out_len):
            idx = o * stride + j - kernel // 2
            if 0 <= idx < length:
                conv[o, idx] = 1.0
        down = np.kron(np.eye(out_len // b), np.full((1, b), 1.0 / b))
        taps[j] = (down @ conv @ fine)[centre]
    nz = np.nonzero(np.abs(taps).sum(axis=0) > 1e-12)[0] - centre
    reach = int(np.abs(nz).max()) if nz.size else 0
    return np.ascontiguousarray(taps[:, centre - reach:centre + reach + 1].T)


def full_decoder_for(kind: str) -> bool:
    """Whether the proxy of ``"cin26"`` or ``"transformer"`` runs its decoder at full size."""
    return FULL_DECODER[kind]


def _layer_plan(factor: int, full_decoder: bool = False) -> dict[str, tuple[int, int]]:
    """``{layer: (a, b)}`` for the layers the proxy folds at ``factor`` (the encoder only with
    ``full_decoder``)."""
    plan = {}
    for name, (gin, gout, _stride, _up) in _GRIDS.items():
        if full_decoder and name.startswith("expand"):
            continue
        a, b = max(gin, factor) // gin, max(gout, factor) // gout
        if a > 1 or b > 1:
            plan[name] = (a, b)
    return plan


class _Layer(nn.Module):
    """One convolution (folded or not) with its norm and activation."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor | None, stride: int, upsample: int,
                 norm: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None) -> None:
        super().__init__()
        self.weight = nn.Parameter(weight.detach().clone(), requires_grad=False)
        self.bias = None if bias is None else nn.Parameter(bias.detach().clone(), requires_grad=False)
        self.stride, self.upsample, self.pad = stride, upsample, weight.shape[-1] // 2
        self._norm = norm

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        if self.upsample != 1:
            x = F.interpolate(x, scale_factor=float(self.upsample), mode="nearest")
        if self.pad:
            x = F.pad(x, (self.pad,) * 4, mode="reflect")
        y = F.conv2d(x, self.weight, self.bias, self.stride)
        return self._norm(y, cond) if self._norm is not None else y


def _network_layers(net: nn.Module) -> tuple[str, list[tuple[str, nn.Conv2d, int, Callable | None]]]:
    """``(kind, [(name, conv, upsample, norm)])`` of a Cin26Net or StyleTransformer, data-flow order."""
    from filmstyle.models.arbitrary import TRANSFORMER_STAGES, StyleTransformer
    from filmstyle.models.cin26 import CIN26_LAYERS, Cin26Net

    out = []
    if isinstance(net, Cin26Net):
        for name, *_ in CIN26_LAYERS:
            layer = net.layer(name)

            def norm(y, c, layer=layer):
                w = c.to(layer.gamma.dtype)
                return instance_norm_affine(y, w @ layer.gamma, w @ layer.beta)

            out.append((name.replace("res.", "residual."), layer.conv.conv, layer.conv.upsample, norm))
        return "cin26", out
    if isinstance(net, StyleTransformer):
        for name, *_ in TRANSFORMER_STAGES:
            stage = net.stage(name)
            out.append((name, stage.conv.conv, stage.conv.upsample, stage.norm))
        return "transformer", out
    raise ModelError(f"proxy: no proxy for a {type(net).__name__}; built-in networks only")


class ProxyNet(nn.Module):
    """A built-in network refolded to run on a frame ``factor`` times smaller (see the module docstring).

    ``body(x, cond)``: ``x`` (B, 3, h, w) is the proxy frame, ``h`` and ``w`` multiples of
    ``4 // factor``; returns (B, 3, h, w) in [0, 1] with the strokes of the full network run on
    the ``factor``-times larger frame.
    """

    def __init__(self, net: nn.Module, factor: int, full_decoder: bool | None = None) -> None:
        super().__init__()
        if factor not in PROXY_FACTORS:
            raise ModelError(f"proxy factor {factor}: expected one of {', '.join(map(str, PROXY_FACTORS))}")
        self.factor = factor
        self.kind, layers = _network_layers(net)
        self.full_decoder = full_decoder_for(self.kind) if full_decoder is None else full_decoder
        plan = _layer_plan(factor, self.full_decoder)
        self.layers = nn.ModuleDict()
        self.relu: dict[str, bool] = {}
        for name, conv, upsample, norm in layers:
            weight, stride = conv.weight, conv.stride[0]
            if name in plan:
                a, b = plan[name]
                t = torch.from_numpy(fold_taps(conv.kernel_size[0], stride, upsample, a, b)).to(weight.dtype)
                weight = torch.einsum("yi,ocij,xj->ocyx", t, weight, t)
                stride, upsample = 1, 1
            self.layers[name.replace(".", "_")] = _Layer(weight, conv.bias, stride, upsample, norm)

    def _run(self, name: str, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        return self.layers[name.replace(".", "_")](x, cond)

    def body(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        for name in ("contract.0", "contract.1", "contract.2"):
            x = torch.relu(self._run(name, x, cond))
        blocks = 6 if self.kind == "cin26" else 5
        second = "1" if self.kind == "cin26" else "conv2"
        first = "0" if self.kind == "cin26" else "conv1"
        for i in range(blocks):
            y = torch.relu(self._run(f"residual.{i}.{first}", x, cond))
            x = x + self._run(f"residual.{i}.{second}", y, cond)
        x = torch.relu(self._run("expand.0", x, cond))
        x = torch.relu(self._run("expand.1", x, cond))
        return torch.sigmoid(self._run("expand.2", x, cond))

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        return self.body(x, cond)


def _conv_macs(cin: int, cout: int, k: int, pixels: float) -> float:
    return cin * cout * k * k * pixels


def network_flops(net: nn.Module, height: int, width: int, factor: int = 1) -> float:
    """fp32 FLOPs (2 per multiply-add) of the convolutions of ``net`` on a ``height x width`` frame,
    or of its proxy at ``factor`` (the frame is then ``height/factor x width/factor``)."""
    kind, layers = _network_layers(net)
    full_decoder = full_decoder_for(kind)
    plan = _layer_plan(factor, full_decoder) if factor > 1 else {}
    total = 0.0
    for name, conv, _up, _norm in layers:
        gout = _GRIDS.get(name, (4, 4, 1, 1))[1]
        grid = gout if full_decoder and name.startswith("expand") else max(gout, factor)
        k = conv.kernel_size[0]
        if name in plan:
            k = fold_taps(k, conv.stride[0], _GRIDS[name][3], *plan[name]).shape[0]
        total += 2 * _conv_macs(conv.in_channels, conv.out_channels, k, height * width / grid ** 2)
    return total


def proxy_flops(net: nn.Module, height: int, width: int) -> dict[int, float]:
    """FLOPs of the full network and of each proxy on a ``height x width`` frame: ``{1: .., 2: .., 4: ..}``."""
    return {f: network_flops(net, height, width, f) for f in (1, *PROXY_FACTORS)}


class ProxyRunner:
    """Runs the proxy of ``"cin26"`` or ``"transformer"`` at ``factor``: numpy in and out.

    On CPU it runs in onnxruntime on a cached ONNX export (as the full networks do), elsewhere in
    torch. The network is built and exported on the first call.
    """

    def __init__(self, name: str, factor: int, device: str = "cpu", threads: int | None = None) -> None:
        from filmstyle.models.runtime import COND_DIM, physical_cores

        if name not in COND_DIM:
            raise ModelError(f"proxy: no proxy for model {name!r}, valid: {', '.join(COND_DIM)}")
        if factor not in PROXY_FACTORS:
            raise ModelError(f"proxy factor {factor}: expected one of {', '.join(map(str, PROXY_FACTORS))}")
        self.name, self.factor, self.device = name, factor, torch.device(device)
        self.threads = threads or physical_cores()
        self._run: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None
        self._lock = threading.Lock()

    def _load(self) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
        from filmstyle.models.runtime import COND_DIM, cached_export, load_model, ort_available, ort_session, weights_digest
        from filmstyle.models.weights import cache_dir

        net = ProxyNet(load_model(self.name), self.factor).eval()
        if self.device.type == "cpu" and ort_available():
            path = cache_dir() / "onnx" / f"{self.name}-proxy{self.factor}-{weights_digest(net)[:12]}-v1.onnx"

            def trace() -> bytes:
                import io
                import warnings

                buf = io.BytesIO()
                example = (torch.rand(1, 3, 64, 64), torch.full((1, COND_DIM[self.name]), 1.0 / COND_DIM[self.name]))
                with warnings.catch_warnings(), torch.inference_mode():
                    warnings.simplefilter("ignore")
                    torch.onnx.export(net, example, buf, input_names=["image", "cond"], output_names=["stylized"],
                                      dynamic_axes={"image": {0: "batch", 2: "height", 3: "width"}, "cond": {0: "batch"},
                                                    "stylized": {0: "batch", 2: "height", 3: "width"}},
                                      opset_version=17, dynamo=False)
                return buf.getvalue()

            sess = ort_session(cached_export(path, trace), self.threads)
            return lambda x, c: sess.run(None, {"image": x, "cond": c})[0]
        net = net.to(self.device)

        def run(x: np.ndarray, c: np.ndarray) -> np.ndarray:
            with torch.inference_mode():
                out = net(torch.from_numpy(x).to(self.device), torch.from_numpy(c).to(self.device))
            return out.float().cpu().numpy()
        return run

    def __call__(self, image: np.ndarray, cond: np.ndarray) -> np.ndarray:
        """Proxy-stylise ``image`` (h, w, 3) float32 in [0, 1] (the reduced frame); returns (h, w, 3),
        or ``(factor*h, factor*w, 3)`` when the network's decoder runs at full size."""
        if image.ndim != 3 or image.shape[2] != 3 or min(image.shape[:2]) < 4:
            raise InputError(f"proxy {self.name}: expected an (h, w, 3) image with sides >= 4, got shape {image.shape}")
        multiple = 4 // self.factor
        h, w = image.shape[:2]
        if h % multiple or w % multiple:
            raise InputError(f"proxy {self.name}: frame {w}x{h} must have sides that are multiples of {multiple}")
        if self._run is None:
            with self._lock:
                if self._run is None:
                    self._run = self._load()
        x = np.ascontiguousarray(np.asarray(image, dtype=np.float32).transpose(2, 0, 1)[None])
        c = np.ascontiguousarray(np.asarray(cond, dtype=np.float32).reshape(1, -1))
        return np.ascontiguousarray(self._run(x, c)[0].transpose(1, 2, 0), dtype=np.float32)
