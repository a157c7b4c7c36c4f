"""The Trace survives a JSON round trip, nested records included."""

from __future__ import annotations

import math

from rnntrace.config.settings import ModelConfig, RunConfig
from rnntrace.records import EpochRecord, PredictionTrace, Stage, Trace


def test_round_trip_keeps_nested_records() -> None:
    trace = Trace(
        config=RunConfig(model=ModelConfig(cell="rnn")),
        stages=[Stage("Input", [2, 3, 4], [2, 3, 4], "d", [[0.5]], {"h_n": [1, 2, 3]})],
        training=[EpochRecord(1, 0.9, 0.5, None, None, 0.2, 0.01, "first")],
        prediction=PredictionTrace("s0", 2, ["a"], [[1.0], [2.0]], [[0.1], [0.2]], [0.2],
                                   [1.0, -1.0], [0.88, 0.12], ["x", "y"], 0, 1),
        insight="text",
    )
    back = Trace.from_json(trace.to_json())
    assert back == trace
    assert isinstance(back.stages[0], Stage) and isinstance(back.prediction, PredictionTrace)
    assert back.prediction.true_label == "y" and back.prediction.predicted_label == "x"


def test_non_finite_numbers_survive() -> None:
    record = EpochRecord(1, math.nan, 0.1, math.inf, None, 1.0, 0.1)
    trace = Trace(RunConfig(), [], [record], None, "")
    back = Trace.from_json(trace.to_json())
    assert math.isnan(back.training[0].loss) and back.training[0].val_loss == math.inf
