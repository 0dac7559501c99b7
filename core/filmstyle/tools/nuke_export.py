"""TorchScript export of one style for Nuke's Inference node (packed into a .cat by CatFileCreator).

The exported module takes what Inference hands it, ``1×3×H×W`` pixels of the comp in its linear
space (``acescg`` or ``lin_rec709``), and returns ``1×3×H×W`` in the same space. Inside it does what
:class:`filmstyle.engine.pipeline.FramePipeline` does for an EXR plate with the default working space:

1. gamut matrix to linear Rec.709 (taken from the OCIO config, identity for ``lin_rec709``);
2. the display shaper of :mod:`filmstyle.color.shaper` (sRGB curve after a highlight shoulder);
3. the network on the clipped code, rolled off under the frame's ceiling (the plate's peak,
   at least diffuse white), with the plate's own values where it is brighter than diffuse white,
   as the core does it;
4. the strength mix against the unclipped code, ``out = code + s * (styled - code)``;
5. the shaper's inverse and the matrix back.

``strength`` is a float attribute set in ``__init__``, so CatFileCreator can expose it as a
Float_Knob named ``strength``; values are clamped to 0..1 (the 2× exaggeration of image styles
needs the style predictor on every frame and is not exported). Pixels go in straight (not
premultiplied): put Unpremult/Premult around the Inference node for plates with alpha.

**Precision.** The module runs as saved (float32) and after ``.to(device, dtype)`` with
``torch.float16`` or ``torch.bfloat16``, which is what Nuke's "Optimize for Speed and Memory" does:
the network then runs in that dtype (its instance-norm statistics, last norm and sigmoid in
float32, see :func:`filmstyle.models.layers.instance_norm_affine`), while the colour steps 1, 2,
4 and 5 always run in float32: the gamut matrices are kept as Python floats, which ``.to()``
leaves alone, and the input is widened to float32 first. The output has the input's dtype.

Which Nuke loads the file depends on the torch that wrote it; see ``docs``/the report: a file
saved by torch 2.x is not expected to load in Nuke 13/14 (torch 1.6 / 1.12). Export from an
environment whose torch matches the target Nuke's.
"""

from __future__ import annotations

import warnings
from io import BytesIO
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from filmstyle import color, io
from filmstyle.color import shaper
from filmstyle.errors import StyleError
from filmstyle.job.styles import resolve_style

__all__ = ["SPACES", "NukeStyleModule", "build_nuke_module", "export_nuke_model", "gamut_to_rec709"]

#: The comp's linear space → a colourspace name the OCIO config resolves.
SPACES = {"acescg": "ACEScg", "lin_rec709": "lin_rec709"}
_LINEAR_REC709 = ("Linear Rec.709 (sRGB)", "lin_rec709", "lin_rec709_srgb", "Utility - Linear - sRGB")


def gamut_to_rec709(space: str, ocio: str | None = None) -> np.ndarray:
    """The 3×3 matrix ``M`` with ``rgb709 = M @ rgb`` for a linear ``space`` (from the OCIO config)."""
    if space not in SPACES:
        raise StyleError(f"space: expected one of {', '.join(SPACES)}, got {space!r}")
    config = color.load_config(ocio)
    src = color.resolve_colorspace(config, SPACES[space], "space")
    dst = next((color.resolve_colorspace(config, n) for n in _LINEAR_REC709 if config.getColorSpace(n)), None)
    if dst is None:
        raise StyleError(f"space: OCIO config {config.getName()!r} has no linear Rec.709 colourspace")
    cpu = config.getProcessor(src, dst).getDefaultCPUProcessor()
    rows = np.eye(3, dtype=np.float32)
    cpu.applyRGB(rows)
    offset = np.zeros((1, 3), dtype=np.float32)
    cpu.applyRGB(offset)
    if np.abs(offset).max() > 1e-7:
        raise StyleError(f"space: {src} → {dst} is not a pure matrix in {config.getName()!r}")
    return rows.T.astype(np.float64)


