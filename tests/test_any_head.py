"""Any head of a user's model read as what it is (tracing/heads.py), and one pass told honestly.

Truth: the models' own outputs, run here by the test; the models are written from their public
definitions (tests/_public_models.py, and the word language model of test_any_model.py).
"""

from __future__ import annotations

import random

import pytest
import torch
from torch import nn

import rnntrace as rt
from _public_models import PackedWithPaddedLengths, SentimentRNN, Seq2Seq, SoftmaxClassifier
from rnntrace.records import Trace
from test_any_model import RNNModel

TOL = 1e-5


def _kinds(trace: Trace) -> list[str]:
    assert trace.module_calls is not None
    return [f.kind for f in trace.module_calls.findings]


def test_sigmoid_sentiment_classifier_is_not_squashed_twice() -> None:
    torch.manual_seed(0)
    model = SentimentRNN()
    tokens = torch.randint(0, 30, (4, 9))
    hidden = model.init_hidden(4)
    trace = rt.trace(model, tokens, hidden, labels=torch.tensor([1, 0, 0, 1]))
    assert all(layer.recomputation.max_abs_diff <= TOL for layer in trace.layers)
    model.eval()
    with torch.no_grad():
        p1 = float(model(tokens, hidden)[0][0])  # σ already applied by the model
    p = trace.prediction
    assert p is not None and p.class_names == ["0", "1"]
    assert p.probabilities == pytest.approx([1 - p1, p1], abs=1e-6)
    assert p.predicted == int(p1 > 0.5) and p.true_class == 1
    assert "from sig (nn.Sigmoid)" in p.head and "not σ again" in p.head
    # the two scores shown, (0, logit), give the same P through a softmax
    assert torch.softmax(torch.tensor(p.logits), 0)[1] == pytest.approx(p1, abs=1e-6)
    d = trace.dynamics
    assert d is not None and d.logits_diff == 0.0
    # the loss is the binary cross-entropy of the labels under the model's own P
    with torch.no_grad():
        out = model(tokens, hidden)[0].double()
    bce = nn.functional.binary_cross_entropy(out, torch.tensor([1.0, 0, 0, 1]).double())
    assert d.loss == pytest.approx(float(bce), rel=1e-5)


