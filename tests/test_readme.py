"""The README's Python API block runs as written and prints what it says it does."""

from __future__ import annotations

import contextlib
import io
import os
import re
from pathlib import Path

from rnntrace.data.synthetic import lesson

README = Path(__file__).resolve().parents[1] / "README.md"


def _api_block() -> str:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Python API") :]
    found = re.search(r"```python\n(.*?)```", section, re.S)
    assert found is not None, "the Python API section has no python block"
    return found.group(1)


def test_the_python_api_block_runs_as_written(tmp_path: Path) -> None:
    data = lesson(n_sequences=30, seed=2)
    rows = ["id,time,label," + ",".join(data.feature_names)]
    for i, label in enumerate(data.labels):
        for t in range(int(data.lengths[i])):
            values = ",".join(f"{v:.5f}" for v in data.values[i, t].tolist())
            rows.append(f"s{i},{t},{data.class_names[label]},{values}")
    (tmp_path / "walks.csv").write_text("\n".join(rows) + "\n")
    printed = io.StringIO()
    before = Path.cwd()
    os.chdir(tmp_path)  # the block writes its run under ./runs
    try:
        with contextlib.redirect_stdout(printed):
            exec(compile(_api_block(), "README.md", "exec"), {"__name__": "readme"})
    finally:
        os.chdir(before)
    lines = printed.getvalue().splitlines()
    assert "loss" in lines[0].lower()  # the last epoch's observation, written from its numbers
    diff, matches = next(line for line in lines if line.endswith((" True", " False"))).split()
    assert float(diff) < 1e-5 and matches == "True"
    assert "input_size" in printed.getvalue()  # the explained mistake names what it expected
    assert (tmp_path / "runs").is_dir()
