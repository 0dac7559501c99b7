"""Fast execution of the style networks and the public stylizers the render layer uses.

CPU, fp32, 2 threads on a 2-core AVX2 machine, 1920x1080 (best of 3): onnxruntime running an
ONNX export of *our* float modules takes about 0.72 s (transformer) and 0.87 s (26-style net),
against 1.26 s / 1.92 s for torch eager with channels_last and 1.92 s / 2.47 s for plain eager.
``backend="auto"`` therefore picks ``"ort"`` on CPU and ``"torch"`` when onnxruntime is missing.
``"compile"`` (torch.compile) is offered but not chosen: it compiles for 20-40 s per frame size
and was slower than onnxruntime at 1080p. Every other case (CUDA, or a precision other than
fp32) runs the torch modules in the precision asked for, see :mod:`filmstyle.models.device`;
frames go to the device as they are and are laid out and cast there
(:mod:`filmstyle.models.transfer`).
"""

from __future__ import annotations

import hashlib
import threading
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from filmstyle.choices import PRECISIONS
from filmstyle.cpu import physical_cores
from filmstyle.errors import InputError, ModelError, StyleError
from filmstyle.models.arbitrary import STYLE_DIM, STYLE_SIZE, StylePredictor, StyleTransformer
from filmstyle.models.cin26 import NUM_BUILTIN_STYLES, Cin26Net
from filmstyle.models.device import (
    check_options,
    math_mode,
    out_of_memory,
    torch_device,
    torch_dtype,
    warn_slow_precision,
)
from filmstyle.models.transfer import download, upload
from filmstyle.models.weights import atomic_write_bytes, cache_dir, load_state_dict, sha256_file, weights_path

if TYPE_CHECKING:
    import onnxruntime as ort

__all__ = ["ArbitraryStylizer", "Cin26Stylizer", "NetworkRunner", "NUM_BUILTIN_STYLES", "load_model",
           "export_onnx", "ort_session", "ort_available", "COND_DIM", "physical_cores", "prepare_style_image", "BACKENDS",
           "PRECISIONS"]

BACKENDS = ("auto", "torch", "ort", "compile")
_MODELS: dict[str, type[nn.Module]] = {"cin26": Cin26Net, "predictor": StylePredictor, "transformer": StyleTransformer}
#: Length of each network's conditioning vector (style weights or style vector).
COND_DIM = {"cin26": NUM_BUILTIN_STYLES, "transformer": STYLE_DIM}
_EXPORT_VERSION = "1"
_lock = threading.Lock()


def load_model(name: str) -> nn.Module:
    """The float32 network ``name`` (``"cin26"``, ``"predictor"``, ``"transformer"``) in eval mode, on CPU."""
    if name not in _MODELS:
        raise ModelError(f"unknown model {name!r}, valid: {', '.join(_MODELS)}")
    net = _MODELS[name]()
    try:
        net.load_state_dict(load_state_dict(name), strict=True)
    except RuntimeError as exc:
        raise ModelError(f"{weights_path(name).name}: weights do not match the {name} network "
                         f"({str(exc).splitlines()[0]})") from None
    return net.eval().requires_grad_(False)


class _Body(nn.Module):
    """The padded-size core of a network, as traced for ONNX (padding/cropping stay outside)."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, image: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        return self.net.body(image, cond)


def weights_digest(net: nn.Module) -> str:
    """sha256 (hex) of ``net``'s state dict: names, dtypes, shapes and values."""
    h = hashlib.sha256()
    for key, tensor in sorted(net.state_dict().items()):
        t = tensor.detach().cpu().contiguous()
        h.update(f"{key}:{t.dtype}:{tuple(t.shape)};".encode())
        h.update(t.numpy().tobytes())
    return h.hexdigest()


