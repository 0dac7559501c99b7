"""Values the lower layers accept, defined once and free of heavy imports.

The parameter table (:mod:`filmstyle.job.params`) offers them to users; :mod:`filmstyle.io` and
:mod:`filmstyle.models` implement them. Importing this module costs nothing, so the command line
can build its options without loading OpenImageIO or torch.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["BIT_DEPTHS", "PRECISIONS", "DEVICE_CHOICES", "DEVICE_PATTERN", "MAX_CUDA_INDEX", "canonical_device",
           "device_problem", "precision_problem"]

#: Output depths: EXR half/float, integer bits for DPX/TIFF/PNG.
BIT_DEPTHS = ("half", "float", 8, 10, 12, 16)
#: Network precisions, see :mod:`filmstyle.models.device` (tf32 is CUDA only).
PRECISIONS = ("fp32", "fp16", "bf16", "tf32")
#: What ``device`` accepts, for help texts.
DEVICE_CHOICES = "cpu, cuda or cuda:N"
#: JSON Schema pattern of a device (``cpu``, ``cuda``, ``cuda:0``, ...).
DEVICE_PATTERN = r"^(cpu|cuda(:[0-9]+)?)$"
_DEVICE = re.compile(DEVICE_PATTERN)
#: Highest ``cuda:N`` (torch keeps a device index in 8 signed bits: cuda:128 would wrap to -128).
MAX_CUDA_INDEX = 127

# The device and precision rules, as plain answers: models.device raises them as DeviceError for
# the runners; the job model words them with the field's path and line. Whether this machine has
# the device is models.device's business (a job for a GPU farm validates on a laptop).


def _shown(value: Any) -> str:
    return repr(value) if isinstance(value, str) else f"{type(value).__name__} {value!r}"


def canonical_device(value: Any) -> str | None:
    """``"cpu"``, ``"cuda"`` or ``"cuda:N"`` for a valid device, else None.

    Case and surrounding blanks are forgiven, and ``cuda:007`` is ``cuda:7``: one spelling per
    device, so nothing keyed by it splits.
    """
    if not isinstance(value, str) or not _DEVICE.match(value.strip().lower()):
        return None
    device = value.strip().lower()
    if ":" not in device:
        return device
    index = device.split(":")[1]
    # Bounded as text first: int() of a thousand-digit string is refused by Python itself.
    if len(index.lstrip("0")) > 3 or int(index) > MAX_CUDA_INDEX:
        return None
    return f"cuda:{int(index)}"


def device_problem(value: Any) -> str | None:
    """Why ``value`` is not a device (one line, without the field name), or None."""
    if canonical_device(value) is None:
        return f"expected {DEVICE_CHOICES} (N = 0 ... {MAX_CUDA_INDEX}), got {_shown(value)}"
    return None


def precision_problem(device: str, precision: Any) -> str | None:
    """Why ``precision`` cannot run on the (canonical) ``device``, or None."""
    if not isinstance(precision, str) or precision not in PRECISIONS:
        return f"expected one of {', '.join(PRECISIONS)}, got {_shown(precision)}"
    if precision == "tf32" and not device.startswith("cuda"):
        return "tf32 (TensorFloat-32 convolutions) is a CUDA mode; on cpu use fp32"
    return None
