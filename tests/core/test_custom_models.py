"""filmstyle.models.custom: plumbing of user checkpoints.

These tests build the architectures with RANDOM weights (no pretrained files are downloaded):
they check key layout, loading, value ranges and sizes, not the look of any real model.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from filmstyle.errors import InputError, ModelError
from filmstyle.models.custom import JohnsonTransformerNet, ResnetGenerator, load_custom

torch.set_num_threads(2)


def _image(h: int = 50, w: int = 70) -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.random((h, w, 3)).astype(np.float32)


def test_random_weight_johnson_checkpoint_loads_and_runs(tmp_path):
    torch.manual_seed(0)
    net = JohnsonTransformerNet().eval()
    state = net.state_dict()
    # Old fast-neural-style checkpoints also carry instance-norm running statistics.
    state["in1.running_mean"] = torch.zeros(32)
    torch.save({f"module.{k}": v for k, v in state.items()}, tmp_path / "candy.pth")
    model = load_custom(tmp_path / "candy.pth")
    assert model.kind == "johnson" and model.value_range == (0.0, 255.0)
    img = _image(48, 64)
    out = model(img)
    with torch.inference_mode():
        ref = net(torch.from_numpy(img.transpose(2, 0, 1) * 255.0)[None])[0].permute(1, 2, 0).numpy()
    assert np.allclose(out, np.clip(ref / 255.0, 0, 1), atol=1e-5)
    assert model(_image()).shape == (50, 70, 3)  # sides not multiples of 4


def test_random_weight_cyclegan_generator_loads_with_its_size(tmp_path):
    torch.manual_seed(1)
    net = ResnetGenerator(ngf=16, n_blocks=3).eval()
    torch.save(net.state_dict(), tmp_path / "g.pth")
    model = load_custom(tmp_path / "g.pth")
    assert model.kind == "cyclegan" and model.value_range == (-1.0, 1.0)
    assert len(model.net.model) == len(net.model)
    img = _image(48, 64)
    with torch.inference_mode():
        ref = net(torch.from_numpy(img.transpose(2, 0, 1) * 2 - 1)[None])[0].permute(1, 2, 0).numpy()
    assert np.allclose(model(img), (ref + 1) / 2, atol=1e-5)
    assert ResnetGenerator().model[1].weight.shape == (64, 3, 7, 7) and len(ResnetGenerator().model) == 28


def test_random_weight_onnx_models_dynamic_and_fixed(tmp_path):
    pytest.importorskip("onnxruntime")
    conv = torch.nn.Conv2d(3, 3, 3, padding=1)
    for name, dynamic in (("dyn.onnx", True), ("fixed.onnx", False)):
        kwargs = {"dynamic_axes": {"x": {2: "h", 3: "w"}, "y": {2: "h", 3: "w"}}} if dynamic else {}
        torch.onnx.export(conv, torch.rand(1, 3, 32, 32), str(tmp_path / name), input_names=["x"],
                          output_names=["y"], dynamo=False, **kwargs)
    img = _image()
    dyn = load_custom(tmp_path / "dyn.onnx")
    with torch.inference_mode():
        ref = conv(torch.from_numpy(img.transpose(2, 0, 1).copy())[None])[0].permute(1, 2, 0).numpy()
    assert np.allclose(dyn(img), np.clip(ref, 0, 1), atol=1e-5)
    assert load_custom(tmp_path / "fixed.onnx")(img).shape == (50, 70, 3)


def test_bad_files_are_one_line_errors(tmp_path):
    torch.save({"fc.weight": torch.zeros(2, 2)}, tmp_path / "other.pth")
    with pytest.raises(ModelError, match="not a fast-neural-style"):
        load_custom(tmp_path / "other.pth")
    (tmp_path / "junk.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(ModelError, match="not a loadable"):
        load_custom(tmp_path / "junk.pth")
    with pytest.raises(ModelError, match="not found"):
        load_custom(tmp_path / "missing.onnx")
    net = JohnsonTransformerNet()
    torch.save(net.state_dict(), tmp_path / "j.pth")
    with pytest.raises(InputError):
        load_custom(tmp_path / "j.pth")(np.zeros((4, 4, 3), np.float32))
