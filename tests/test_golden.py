"""Golden files: the demo's terminal output and trace.json for seed 0, kept byte for byte.

A change that alters what a user sees shows up here as a diff. When the change is meant,
regenerate the files with `pytest tests/test_golden.py --update-golden` and commit them: the
diff of the golden files is the record of what changed.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

GOLDEN = Path(__file__).parent / "golden"
TERMINAL = GOLDEN / "demo_seed0.txt"
TRACE = GOLDEN / "demo_seed0_trace.json"
# Run-specific: where and when, wall times, versions. Everything else is a function of the seed.
RUN_SPECIFIC = ("meta",)


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, Any]]:
    out = tmp_path_factory.mktemp("golden") / "run"
    env = {**os.environ, "COLUMNS": "100", "TERM": "dumb", "NO_COLOR": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "rnntrace", "demo", "--seed", "0", "--out", str(out)],
        capture_output=True, text=True, env=env, timeout=300, check=True,
    )
    text = done.stdout.replace(str(out), "<RUN>")
    trace = json.loads((out / "trace.json").read_text())
    for key in RUN_SPECIFIC:
        trace.pop(key, None)
    return text, trace


def _same(golden: Any, got: Any, where: str = "trace") -> None:
    """Equal structure and strings; numbers to 1e-6 relative, since BLAS kernels vary by CPU."""
    if isinstance(golden, dict):
        assert isinstance(got, dict), where
        assert list(got) == list(golden), f"{where}: keys {list(got)} != {list(golden)}"
        for key in golden:
            _same(golden[key], got[key], f"{where}.{key}")
    elif isinstance(golden, list):
        assert isinstance(got, list) and len(got) == len(golden), where
        for i, (g, o) in enumerate(zip(golden, got, strict=True)):
            _same(g, o, f"{where}[{i}]")
    elif isinstance(golden, float) and isinstance(got, (int, float)):
        if math.isnan(golden):
            assert math.isnan(got), where
        else:
            assert got == pytest.approx(golden, rel=1e-6, abs=1e-6), where
    else:
        assert got == golden, where


def test_demo_terminal_output_matches_golden(
    demo_run: tuple[str, dict[str, Any]], update_golden: bool
) -> None:
    text, _ = demo_run
    if update_golden:
        TERMINAL.write_text(text)
    assert text == TERMINAL.read_text()


def test_demo_trace_matches_golden(
    demo_run: tuple[str, dict[str, Any]], update_golden: bool
) -> None:
    _, trace = demo_run
    if update_golden:
        TRACE.write_text(json.dumps(trace, indent=1, ensure_ascii=False) + "\n")
    _same(json.loads(TRACE.read_text()), trace)
