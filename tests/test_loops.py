"""Recurrences written as Python loops, traced as layers of T steps (tracing/loops.py).

The models are written from their public definitions (tests/_public_models.py names them). The
truth each trace is held to is PyTorch itself: the cells run again here, step by step, by the
test, and the state each step was handed read off the model's own forward.
"""

from __future__ import annotations

import pytest
import torch
from torch import Tensor, nn

import rnntrace as rt
from _public_models import (
    N_CATEGORIES,
    N_LETTERS,
    GRUCellClassifier,
    NameScorer,
    Sequence,
    Translator,
)
from rnntrace.records import Trace

TOL = 1e-5


def _kinds(trace: Trace) -> list[str]:
    assert trace.module_calls is not None
    return [f.kind for f in trace.module_calls.findings]


def _own_run(model: Sequence, x: Tensor) -> tuple[list[Tensor], list[Tensor]]:
    """h_t and c_t of lstm1 for every step, by calling the cell here: PyTorch's own numbers."""
    h = torch.zeros(x.size(0), 51, dtype=torch.double)
    c = torch.zeros_like(h)
    hs, cs = [], []
    with torch.no_grad():
        for x_t in x.split(1, dim=1):
            h, c = model.lstm1(x_t, (h, c))
            hs.append(h)
            cs.append(c)
    return hs, cs


def test_time_sequence_prediction_two_lstm_cells() -> None:
    torch.manual_seed(0)
    model = Sequence().double()
    x = torch.randn(3, 10, dtype=torch.double)
    trace = rt.trace(model, x, future=3)
    first, second = trace.layers
    assert (first.name, first.kind, first.calls) == ("lstm1", "cell loop", 13)
    assert (second.name, second.label) == ("lstm2", "nn.LSTMCell(51, 51)")
    assert first.reading == ("called 13 times in a Python loop, one step per call: batch 3 × 1 "
                             "features each")
    for layer in trace.layers:
        r = layer.recomputation
        assert r.matches and r.max_abs_diff <= TOL and r.cell == "lstm"
        assert r.input_shape == [3, 13, 1 if layer.name == "lstm1" else 51]
    # the step-through is lstm1's 13 steps; the first 10 read the data, as PyTorch computes them
    assert [s.step for s in trace.steps] == list(range(1, 14))
    hs, cs = _own_run(model, x)
    for t in range(10):
        s = trace.steps[t]
        assert s.x == [float(x[0, t])]
        assert torch.allclose(torch.tensor(s.h, dtype=torch.double), hs[t][0], atol=TOL)
        assert torch.allclose(torch.tensor(s.c, dtype=torch.double), cs[t][0], atol=TOL)
        assert set(s.gates) == {"i", "f", "g", "o"} and s.max_abs_diff <= TOL
    assert trace.steps[1].h_prev == trace.steps[0].h  # each step starts where the last ended
    second = trace.steps[1]  # h_2 = o_2 ⊙ tanh(c_2), written with its numbers
    assert second.equations[-1] == "h_2 = o_2 ⊙ tanh(c_2)"
    assert second.with_numbers[-1].startswith(f"h_2 = [{second.gates['o'][0]:.4f}, ")
    # a regression: one value per step, not class scores, so no prediction is invented
    assert trace.prediction is None and trace.dynamics is None
    assert "linear's outputs side by side" in trace.insight
    assert _kinds(trace) == []


def test_loop_mistakes_are_found_and_named() -> None:
    torch.manual_seed(0)
    x = torch.randn(2, 9, dtype=torch.double)
    not_carried = rt.trace(Sequence("not_carried").double(), x)
    assert _kinds(not_carried) == ["state_not_carried"]
    finding = not_carried.module_calls.findings[0]  # type: ignore[union-attr]
    assert finding.layer == "lstm1 = nn.LSTMCell(1, 51)"
    assert finding.arrived == "steps 2..9 of 9 each started from no state passed (zeros)"
    assert "h, c = cell(x_t, (h, c))" in finding.fix

    dropped = rt.trace(Sequence("c_dropped").double(), x, future=2)
    assert _kinds(dropped) == ["c_dropped"]
    c_finding = dropped.module_calls.findings[0]  # type: ignore[union-attr]
    # the future steps take c_t back up: step 10 still gets the zeros, step 11 step 10's c
    assert c_finding.arrived == ("h_(t-1) carried, but c_(t-1) at steps 2, 3, 4, 5, 6, 7, 8, "
                                 "9 and 1 more of 11 was zeros")

    reset = rt.trace(Sequence("reset").double(), x)
    assert _kinds(reset) == ["state_reset"]
    r_finding = reset.module_calls.findings[0]  # type: ignore[union-attr]
    assert r_finding.layer.startswith("lstm2 = ")
    assert r_finding.arrived.startswith("steps 4, 8 of 9 started from zeros")
    # every twin still recomputes exactly: the mistakes are in the loop, not in the cell
    for trace in (not_carried, dropped, reset):
        assert all(layer.recomputation.matches for layer in trace.layers)


