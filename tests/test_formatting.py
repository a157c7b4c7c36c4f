"""Equations with their numbers, broken into aligned terms for the step-through."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from rnntrace.render.formatting import term_lines
from rnntrace.tracing.steps import explain_steps


@pytest.mark.parametrize("cell", [nn.RNN, nn.GRU, nn.LSTM])
def test_term_lines_keep_every_character_and_align_the_signs(cell: type[nn.RNNBase]) -> None:
    torch.manual_seed(0)
    step = explain_steps(cell(3, 2), torch.randn(4, 3))[2]
    for equation in step.with_numbers:
        lines = term_lines(equation)
        assert " ".join(line.strip() for line in lines) == equation
        first_equals = lines[0].index("=")
        for line in lines[1:]:
            sign = len(line) - len(line.lstrip())
            assert line[sign] in "=+"
            if line[sign] == "=":
                assert sign == first_equals


def test_a_plain_rnn_step_reads_one_term_a_line() -> None:
    equation = "h_2 = tanh(A [1.0] + b [2.0] + B [3.0] + c [4.0]) = tanh([10.0]) = [1.0]"
    assert term_lines(equation) == [
        "h_2 = tanh(A [1.0]",
        "         + b [2.0]",
        "         + B [3.0]",
        "         + c [4.0])",
        "    = tanh([10.0])",
        "    = [1.0]",
    ]


def test_a_nested_sum_stays_on_its_line() -> None:
    equation = "n = tanh(a [1] + r [2] ⊙ (b [3] + c [4])) = [5]"
    assert term_lines(equation) == ["n = tanh(a [1]", "       + r [2] ⊙ (b [3] + c [4]))",
                                    "  = [5]"]
    assert term_lines("h = (1 − z) ⊙ n + z ⊙ h0") == ["h = (1 − z) ⊙ n", "  + z ⊙ h0"]
    assert term_lines("no equation here") == ["no equation here"]