def export_onnx(name: str, net: nn.Module | None = None) -> Path:
    """ONNX export of our float ``cin26`` or ``transformer`` body, dynamic batch/H/W, cached.

    The file is named after :func:`weights_digest` of the network exported (so a network with
    other weights never picks up the pretrained graph), and its own sha256 is kept in a
    ``.sha256`` sidecar; a missing or altered file is exported again.
    Inputs: ``image`` (B, 3, H, W) float32, H and W multiples of 4; ``cond`` (B, 26 or 100).
    Output: ``stylized`` (B, 3, H, W).
    """
    if name not in COND_DIM:
        raise ModelError(f"no ONNX export for model {name!r}, valid: {', '.join(COND_DIM)}")
    net = net if net is not None else load_model(name)
    path = cache_dir() / "onnx" / f"{name}-{weights_digest(net)[:12]}-v{_EXPORT_VERSION}.onnx"

    def trace() -> bytes:
        import io

        buf = io.BytesIO()
        example = (torch.rand(1, 3, 64, 64), torch.full((1, COND_DIM[name]), 1.0 / COND_DIM[name]))
        with warnings.catch_warnings(), torch.inference_mode():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                _Body(net), example, buf, input_names=["image", "cond"], output_names=["stylized"],
                dynamic_axes={"image": {0: "batch", 2: "height", 3: "width"}, "cond": {0: "batch"},
                              "stylized": {0: "batch", 2: "height", 3: "width"}},
                opset_version=17, dynamo=False)
        return buf.getvalue()

    return cached_export(path, trace)


def cached_export(path: Path, export: Callable[[], bytes]) -> Path:
    """``path`` when it holds the bytes its ``.sha256`` sidecar names; else ``export()`` written there.

    The file and its sidecar are written atomically, so an interrupted export is redone next time.
    """
    sidecar = path.with_name(path.name + ".sha256")
    with _lock:
        if path.is_file() and sidecar.is_file() and sidecar.read_text().split()[:1] == [sha256_file(path)]:
            return path
        data = export()
        try:
            atomic_write_bytes(path, data)
            atomic_write_bytes(sidecar, f"{hashlib.sha256(data).hexdigest()}  {path.name}\n".encode())
        except OSError as exc:
            raise ModelError(f"{path}: cannot write ONNX export ({exc.strerror or exc})") from None
    return path


def _check_options(device: str, precision: str, backend: str) -> tuple[torch.device, str, str]:
    """``(torch device, precision, backend)`` checked; ``"auto"`` resolved to ``"ort"`` or ``"torch"``."""
    device, precision = check_options(device, precision)
    if backend not in BACKENDS:
        raise ModelError(f"backend: expected one of {', '.join(BACKENDS)}, got {backend!r}")
    dev = torch_device(device)
    if backend == "ort":
        if dev.type != "cpu":
            raise ModelError("backend 'ort' runs on CPU only; use 'torch' or 'auto' with device 'cuda'")
        if precision != "fp32":
            raise ModelError(f"backend 'ort' runs fp32 only, got precision {precision!r}")
    if backend == "auto":
        backend = "ort" if dev.type == "cpu" and precision == "fp32" and ort_available() else "torch"
    warn_slow_precision(dev, precision)
    return dev, precision, backend


def ort_available() -> bool:
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def ort_session(path: Path, threads: int, *, mem_arena: bool = True, mem_pattern: bool = True) -> ort.InferenceSession:
    """An onnxruntime CPU session on the ONNX file ``path`` with ``threads`` intra-op threads.

    Args:
        path: the ONNX file.
        threads: intra-op threads.
        mem_arena: keep onnxruntime's CPU arena, which reuses the large activation buffers
            instead of allocating and page-faulting them on every run (tiled 8K ran 30 % slower
            without it, 2 threads).
        mem_pattern: plan one block for all activations per input shape. Turn it off when the
            shapes vary (tiles of several sizes): every shape's block stays in the arena, 4.6 GB
            against 3.4 GB peak for 8K ``cin26`` in 1024 tiles with it, at the same speed.
    """
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    # One graph branch at a time: the networks are a single chain, extra pools only add threads.
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    opts.enable_cpu_mem_arena = mem_arena
    opts.enable_mem_pattern = mem_pattern
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