def test_a_raw_logit_gets_its_sigmoid() -> None:
    class OneLogit(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.gru = nn.GRU(3, 4, batch_first=True)
            self.fc = nn.Linear(4, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.fc(self.gru(x)[1][-1]).squeeze(1)  # (B,), BCEWithLogitsLoss's input

    torch.manual_seed(1)
    model = OneLogit()
    x = torch.randn(3, 5, 3)
    p = rt.trace(model, x).prediction
    logit = float(model(x)[0].detach())
    assert p is not None and "one logit" in p.head
    assert p.probabilities[1] == pytest.approx(float(torch.sigmoid(torch.tensor(logit))), abs=1e-6)


def test_softmax_output_is_shown_as_it_is() -> None:
    torch.manual_seed(0)
    model = SoftmaxClassifier()
    x = torch.randn(5, 7, 4)
    trace = rt.trace(model, x)
    probs = model(x)[0].detach().double()
    p = trace.prediction
    assert p is not None
    assert p.probabilities == pytest.approx(probs.tolist(), abs=1e-6)  # not softmax(probs)
    assert not torch.allclose(torch.softmax(probs, 0), probs, atol=1e-3)  # which would differ
    assert "already probabilities" in p.head and "not softmaxed again" in p.head
    assert "already probabilities" in str(trace)  # the terminal says it
    from rnntrace.render.html import render_report

    assert "already probabilities" in render_report(trace)  # and the page
    assert _kinds(trace) == []


def test_language_model_rows_batch_one_are_not_a_swap() -> None:
    torch.manual_seed(0)
    model = RNNModel("LSTM", ntoken=20, ninp=6, nhid=5, nlayers=2)
    tokens = torch.randint(0, 20, (8, 1))  # (T, B=1): output.view(-1, V) has 8 rows
    trace = rt.trace(model, tokens, model.init_hidden(1))  # (L, 1, H) states
    assert _kinds(trace) == []  # no time/batch-swap finding with a fix that would break it
    p = trace.prediction
    assert p is not None and "(T·B, C)" in p.head and "log-probabilities" in p.head
    model.eval()
    with torch.no_grad():
        log_p = model(tokens, model.init_hidden(1))[0]  # (8, 20)
    assert torch.allclose(torch.tensor(p.step_probabilities), log_p.exp(), atol=1e-6)
    assert p.predicted == int(log_p[-1].argmax())


def test_encoder_decoder_with_teacher_forcing_is_one_replayed_pass() -> None:
    torch.manual_seed(0)
    model = Seq2Seq()
    src = torch.randint(0, 11, (7, 3))
    trg = torch.randint(0, 9, (12, 3))
    random.seed(5)
    trace = rt.trace(model, src, trg)
    encoder, decoder = trace.layers
    assert (encoder.kind, decoder.kind, decoder.calls) == ("layer", "step loop", 11)
    assert all(layer.recomputation.max_abs_diff <= TOL for layer in trace.layers)
    assert _kinds(trace) == []
    calls = trace.module_calls
    assert calls is not None
    assert any(n.startswith("The forward is not deterministic") for n in calls.notes)
    # the prediction is the pass whose random draws were those of the state before the trace
    random.seed(5)
    model.eval()
    with torch.no_grad():
        outputs = model(src, trg)  # (12, 3, 9)
    p = trace.prediction
    assert p is not None and "(T, B, C)" in p.head
    assert torch.allclose(torch.tensor(p.step_probabilities, dtype=torch.float64),
                          torch.softmax(outputs[:, 0].double(), -1), atol=1e-6)
    # and the module-call table's sample of the output is that same pass
    assert calls.calls[0].outputs[0].sample[0] == pytest.approx(
        [round(v, 4) for v in outputs[0, :2, :4].tolist()[0]], abs=1e-4)
    # the user's random state is given back: the next draw is what it would have been
    random.seed(5)
    expected = random.random()
    random.seed(5)
    rt.trace(model, src, trg)
    assert random.random() == expected


def test_train_mode_is_traced_as_asked_or_switched_with_a_note() -> None:
    torch.manual_seed(0)
    model = SentimentRNN()
    model.train()
    tokens = torch.randint(0, 30, (2, 5))
    switched = rt.trace(model, tokens, model.init_hidden(2))
    assert switched.module_calls is not None
    assert switched.module_calls.notes[0].startswith(
        "The model was in train mode; it was traced in eval mode")
    assert model.training
    as_trained = rt.trace(model, tokens, model.init_hidden(2), mode="train")
    assert as_trained.module_calls is not None
    assert as_trained.module_calls.notes[0].startswith("Traced in train mode")
    # dropout draws differ from pass to pass: said so, and every section is one replayed pass
    assert as_trained.module_calls.notes[1].startswith("The forward is not deterministic")
    model.eval()
    evaluated = rt.trace(model, tokens, model.init_hidden(2))
    assert evaluated.module_calls is not None
    assert evaluated.module_calls.notes == [
        "Traced in eval mode, the mode the model was in.",
        "The forward is deterministic: a second pass returned the same outputs.",
    ]
    with pytest.raises(rt.RnnTraceError, match="mode must be 'eval' or 'train'"):
        rt.trace(model, tokens, model.init_hidden(2), mode="training")


def test_padding_packed_as_data_and_its_corrected_twin() -> None:
    torch.manual_seed(0)
    tokens = torch.tensor([[3, 4, 5, 6, 7], [3, 4, 0, 0, 0], [5, 6, 7, 0, 0]])
    broken = rt.trace(PackedWithPaddedLengths(padded=True), tokens)
    assert _kinds(broken) == ["padding_packed"]
    finding = broken.module_calls.findings[0]  # type: ignore[union-attr]
    assert finding.arrived == (
        "a PackedSequence whose 3 lengths all equal the padded length 5, while 2 of 3 "
        "sequences end in padding (all-zero steps; real lengths 2..5)")
    assert _kinds(rt.trace(PackedWithPaddedLengths(padded=False), tokens)) == []


def test_padding_of_a_non_zero_embedding_is_found_too() -> None:
    class NoPaddingIdx(PackedWithPaddedLengths):
        def __init__(self) -> None:
            super().__init__(padded=True)
            self.embedding = nn.Embedding(20, 5)  # pad id 0 embeds to a non-zero vector

    torch.manual_seed(0)
    tokens = torch.tensor([[3, 4, 5, 6, 7], [3, 4, 0, 0, 0], [5, 6, 7, 0, 0]])
    trace = rt.trace(NoPaddingIdx(), tokens)
    assert _kinds(trace) == ["padding_packed"]
    finding = trace.module_calls.findings[0]  # type: ignore[union-attr]
    assert "steps equal to the one vector they end on; real lengths 2..5" in finding.arrived


def test_each_decoder_step_says_what_it_read_and_emitted() -> None:
    torch.manual_seed(0)
    model = Seq2Seq()
    src, trg = torch.randint(0, 11, (7, 3)), torch.randint(0, 9, (9, 3))
    random.seed(2)
    decoder = rt.trace(model, src, trg, teacher_forcing_ratio=0.5).decoder
    assert decoder is not None and decoder.name == "decoder.rnn" and decoder.attention == []
    # the truth: the same forward run here, with the same draws, step by step
    random.seed(2)
    model.eval()
    with torch.no_grad():
        hidden, cell = model.encoder(src)
        token = trg[0]
        for step in decoder.steps:
            assert step.token == int(token[0])
            scores, hidden, cell = model.decoder(token, hidden, cell)
            p = torch.softmax(scores[0].double(), 0)
            assert step.emitted == int(p.argmax())
            assert step.probability == pytest.approx(float(p.max()), abs=1e-6)
            forced = random.random() < 0.5
            token = trg[step.step] if forced else scores.argmax(1)
    reads = [s.read for s in decoder.steps]
    assert reads[0] == "the first token given"
    assert "another token than it emitted at the step before (teacher forcing)" in reads
    # teacher forcing off: every step after the first reads what it emitted
    own = rt.trace(model, src, trg, teacher_forcing_ratio=0.0).decoder
    assert own is not None
    assert {s.read for s in own.steps[1:]} == {"the token it emitted at the step before"}
    assert [s.token for s in own.steps[1:]] == [s.emitted for s in own.steps[:-1]]


def test_a_regression_of_k_values_is_not_read_as_classes_when_said() -> None:
    class Forecaster(nn.Module):  # 12 future values from the last state: shaped like scores
        def __init__(self) -> None:
            super().__init__()
            self.lstm = nn.LSTM(2, 6, batch_first=True)
            self.out = nn.Linear(6, 12)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.out(self.lstm(x)[1][0][-1])

    torch.manual_seed(0)
    model, x = Forecaster(), torch.randn(3, 20, 2)
    auto = rt.trace(model, x)
    assert auto.prediction is not None and "trace with head='values'" in auto.prediction.head
    said = rt.trace(model, x, head="values")
    assert said.prediction is None and said.dynamics is None
    assert "as head='values' says" in said.insight
    with pytest.raises(rt.RnnTraceError, match="head must be one of auto, classes, values"):
        rt.trace(model, x, head="regression")