def test_grucell_loop_classifier_prediction_and_dynamics() -> None:
    torch.manual_seed(0)
    model = GRUCellClassifier()
    x = torch.randn(4, 6, 3)
    trace = rt.trace(model, x, labels=torch.tensor([0, 1, 1, 0]))
    (layer,) = trace.layers
    assert layer.kind == "cell loop" and layer.recomputation.matches
    p = trace.prediction
    assert p is not None and p.length == 6 and p.true_class == 0
    expected = torch.softmax(model(x)[0].double().detach(), 0)
    assert torch.allclose(torch.tensor(p.probabilities, dtype=torch.float64), expected, atol=1e-6)
    assert torch.allclose(torch.tensor(p.inputs), x[0], atol=1e-6)
    d = trace.dynamics
    assert d is not None and d.steps == 6 and d.logits_diff == 0.0
    # ‖∂loss/∂h_t‖ by autograd on the same loop run here, the loss against the same labels
    h = torch.zeros(4, 5, requires_grad=False)
    states = []
    for t in range(6):
        h = model.cell(x[:, t], h)
        states.append(h)
    loss = nn.functional.cross_entropy(model.head(h), torch.tensor([0, 1, 1, 0]))
    grads = torch.autograd.grad(loss, states)
    assert d.grad_norm[0] == pytest.approx([float(g.norm()) for g in grads], rel=1e-5)
    assert d.loss == pytest.approx(float(loss.detach()), rel=1e-6)


def test_attention_decoder_gru_one_step_at_a_time() -> None:
    torch.manual_seed(0)
    model = Translator()
    src = torch.randint(1, 12, (2, 5))
    target = torch.randint(1, 10, (2, 6))
    trace = rt.trace(model, src, target)
    encoder, decoder = trace.layers
    assert (encoder.name, encoder.kind) == ("encoder.gru", "layer")
    assert (decoder.name, decoder.kind, decoder.calls) == ("decoder.gru", "step loop", 6)
    assert decoder.recomputation.input_shape == [2, 6, 16]
    assert all(layer.recomputation.max_abs_diff <= TOL for layer in trace.layers)
    assert _kinds(trace) == []
    # per decoder step, the probabilities are exp of the model's log-softmax output
    p = trace.prediction
    assert p is not None and len(p.step_probabilities) == 6
    model.eval()
    with torch.no_grad():
        log_p = model(src, target)[0][0]  # (6, 10)
    assert torch.allclose(torch.tensor(p.step_probabilities), log_p.exp(), atol=1e-6)
    assert "already log-probabilities" in p.head

    twin = rt.trace(Translator(mistake="not_carried"), src)
    assert _kinds(twin) == ["state_not_carried"]
    finding = twin.module_calls.findings[0]  # type: ignore[union-attr]
    assert finding.arrived == "steps 2..6 of 6 each started from the state step 1 started from"


def test_a_model_without_recurrence_names_what_it_holds() -> None:
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    with pytest.raises(rt.RnnTraceError) as caught:
        rt.trace(model, torch.zeros(1, 3))
    message = str(caught.value)
    assert "has no recurrent layer or cell to trace" in message
    assert "Linear × 2, ReLU" in message and "\n" not in message


def test_cells_are_left_as_they_were() -> None:
    model = Sequence().double()
    model.train()
    x = torch.randn(2, 4, dtype=torch.double)
    state = torch.random.get_rng_state()
    rt.trace(model, x)
    assert model.training
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())
    assert torch.equal(torch.random.get_rng_state(), state)


