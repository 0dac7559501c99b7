"""Bring your own model: user checkpoints of well-known image-to-image networks, one runner API.

Supported files (detected by content, not by name):

* **fast-neural-style** (Johnson et al. 2016) ``TransformerNet`` state dicts as saved by the
  PyTorch examples repository (``conv1.conv2d.weight``, ``in1.weight``, ``res1.conv1...``,
  ``deconv1.conv2d.weight``...): reflect-padded convs, affine instance norm, five residual blocks,
  nearest-upsample convs; pixels in **0..255** in and out.
* **CycleGAN / pix2pix** ``ResnetGenerator`` state dicts (``model.1.weight`` ... keys of the
  ``nn.Sequential``): reflect padding, non-affine instance norm, ``ngf`` and the number of
  residual blocks read from the weights (the usual 64 and 9); input and ``tanh`` output in
  **[-1, 1]**.
* **ONNX** models with one ``1x3xHxW`` float input and a ``1x3xHxW`` output (dynamic or fixed
  size; fixed-size models get the frame resized in and out), range chosen by ``value_range``.

:class:`CustomStylizer` takes ``(H, W, 3)`` float32 in [0, 1] and returns the same, like the
built-in runners. Checkpoints are loaded with ``torch.load(weights_only=True)``, so a ``.pth``
cannot run code. PyTorch checkpoints run on the device and in the precision asked for (value
mapping and output in float32); ONNX models run in onnxruntime in float32, on CUDA only where
that onnxruntime has its CUDA provider (``onnxruntime-gpu``), and say so otherwise.
"""

from __future__ import annotations

import re
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from filmstyle.errors import InputError, ModelError
from filmstyle.models.device import (
    DeviceError,
    check_options,
    math_mode,
    out_of_memory,
    torch_device,
    torch_dtype,
    warn_slow_precision,
)
from filmstyle.models.transfer import download, upload

__all__ = ["JohnsonTransformerNet", "ResnetGenerator", "CustomStylizer", "load_custom", "detect_architecture"]


