"""FLOPs counted from an ONNX graph, and the fp32 rate this CPU sustains: a network's time floor.

:func:`onnx_conv_flops` runs the graph once on a small image with every convolution's output and
weight exposed, reads each convolution's stride against the input from the shapes, and counts
``2 * C_out * C_in/groups * k_h * k_w`` per output pixel at the frame size asked for (exact for
sides that divide by the networks' total stride of 4). Convolutions are > 99 % of these networks'
arithmetic; norms, activations and resizes are left out, so the floor is a lower bound.
:func:`sgemm_gflops` measures the fp32 rate of a large matrix product on this machine's threads,
the best dense arithmetic it sustains; ``FLOPs / rate`` is then the least time a network could
take here.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

__all__ = ["onnx_conv_flops", "sgemm_gflops"]


def onnx_conv_flops(path: str | Path, height: int, width: int, *, probe: tuple[int, int] = (272, 480)) -> float:
    """fp32 FLOPs of the Conv nodes of the ONNX graph at ``path`` for one ``height x width`` frame."""
    import onnx
    import onnxruntime as ort

    model = onnx.load(str(path))
    convs = [n for n in model.graph.node if n.op_type == "Conv"]
    wanted = []
    for node in convs:
        wanted += [node.output[0], node.input[1]]
    known = {o.name for o in model.graph.output}
    for name in dict.fromkeys(wanted):
        if name not in known:
            model.graph.output.append(onnx.helper.make_empty_tensor_value_info(name))
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    feeds = {}
    for inp in sess.get_inputs():
        if len(inp.shape) == 4:
            channels_last = inp.shape[-1] == 3
            shape = (1, probe[0], probe[1], 3) if channels_last else (1, 3, *probe)
            feeds[inp.name] = np.random.default_rng(0).random(shape, dtype=np.float32)
        else:  # a conditioning vector: symbolic (batch) axes are 1, an even blend over its values
            shape = [d if isinstance(d, int) and d > 0 else 1 for d in inp.shape]
            feeds[inp.name] = np.full(shape, 1.0 / max(shape), np.float32)
    names = [o.name for o in sess.get_outputs()]
    values = dict(zip(names, sess.run(names, feeds)))
    total = 0.0
    for node in convs:
        out, weight = values[node.output[0]], values[node.input[1]]
        stride = probe[0] / out.shape[2]
        pixels = (height / stride) * (width / stride)
        # weight is (C_out, C_in / groups, k_h, k_w): its second axis already counts one group's inputs
        total += 2.0 * out.shape[1] * weight.shape[1] * weight.shape[2] * weight.shape[3] * pixels
    return total


def sgemm_gflops(size: int = 2048, repeats: int = 3) -> float:
    """Best fp32 GFLOP/s of a ``size x size`` matrix product with torch's CPU threads."""
    import torch

    a, b = torch.rand(size, size), torch.rand(size, size)
    torch.mm(a, b)  # warm-up
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - start)
    return 2.0 * size ** 3 / best / 1e9
