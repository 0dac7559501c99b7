"""Header mutation fuzzer for EXR and DPX, run by tests/core/test_header_fuzz.py in a child process.

Small real files (written by OIIO) have bytes and fields of their headers mutated with a fixed
seed; every mutant goes through ``filmstyle info`` and ``filmstyle stylize`` in-process (typer's
CliRunner). Each case must end in exit 0 with a correct output file, or exit 1 with exactly one
``filmstyle: error:`` line — never a traceback. The child process is what catches a crash or a
hang in a decoder: the parent sees the last case announced on stdout.

    python -m tests.core.header_fuzz --seed 13 --seconds 20 --out DIR
"""

from __future__ import annotations

import argparse
import json
import random
import struct
import sys
import time
from pathlib import Path

import logging

import typer.testing
from typer.testing import CliRunner

import numpy as np

from filmstyle.cli import app
from filmstyle.io import dpx_header, exr_header, read_frame
from tests.core.io_fixtures import make_dpx, make_exr_frame, make_exr_multipart
from tests.core.qc_samples import make_filled12_dpx

_BOUNDARY32 = (0, 1, 2, 7, 8, 255, 256, 0xFFFF, 0x10000, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFE, 0xFFFFFFFF)


def seeds(folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    return {
        "scanline.exr": make_exr_frame(folder / "scanline.exr", 32, 24, extra_channels=False, attrs={}),
        "tiled.exr": make_exr_frame(folder / "tiled.exr", 32, 24, tiled=True, compression="zip",
                                    extra_channels=False, attrs={}),
        "multipart.exr": make_exr_multipart(folder / "multipart.exr", 32, 24, attrs={}),
        "dpx10.dpx": make_dpx(folder / "dpx10.dpx", bits=10, w=32, h=24),
        "dpx12a.dpx": make_filled12_dpx(folder / "dpx12a.dpx", w=32, h=24)[0],
        "dpx8le.dpx": make_dpx(folder / "dpx8le.dpx", bits=8, endian="little", w=32, h=24),
    }


def _exr_mutant(data: bytes, rng: random.Random) -> tuple[str, bytes]:
    layout = exr_header.parse_layout(data, len(data), tables=False)
    end = layout.header_end + 8 * 64
    buf = bytearray(data)
    kind = rng.choice(("flip", "byte", "int32", "attr-size", "attr-value", "truncate", "table"))
    if kind == "flip":
        pos = rng.randrange(4, min(end, len(buf)))
        buf[pos] ^= 1 << rng.randrange(8)
    elif kind == "byte":
        pos = rng.randrange(4, min(end, len(buf)))
        buf[pos] = rng.choice((0, 0xFF, rng.randrange(256)))
    elif kind == "int32":
        pos = rng.randrange(4, min(layout.header_end, len(buf) - 4))
        buf[pos:pos + 4] = struct.pack("<I", rng.choice(_BOUNDARY32))
    elif kind in ("attr-size", "attr-value"):
        # find an attribute and break its size field or its value (windows, chlist, tiles...)
        header = rng.choice(layout.headers)
        attr = rng.choice(header.attributes)
        name = attr.name.encode() + b"\0" + attr.type.encode() + b"\0"
        pos = data.find(name) + len(name)
        if kind == "attr-size":
            buf[pos:pos + 4] = struct.pack("<I", rng.choice(_BOUNDARY32))
        elif attr.data:
            value = pos + 4 + rng.randrange(0, max(1, len(attr.data) - 3))
            buf[value:value + 4] = struct.pack("<I", rng.choice(_BOUNDARY32))[: max(0, len(buf) - value)]
        kind = f"{kind}:{attr.name}"
    elif kind == "truncate":
        buf = buf[: rng.randrange(8, len(buf))]
    else:
        pos = layout.header_end + 8 * rng.randrange(0, 4)
        buf[pos:pos + 8] = struct.pack("<Q", rng.choice((0, 1, len(data) - 1, len(data) + 9, 1 << 62)))
    return kind, bytes(buf)


def _dpx_mutant(data: bytes, rng: random.Random) -> tuple[str, bytes]:
    order = ">" if data[:4] == b"SDPX" else "<"
    buf = bytearray(data)
    kind = rng.choice(("field", "element", "flip", "truncate", "magic"))
    if kind in ("field", "element"):
        table = dpx_header.DPX_FIELDS if kind == "field" else dpx_header.ELEMENT_FIELDS
        name, offset, size, ftype = rng.choice(table)
        if kind == "element":
            offset += dpx_header.ELEMENT_BASE + dpx_header.ELEMENT_SIZE * rng.choice((0, 0, 1))
        if ftype in ("u32", "r32"):
            value = struct.pack(order + "I", rng.choice(_BOUNDARY32))
        elif ftype == "u16":
            value = struct.pack(order + "H", rng.choice((0, 1, 2, 3, 8, 9, 0xFFFF)))
        elif ftype == "u8":
            value = bytes([rng.choice((0, 1, 6, 10, 12, 16, 50, 51, 52, 100, 0xFF, rng.randrange(256)))])
        else:
            value = bytes(rng.choice((0, 0xFF, 0x41)) for _ in range(size))
        buf[offset:offset + size] = value
        kind = f"{kind}:{name}"
    elif kind == "flip":
        pos = rng.randrange(4, 2048)
        buf[pos] ^= 1 << rng.randrange(8)
    elif kind == "truncate":
        buf = buf[: rng.randrange(8, len(buf))]
    else:
        buf[:4] = rng.choice((b"XPDS", b"SDPX")) if rng.random() < 0.5 else bytes(4)
    return kind, bytes(buf)


def _check(result, what: str) -> str | None:
    """None when ``result`` is a clean outcome, else why not."""
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        return f"{what}: {type(result.exception).__name__}: {result.exception}"
    if "Traceback" in result.output:
        return f"{what}: traceback in output"
    if result.exit_code == 0:
        return None
    errors = [line for line in result.output.splitlines() if line.startswith("filmstyle: error: ")]
    others = [line for line in result.output.splitlines()
              if line.strip() and not line.startswith(("filmstyle: error: ", "stylize ", "filmstyle: WARNING"))]
    if result.exit_code != 1 or len(errors) != 1 or others:
        return f"{what}: exit {result.exit_code}, output {result.output[-400:]!r}"
    return None


def _invoke(runner: CliRunner, args: list[str]):
    # The CLI installs its log handler on the stream of the first invocation; CliRunner closes
    # that stream afterwards, so start every case with a fresh handler.
    logging.getLogger("filmstyle").handlers.clear()
    return runner.invoke(app, args)


def _fast_command_lookup() -> None:
    """Build typer's click command once, not per invocation (0.13 s each)."""
    build = typer.testing._get_command
    command = build(app)
    typer.testing._get_command = lambda a: command if a is app else build(a)


def _same_pixels(src: Path, dst: Path) -> str | None:
    a, b = read_frame(src), read_frame(dst)
    if a.rgb.shape != b.rgb.shape or not np.array_equal(a.rgb, b.rgb, equal_nan=True):
        return "strength 0 changed the pixels"
    return None


def run(seed: int, seconds: float, out: Path, min_cases: int) -> dict:
    rng = random.Random(seed)
    runner = CliRunner()
    _fast_command_lookup()
    files = seeds(out / "seeds")
    originals = {name: path.read_bytes() for name, path in files.items()}
    work = out / "cases"
    work.mkdir(parents=True, exist_ok=True)
    failures: list[dict] = []
    outcomes = {"error": 0, "written": 0}
    start = time.monotonic()
    case = 0
    while case < min_cases or time.monotonic() - start < seconds:
        name = rng.choice(sorted(originals))
        data = originals[name]
        kind, mutant = (_exr_mutant if name.endswith(".exr") else _dpx_mutant)(data, rng)
        src = work / f"case{case:04d}{Path(name).suffix}"
        dst = work / f"out{case:04d}{Path(name).suffix}"
        src.write_bytes(mutant)
        print(json.dumps({"case": case, "seed": seed, "file": name, "mutation": kind}), flush=True)
        problem = _check(_invoke(runner, ["info", str(src)]), "info")
        # Strength 0 runs every reading and writing step but not the network (the headers are what
        # is fuzzed), and gives an exact oracle: the output must hold the source's pixels.
        stylized = _invoke(runner, ["stylize", str(src), str(dst), "--style", "starry-blue", "--strength", "0"])
        problem = problem or _check(stylized, "stylize")
        if problem is None and stylized.exit_code == 0:
            try:
                if dst.suffix == ".exr":
                    exr_header.validate_exr(dst)
                problem = _same_pixels(src, dst)
            except Exception as exc:  # noqa: BLE001 - any failure here is a finding
                problem = f"output does not read back: {exc}"
            outcomes["written"] += 1
        elif problem is None:
            outcomes["error"] += 1
        if src.read_bytes() != mutant:
            problem = problem or "source file changed"
        leftovers = [p.name for p in work.iterdir() if ".tmp-" in p.name]
        if leftovers:
            problem = problem or f"temp files left: {leftovers}"
        if problem:
            failures.append({"case": case, "file": name, "mutation": kind, "problem": problem})
            (out / f"failure{case:04d}{Path(name).suffix}").write_bytes(mutant)
        src.unlink()
        dst.unlink(missing_ok=True)
        case += 1
    summary = {"summary": True, "seed": seed, "cases": case, "seconds": round(time.monotonic() - start, 1),
               "failures": failures, **outcomes}
    print(json.dumps(summary), flush=True)
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--min-cases", type=int, default=150)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    summary = run(args.seed, args.seconds, args.out, args.min_cases)
    return 1 if summary["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
