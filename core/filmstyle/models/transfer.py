"""Frames in and out of a torch device: upload as they are, convert on the device.

A frame reaches the network as an ``(H, W, 3)`` float32 array. It crosses to the device in that
form (page-locked staging memory and an asynchronous copy on CUDA) and only there becomes the
network's input: the ``(1, 3, H, W)`` view of that memory is already channels-last, so the
layout change costs nothing, and the reflect padding to a multiple of 4 and the cast to the
network's dtype run on the device. On a 4K frame that is ~130 ms of CPU work (transpose, pad,
fp32->fp16) that no longer happens on the host before a GPU frame.

On the CPU the same code runs with the copies left out: ``torch.from_numpy`` shares the array's
memory, and the channels-last view means the network gets its preferred layout without the
transpose the numpy path needed.

Shapes: images are ``(H, W, 3)``; network tensors ``(1, 3, H, W)``.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

__all__ = ["upload", "download"]


def upload(image: np.ndarray, device: torch.device, dtype: torch.dtype, multiple: int = 4) -> torch.Tensor:
    """``image`` (H, W, 3) float32 as the network input on ``device``.

    Args:
        image: C-contiguous float32 pixels (made so if not).
        device: where the network runs.
        dtype: the network's dtype; the cast happens on ``device``.
        multiple: bottom/right reflect padding so both sides divide by it (1 = none).

    Returns:
        ``(1, 3, H', W')`` ``dtype``, channels-last, H' and W' the padded sides.
    """
    host = torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32))
    if device.type == "cuda":
        # Page-locked, so the copy is a DMA the host does not wait for; the caching host
        # allocator keeps the staging block alive until the copy has finished.
        host = host.pin_memory()
        x = host.to(device, non_blocking=True)
    else:
        x = host
    x = x.permute(2, 0, 1).unsqueeze(0)  # a view: HWC memory is NCHW channels-last
    x = x.to(dtype)
    h, w = x.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    if ph or pw:
        x = F.pad(x, (0, pw, 0, ph), mode="reflect")
    return x.contiguous(memory_format=torch.channels_last)


def download(y: torch.Tensor, height: int, width: int) -> np.ndarray:
    """The network output ``y`` (1, 3, H', W') cropped to ``(height, width, 3)`` float32 on the host.

    The layout and dtype change happen on the device; from CUDA the result lands in page-locked
    memory through an asynchronous copy, waited for before returning.
    """
    out = y[0, :, :height, :width].permute(1, 2, 0).to(torch.float32).contiguous()
    if out.device.type != "cuda":
        return out.numpy()
    host = torch.empty(out.shape, dtype=torch.float32, pin_memory=True)
    host.copy_(out, non_blocking=True)
    torch.cuda.current_stream(out.device).synchronize()
    return host.numpy()
