"""Records readable everywhere: print(), Jupyter's _repr_html_ and rich consoles."""

from __future__ import annotations

import io

import pytest
import torch
from rich.console import Console
from torch import nn

import rnntrace as rt
from rnntrace.quiz import make_quiz
from rnntrace.records import History, Trace


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.rnn = nn.RNN(3, 4, batch_first=True)
        self.fc = nn.Linear(4, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, h = self.rnn(x)
        return self.fc(h[-1])  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def trace() -> Trace:
    torch.manual_seed(0)
    return rt.trace(Net(), torch.randn(2, 5, 3))


def _rich(record: object) -> str:
    out = Console(file=io.StringIO(), width=120, color_system=None)
    out.print(record)
    file = out.file
    assert isinstance(file, io.StringIO)
    return file.getvalue()


def test_trace_prints_renders_inline_and_in_rich(trace: Trace) -> None:
    text = str(trace)
    assert "Every module call" in text and "Key Insight" in text
    assert "batch 2 × 5 steps × 3 features" in text
    assert "Key Insight" in _rich(trace) and "batch 2 × 5 steps × 3 features" in _rich(trace)
    html = trace._repr_html_()
    assert html.startswith('<iframe class="rnntrace-report" sandbox="allow-scripts" srcdoc="')
    # the whole page is in the attribute, escaped: no raw tag of the page leaks into the host
    inner = html.split('srcdoc="', 1)[1]
    assert "<script" not in inner and "&lt;script" in inner
    assert "Content-Security-Policy" in inner


def test_module_calls_history_recomputation_and_question(trace: Trace) -> None:
    calls = trace.module_calls
    assert calls is not None
    assert "rnn" in str(calls) and "(2, 5, 3)" in str(calls)
    assert "<pre" in calls._repr_html_() and "(2, 5, 3)" in calls._repr_html_()
    assert "(2, 5, 3)" in _rich(calls)

    r = trace.recomputation
    assert r is not None
    assert "RNN recomputed by hand" in str(r) and "✓ matches" in str(r)
    assert "recomputed by hand" in r._repr_html_()

    history = History()
    assert "No epochs recorded" in str(history)
    model = Net()
    with rt.Recorder(model) as rec:
        rec.epoch(loss=1.0, accuracy=0.5)
    assert "Training Trace" in str(rec.history) and "First epoch" in str(rec.history)
    assert "First epoch" in rec.history._repr_html_()

    (question,) = make_quiz(None, n=1, seed=0)
    text = str(question)
    assert question.prompt.split()[0] in text and "A  " in text
    assert question.prompt.split()[0] in _rich(question)
    assert "<pre" in question._repr_html_()
