"""Where and in which precision the networks run: parsing, checking, and the CUDA details.

Everything a user can get wrong about ``device`` and ``precision`` is decided here, with a
one-line :class:`DeviceError` that names the field: the runners call :func:`check_options` (or its
two halves), and what only torch can tell (a CPU-only build, no GPU, out of memory) is found here
too. The rules that need no torch, which the job model applies as well, are written once in
:mod:`filmstyle.choices` (torch-free processes such as the panel import that alone).

* ``device``: ``cpu``, ``cuda`` (the current CUDA device) or ``cuda:N``.
* ``precision`` (:data:`PRECISIONS`):

  - ``fp32``: IEEE float32 everywhere. On CUDA, TensorFloat-32 convolutions and matrix products
    are switched *off* for the duration of each network call (torch allows them for cuDNN
    convolutions by default; emulated, that moves the 26-style network's output by 2.2e-4 on
    average).
  - ``tf32``: float32 tensors with TF32 convolutions and matrix products (CUDA only; products
    rounded to 10 mantissa bits, sums in float32).
  - ``fp16`` / ``bf16``: weights and activations in half / bfloat16. Instance-norm statistics
    and affine, the final activation (sigmoid) and everything after it stay float32. Both run on
    a CPU too, but gain nothing there: torch runs fp16 convolutions on a CPU through a slow
    reference path (3-4x slower than fp32 measured), and bf16 is about as fast as fp32 on CPUs
    without bfloat16 instructions, and less accurate. fp32 (through onnxruntime) is the CPU default.

This module imports torch lazily, so the job model can validate without loading it: only the
functions that take or return torch objects import it, when called.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from filmstyle.choices import (
    DEVICE_CHOICES,
    DEVICE_PATTERN,
    PRECISIONS,
    canonical_device,
    device_problem,
    precision_problem,
)
from filmstyle.errors import ModelError

if TYPE_CHECKING:
    import torch

__all__ = ["PRECISIONS", "DEVICE_PATTERN", "DEVICE_CHOICES", "DeviceError", "parse_device", "check_precision",
           "check_options", "torch_device", "torch_dtype", "math_mode", "out_of_memory", "out_of_memory_hint",
           "warn_slow_precision"]

_log = logging.getLogger("filmstyle.models")
# TF32 switches are process-wide: one network call on CUDA at a time sets and restores them.
_math_lock = threading.RLock()
_warned: set[tuple[str, str]] = set()


class DeviceError(ModelError):
    """A bad ``device`` or ``precision`` (or a combination the machine cannot run).

    Attributes:
        field: ``"device"`` or ``"precision"``, the field at fault.
        reason: the message without the field name (for callers that add their own prefix).
    """

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def parse_device(text: Any) -> str:
    """The canonical spelling of a device: ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.

    Case and surrounding blanks are forgiven (``" CUDA:1 "`` -> ``"cuda:1"``). Whether the
    machine has that device is :func:`torch_device`'s business, so a job for a GPU farm
    validates on a laptop.

    Raises:
        DeviceError: anything else (``gpu``, ``cuda:-1``, ``mps``, a number...).
    """
    device = canonical_device(text)
    if device is None:
        raise DeviceError("device", device_problem(text) or "")
    return device


def check_precision(device: str, precision: Any) -> str:
    """``precision`` checked against :data:`PRECISIONS` and the (parsed) ``device``; returned as is.

    Raises:
        DeviceError: an unknown precision, or ``tf32`` on CPU (a CUDA mode).
    """
    problem = precision_problem(device, precision)
    if problem is not None:
        raise DeviceError("precision", problem)
    return precision


def check_options(device: Any, precision: Any) -> tuple[str, str]:
    """Both fields at once: ``(parse_device(device), check_precision(...))``. No torch needed."""
    parsed = parse_device(device)
    return parsed, check_precision(parsed, precision)


def torch_dtype(precision: str) -> torch.dtype:
    """The dtype weights and activations have in ``precision`` (``tf32`` is float32 storage)."""
    import torch

    return {"fp16": torch.float16, "bf16": torch.bfloat16}.get(precision, torch.float32)


def torch_device(device: Any) -> torch.device:
    """The ``torch.device`` for ``device``, checked against this torch build and machine.

    Raises:
        DeviceError: a bad spelling, a CPU-only torch, no CUDA GPU visible, or ``cuda:N`` past
            the last GPU; each names what to do instead.
    """
    import torch

    name = parse_device(device)
    if name == "cpu":
        return torch.device("cpu")
    if torch.version.cuda is None:
        raise DeviceError("device", f"{name}: this torch ({torch.__version__}) is a CPU-only build; install a "
                          "CUDA build of torch (README, 'GPU') or use --device cpu")
    if not torch.cuda.is_available():
        raise DeviceError("device", f"{name}: torch {torch.__version__} finds no CUDA GPU (no driver, or "
                          "CUDA_VISIBLE_DEVICES hides them); use --device cpu")
    count = torch.cuda.device_count()
    dev = torch.device(name)
    if dev.index is not None and dev.index >= count:
        listed = ", ".join(f"cuda:{i}" for i in range(count))
        raise DeviceError("device", f"{name}: this machine has {count} CUDA GPU{'s' if count > 1 else ''} ({listed})")
    return dev


def warn_slow_precision(device: torch.device, precision: str) -> None:
    """Log once per process that fp16/bf16 on a CPU costs accuracy for no speed (it still runs)."""
    key = (device.type, precision)
    if device.type == "cpu" and precision in ("fp16", "bf16") and key not in _warned:
        _warned.add(key)
        why = ("torch runs half convolutions on a CPU through a slow reference path, several times slower "
               "than fp32" if precision == "fp16" else
               "on CPUs without bfloat16 instructions it is no faster than fp32, and less accurate")
        _log.warning("precision %s on cpu: %s; fp32 is the CPU default", precision, why)


def _tf32_switches(torch_mod) -> list[tuple[Any, str, Any]]:
    """``(object, attribute, value-for-off)`` of the TF32 switches this torch has, newest API first.

    torch >= 2.9 has per-operator ``fp32_precision`` settings; it raises when code reads the old
    ``allow_tf32`` flags after mixing both, so only one API is touched, and only per operator.
    """
    conv = getattr(torch_mod.backends.cudnn, "conv", None)
    matmul = torch_mod.backends.cuda.matmul
    if conv is not None and hasattr(conv, "fp32_precision"):
        return [(conv, "fp32_precision", "ieee"), (matmul, "fp32_precision", "ieee")]
    return [(torch_mod.backends.cudnn, "allow_tf32", False), (matmul, "allow_tf32", False)]


@contextmanager
def math_mode(device: torch.device, precision: str) -> Iterator[None]:
    """Inside: TF32 off on CUDA for ``fp32``, on for ``tf32``; restored on exit. No-op on CPU.

    Held around each network call rather than set once, so a render never changes what other
    code in the same process (a host application, another library) gets from torch.
    """
    if device.type != "cuda":
        yield
        return
    import torch

    on = precision == "tf32"
    with _math_lock:
        switches = _tf32_switches(torch)
        saved = [(obj, attr, getattr(obj, attr)) for obj, attr, _ in switches]
        try:
            for obj, attr, off in switches:
                setattr(obj, attr, ("tf32" if isinstance(off, str) else True) if on else off)
            yield
        finally:
            for obj, attr, value in saved:
                setattr(obj, attr, value)


def out_of_memory_hint(device: torch.device, what: str) -> str:
    """The one-line message for an out-of-memory failure of ``what`` on ``device``."""
    import torch

    if device.type == "cuda":
        try:
            torch.cuda.empty_cache()  # give back what the failed call cached, before measuring
            free, total = torch.cuda.mem_get_info(device)
            room = f" ({free / 2**30:.1f} of {total / 2**30:.1f} GiB free)"
        except Exception:  # the context may be unusable after the failure; the hint matters more
            room = ""
        where = f"GPU {device}{room}"
    else:
        where = "main memory"
    return (f"{what}: out of {where}; use --tiling on with a smaller --tile-size (e.g. 512), "
            "or --precision fp16/bf16 on a GPU")


def _is_out_of_memory(exc: BaseException) -> bool:
    import torch

    oom = getattr(torch, "OutOfMemoryError", None) or torch.cuda.OutOfMemoryError
    if isinstance(exc, oom):
        return True
    # CPU allocations fail with a plain RuntimeError from torch's allocator.
    return isinstance(exc, RuntimeError) and "DefaultCPUAllocator: can't allocate memory" in str(exc)


@contextmanager
def out_of_memory(device: torch.device, what: str) -> Iterator[None]:
    """Turn an out-of-memory failure inside the block into a one-line :class:`ModelError`.

    Args:
        device: where the block runs (CUDA: the hint gives the free memory).
        what: names the work, e.g. ``"cin26 on a 7680x4320 frame in fp32"``.
    """
    try:
        yield
    except (RuntimeError, MemoryError) as exc:
        if isinstance(exc, MemoryError) or _is_out_of_memory(exc):
            raise ModelError(out_of_memory_hint(device, what)) from None
        raise
