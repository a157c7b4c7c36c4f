"""Worked and faded steps: every number shown, evaluated here by plain Python arithmetic, gives
the key, and every key is what PyTorch's own layer returns for that step."""

from __future__ import annotations

import math
import re

import pytest
import torch
from torch import nn

from rnntrace.records import StepRecord
from rnntrace.render.worked import TOLERANCE, UnitLine, WorkedStep, lesson_steps
from rnntrace.tracing.steps import explain_steps

LAYERS = {
    "rnn": lambda: nn.RNN(3, 5),
    "rnn-relu": lambda: nn.RNN(3, 5, nonlinearity="relu"),
    "gru": lambda: nn.GRU(3, 5),
    "lstm": lambda: nn.LSTM(3, 5),
    "lstm-proj": lambda: nn.LSTM(3, 5, proj_size=2),
    "gru-deep-bidirectional": lambda: nn.GRU(3, 4, num_layers=2, bidirectional=True),
}


def evaluate(numbers: str) -> float:
    """A unit line's numbers, e.g. "(1 − 0.2) · 0.5 + 0.2 · 0.1", as Python computes them."""
    expr = numbers.replace("−", "-").replace("·", "*")
    return float(eval(expr, {"__builtins__": {}},  # only numbers and these three functions
                      {"tanh": math.tanh, "relu": lambda v: max(v, 0.0)}))


def torch_states(layer: nn.RNNBase, seq: torch.Tensor, t: int) -> tuple[torch.Tensor, ...]:
    """PyTorch's layer-0 forward h_t (and c_t) after reading the first t steps alone."""
    first = type(layer)(layer.input_size, layer.hidden_size, num_layers=1,
                        **({"proj_size": layer.proj_size} if layer.proj_size else {}),
                        **({"nonlinearity": layer.nonlinearity}
                           if isinstance(layer, nn.RNN) else {}))
    first.load_state_dict({k: v for k, v in layer.state_dict().items()
                           if k.endswith("_l0")})
    with torch.no_grad():
        _, state = first(seq[:t].unsqueeze(1))  # (t, 1, F)
    if isinstance(state, tuple):
        return state[0][0, 0], state[1][0, 0]
    return (state[0, 0],)


@pytest.fixture(params=sorted(LAYERS))
def case(request: pytest.FixtureRequest) -> tuple[nn.RNNBase, torch.Tensor, list[StepRecord]]:
    torch.manual_seed(3)
    layer = LAYERS[request.param]().eval()
    seq = torch.randn(6, 3)  # (T, F)
    return layer, seq, explain_steps(layer, seq)


def test_unit_lines_compute_their_keys_and_the_keys_are_pytorchs(
    case: tuple[nn.RNNBase, torch.Tensor, list[StepRecord]],
) -> None:
    layer, seq, records = case
    for seed in range(3):
        worked, faded = lesson_steps(records, seed)
        assert (worked.step, faded.step) == (2, 3)  # step 1 starts from zeros: step 2 first
        for shown in (worked, faded):
            torch_h, *torch_c = torch_states(layer, seq, shown.step)
            for line in shown.unit_lines:
                # The arithmetic on screen, done by Python from the printed four decimals.
                assert evaluate(line.numbers) == pytest.approx(line.value, abs=1e-3)
                symbol = line.symbol.split("_")[0]
                truth = torch_h if symbol == "h" else (torch_c[0] if symbol == "c" else None)
                if truth is not None:
                    assert line.value == pytest.approx(float(truth[shown.unit]), abs=1e-5)


def test_terms_are_the_steps_own_inputs_and_outputs(
    case: tuple[nn.RNNBase, torch.Tensor, list[StepRecord]],
) -> None:
    layer, seq, records = case
    worked, _ = lesson_steps(records, 0)
    terms = {term.symbol: term.values for term in worked.terms}
    assert terms["x_2"] == pytest.approx(seq[1].tolist(), abs=1e-6)
    h1, *_ = torch_states(layer, seq, 1)
    h2, *_ = torch_states(layer, seq, 2)
    assert terms["h_1"] == pytest.approx(h1.tolist(), abs=1e-5)
    assert terms["h_2"] == pytest.approx(h2.tolist(), abs=1e-5)
    gated = {"GRU": ("r_2", "z_2", "n_2"), "LSTM": ("i_2", "f_2", "g_2", "o_2")}
    for symbol in gated.get(type(layer).__name__, ("a_2",)):
        assert symbol in terms
    assert all(line.count("_2") or line.count("_1") for line in worked.equations)


def test_faded_blanks_accept_two_decimals_and_refuse_a_wrong_value(
    case: tuple[nn.RNNBase, torch.Tensor, list[StepRecord]],
) -> None:
    _, _, records = case
    _, faded = lesson_steps(records, 1)
    assert faded.unit_lines
    for line in faded.unit_lines:
        assert line.accepts(round(line.value, 2))
        assert not line.accepts(line.value + 2 * TOLERANCE)
        assert not line.accepts(-line.value) or abs(line.value) < TOLERANCE


def test_a_projecting_lstm_asks_only_for_the_cell_state() -> None:
    torch.manual_seed(0)
    records = explain_steps(nn.LSTM(3, 5, proj_size=2).eval(), torch.randn(4, 3))
    worked, _ = lesson_steps(records, 0)
    # h_t = W_hr·(o ⊙ tanh c) mixes all units: no single unit's sum gives it.
    assert [line.symbol.split("[")[0] for line in worked.unit_lines] == ["c_2"]


def test_the_lesson_picks_a_unit_from_the_seed() -> None:
    torch.manual_seed(0)
    records = explain_steps(nn.GRU(3, 6).eval(), torch.randn(5, 3))
    units = {lesson_steps(records, seed)[0].unit for seed in range(20)}
    assert len(units) > 1 and units <= set(range(6))
    one, same = lesson_steps(records, 4)[0], lesson_steps(records, 4)[0]
    assert one == same


def _symbols(worked: WorkedStep) -> list[str]:
    return [re.sub(r"\[.*", "", line.symbol) for line in worked.unit_lines]


def test_each_cell_follows_its_own_equations() -> None:
    torch.manual_seed(0)
    seq = torch.randn(4, 3)
    expected = {nn.RNN: ["h_2"], nn.GRU: ["n_2", "h_2"], nn.LSTM: ["c_2", "h_2"]}
    for cls, symbols in expected.items():
        worked, _ = lesson_steps(explain_steps(cls(3, 4).eval(), seq), 0)
        assert _symbols(worked) == symbols
        assert isinstance(worked.unit_lines[0], UnitLine)


def test_a_one_step_sequence_fades_another_unit() -> None:
    torch.manual_seed(0)
    records = explain_steps(nn.RNN(3, 4).eval(), torch.randn(1, 3))
    worked, faded = lesson_steps(records, 0)
    assert worked.step == faded.step == 1 and worked.unit != faded.unit
