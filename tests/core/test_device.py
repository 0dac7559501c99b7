"""filmstyle.models.device: one place that parses and checks device and precision, one-line errors.

Runs on a CPU-only torch: what needs a GPU is checked through the same functions with the CUDA
calls left out (TF32 switches are plain flags on any build; out-of-memory errors are raised
by hand with torch's own exception type).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from filmstyle.cli import app
from filmstyle.errors import ModelError
from filmstyle.models.custom import JohnsonTransformerNet, load_custom
from filmstyle.models.device import (
    PRECISIONS,
    DeviceError,
    check_options,
    check_precision,
    math_mode,
    out_of_memory,
    parse_device,
    torch_device,
)
from tests.core.plates import make_plate

runner = CliRunner()
CPU_ONLY = torch.version.cuda is None


@pytest.mark.parametrize("text,want", [("cpu", "cpu"), ("cuda", "cuda"), ("cuda:0", "cuda:0"), (" CUDA:1 ", "cuda:1"),
                                       ("cuda:007", "cuda:7"), ("cuda:127", "cuda:127"), ("cuda:000127", "cuda:127")])
def test_devices_are_parsed_to_one_spelling(text, want):
    assert parse_device(text) == want


@pytest.mark.parametrize("text", ["gpu", "cuda:", "cuda:-1", "cuda:x", "mps", "", 0, None, "cpu:0",
                                  "cuda:128", "cuda:4294967296", "cuda:" + "9" * 5000])
def test_bad_devices_are_one_line_errors_naming_the_field(text):
    with pytest.raises(DeviceError) as info:
        parse_device(text)
    message = str(info.value)
    assert message.startswith("device: expected cpu, cuda or cuda:N") and "\n" not in message
    assert info.value.field == "device"


def test_precisions():
    assert PRECISIONS == ("fp32", "fp16", "bf16", "tf32")
    for p in ("fp32", "fp16", "bf16"):
        assert check_precision("cpu", p) == p  # half convolutions do run on a CPU (slowly)
    assert check_precision("cuda:1", "tf32") == "tf32"
    with pytest.raises(DeviceError, match=r"^precision: tf32 .* CUDA mode; on cpu use fp32$"):
        check_precision("cpu", "tf32")
    with pytest.raises(DeviceError, match=r"^precision: expected one of fp32, fp16, bf16, tf32, got 'fp8'$"):
        check_precision("cpu", "fp8")
    assert check_options(" Cuda:2", "fp16") == ("cuda:2", "fp16")


@pytest.mark.skipif(not CPU_ONLY, reason="the message is about a CPU-only torch build")
def test_cuda_on_a_cpu_only_torch_says_so():
    with pytest.raises(DeviceError, match=r"^device: cuda:1: this torch \(.*\) is a CPU-only build; install a CUDA build"):
        torch_device("cuda:1")
    assert torch_device("cpu") == torch.device("cpu")


def _conv_flags():
    return torch.backends.cudnn.conv.fp32_precision, torch.backends.cuda.matmul.fp32_precision


def test_fp32_turns_tf32_off_for_the_call_and_tf32_turns_it_on():
    before = _conv_flags()
    with math_mode(torch.device("cuda"), "fp32"):
        assert _conv_flags() == ("ieee", "ieee")
    assert _conv_flags() == before
    with math_mode(torch.device("cuda"), "tf32"):
        assert _conv_flags() == ("tf32", "tf32")
    assert _conv_flags() == before
    with math_mode(torch.device("cpu"), "fp32"):
        assert _conv_flags() == before  # nothing to switch on a CPU
    _ = torch.backends.cudnn.allow_tf32  # the old API still reads: no mixed state left behind


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_out_of_memory_is_one_line_with_the_hint_to_tile(device):
    with pytest.raises(ModelError) as info:
        with out_of_memory(torch.device(device), "cin26 on a 7680x4320 frame in fp32"):
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB (GPU 0; ...)")
    message = str(info.value)
    assert "\n" not in message and message.startswith("cin26 on a 7680x4320 frame in fp32: out of ")
    assert "--tiling on" in message and "--tile-size" in message
    with pytest.raises(ModelError, match="out of main memory"):
        with out_of_memory(torch.device("cpu"), "x"):
            raise RuntimeError("[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: can't allocate memory: "
                               "you tried to allocate 99999999999 bytes.")
    with pytest.raises(RuntimeError, match="something else"):  # other errors pass through
        with out_of_memory(torch.device("cpu"), "x"):
            raise RuntimeError("something else")


def test_the_runner_turns_out_of_memory_into_the_hint(monkeypatch):
    from filmstyle.models import runtime

    st = runtime.Cin26Stylizer(backend="torch")
    st(np.full((16, 16, 3), 0.5, np.float32), np.eye(26, dtype=np.float32)[0])  # loaded

    def boom(*args, **kwargs):
        raise torch.OutOfMemoryError("CUDA out of memory.")

    monkeypatch.setattr(runtime, "upload", boom)
    with pytest.raises(ModelError, match=r"^cin26 on a 40x24 frame in fp32 on cpu: out of main memory; use --tiling on"):
        st(np.full((24, 40, 3), 0.5, np.float32), np.eye(26, dtype=np.float32)[0])


@pytest.mark.skipif(not CPU_ONLY, reason="needs a CPU-only torch")
def test_custom_pth_on_cuda_without_cuda_is_a_device_error_not_an_assertion(tmp_path):
    torch.save(JohnsonTransformerNet().state_dict(), tmp_path / "j.pth")
    with pytest.raises(DeviceError, match="^device: cuda: this torch .* CPU-only build"):
        load_custom(tmp_path / "j.pth", device="cuda")


def test_custom_onnx_never_runs_silently_on_the_cpu(tmp_path, monkeypatch):
    import onnxruntime as ort

    from filmstyle.models import custom

    conv = torch.nn.Conv2d(3, 3, 1)
    torch.onnx.export(conv, torch.rand(1, 3, 16, 16), str(tmp_path / "m.onnx"), input_names=["x"],
                      output_names=["y"], dynamic_axes={"x": {2: "h", 3: "w"}, "y": {2: "h", 3: "w"}}, dynamo=False)
    with pytest.raises(DeviceError, match=r"^precision: m.onnx: custom ONNX models run in float32"):
        load_custom(tmp_path / "m.onnx", precision="fp16")
    # A machine with a GPU but an onnxruntime without its CUDA provider: refused, not run on the CPU.
    monkeypatch.setattr(custom, "torch_device", lambda device: torch.device("cuda"))
    monkeypatch.setattr(ort, "get_available_providers", lambda: ["CPUExecutionProvider"])
    with pytest.raises(DeviceError, match=r"^device: m.onnx: custom ONNX models run in onnxruntime, and this "
                                          r"onnxruntime .* has no CUDA provider \(install onnxruntime-gpu\)"):
        load_custom(tmp_path / "m.onnx", device="cuda")


def test_cli_device_and_precision_mistakes_are_one_line(tmp_path):
    plate = make_plate(tmp_path / "p.exr")

    def stylize(*extra):
        return runner.invoke(app, ["stylize", str(plate), str(tmp_path / "o.exr"), "--style", "starry-blue", *extra])

    result = stylize("--device", "gpu")
    assert result.exit_code == 1
    assert result.output.strip() == ("filmstyle: error: device: expected cpu, cuda or cuda:N (N = 0 ... 127), "
                                     "got 'gpu'")
    result = stylize("--precision", "tf32")
    assert result.exit_code == 1
    assert result.output.strip() == "filmstyle: error: precision: tf32 (TensorFloat-32 convolutions) is a CUDA mode; on cpu use fp32"
    if CPU_ONLY:
        result = stylize("--device", "cuda:1")
        assert result.exit_code == 1 and len(result.output.strip().splitlines()) == 1
        assert "CPU-only build" in result.output
    assert not (tmp_path / "o.exr").exists()


def test_jobs_accept_any_cuda_index_and_refuse_bad_devices(tmp_path):
    import yaml

    from filmstyle.errors import JobError
    from filmstyle.job import job_from_data, job_template

    def compiled(**fields):
        return job_from_data({**yaml.safe_load(job_template()), **fields}, base_dir=tmp_path)

    for device in ("cuda:0", "cuda:1", "cuda", "cpu"):
        compiled(device=device)  # validates on a machine without that GPU: a farm job may target one
    assert compiled(device=" CUDA:01").to_data()["device"] == "cuda:1"
    compiled(device="cpu", precision="fp16")
    with pytest.raises(JobError, match=r"^device: expected cpu, cuda or cuda:N .* got 'cuda:x'$"):
        compiled(device="cuda:x")
    with pytest.raises(JobError, match=r"^device: expected cpu, cuda or cuda:N .* got int 1$"):
        compiled(device=1)
    with pytest.raises(JobError, match=r"^precision: tf32 \(TensorFloat-32 convolutions\) is a CUDA mode"):
        compiled(precision="tf32")


def test_host_knobs_offer_the_core_precisions_and_devices():
    from filmstyle_plugin.schema import load_schema

    by_name = {p.name: p for p in load_schema()}
    assert by_name["precision"].choices == list(PRECISIONS)
    assert all(parse_device(c) == c for c in by_name["device"].choices)
