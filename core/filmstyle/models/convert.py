"""Lift float weights out of the pretrained ONNX graphs by walking their structure.

Each converter finds the image-path convolutions in data-flow order, checks them one by one
against the torch module's layer table (shape, stride, groups), then follows each convolution's
output to its normalisation to find the matching style parameters. Nothing depends on node
names. Besides the state dict, every converter returns *taps*: for each module layer, the name
of the ONNX tensor holding the same intermediate result, so tests can compare layer by layer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import onnx

from filmstyle.errors import ModelError
from filmstyle.models.arbitrary import STYLE_DIM, TRANSFORMER_STAGES, StylePredictor
from filmstyle.models.cin26 import CIN26_LAYERS, NUM_BUILTIN_STYLES
from filmstyle.models.graph import ConvSpec, GraphView

__all__ = ["Conversion", "convert_cin26", "convert_predictor", "convert_transformer", "CONVERTERS"]


@dataclass
class Conversion:
    """Result of a conversion.

    Attributes:
        state_dict: module state-dict key -> float32 array.
        taps: module layer name -> ONNX tensor name with the same intermediate value.
    """

    state_dict: dict[str, np.ndarray] = field(default_factory=dict)
    taps: dict[str, str] = field(default_factory=dict)


def _expect_conv(gv: GraphView, spec: ConvSpec, name: str, shape: tuple[int, ...], stride: int,
                 groups: int = 1) -> None:
    if tuple(spec.weight.shape) != shape or spec.stride != (stride, stride) or spec.groups != groups:
        raise ModelError(
            f"{gv.label}: layer {name}: expected conv weight {shape} stride {stride} groups {groups}, "
            f"got {tuple(spec.weight.shape)} stride {spec.stride[0]} groups {spec.groups}")


def _one(gv: GraphView, nodes: list[onnx.NodeProto], what: str) -> onnx.NodeProto:
    if len(nodes) != 1:
        raise ModelError(f"{gv.label}: expected one {what}, found {len(nodes)}; unexpected graph layout")
    return nodes[0]


def _other_input(gv: GraphView, node: onnx.NodeProto, known: str) -> str:
    """The input of a binary ``node`` that is not (canonically) ``known``."""
    src = gv.source(known)
    others = [i for i in node.input if gv.source(i) != src]
    if len(others) != 1:
        raise ModelError(f"{gv.label}: node {node.name}: cannot tell its operands apart")
    return others[0]


def _reflect_padded(gv: GraphView, spec: ConvSpec, name: str) -> None:
    pad = gv.source_node(spec.node.input[0])
    if pad is None or pad.op_type != "Pad" or gv.attr(pad, "mode", b"constant") != b"reflect":
        raise ModelError(f"{gv.label}: layer {name}: expected a reflect-padded conv input")


def _activation_output(gv: GraphView, tensor: str, ops: tuple[str, ...] = ("Relu", "Sigmoid", "Clip")) -> str:
    """The output of the activation applied to ``tensor`` (or ``tensor`` itself if none)."""
    acts = [n for op in ops for n in gv.users(tensor, op)]
    return acts[0].output[0] if len(acts) == 1 else tensor


def _upstream_table(gv: GraphView, tensor: str, rows: int, cols: int) -> np.ndarray:
    """The unique ``(rows, cols)`` float initializer that ``tensor`` is computed from."""
    hits = [n for n in gv.ancestors(tensor) if n in gv.initializers
            and (v := gv.const(n)) is not None and v.shape == (rows, cols) and v.dtype == np.float32]
    if len(hits) != 1:
        raise ModelError(f"{gv.label}: tensor {tensor}: expected one ({rows}, {cols}) style table, found {len(hits)}")
    return gv.const(hits[0]).astype(np.float32)


def convert_cin26(model: onnx.ModelProto, label: str = "multistyle26.onnx") -> Conversion:
    """Weights for :class:`~filmstyle.models.cin26.Cin26Net` from the 26-style ONNX graph."""
    gv = GraphView(model, label)
    convs = gv.convs()
    if len(convs) != len(CIN26_LAYERS):
        raise ModelError(f"{label}: expected {len(CIN26_LAYERS)} convolutions, got {len(convs)}")
    gv.check_chain(convs)
    out = Conversion()
    for spec, (name, cin, cout, k, s, _up, _relu) in zip(convs, CIN26_LAYERS):
        _expect_conv(gv, spec, name, (cout, cin, k, k), s)
        _reflect_padded(gv, spec, name)
        key = f"layers.{name.replace('.', '_')}"
        out.state_dict[f"{key}.conv.conv.weight"] = spec.weight
        # Instance norm: d = x - mean(x); n = d * (1 / sqrt(var + eps)); y = n * gamma + beta.
        _one(gv, gv.users(spec.output, "ReduceMean"), f"mean after {name}")
        diff = _one(gv, gv.users(spec.output, "Sub"), f"centring after {name}")
        norm = _one(gv, gv.users(diff.output[0], "Mul"), f"normalisation after {name}")
        scaled = _one(gv, gv.users(norm.output[0], "Mul"), f"style scale after {name}")
        gamma_src = _other_input(gv, scaled, norm.output[0])
        shifted = _one(gv, gv.users(scaled.output[0], "Add"), f"style shift after {name}")
        beta_src = _other_input(gv, shifted, scaled.output[0])
        out.state_dict[f"{key}.gamma"] = _upstream_table(gv, gamma_src, NUM_BUILTIN_STYLES, cout)
        out.state_dict[f"{key}.beta"] = _upstream_table(gv, beta_src, NUM_BUILTIN_STYLES, cout)
        # Cin26Net's layers include their ReLU but not the final sigmoid.
        out.taps[name] = _activation_output(gv, shifted.output[0], ("Relu",))
    return out


def convert_predictor(model: onnx.ModelProto, label: str = "arbitrary_predict.onnx") -> Conversion:
    """Weights for :class:`~filmstyle.models.arbitrary.StylePredictor` from the int8 MobileNetV2 graph."""
    gv = GraphView(model, label)
    net = StylePredictor()
    layers = net.conv_layers()
    convs = gv.convs()
    if len(convs) != len(layers):
        raise ModelError(f"{label}: expected {len(layers)} convolutions, got {len(convs)}")
    gv.check_chain(convs)
    out = Conversion()
    by_prefix: dict[str, ConvSpec] = {}
    for spec, (prefix, conv) in zip(convs, layers):
        _expect_conv(gv, spec, prefix, tuple(conv.weight.shape), conv.stride[0], conv.groups)
        if spec.bias is None:
            raise ModelError(f"{label}: layer {prefix}: conv has no bias (batch norm not folded?)")
        out.state_dict[f"{prefix}.weight"] = spec.weight
        out.state_dict[f"{prefix}.bias"] = spec.bias
        by_prefix[prefix] = spec
    out.taps["stem"] = _activation_output(gv, by_prefix["stem"].output)
    for i, block in enumerate(net.blocks):
        project = by_prefix[f"blocks.{i}.project"].output
        first = by_prefix.get(f"blocks.{i}.expand") or by_prefix[f"blocks.{i}.depthwise"]
        block_in = gv.source(first.node.input[0])
        # The skip adds this block's projection to this block's input (the next block's skip
        # also reads the projection, as its own input).
        adds = [a for a in gv.users(project, "Add") if block_in in {gv.source(x) for x in a.input}]
        if bool(adds) != block.residual:
            raise ModelError(f"{label}: block {i}: skip connection {'missing' if block.residual else 'unexpected'}")
        out.taps[f"blocks.{i}"] = adds[0].output[0] if adds else project
    out.taps["head"] = _activation_output(gv, by_prefix["head"].output)
    out.taps["proj"] = by_prefix["proj"].output
    return out


def _graph_input(gv: GraphView, last_dim: int) -> str:
    for inp in gv.graph.input:
        dims = [d.dim_value for d in inp.type.tensor_type.shape.dim]
        if dims and dims[-1] == last_dim:
            return inp.name
    raise ModelError(f"{gv.label}: no graph input with {last_dim} values in its last axis")


def convert_transformer(model: onnx.ModelProto, label: str = "arbitrary_transform.onnx") -> Conversion:
    """Weights for :class:`~filmstyle.models.arbitrary.StyleTransformer` from the int8 transformer graph."""
    gv = GraphView(model, label)
    content = _graph_input(gv, 3)
    all_convs = gv.convs()
    image = [c for c in all_convs if gv.depends_on(c.node.input[0], content)]
    style = {c.output: c for c in all_convs if not gv.depends_on(c.node.input[0], content)}
    n_norm = sum(1 for st in TRANSFORMER_STAGES if st[6])
    if len(image) != len(TRANSFORMER_STAGES) or len(style) != 2 * n_norm:
        raise ModelError(f"{label}: expected {len(TRANSFORMER_STAGES)} image and {2 * n_norm} style convs, "
                         f"got {len(image)} and {len(style)}")
    gv.check_chain(image)
    out = Conversion()

    def style_conv(tensor: str, role: str, name: str) -> ConvSpec:
        spec = style.get(gv.source(tensor))
        if spec is None or spec.weight.shape[1:] != (STYLE_DIM, 1, 1):
            raise ModelError(f"{label}: layer {name}: {role} is not a projection of the style vector")
        return spec

    for spec, (name, cin, cout, k, s, _up, has_norm) in zip(image, TRANSFORMER_STAGES):
        _expect_conv(gv, spec, name, (cout, cin, k, k), s)
        _reflect_padded(gv, spec, name)
        key = f"stages.{name.replace('.', '_')}"
        out.state_dict[f"{key}.conv.conv.weight"] = spec.weight
        out.state_dict[f"{key}.conv.conv.bias"] = (
            spec.bias if spec.bias is not None else np.zeros(cout, np.float32))
        if not has_norm:
            out.taps[name] = _activation_output(gv, spec.output)
            continue
        # TF batch_normalization: m = rsqrt(var + eps) * gamma; y = x * m + (beta - mean * m).
        _one(gv, gv.users(spec.output, "GlobalAveragePool"), f"mean after {name}")
        scaled = _one(gv, gv.users(spec.output, "Mul"), f"style scale after {name}")
        m = gv.source_node(_other_input(gv, scaled, spec.output))
        if m is None or m.op_type != "Mul":
            raise ModelError(f"{label}: layer {name}: style scale is not a product")
        gammas = [i for i in m.input if gv.source(i) in style]
        if len(gammas) != 1:
            raise ModelError(f"{label}: layer {name}: expected one style projection in the scale, got {len(gammas)}")
        gamma = style_conv(gammas[0], "gamma", name)
        mean_m = _one(gv, [u for u in gv.users(m.output[0], "Mul") if u is not scaled], f"mean product in {name}")
        sub = _one(gv, gv.users(mean_m.output[0], "Sub"), f"shift after {name}")
        if gv.source(sub.input[1]) != gv.source(mean_m.output[0]):
            raise ModelError(f"{label}: layer {name}: shift is not beta - mean * scale")
        beta = style_conv(sub.input[0], "beta", name)
        normed = _one(gv, gv.users(scaled.output[0], "Add"), f"normalised output of {name}")
        for role, proj in (("gamma", gamma), ("beta", beta)):
            if proj.weight.shape[0] != cout:
                raise ModelError(f"{label}: layer {name}: {role} has {proj.weight.shape[0]} channels, expected {cout}")
            out.state_dict[f"{key}.norm.{role}.weight"] = proj.weight.reshape(cout, STYLE_DIM)
            out.state_dict[f"{key}.norm.{role}.bias"] = (
                proj.bias if proj.bias is not None else np.zeros(cout, np.float32))
        out.taps[name] = _activation_output(gv, normed.output[0])
        if name.endswith("conv2"):
            block = _one(gv, gv.users(normed.output[0], "Add"), f"skip connection of {name}")
            out.taps[name.rsplit(".", 1)[0]] = block.output[0]
    return out


CONVERTERS = {"cin26": convert_cin26, "predictor": convert_predictor, "transformer": convert_transformer}
