"""Make the example shot that ``migration.yaml`` renders: 24 half-float ACEScg EXR frames.

The plate is filmstyle's demo shot (a real photograph with a slow push-in and tilt, alpha and a
depth channel), written next to this script as ``shot/plate.1001.exr`` ... ``plate.1024.exr``::

    python examples/make_example_shot.py            # then:
    filmstyle validate examples/migration.yaml
    filmstyle render examples/migration.yaml
"""

from __future__ import annotations

import argparse
from pathlib import Path

from filmstyle.tools.demo import make_demo_shot

HERE = Path(__file__).resolve().parent
FRAMES = 24
SIZE = (480, 270)


def make_shot(folder: Path | None = None, *, frames: int = FRAMES, size: tuple[int, int] = SIZE) -> str:
    """Write the shot into ``folder`` (default: ``shot/`` beside this script); return its pattern."""
    return make_demo_shot(Path(folder) if folder is not None else HERE / "shot", frames, size=size)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE / "shot", help="folder for the frames")
    parser.add_argument("--frames", type=int, default=FRAMES, help="number of frames (from 1001)")
    args = parser.parse_args()
    print(make_shot(args.out, frames=args.frames))


if __name__ == "__main__":
    main()
