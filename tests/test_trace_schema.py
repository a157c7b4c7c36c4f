"""trace.json of schema version 1 (written before the renames) still loads, and the views read
a run from trace.json alone: `rnntrace report` neither needs the weights nor imports torch."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from rnntrace.config.settings import RunConfig
from rnntrace.records import SCHEMA_VERSION, ModuleCalls, Stage, Trace

# The demo's trace for seed 0 as version 1 wrote it (its meta left out, as the golden file does).
V1 = Path(__file__).parent / "fixtures" / "trace_v1.json"


def test_a_version_1_trace_loads_under_the_new_names() -> None:
    raw = json.loads(V1.read_text())
    assert raw["schema_version"] == 1 and "data_flow" in raw and "true" in raw["prediction"]
    trace = Trace.from_dict(raw)
    assert SCHEMA_VERSION == 2 and trace.schema_version == 2
    assert isinstance(trace.config, RunConfig) and trace.config.model.hidden_size == 8
    assert trace.config.data.class_names == raw["config"]["data"]["class_names"]
    assert [s.name for s in trace.stages] == [s["name"] for s in raw["data_flow"]]
    assert all(isinstance(s, Stage) for s in trace.stages)
    assert isinstance(trace.module_calls, ModuleCalls)
    assert len(trace.module_calls.calls) == len(raw["modules"]["calls"])
    assert trace.prediction is not None
    assert trace.prediction.true_class == raw["prediction"]["true"]
    # Written back, it is a version 2 trace: renamed keys, runtime facts no longer in config.
    again = json.loads(trace.to_json())
    assert again["schema_version"] == 2 and "stages" in again and "data_flow" not in again
    assert set(again["config"]) == {"model", "train", "data"}
    assert again["prediction"]["true_class"] == raw["prediction"]["true"]
    assert Trace.from_json(trace.to_json()) == trace


def _run_without_weights(tmp_path: Path) -> Path:
    run = tmp_path / "run"
    run.mkdir()
    shutil.copy(V1, run / "trace.json")  # no config.json, no model.safetensors
    return run


def test_report_reads_only_the_trace_and_never_imports_torch(tmp_path: Path) -> None:
    run = _run_without_weights(tmp_path)
    code = (
        "import sys; from rnntrace.cli.main import main; "
        f"rc = main(['report', {str(run)!r}]); "
        "from rnntrace.run.files import read_trace; from rnntrace.render import notebook, text; "
        f"trace = read_trace(__import__('pathlib').Path({str(run)!r})); "
        "notebook.print_trace(trace, text.console()); "
        "leaked = sorted(m for m in sys.modules if m == 'torch' or m.startswith('torch.')); "
        "assert not leaked, leaked[:5]; print('rc', rc)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "rc 0" in done.stdout and "Key Insight" in done.stdout
    page = (run / "report.html").read_text(encoding="utf-8")
    assert "rnntrace report: RNN(8)" in page