def _encode(x: torch.Tensor) -> torch.Tensor:
    u = torch.clamp(x - 0.5, min=0.0)
    r = torch.where(x > 0.5, 0.5 + 0.5 * u / (u + 0.5), x)
    return torch.where(r <= 0.0031308, 12.92 * r,
                       1.055 * torch.pow(torch.clamp(r, min=0.0031308), 1.0 / 2.4) - 0.055)


def _decode(c: torch.Tensor) -> torch.Tensor:
    c = torch.clamp(c, max=1.0)
    r = torch.where(c <= 0.04045, c / 12.92, torch.pow((torch.clamp(c, min=0.04045) + 0.055) / 1.055, 2.4))
    q = torch.clamp((r - 0.5) / 0.5, 0.0, 1.0)
    shoulder = torch.clamp(0.5 + 0.5 * q / torch.clamp(1.0 - q, min=1e-30), max=shaper.HALF_MAX)
    return torch.where(r > 0.5, shoulder, r)


_SHOULDER_CODE = float(shaper.encode(np.array(shaper.SHOULDER_START)))


def _ceiling(code: torch.Tensor, white: float, top: float) -> torch.Tensor:
    """The frame's ceiling as :func:`filmstyle.color.shaper.stylized_ceiling` computes it."""
    return torch.clamp(code.amax(), min=white, max=top)


def _roll_off(code: torch.Tensor, ceiling: torch.Tensor, knee: float) -> torch.Tensor:
    """:func:`filmstyle.color.shaper.roll_off` in torch (ceiling above the knee, below 1)."""
    span = 1.0 - knee
    room = ceiling - knee
    b = room * span / torch.clamp(room.neg() + span, min=1e-6)
    s = torch.clamp(code - knee, min=0.0)
    rolled = torch.where(code > knee, b * s / (s + b) + knee, code)
    return torch.minimum(rolled, ceiling)


