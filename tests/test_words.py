"""Every sentence about a model is true of that model: the summary it uses, the front end it
has, the mistakes it makes. Each test names a sentence that was once printed about the wrong
model."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch

from rnntrace.config.settings import ModelConfig, TrainConfig
from rnntrace.data.synthetic import lesson
from rnntrace.experiment.pipeline import Run, run_experiment
from rnntrace.model.classifier import SequenceClassifier
from rnntrace.records.explanation import Explanation
from rnntrace.render.explain_html import explain_view
from rnntrace.render.explain_text import explanation_lines
from rnntrace.render.html import render_report
from rnntrace.render.notebook import print_trace
from rnntrace.render.text import console
from rnntrace.tracing.dataflow import trace_stages
from rnntrace.tracing.insight import write_insight


def _run(out: Path, **model: object) -> Run:
    return run_experiment(lesson(n_sequences=60, seed=3), ModelConfig(hidden_size=4, **model),
                          TrainConfig(epochs=1, seed=3), out=out)


@pytest.fixture(scope="module")
def max_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    return _run(tmp_path_factory.mktemp("words") / "max", summary="max")


def _page_text(html: str) -> str:
    from html.parser import HTMLParser

    class Text(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.parts: list[str] = []

        def handle_data(self, data: str) -> None:
            self.parts.append(data)

    parser = Text()
    parser.feed(html.split("<script", 1)[0])
    return " ".join(" ".join(parser.parts).split())


def test_a_max_summary_model_is_never_said_to_read_its_last_hidden_state(max_run: Run) -> None:
    text = _page_text(render_report(max_run.trace, max_run.explanation))
    assert "The classifier reads the max summary" in text
    assert "max summary:" in text
    assert "last hidden state" not in text.lower()
    out = console(width=140, record=True)
    print_trace(max_run.trace, out)
    terminal = out.export_text()
    assert "Summary (max)" in terminal and "Last hidden state" not in terminal
    assert "largest value" in max_run.trace.insight
    assert "last hidden state" not in max_run.trace.insight


def test_a_last_state_model_still_reads_its_last_hidden_state(tmp_path: Path) -> None:
    run = _run(tmp_path / "last")
    text = _page_text(render_report(run.trace))
    assert "The classifier reads the last hidden state" in text
    assert "only the last hidden state reached the classifier" in run.trace.insight


def test_a_window_of_one_step_is_no_front_end() -> None:
    config = ModelConfig(n_features=3, n_classes=2, hidden_size=4, front_end="window", window=1)
    assert config.front_end_in_use == "none"
    torch.manual_seed(0)
    model = SequenceClassifier.from_config(config)
    assert model.front is None  # nothing between standardisation and the recurrent layer
    plain = SequenceClassifier.from_config(dataclasses.replace(config, front_end="none"))
    plain.load_state_dict(model.state_dict())  # the same weights: the same model
    x = torch.randn(2, 5, 3)
    torch.testing.assert_close(model(x), plain(x))
    stages = [s.name for s in trace_stages(model, x)]
    assert not any(name.startswith("Front end") for name in stages)
    insight = write_insight(config, [], None, 10, 5)
    assert "front end" not in insight and "every 1 steps" not in insight


@pytest.mark.parametrize(
    ("front_end", "window", "said", "unsaid"),
    [
        ("window", 3, "A window front end first read every 3 steps as one.", "convolution"),
        ("conv", 1, "A conv front end first passed the steps through three convolution blocks.",
         "every 1 steps"),
        ("conv", 4, "A conv front end first read every 4 steps as one, then passed them "
         "through three convolution blocks.", "every 1 steps"),
    ],
)
def test_a_front_end_that_acts_is_named_with_what_it_does(
    front_end: str, window: int, said: str, unsaid: str
) -> None:
    for summary in ("last", "max"):  # the last-state summary once left the front end out
        config = ModelConfig(n_features=3, n_classes=2, front_end=front_end, window=window,
                             summary=summary)
        insight = write_insight(config, [], None, 10, 12)
        assert said in insight and unsaid not in insight
    model = SequenceClassifier.from_config(config)
    stages = [s.name for s in trace_stages(model, torch.randn(2, 12, 3))]
    assert f"Front end: {front_end}" in stages


def test_the_explanation_counts_the_models_own_mistakes(max_run: Run) -> None:
    e = max_run.explanation
    assert e is not None and e.mistakes is not None and e.n_scored is not None
    from rnntrace.attribution.source import held_out_of
    from rnntrace.train.loop import predict_logits

    assert max_run.trace.config is not None
    held = held_out_of(max_run.trace.config)
    predicted = predict_logits(max_run.model, held).argmax(1).numpy()
    assert e.n_scored == len(held)
    assert e.mistakes == int((predicted != held.labels).sum())


def _with_mistakes(e: Explanation, mistakes: int) -> Explanation:
    return dataclasses.replace(e, mistakes=mistakes)


def test_with_no_mistake_the_hard_cases_are_the_least_confident(max_run: Run) -> None:
    e = max_run.explanation
    assert e is not None and e.hard_cases
    none = "\n".join(explanation_lines(_with_mistakes(e, 0)))
    assert "Least confident held-out cases" in none and "no mistake" in none
    assert "Hardest" not in none
    some = "\n".join(explanation_lines(_with_mistakes(e, 2)))
    assert f"Hardest held-out cases (2 of {e.n_scored} wrong" in some
    assert "Least confident" not in some
    view = explain_view(_with_mistakes(e, 0), max_run.trace)
    assert {c["label"] for c in view["cases"][1:]} == {"least confident"}
    assert "no mistake" in view["hard_heading"]
    view = explain_view(_with_mistakes(e, 2), max_run.trace)
    assert {c["label"] for c in view["cases"][1:]} == {"hard case"}


def test_a_tiny_loss_is_written_with_its_digits(max_run: Run) -> None:
    e = max_run.explanation
    assert e is not None
    case = dataclasses.replace(e.hard_cases[0], loss=0.00021)
    text = "\n".join(explanation_lines(dataclasses.replace(e, hard_cases=[case], mistakes=0)))
    assert "loss 0.00021" in text and "0.000 " not in text
