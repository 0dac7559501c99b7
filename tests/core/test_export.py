"""``filmstyle export-nuke``: a TorchScript file that a fresh process loads and that matches the core.

What is compared: the exported module run (in a separate Python process, ``torch.jit.load``) on
the RGB of a 64×48 ACEScg EXR, against ``render.FramePipeline.stylize_frame`` on the same file
with the same style and strength (default working space = the display shaper). Both outputs are
ACEScg RGB; the mean absolute difference must be under 1e-3.

Half precision: the loaded module is cast with ``.to("cpu", torch.float16 / torch.bfloat16)``, as
Nuke's "Optimize for Speed and Memory" does, fed pixels of that dtype, and compared with the
float32 core in the network's code domain (linear ACEScg -> Rec.709 -> display shaper), within
:data:`filmstyle.tools.precision_bounds.BOUNDS`: fp16 keeps 11 significant bits, bf16 8, and the
measured error through the networks' 16-18 layers is a few units of that rounding.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import OpenImageIO as oiio
import pytest

from filmstyle import io
from filmstyle.tools.nuke_export import export_nuke_model, gamut_to_rec709
from filmstyle.job import plan_from_cli
from filmstyle.engine.pipeline import FramePipeline
from tests.core.plates import photo_linear

W, H = 64, 48


def write_rgb(path: Path, rgb: np.ndarray) -> Path:
    spec = oiio.ImageSpec(rgb.shape[1], rgb.shape[0], 3, "float")
    out = oiio.ImageOutput.create(str(path))
    assert out.open(str(path), spec)
    assert out.write_image(np.ascontiguousarray(rgb, dtype=np.float32))
    out.close()
    return path


def run_exported(model: Path, pixels: Path, strength: float | None = None, dtype: str = "float32") -> np.ndarray:
    """The exported module's output, float32 ``(H, W, 3)``, run in a fresh process in ``dtype``."""
    return run_exported_as(model, pixels, (dtype,), strength)[dtype]


def run_exported_as(model: Path, pixels: Path, dtypes: tuple[str, ...],
                    strength: float | None = None) -> dict[str, np.ndarray]:
    """:func:`run_exported` for several dtypes in one fresh process (each cast from the loaded file)."""
    outs = {d: pixels.with_suffix(f".{d}.out.npy") for d in dtypes}
    code = textwrap.dedent(f"""
        import numpy as np, torch
        for name, out in {({d: str(p) for d, p in outs.items()})!r}.items():
            dtype = getattr(torch, name)
            m = torch.jit.load({str(model)!r}).to("cpu", dtype)
            if {strength!r} is not None:
                m.strength = {strength!r}
            x = torch.from_numpy(np.load({str(pixels)!r}).transpose(2, 0, 1)[None].copy()).to(dtype)
            with torch.no_grad():
                y = m(x)
            assert y.dtype == dtype, y.dtype
            np.save(out, y[0].float().numpy().transpose(1, 2, 0))
    """)
    subprocess.run([sys.executable, "-c", code], check=True, timeout=180)
    return {d: np.load(p) for d, p in outs.items()}


@pytest.fixture(scope="module")
def plate(tmp_path_factory) -> tuple[Path, np.ndarray]:
    folder = tmp_path_factory.mktemp("export")
    rgb = photo_linear(W, H).copy()
    rgb[10, 10] = 30.0  # a highlight far above 1
    path = write_rgb(folder / "plate.exr", rgb)
    np.save(folder / "plate.npy", rgb)
    return path, rgb


def core_reference(plate: Path, style: str, strength: float, tmp: Path) -> np.ndarray:
    plan = plan_from_cli(input=str(plate), output=str(tmp / "ref.exr"), style=style, strength=strength)
    return FramePipeline(plan).stylize_frame(io.read_frame(plate), 1)


@pytest.mark.parametrize("strength", [0.6, 1.0])
def test_builtin_style_matches_core_pipeline(plate, tmp_path, strength):
    path, rgb = plate
    model = export_nuke_model("starry-blue", tmp_path / "starry.pt", space="acescg", strength=1.0)
    got = run_exported(model, path.with_suffix(".npy"), strength=strength)
    want = core_reference(path, "starry-blue", strength, tmp_path)
    assert got.shape == want.shape == (H, W, 3)
    diff = np.abs(got - want)
    assert diff.mean() < 1e-3, (diff.mean(), diff.max())
    assert np.abs(got - rgb).mean() > 0.01  # it really stylized


def test_image_style_matches_core_pipeline(plate, tmp_path):
    path, _ = plate
    style = tmp_path / "painting.png"
    painting = np.clip(photo_linear(80, 80)[::-1, ::-1] ** (1 / 2.2) * [1.2, 0.8, 0.5], 0, 1)
    out = oiio.ImageOutput.create(str(style))
    assert out.open(str(style), oiio.ImageSpec(80, 80, 3, "uint8"))
    assert out.write_image(np.ascontiguousarray(painting, dtype=np.float32))
    out.close()
    model = export_nuke_model(str(style), tmp_path / "painting.pt", strength=0.8)
    got = run_exported(model, path.with_suffix(".npy"))
    want = core_reference(path, str(style), 0.8, tmp_path)
    assert np.abs(got - want).mean() < 1e-3


def _code(acescg: np.ndarray) -> np.ndarray:
    """ACEScg linear -> the network's code domain (Rec.709 through the display shaper)."""
    from filmstyle.color import shaper

    return shaper.encode(np.clip(acescg @ gamut_to_rec709("acescg").T, 0, None).astype(np.float32))


@pytest.mark.parametrize("style", ["starry-blue", "image"])
def test_export_runs_in_half_and_bfloat16_after_to_dtype(plate, tmp_path, style):
    from filmstyle.tools.precision_bounds import compare, within_bounds

    path, _ = plate
    if style == "image":
        style = str(tmp_path / "painting.png")
        painting = np.clip(photo_linear(80, 80)[::-1, ::-1] ** (1 / 2.2) * [1.2, 0.8, 0.5], 0, 1)
        out = oiio.ImageOutput.create(style)
        assert out.open(style, oiio.ImageSpec(80, 80, 3, "uint8"))
        assert out.write_image(np.ascontiguousarray(painting, dtype=np.float32))
        out.close()
    model = export_nuke_model(style, tmp_path / "m.pt", strength=1.0)
    runs = run_exported_as(model, path.with_suffix(".npy"), ("float16", "bfloat16"))
    want = _code(core_reference(path, style, 1.0, tmp_path))
    for precision, dtype in (("fp16", "float16"), ("bf16", "bfloat16")):
        got = runs[dtype]
        assert np.isfinite(got).all()
        figures = compare(want, _code(got))
        assert within_bounds(precision, figures), (precision, figures)
        assert figures["code_mean"] > 0  # the network really ran in the lower precision


def test_strength_zero_is_the_source(plate, tmp_path):
    path, rgb = plate
    model = export_nuke_model("starry-blue", tmp_path / "s.pt")
    got = run_exported(model, path.with_suffix(".npy"), strength=0.0)
    np.testing.assert_array_equal(got, rgb)


def test_gamut_matrix_round_trips_and_lin_rec709_is_identity():
    m = gamut_to_rec709("acescg")
    assert np.allclose(m.sum(axis=1), 1.0, atol=1e-4)  # white stays white
    assert np.allclose(gamut_to_rec709("lin_rec709"), np.eye(3), atol=1e-6)