class NetworkRunner:
    """Runs the body of ``cin26`` or ``transformer`` on one frame with the chosen backend.

    Args:
        name: ``"cin26"`` or ``"transformer"``.
        device: ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.
        precision: one of :data:`~filmstyle.models.device.PRECISIONS` (``tf32`` on CUDA only;
            fp16/bf16 run on a CPU too, for no gain there).
        backend: ``"auto"``, ``"torch"`` (eager, channels_last), ``"ort"`` or ``"compile"``.
        threads: CPU threads; default the number of physical cores.

    The model is loaded on the first call.
    """

    def __init__(self, name: str, device: str = "cpu", precision: str = "fp32", backend: str = "auto",
                 threads: int | None = None) -> None:
        if name not in COND_DIM:
            raise ModelError(f"no runner for model {name!r}, valid: {', '.join(COND_DIM)}")
        self.name = name
        self.device, self.precision, self.backend = _check_options(device, precision, backend)
        self.threads = threads or physical_cores()
        self._run: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None
        self._init_lock = threading.Lock()

    def _load(self) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
        net = load_model(self.name)
        if self.backend == "ort":
            sess = ort_session(export_onnx(self.name, net), self.threads)

            def run_ort(image: np.ndarray, c: np.ndarray) -> np.ndarray:
                h, w = image.shape[:2]
                ph, pw = (-h) % 4, (-w) % 4
                x = image
                if ph or pw:
                    # Same bottom/right reflect padding as the torch modules' forward().
                    x = np.pad(x, ((0, ph), (0, pw), (0, 0)), mode="reflect")
                x = np.ascontiguousarray(x.transpose(2, 0, 1)[None])
                out = sess.run(None, {"image": x, "cond": c})[0][0, :, :h, :w]
                return np.ascontiguousarray(out.transpose(1, 2, 0), dtype=np.float32)
            return run_ort
        if self.device.type == "cpu":
            torch.set_num_threads(self.threads)
        dtype = torch_dtype(self.precision)
        net = net.to(self.device, dtype=dtype, memory_format=torch.channels_last)
        body = _Body(net)
        if self.backend == "compile":
            body = torch.compile(body, dynamic=True)

        def run_torch(image: np.ndarray, c: np.ndarray) -> np.ndarray:
            h, w = image.shape[:2]
            what = f"{self.name} on a {w}x{h} frame in {self.precision} on {self.device}"
            with torch.inference_mode(), math_mode(self.device, self.precision), out_of_memory(self.device, what):
                y = body(upload(image, self.device, dtype), torch.from_numpy(c).to(self.device, dtype))
                return download(y, h, w)
        return run_torch

    def __call__(self, image: np.ndarray, cond: np.ndarray) -> np.ndarray:
        """Stylise ``image`` (H, W, 3) float32 in [0, 1] with ``cond`` (26,) or (100,); returns (H, W, 3) float32."""
        if image.ndim != 3 or image.shape[2] != 3:
            raise InputError(f"{self.name}: expected an (H, W, 3) image, got shape {image.shape}")
        h, w = image.shape[:2]
        if min(h, w) < 8:
            raise InputError(f"{self.name}: image is {w}x{h}, both sides must be >= 8")
        if self._run is None:
            with self._init_lock:
                if self._run is None:
                    self._run = self._load()
        x = np.asarray(image, dtype=np.float32)
        c = np.ascontiguousarray(np.asarray(cond, dtype=np.float32).reshape(1, -1))
        return self._run(x, c)


