"""EXR/DPX header mutation fuzzing through ``info`` and ``stylize`` (tests/core/header_fuzz.py).

The fuzzer runs in a child process with a fixed seed and a time budget, so that a crash or hang in
a decoder fails this test with the case that caused it instead of taking pytest down.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SEED = 13
SECONDS = 20
MIN_CASES = 60


def test_mutated_headers_end_in_a_clean_error_or_a_correct_file(tmp_path):
    cmd = [sys.executable, "-m", "tests.core.header_fuzz", "--seed", str(SEED), "--seconds", str(SECONDS),
           "--min-cases", str(MIN_CASES), "--out", str(tmp_path)]
    try:
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=SECONDS + 150)
    except subprocess.TimeoutExpired as exc:
        last = (exc.stdout or b"").decode(errors="replace").strip().splitlines()[-1:]
        raise AssertionError(f"fuzzer hung; last case: {last}") from None
    lines = proc.stdout.strip().splitlines()
    assert proc.returncode >= 0, f"fuzzer crashed (signal {-proc.returncode}); last case: {lines[-1:]}"
    summary = json.loads(lines[-1])
    assert summary.get("summary"), (lines[-1:], proc.stderr[-2000:])
    assert summary["failures"] == [], json.dumps(summary["failures"][:10], indent=1)
    assert proc.returncode == 0
    assert summary["cases"] >= MIN_CASES
    # both outcomes were exercised: refused mutants and mutants that still make a correct file
    assert summary["error"] >= 10 and summary["written"] >= 10, summary