def _keep_highlights(styled: torch.Tensor, code: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """:func:`filmstyle.engine.tone.keep_highlights` in torch: the plate's own values where it is
    brighter than diffuse white, fully from one stop above (linear Rec.709, luminance ``weights``)."""
    lin_src = _decode(code)
    y = torch.einsum("c,bchw->bhw", weights, lin_src).unsqueeze(1)
    over = torch.clamp(torch.log2(torch.clamp(y, min=2.0 ** -16)), 0.0, 1.0)
    w = over * over * (3.0 - 2.0 * over)
    lin = _decode(styled)
    return torch.where(w > 0, _encode(lin + w * (lin_src - lin)), styled)


class _Body(nn.Module):
    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        return self.net.body(x, cond)


class NukeStyleModule(nn.Module):
    """Linear comp pixels ``(1, 3, H, W)`` → stylized pixels, same space; see the module docstring."""

    def __init__(self, body: nn.Module, cond: torch.Tensor, to709: np.ndarray, strength: float = 1.0) -> None:
        super().__init__()
        self.body = body
        # A buffer, so it takes the network's dtype with .to(dtype): the body's input follows it.
        self.register_buffer("cond", cond.reshape(1, -1).float())
        # Plain floats, not buffers: .to(torch.float16) must not round the colour matrices.
        self.to709: list[float] = [float(v) for v in np.asarray(to709, dtype=np.float64).ravel()]
        self.from709: list[float] = [float(v) for v in np.linalg.inv(to709).ravel()]
        self.strength = float(strength)
        self.ceiling = float(shaper.NETWORK_CEILING)
        self.white = float(shaper.WHITE_CODE)
        self.knee = _SHOULDER_CODE
        self.luma: list[float] = list(color.REC709_LUMA)  # a list too: the highlight test stays float32

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rgb = torch.nan_to_num(x[:, :3].float(), nan=0.0)
        s = min(max(self.strength, 0.0), 1.0)
        if s == 0.0:
            return x[:, :3]
        to709 = torch.tensor(self.to709, dtype=torch.float32, device=rgb.device).reshape(3, 3)
        from709 = torch.tensor(self.from709, dtype=torch.float32, device=rgb.device).reshape(3, 3)
        code = _encode(torch.einsum("ij,bjhw->bihw", to709, rgb))
        h, w = code.shape[2], code.shape[3]
        ph, pw = (4 - h % 4) % 4, (4 - w % 4) % 4
        net_in = torch.clamp(code, 0.0, 1.0)
        if ph > 0 or pw > 0:
            net_in = F.pad(net_in, [0, pw, 0, ph], mode="reflect")
        cond = self.cond.to(rgb.device)
        styled = self.body(net_in.to(cond.dtype), cond)[:, :, :h, :w].float()
        ceiling = _ceiling(code, self.white, self.ceiling)
        styled = _roll_off(styled, ceiling, self.knee)
        luma = torch.tensor(self.luma, dtype=torch.float32, device=rgb.device)
        styled = torch.minimum(_keep_highlights(styled, code, luma), ceiling)
        mixed = styled if s >= 1.0 else code + s * (styled - code)
        out = torch.einsum("ij,bjhw->bihw", from709, _decode(mixed))
        return out.to(x.dtype)


def _style_condition(style: str) -> tuple[str, torch.Tensor]:
    from filmstyle.models import NUM_BUILTIN_STYLES, ArbitraryStylizer

    ref = resolve_style(style, field="--style")
    if ref.kind == "builtin":
        cond = torch.zeros(NUM_BUILTIN_STYLES)
        cond[ref.index] = 1.0
        return "cin26", cond
    # The style image is colour-managed as the render does it: its format's default colourspace.
    assert ref.path is not None
    frame = io.read_frame(ref.path)
    rgb = np.ascontiguousarray(color.clean_nonfinite(frame.rgb), dtype=np.float32)
    config = color.load_config(None)
    name = color.default_input_colorspace(frame.format_name, frame.colorspace_hint, config)
    working = np.clip(color.ColorTransform(config, name, None).to_working(rgb), 0.0, 1.0)
    vector = ArbitraryStylizer(device="cpu", backend="torch").style_vector(working)
    return "transformer", torch.from_numpy(vector)


def build_nuke_module(style: str, *, space: str = "acescg", strength: float = 1.0) -> torch.jit.ScriptModule:
    """The scripted module for ``style`` (a built-in name or an image path)."""
    from filmstyle.models import load_model

    if not 0.0 <= strength <= 1.0:
        raise StyleError(f"--strength: expected 0..1 for an exported model, got {strength:g}")
    to709 = gamut_to_rec709(space)
    model_name, cond = _style_condition(style)
    body = _Body(load_model(model_name))
    example = (torch.rand(1, 3, 64, 64), cond.reshape(1, -1).float())
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        traced = torch.jit.trace(body, example, check_trace=False)
        return torch.jit.script(NukeStyleModule(traced, cond, to709, strength))


def _refuse_foreign_file(path: Path) -> None:
    """Re-exporting over an earlier export is routine; replacing a plate or a script that happens
    to have the name is not: an existing file must be a TorchScript archive (a zip) to be replaced."""
    from filmstyle.errors import OutputError

    try:
        with path.open("rb") as fh:
            head = fh.read(4)
    except OSError:
        return  # missing (written) or unreadable (the write reports why)
    if head != b"PK\x03\x04":
        raise OutputError(f"--out {path}: exists and is not a TorchScript file; choose another name "
                          "(export-nuke only replaces its own exports)")


def export_nuke_model(style: str, out: str | Path, *, space: str = "acescg", strength: float = 1.0) -> Path:
    """Write :func:`build_nuke_module` to ``out`` with ``torch.jit.save``; returns the path.

    ``out`` is checked before the (slow) export and never the style image itself; the file is
    written through a temp file, so a failed write leaves nothing at ``out``.
    """
    from filmstyle.io.targets import check_output_paths, refuse_inputs, write_file

    path = Path(out)
    check_output_paths([path])
    ref = resolve_style(style, field="--style")
    refuse_inputs(path, [("style image", ref.path)])
    _refuse_foreign_file(path)
    module = build_nuke_module(style, space=space, strength=strength)
    # Saved into memory first: torch.jit.save on a path reports an unwritable one as a bare
    # RuntimeError from its zip writer, and leaves a partial file behind.
    buffer = BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # TorchScript is what Nuke's Inference reads
        torch.jit.save(module, buffer)
    return write_file(path, buffer.getvalue())