# -- fast-neural-style (PyTorch examples) -------------------------------------------------
class _ConvLayer(nn.Module):
    def __init__(self, cin: int, cout: int, kernel: int, stride: int, upsample: int | None = None) -> None:
        super().__init__()
        self.upsample = upsample
        self.reflection_pad = nn.ReflectionPad2d(kernel // 2)
        self.conv2d = nn.Conv2d(cin, cout, kernel, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.upsample:
            x = F.interpolate(x, scale_factor=float(self.upsample), mode="nearest")
        return self.conv2d(self.reflection_pad(x))


class _JohnsonResidual(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = _ConvLayer(channels, channels, 3, 1)
        self.in1 = nn.InstanceNorm2d(channels, affine=True)
        self.conv2 = _ConvLayer(channels, channels, 3, 1)
        self.in2 = nn.InstanceNorm2d(channels, affine=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.in2(self.conv2(torch.relu(self.in1(self.conv1(x)))))


class JohnsonTransformerNet(nn.Module):
    """Johnson et al.'s feed-forward style network, layer names as in the PyTorch examples.

    ``forward`` maps ``(B, 3, H, W)`` in 0..255 to ``(B, 3, H, W)`` (unclamped, nominally 0..255);
    H and W must be multiples of 4.
    """

    def __init__(self) -> None:
        super().__init__()
        self.conv1, self.in1 = _ConvLayer(3, 32, 9, 1), nn.InstanceNorm2d(32, affine=True)
        self.conv2, self.in2 = _ConvLayer(32, 64, 3, 2), nn.InstanceNorm2d(64, affine=True)
        self.conv3, self.in3 = _ConvLayer(64, 128, 3, 2), nn.InstanceNorm2d(128, affine=True)
        for i in range(1, 6):
            setattr(self, f"res{i}", _JohnsonResidual(128))
        self.deconv1, self.in4 = _ConvLayer(128, 64, 3, 1, upsample=2), nn.InstanceNorm2d(64, affine=True)
        self.deconv2, self.in5 = _ConvLayer(64, 32, 3, 1, upsample=2), nn.InstanceNorm2d(32, affine=True)
        self.deconv3 = _ConvLayer(32, 3, 9, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.relu(self.in1(self.conv1(x)))
        y = torch.relu(self.in2(self.conv2(y)))
        y = torch.relu(self.in3(self.conv3(y)))
        for i in range(1, 6):
            y = getattr(self, f"res{i}")(y)
        y = torch.relu(self.in4(self.deconv1(y)))
        y = torch.relu(self.in5(self.deconv2(y)))
        return self.deconv3(y)


# -- CycleGAN ResnetGenerator ----------------------------------------------------------
class _ResnetBlock(nn.Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.conv_block = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3), nn.InstanceNorm2d(dim), nn.ReLU(True),
            nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3), nn.InstanceNorm2d(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv_block(x)


class ResnetGenerator(nn.Module):
    """CycleGAN's ResNet generator with instance norm (``use_bias=True``), no dropout.

    Args:
        ngf: filters of the first layer (64 in the released models).
        n_blocks: residual blocks (9 for 256px models, 6 for 128px ones).

    ``forward`` maps ``(B, 3, H, W)`` in [-1, 1] to ``(B, 3, H, W)`` in [-1, 1]; H, W multiples of 4.
    """

    def __init__(self, ngf: int = 64, n_blocks: int = 9) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.ReflectionPad2d(3), nn.Conv2d(3, ngf, 7), nn.InstanceNorm2d(ngf), nn.ReLU(True)]
        for i in range(2):
            m = 2 ** i
            layers += [nn.Conv2d(ngf * m, ngf * m * 2, 3, stride=2, padding=1), nn.InstanceNorm2d(ngf * m * 2),
                       nn.ReLU(True)]
        layers += [_ResnetBlock(ngf * 4) for _ in range(n_blocks)]
        for i in range(2):
            m = 2 ** (2 - i)
            layers += [nn.ConvTranspose2d(ngf * m, ngf * m // 2, 3, stride=2, padding=1, output_padding=1),
                       nn.InstanceNorm2d(ngf * m // 2), nn.ReLU(True)]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, 3, 7), nn.Tanh()]
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


_DROP = re.compile(r"(running_mean|running_var|num_batches_tracked)$")


def _clean(state: dict) -> dict[str, torch.Tensor]:
    if "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    out = {}
    for k, v in state.items():
        if not isinstance(v, torch.Tensor) or _DROP.search(k):
            continue  # old checkpoints carry instance-norm running stats the modules do not use
        out[k[7:] if k.startswith("module.") else k] = v
    return out


def detect_architecture(state: dict[str, torch.Tensor]) -> str:
    """``"johnson"`` or ``"cyclegan"`` from a cleaned state dict's keys, else :class:`ModelError`."""
    if "conv1.conv2d.weight" in state and "deconv3.conv2d.weight" in state:
        return "johnson"
    if "model.1.weight" in state and any(k.endswith("conv_block.1.weight") for k in state):
        return "cyclegan"
    sample = ", ".join(list(state)[:4])
    raise ModelError(f"checkpoint: not a fast-neural-style TransformerNet or CycleGAN ResnetGenerator (keys: {sample}, ...)")


class CustomStylizer:
    """Runs a user model as ``(H, W, 3)`` float32 [0, 1] -> ``(H, W, 3)`` float32 [0, 1].

    Build it with :func:`load_custom`. Attributes: ``kind`` (``"johnson"``, ``"cyclegan"``,
    ``"onnx"``), ``path``, ``device`` (a ``torch.device``) and ``precision``.
    """

    def __init__(self, kind: str, path: Path, *, net: nn.Module | None = None, session=None,
                 value_range: tuple[float, float] = (0.0, 1.0), device: str = "cpu",
                 precision: str = "fp32") -> None:
        self.kind, self.path = kind, path
        self.device = torch_device(device)
        self.precision = precision
        self.dtype = torch_dtype(precision)
        self.net = (net.eval().requires_grad_(False).to(self.device, self.dtype, memory_format=torch.channels_last)
                    if net is not None else None)
        self.session = session
        self.value_range = value_range

    def __call__(self, content: np.ndarray) -> np.ndarray:
        arr = np.asarray(content, dtype=np.float32)
        if arr.ndim != 3 or arr.shape[2] != 3 or min(arr.shape[:2]) < 8:
            raise InputError(f"{self.path.name}: expected an (H, W, 3) image with sides >= 8, got shape {arr.shape}")
        h, w = arr.shape[:2]
        lo, hi = self.value_range
        if self.session is not None:
            x = np.clip(arr, 0, 1) * (hi - lo) + lo
            return np.clip((self._run_onnx(x) - lo) / (hi - lo), 0, 1).astype(np.float32)
        what = f"{self.path.name} on a {w}x{h} frame in {self.precision} on {self.device}"
        with torch.inference_mode(), math_mode(self.device, self.precision), out_of_memory(self.device, what):
            # Range mapping in float32 on the device, then the network's dtype.
            x = upload(arr, self.device, torch.float32)
            y = self.net(x.clamp(0, 1).mul_(hi - lo).add_(lo).to(self.dtype)).float()
            return download(y.sub_(lo).div_(hi - lo).clamp_(0, 1), h, w)

    def _run_onnx(self, x: np.ndarray) -> np.ndarray:
        h, w = x.shape[:2]
        inp = self.session.get_inputs()[0]
        fh, fw = inp.shape[2], inp.shape[3]
        fixed = isinstance(fh, int) and isinstance(fw, int)
        if fixed and (fh, fw) != (h, w):
            x = cv2.resize(x, (fw, fh), interpolation=cv2.INTER_AREA if fh < h else cv2.INTER_LINEAR)
        y = self.session.run(None, {inp.name: np.ascontiguousarray(x.transpose(2, 0, 1)[None], dtype=np.float32)})[0]
        if y.ndim != 4 or y.shape[:2] != (1, 3):
            raise ModelError(f"{self.path.name}: expected a 1x3xHxW output, got shape {y.shape}")
        y = y[0].transpose(1, 2, 0)
        if y.shape[:2] != (h, w):
            y = cv2.resize(np.ascontiguousarray(y), (w, h), interpolation=cv2.INTER_LINEAR)
        return y


def load_custom(path: str | Path, *, value_range: tuple[float, float] | None = None,
                device: str = "cpu", precision: str = "fp32") -> CustomStylizer:
    """Load a user model file as a :class:`CustomStylizer`.

    Args:
        path: ``.pth``/``.pt`` state dict (fast-neural-style or CycleGAN) or ``.onnx`` model.
        value_range: pixel range the model expects; default 0..255 (fast-neural-style),
            -1..1 (CycleGAN), 0..1 (ONNX).
        device: ``cpu``, ``cuda`` or ``cuda:N``.
        precision: see :mod:`filmstyle.models.device`; ONNX models take ``fp32`` only.

    Raises:
        ModelError: a missing or unusable file; :class:`DeviceError` for a device or precision
            this model or machine cannot run (checked before the file is read).
    """
    p = Path(path)
    device, precision = check_options(device, precision)
    dev = torch_device(device)
    if not p.is_file():
        raise ModelError(f"{p}: model file not found")
    if p.suffix.lower() == ".onnx":
        import onnxruntime as ort

        if precision != "fp32":
            raise DeviceError("precision", f"{p.name}: custom ONNX models run in float32 in onnxruntime; "
                              f"use fp32, not {precision}")
        providers: list = ["CPUExecutionProvider"]
        if dev.type == "cuda":
            if "CUDAExecutionProvider" not in ort.get_available_providers():
                raise DeviceError("device", f"{p.name}: custom ONNX models run in onnxruntime, and this "
                                  f"onnxruntime {ort.__version__} has no CUDA provider (install "
                                  "onnxruntime-gpu); use --device cpu")
            index = dev.index if dev.index is not None else torch.cuda.current_device()
            providers = [("CUDAExecutionProvider", {"device_id": index})]
        try:
            sess = ort.InferenceSession(str(p), providers=providers)
        except Exception as exc:  # onnxruntime raises several private types
            raise ModelError(f"{p.name}: not a loadable ONNX model ({str(exc).splitlines()[0][:160]})") from None
        ins, outs = sess.get_inputs(), sess.get_outputs()
        if len(ins) != 1 or len(ins[0].shape) != 4 or ins[0].shape[1] != 3 or len(outs) < 1:
            raise ModelError(f"{p.name}: expected one 1x3xHxW input, got {[(i.name, i.shape) for i in ins]}")
        return CustomStylizer("onnx", p, session=sess, value_range=value_range or (0.0, 1.0), device=device)
    warn_slow_precision(dev, precision)
    try:
        raw = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ModelError(f"{p.name}: not a loadable PyTorch state dict ({str(exc).splitlines()[0][:160]})") from None
    if not isinstance(raw, dict):
        raise ModelError(f"{p.name}: expected a state dict, got {type(raw).__name__}")
    state = _clean(raw)
    kind = detect_architecture(state)
    if kind == "johnson":
        net: nn.Module = JohnsonTransformerNet()
        default = (0.0, 255.0)
    else:
        ngf = int(state["model.1.weight"].shape[0])
        blocks = len({k.split(".")[1] for k in state if "conv_block" in k})
        net = ResnetGenerator(ngf, blocks)
        default = (-1.0, 1.0)
    try:
        net.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise ModelError(f"{p.name}: weights do not match the {kind} network ({str(exc).splitlines()[0][:160]})") from None
    return CustomStylizer(kind, p, net=net, value_range=value_range or default, device=device, precision=precision)
