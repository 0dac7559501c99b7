"""Style migration A -> B with two IMAGE styles: the output's style moves from A to B frame by frame."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import OpenImageIO as oiio
import pytest

from filmstyle.job import build_plan, job_from_data
from filmstyle.engine.pipeline import FramePipeline
from filmstyle.engine.sequence import render_sequence
from filmstyle.job.styles import resolve_style

FIRST, COUNT = 1001, 10
LOOKS = ("crimson-fire", "glacier-wash")  # rendered to PNG, they become the image styles A and B


def _style_png(path: Path, look: str) -> Path:
    """A CIN-26 look rendered on the sample photograph, saved as an 8-bit sRGB PNG (256 px)."""
    from filmstyle import io
    from filmstyle.models import Cin26Stylizer
    from filmstyle.tools.sheets import sample_photograph
    from filmstyle.job.styles import builtin_index

    photo = np.clip(io.read_frame(sample_photograph()).rgb, 0, 1)
    small = cv2.resize(photo, (256, 256), interpolation=cv2.INTER_AREA)
    weights = np.zeros(26, np.float32)
    weights[builtin_index(look)] = 1.0
    pixels = (np.clip(Cin26Stylizer()(small, weights), 0, 1) * 255 + 0.5).astype(np.uint8)
    out = oiio.ImageOutput.create(str(path))
    assert out.open(str(path), oiio.ImageSpec(256, 256, 3, "uint8")), oiio.geterror()
    out.write_image(pixels)
    out.close()
    return path


def _inversions(values: list[float]) -> int:
    return sum(values[j] < values[i] for i in range(len(values)) for j in range(i + 1, len(values)))


@pytest.fixture(scope="module")
def migrated(tmp_path_factory):
    from filmstyle.tools.demo import make_demo_shot

    root = tmp_path_factory.mktemp("migration")
    make_demo_shot(root / "plate", COUNT, size=(128, 72))
    a, b = (_style_png(root / f"{name}.png", name) for name in LOOKS)
    data = {
        "filmstyle": 1,
        "input": "plate/plate.####.exr",
        "output": "out/m.####.exr",
        "styles": [
            {"style": a.name, "weight": f"{FIRST}:1, {FIRST + COUNT - 1}:0"},
            {"style": b.name, "weight": f"{FIRST}:0, {FIRST + COUNT - 1}:1"},
        ],
    }
    plan = build_plan(job_from_data(data, base_dir=root))
    pipeline = FramePipeline(plan)
    report = render_sequence(plan, pipeline=pipeline)
    assert report.written == COUNT
    return root, plan, pipeline, a, b


def test_output_style_moves_from_a_to_b(migrated):
    root, plan, pipeline, a, b = migrated
    va = pipeline.stylizer.style_vector(resolve_style(str(a)))
    vb = pipeline.stylizer.style_vector(resolve_style(str(b)))
    assert np.linalg.norm(va - vb) > 0.5 * np.linalg.norm(va), "the two style images are too alike to test"
    d_a, d_b = [], []
    for frame in plan.source.frames:
        # The output's style vector, measured the way a style image is: colour-managed into the
        # working space, then through the predictor.
        v = pipeline.stylizer.arbitrary.style_vector(pipeline.load_style_image(plan.output.path(frame)))
        d_a.append(float(np.linalg.norm(v - va)))
        d_b.append(float(np.linalg.norm(v - vb)))
    assert d_a[0] < d_b[0], f"first frame is not closer to A: {d_a[0]:.2f} vs {d_b[0]:.2f}"
    assert d_b[-1] < d_a[-1], f"last frame is not closer to B: {d_b[-1]:.2f} vs {d_a[-1]:.2f}"
    assert d_a[-1] > d_a[0] and d_b[-1] < d_b[0]
    # Monotone trend with at most one inversion each (the content itself moves a little).
    assert _inversions(d_a) <= 1, d_a
    assert _inversions([-x for x in d_b]) <= 1, d_b
