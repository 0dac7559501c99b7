"""A read-only, float view of an ONNX graph, used to lift pretrained weights out of it.

The quantized graphs interleave ``QuantizeLinear``/``DequantizeLinear`` pairs and layout-only
``Reshape``/``Transpose`` nodes between the operations that matter. :class:`GraphView` looks
through them, so the converters can ask structural questions ("which convolution feeds this
normalisation?") instead of relying on node names, which differ between exporters.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import onnx
from onnx import numpy_helper

from filmstyle.errors import ModelError

__all__ = ["ConvSpec", "GraphView", "dequantize"]

# Nodes that move or re-label data without changing values (for the purposes of data flow).
_PASS_THROUGH = {"QuantizeLinear", "DequantizeLinear", "Reshape", "Transpose", "Identity", "Cast",
                 "Squeeze", "Unsqueeze", "Flatten"}


def dequantize(q: np.ndarray, scale: np.ndarray, zero_point: np.ndarray | None, axis: int = 1) -> np.ndarray:
    """Return ``(q - zero_point) * scale`` as float32, per-channel along ``axis`` when ``scale`` is 1-D."""
    qf = q.astype(np.float64)
    zp = np.zeros(1) if zero_point is None else zero_point.astype(np.float64)
    sc = scale.astype(np.float64)
    if sc.ndim == 1 and sc.size > 1:
        shape = [1] * qf.ndim
        shape[axis % qf.ndim] = -1
        sc = sc.reshape(shape)
        zp = zp.reshape(shape) if zp.size > 1 else zp
    return ((qf - zp) * sc).astype(np.float32)


@dataclass(frozen=True)
class ConvSpec:
    """One convolution found in a graph, with its float weights.

    Attributes:
        node: the ONNX ``Conv`` node.
        weight: float32 array ``(C_out, C_in / groups, kH, kW)``.
        bias: float32 array ``(C_out,)`` or ``None``.
        stride: ``(sH, sW)``.
        pads: ``(top, left, bottom, right)`` as stored on the node (zero padding).
        groups: convolution groups.
    """

    node: onnx.NodeProto
    weight: np.ndarray
    bias: np.ndarray | None
    stride: tuple[int, int]
    pads: tuple[int, int, int, int]
    groups: int

    @property
    def output(self) -> str:
        return self.node.output[0]


class GraphView:
    """Producer/consumer index over an ONNX graph with constant folding of dequantized weights.

    Args:
        model: a loaded ``onnx.ModelProto``.
        label: the file name used in error messages.
    """

    def __init__(self, model: onnx.ModelProto, label: str) -> None:
        self.label = label
        self.graph = model.graph
        self.initializers = {t.name: t for t in self.graph.initializer}
        self.producer: dict[str, onnx.NodeProto] = {}
        self.consumers: dict[str, list[onnx.NodeProto]] = {}
        for node in self.graph.node:
            for out in node.output:
                self.producer[out] = node
        self._const_cache: dict[str, np.ndarray | None] = {}
        # Consumers are indexed by *canonical* input names so that a lookup skips Q/DQ pairs.
        for node in self.graph.node:
            for name in node.input:
                if name and not self.is_const(name):
                    self.consumers.setdefault(self.source(name), []).append(node)

    # -- constants ---------------------------------------------------------------------------
    def const(self, name: str) -> np.ndarray | None:
        """Value of ``name`` if it is a constant (initializer, Constant node or dequantized constant)."""
        if name in self._const_cache:
            return self._const_cache[name]
        value: np.ndarray | None = None
        if name in self.initializers:
            value = numpy_helper.to_array(self.initializers[name])
        elif name in self.producer:
            node = self.producer[name]
            if node.op_type == "Constant":
                value = numpy_helper.to_array(node.attribute[0].t)
            elif node.op_type == "DequantizeLinear":
                q = self.const(node.input[0])
                if q is not None:
                    scale = self.const(node.input[1])
                    zp = self.const(node.input[2]) if len(node.input) > 2 and node.input[2] else None
                    if scale is None:
                        raise ModelError(f"{self.label}: node {node.name}: scale is not a constant")
                    value = dequantize(q, scale, zp, self.attr(node, "axis", 1))
        self._const_cache[name] = value
        return value

    def is_const(self, name: str) -> bool:
        return self.const(name) is not None

    @staticmethod
    def attr(node: onnx.NodeProto, name: str, default=None):
        for a in node.attribute:
            if a.name == name:
                return onnx.helper.get_attribute_value(a)
        return default

    # -- data flow ---------------------------------------------------------------------------
    def source(self, name: str) -> str:
        """Follow ``name`` back through value-preserving nodes to the tensor that computed it."""
        seen = 0
        while name in self.producer and seen < 64:
            node = self.producer[name]
            if node.op_type not in _PASS_THROUGH or self.is_const(node.input[0]):
                break
            name = node.input[0]
            seen += 1
        return name

    def source_node(self, name: str) -> onnx.NodeProto | None:
        return self.producer.get(self.source(name))

    def users(self, name: str, op_type: str | None = None) -> list[onnx.NodeProto]:
        """Nodes that read ``name`` (canonically), optionally filtered by op type."""
        found = self.consumers.get(self.source(name), [])
        return [n for n in found if op_type is None or n.op_type == op_type]

    def requantized(self, name: str) -> str:
        """The dequantized copy of ``name`` that later layers read (``name`` itself when not quantized)."""
        for node in self.graph.node:
            if node.op_type == "DequantizeLinear" and not self.is_const(node.input[0]) \
                    and self.source(node.output[0]) == name:
                return node.output[0]
        return name

    def ancestors(self, name: str) -> set[str]:
        """Every tensor name (graph inputs included) upstream of ``name``."""
        out: set[str] = set()
        stack = [name]
        while stack:
            t = stack.pop()
            if t in out:
                continue
            out.add(t)
            node = self.producer.get(t)
            if node is not None:
                stack.extend(i for i in node.input if i)
        return out

    def depends_on(self, name: str, graph_input: str) -> bool:
        return graph_input in self.ancestors(name)

    # -- convolutions ------------------------------------------------------------------------
    def convs(self, where: Callable[[onnx.NodeProto], bool] | None = None) -> list[ConvSpec]:
        """All ``Conv`` nodes in graph (topological) order, with dequantized float weights."""
        specs = []
        for node in self.graph.node:
            if node.op_type != "Conv" or (where is not None and not where(node)):
                continue
            weight = self.const(node.input[1])
            if weight is None:
                raise ModelError(f"{self.label}: conv {node.name}: weight is not a constant")
            bias = self.const(node.input[2]) if len(node.input) > 2 and node.input[2] else None
            pads = tuple(self.attr(node, "pads", [0, 0, 0, 0]))
            specs.append(ConvSpec(
                node=node,
                weight=weight.astype(np.float32),
                bias=None if bias is None else bias.astype(np.float32).reshape(-1),
                stride=tuple(self.attr(node, "strides", [1, 1])),
                pads=(pads[0], pads[1], pads[2], pads[3]),
                groups=int(self.attr(node, "group", 1)),
            ))
        return specs

    def check_chain(self, specs: Iterable[ConvSpec]) -> None:
        """Raise unless each convolution lies downstream of the one before it."""
        specs = list(specs)
        for prev, cur in zip(specs, specs[1:]):
            if prev.output not in self.ancestors(cur.node.input[0]):
                raise ModelError(f"{self.label}: conv {cur.node.name} does not follow {prev.node.name}; "
                                 "unexpected graph layout")