def _check_content(content: np.ndarray, what: str) -> np.ndarray:
    arr = np.asarray(content)
    if arr.ndim != 3 or arr.shape[2] != 3:
        raise InputError(f"{what}: expected an (H, W, 3) image, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise InputError(f"{what}: image holds NaN or infinite values")
    return arr.astype(np.float32, copy=False)


def prepare_style_image(image: np.ndarray) -> np.ndarray:
    """Turn a style image (H, W, 3) float in [0, 1] into the predictor's (256, 256, 3) float32 input.

    The image is **not** centre-cropped: like Magenta's reference code it is resized as a whole
    to 256x256 (so a wide painting is squeezed, but all of it contributes), with area averaging
    when shrinking and bilinear interpolation when enlarging. Values are clipped to [0, 1].
    """
    import cv2

    arr = _check_content(image, "style image")
    h, w = arr.shape[:2]
    interp = cv2.INTER_AREA if h >= STYLE_SIZE and w >= STYLE_SIZE else cv2.INTER_LINEAR
    out = cv2.resize(np.ascontiguousarray(arr), (STYLE_SIZE, STYLE_SIZE), interpolation=interp)
    return np.clip(out, 0.0, 1.0).astype(np.float32)


class ArbitraryStylizer:
    """Style a frame after any image: predictor (style image -> 100-d vector) + transformer.

    Args:
        device: ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.
        precision: the transformer's, see :class:`NetworkRunner`; the predictor always runs in
            IEEE float32 (once per style image, 256x256; the vector is sensitive to rounding).
        backend: ``"auto"``, ``"torch"``, ``"ort"`` or ``"compile"`` for the transformer; the
            predictor always runs in torch.
        threads: CPU threads; default the number of physical cores.
    """

    def __init__(self, device: str = "cpu", precision: str = "fp32", backend: str = "auto",
                 threads: int | None = None) -> None:
        self.transformer = NetworkRunner("transformer", device, precision, backend, threads)
        self._predictor: nn.Module | None = None
        self._lock = threading.Lock()

    def style_vector(self, image: np.ndarray) -> np.ndarray:
        """Style vector (100,) float32 of ``image`` (H, W, 3) float32 in [0, 1], see :func:`prepare_style_image`."""
        x = torch.from_numpy(prepare_style_image(image).transpose(2, 0, 1).copy())[None]
        device = self.transformer.device
        with self._lock:
            if self._predictor is None:
                # fp32 always: the vector is tiny to compute and sensitive to rounding.
                self._predictor = load_model("predictor").to(device)
            with torch.inference_mode(), math_mode(device, "fp32"), out_of_memory(device, "style predictor"):
                vec = self._predictor(x.to(device))
        return vec[0].float().cpu().numpy()

    def __call__(self, content: np.ndarray, style_vector: np.ndarray) -> np.ndarray:
        """Stylise ``content`` (H, W, 3) float32 in [0, 1] (any H, W >= 8); returns the same shape, [0, 1]."""
        vec = np.asarray(style_vector, dtype=np.float32).reshape(-1)
        if vec.shape != (STYLE_DIM,) or not np.all(np.isfinite(vec)):
            raise StyleError(f"style vector: expected {STYLE_DIM} finite values, got shape {np.shape(style_vector)}")
        return self.transformer(_check_content(content, "content"), vec)


class Cin26Stylizer:
    """Style a frame with a blend of the 26 built-in styles.

    Args: as :class:`ArbitraryStylizer`.
    """

    def __init__(self, device: str = "cpu", precision: str = "fp32", backend: str = "auto",
                 threads: int | None = None) -> None:
        self.runner = NetworkRunner("cin26", device, precision, backend, threads)

    def __call__(self, content: np.ndarray, style_weights: np.ndarray) -> np.ndarray:
        """Stylise ``content`` (H, W, 3) float32 in [0, 1] with ``style_weights`` (26,), normalised by the caller."""
        w = np.asarray(style_weights, dtype=np.float32).reshape(-1)
        if w.shape != (NUM_BUILTIN_STYLES,) or not np.all(np.isfinite(w)):
            raise StyleError(f"style weights: expected {NUM_BUILTIN_STYLES} finite values, "
                             f"got shape {np.shape(style_weights)}")
        return self.runner(_check_content(content, "content"), w)
