"""Old public names keep working for one release: each warns once, then acts as its new name."""

from __future__ import annotations

import importlib
import sys
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import rnntrace as rt
from rnntrace import _deprecated, records
from rnntrace.config.settings import RunConfig
from rnntrace.records import PredictionTrace, Trace
from rnntrace.render import dataflow_text, text
from rnntrace.run import directory as run
from rnntrace.tracing import dataflow, hooks
from rnntrace.train import checkpoint


@pytest.fixture(autouse=True)
def fresh_warnings() -> Iterator[None]:
    _deprecated._warned.clear()  # each test sees its name's first use
    yield
    _deprecated._warned.clear()


ALIASES: list[tuple[str, Callable[[], Any], Callable[[], Any]]] = [
    ("rnntrace.data_flow", lambda: rt.data_flow, lambda: rt.trace_stages),
    ("rnntrace.DataFlow", lambda: rt.DataFlow, lambda: rt.ModuleCalls),
    ("rnntrace.records.DataFlow", lambda: records.DataFlow, lambda: records.ModuleCalls),
    ("rnntrace.tracing.hooks.trace", lambda: hooks.trace, lambda: hooks.trace_modules),
    ("rnntrace.tracing.dataflow.data_flow", lambda: dataflow.data_flow,
     lambda: dataflow.trace_stages),
    ("rnntrace.train.checkpoint.load_run", lambda: checkpoint.load_run,
     lambda: checkpoint.load_latest),
    ("rnntrace.run.directory.SavedRun", lambda: run.SavedRun, lambda: run.Run),
    ("rnntrace.render.text.data_flow_table", lambda: text.data_flow_table,
     lambda: text.stages_table),
    ("rnntrace.render.dataflow_text.dataflow_table", lambda: dataflow_text.dataflow_table,
     lambda: dataflow_text.module_calls_table),
]


@pytest.mark.parametrize(("old", "get_old", "get_new"), ALIASES, ids=[a[0] for a in ALIASES])
def test_an_old_name_warns_once_and_is_the_new_object(
    old: str, get_old: Callable[[], Any], get_new: Callable[[], Any]
) -> None:
    with pytest.warns(DeprecationWarning, match=rf"{old} is renamed"):
        value = get_old()
    assert value is get_new()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a second use is silent
        assert get_old() is value


def test_renamed_trace_fields_read_through_their_old_names() -> None:
    p = PredictionTrace("s", 1, ["a"], [[1.0]], [[0.5]], [0.5], [1.0, 0.0], [0.7, 0.3],
                        ["x", "y"], 0, 1)
    trace = Trace(RunConfig(), [], [], p, "")
    with pytest.warns(DeprecationWarning, match="PredictionTrace.true is renamed"):
        assert p.true == 1 == p.true_class
    with pytest.warns(DeprecationWarning, match="Trace.data_flow is renamed"):
        assert trace.data_flow is trace.stages
    with pytest.warns(DeprecationWarning, match="Trace.modules is renamed"):
        assert trace.modules is trace.module_calls is None


def test_the_events_module_is_now_tensorboard() -> None:
    sys.modules.pop("rnntrace.events", None)
    renamed = "rnntrace.events is renamed rnntrace.train.tensorboard"
    with pytest.warns(DeprecationWarning, match=renamed):
        events = importlib.import_module("rnntrace.events")
    from rnntrace.train.tensorboard import TensorBoardLog

    assert events.TensorBoardLog is TensorBoardLog


def test_an_unknown_name_is_still_an_attribute_error() -> None:
    with pytest.raises(AttributeError):
        _ = records.NoSuchThing  # type: ignore[attr-defined]