def _name(letters: list[int]) -> tuple[Tensor, Tensor]:
    category = torch.zeros(1, N_CATEGORIES)
    category[0, 3] = 1
    one_hot = torch.zeros(len(letters), 1, N_LETTERS)
    for i, letter in enumerate(letters):
        one_hot[i, 0, letter] = 1
    return category, one_hot


def test_char_rnn_generation_linear_recurrence_is_a_loop() -> None:
    torch.manual_seed(0)
    model = NameScorer()
    category, letters = _name([3, 10, 20, 4, 7])
    trace = rt.trace(model, category, letters)
    (layer,) = trace.layers
    assert (layer.name, layer.kind, layer.calls) == ("rnn.i2h", "linear loop", 5)
    n_in = N_CATEGORIES + N_LETTERS
    assert layer.reading == (f"called 5 times, its output fed to its own next call: columns "
                             f"{n_in}..{n_in + 15} of call t + 1's input are call t's output")
    assert layer.recomputation.max_abs_diff <= TOL
    assert "Not recomputed: what the other input columns hold" in layer.note
    # its output at each step: the hidden states the tutorial's RNN returns, run here
    hidden = torch.zeros(1, 16)
    with torch.no_grad():
        for t in range(5):
            _, hidden = model.rnn(category, letters[t], hidden)
            assert layer.step_values[t] == pytest.approx(hidden[0].tolist(), abs=1e-6)
    # no known cell: no equations to step through, and the page says what it has
    assert trace.steps == [] and trace.recomputation is None
    p = trace.prediction
    assert p is not None and len(p.step_probabilities) == 5
    assert "only W·input + b is recomputed" in trace.insight
    from rnntrace.render.html import render_report

    page = render_report(trace)
    assert "rnn.i2h's output at each step" in page and 'id="steps"' not in page
    assert Trace.from_json(trace.to_json()) == trace
    # a step that is handed zeros instead of its output is no recurrence at all: refused
    with pytest.raises(rt.RnnTraceError, match="NameScorer has no recurrent layer or cell"):
        rt.trace(NameScorer(fed_back=False), category, letters)


def test_attention_decoder_steps_and_weights_matrix() -> None:
    torch.manual_seed(0)
    model = Translator()
    src = torch.randint(1, 12, (2, 5))
    trace = rt.trace(model, src)  # no target: each step reads its own previous output
    decoder = trace.decoder
    assert decoder is not None and decoder.name == "decoder.gru" and decoder.encoder_steps == 5
    assert decoder.steps[0].token == 0 and decoder.steps[0].read == "the first token given"
    assert all(s.read == "the token it emitted at the step before" for s in decoder.steps[1:])
    model.eval()
    with torch.no_grad():
        log_p, _, attentions = model(src)  # (2, 6, 10), _, (2, 6, 5)
    assert [s.emitted for s in decoder.steps] == log_p[0].argmax(-1).tolist()
    assert torch.allclose(torch.tensor(decoder.attention), attentions[0], atol=1e-6)
    assert "Decoder decoder.gru, step by step (sequence 0)" in str(trace)
    from rnntrace.render.html import render_report

    page = render_report(trace)
    assert page.count('class="weight"') == 6 * 5
    assert Trace.from_json(trace.to_json()) == trace  # the decoder's record reads back


def test_many_input_features_are_a_heatmap_not_tangled_lines() -> None:
    from rnntrace.render.html import render_report

    class Wide(nn.Module):
        def __init__(self, features: int) -> None:
            super().__init__()
            self.lstm = nn.LSTM(features, 6, batch_first=True)
            self.fc = nn.Linear(6, 10)

        def forward(self, x: Tensor) -> Tensor:
            return self.fc(self.lstm(x)[1][0][-1])

    torch.manual_seed(0)
    wide = render_report(rt.trace(Wide(28), torch.randn(2, 28, 28)))
    assert "Input of sequence 0: 28 features" in wide and "one row per feature" in wide
    narrow = render_report(rt.trace(Wide(3), torch.randn(2, 9, 3)))
    assert "one row per feature" not in narrow
