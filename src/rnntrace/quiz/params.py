"""Templates about a layer's weights: how many there are, and how the constructor is called."""

from __future__ import annotations

import dataclasses
import random

import torch

from rnntrace.config.cells import GRU, LSTM, RNN
from rnntrace.config.settings import ModelConfig
from rnntrace.quiz.draft import Draft, four_options, near_numbers, steps
from rnntrace.quiz.setting import Setting
from rnntrace.quiz.verify import agree, build, count_parameters, run_snippet


def param_formula(
    m: ModelConfig,
    *,
    gates: int | None = None,
    biases: int = 2,
    directions: int | None = None,
    deep_input: int | None = None,
) -> int:
    """G·H·(in + R) + biases·G·H (+ P·H) per layer and direction; keywords model mistakes.

    R is what W_hh reads: H, or P when the LSTM projects h through W_hr (P × H).
    """
    g = m.spec.n_gates if gates is None else gates
    d = m.num_directions if directions is None else directions
    h, r, p = m.hidden_size, m.state_size, m.proj_size
    above = d * r if deep_input is None else deep_input  # what layers ≥ 2 read
    total = 0
    for layer in range(m.num_layers):
        fan_in = m.n_features if layer == 0 else above
        total += d * (g * h * (fan_in + r) + biases * g * h + p * h)
    return total


def _mistakes(m: ModelConfig) -> list[int]:
    g = m.spec.n_gates
    wrong_gates = 3 if g == 4 else 4  # the classic: GRU counted like an LSTM
    unprojected = [param_formula(dataclasses.replace(m, proj_size=0))] if m.proj_size else []
    return [
        *unprojected,  # W_hr forgotten, and W_hh taken as H × H
        param_formula(m, gates=wrong_gates),
        param_formula(m, biases=1),  # PyTorch keeps two biases, b_ih and b_hh
        param_formula(m, directions=1 if m.bidirectional else 2),
        param_formula(m, deep_input=m.n_features) if m.num_layers > 1 else param_formula(
            m, gates=g + 1
        ),
        param_formula(m, biases=0),
        param_formula(m, gates=1) if g > 1 else param_formula(m, gates=3),
    ]


def _solution(m: ModelConfig, code: str, key: int) -> list[str]:
    g, h, r, p = m.spec.n_gates, m.hidden_size, m.state_size, m.proj_size
    per_dir = [
        (m.n_features if i == 0 else m.num_directions * r) for i in range(m.num_layers)
    ]
    proj = f" + {p}·{h}" if p else ""
    layer_lines = [
        f"layer {i + 1} reads {fan_in}: {g}·{h}·({fan_in} + {r}) + 2·{g}·{h}{proj} = "
        f"{g * h * (fan_in + r) + 2 * g * h + p * h} per direction"
        for i, fan_in in enumerate(per_dir)
    ]
    blocks = (
        "W_hh (H × P, it reads the projected h) and two biases b_ih, b_hh (H each), plus one "
        "W_hr (P × H) per layer and direction that projects h to P values."
        if p else "W_hh (H × H) and two biases b_ih, b_hh (H each)."
    )
    return steps(
        f"{code.split('(')[0]} has {m.spec.gate_names_text()} weight blocks, each with W_ih "
        f"(H × in), {blocks}",
        "; ".join(layer_lines) + ".",
        f"Multiply by {m.num_directions} direction(s) and add the layers.",
        final=f"{key:,}",
    )


def param_count(s: Setting, rng: random.Random) -> Draft:
    m = s.model
    key = count_parameters(m)
    agree(f"parameters of {s.layer_code()}", param_formula(m), key)
    options, answer = four_options(
        f"{key:,}", [f"{w:,}" for w in _mistakes(m)], rng, near_numbers(key)
    )
    return Draft(
        prompt=f"How many trainable parameters does `{s.layer_code()}` have?",
        options=options,
        answer=answer,
        hint="Count W_ih, W_hh and both biases for each gate block, layer and direction; layers "
        "above the first read the layer below, not x.",
        solution=_solution(m, s.layer_code(), key),
        verified_by=f"built {s.layer_code()} and summed p.numel() over its parameters",
    )


def gate_multiplier(s: Setting, rng: random.Random) -> Draft:
    """The same sizes with another cell: the gate multiplier is the whole difference."""
    others = [c for c in (GRU, LSTM, RNN) if c is not s.model.spec]
    cell = others[0] if rng.random() < 0.6 else others[1]
    m = ModelConfig(n_features=s.model.n_features, hidden_size=s.model.hidden_size, cell=cell.name)
    code = f"{cell.class_name}({m.n_features}, {m.hidden_size})"
    key = count_parameters(m)
    agree(f"parameters of {code}", param_formula(m), key)
    mistakes = [param_formula(m, gates=g) for g in (4, 3, 1, 2) if g != cell.n_gates]
    mistakes.insert(1, param_formula(m, biases=1))
    options, answer = four_options(
        f"{key:,}", [f"{w:,}" for w in mistakes], rng, near_numbers(key)
    )
    return Draft(
        prompt=f"How many parameters does `{code}` have?",
        options=options,
        answer=answer,
        hint="A plain RNN has one weight block; count the GRU's and LSTM's gates.",
        solution=_solution(m, code, key),
        verified_by=f"built {code} and summed p.numel() over its parameters",
    )


def _distinct_sizes(s: Setting, rng: random.Random) -> tuple[int, int, int]:
    f, h, layers = s.model.n_features, s.model.hidden_size, s.model.num_layers
    while len({f, h, layers}) < 3:  # equal sizes would make swapped arguments look right
        layers = rng.randint(2, 4)
        if len({f, h, layers}) < 3:
            h = rng.randint(2, 32)
    return f, h, layers


def constructor_order(s: Setting, rng: random.Random) -> Draft:
    cls = s.cls
    f, h, layers = _distinct_sizes(s, rng)
    key = f"{cls}({f}, {h}, {layers})"
    mistakes = [f"{cls}({h}, {f}, {layers})", f"{cls}({f}, {layers}, {h})",
                f"{cls}({layers}, {f}, {h})", f"{cls}({h}, {layers}, {f})"]
    options, answer = four_options(key, mistakes, rng)
    built = [run_snippet(f"result = {o}", {}) for o in options]
    right = [
        i for i, layer in enumerate(built)
        if (layer.input_size, layer.hidden_size, layer.num_layers) == (f, h, layers)
    ]
    agree("constructors that build the asked layer", [answer], right)
    return Draft(
        prompt=f"Which call builds a {cls} that reads {f} features per step, keeps {h} hidden "
        f"units and stacks {layers} layer{'s' if layers > 1 else ''}?",
        options=options,
        answer=answer,
        options_are_code=True,
        hint="The positional order is what goes in, what is kept, how deep.",
        solution=steps(
            f"The signature is {cls}(input_size, hidden_size, num_layers=1, ...).",
            f"input_size is the features per step ({f}), hidden_size the state width ({h}), "
            f"num_layers the depth ({layers}).",
            final=key,
        ),
        verified_by="built each option and read its input_size, hidden_size and num_layers",
    )


def weight_sharing(s: Setting, rng: random.Random) -> Draft:
    m = s.model
    layer = build(m)
    before = sum(p.numel() for p in layer.parameters())
    # Short sequences and a small batch: the point is the count, not the cost of a long run.
    lengths, batch = (min(s.steps, 10), 2 * min(s.steps, 10)), min(s.batch, 4)
    with torch.no_grad():
        for t in lengths:
            dims = (batch, t, m.n_features) if m.batch_first else (t, batch, m.n_features)
            layer(torch.zeros(dims))
    after = sum(p.numel() for p in layer.parameters())
    agree("parameters after reading sequences of two lengths", before, after)
    key = "It does not change: the same weights are applied at every time step"
    mistakes = [
        "It doubles: the layer keeps one set of weights per time step",
        f"It grows by {m.hidden_size}×{m.hidden_size}: one more recurrent matrix per extra step",
        f"The layer rejects it: it only accepts sequences of {lengths[0]} steps",
    ]
    options, answer = four_options(key, mistakes, rng)
    return Draft(
        prompt=f"`{s.layer_code()}` has {before:,} parameters. You feed it sequences of "
        f"{lengths[0]} steps, then of {lengths[1]} steps. What happens to the parameter count?",
        options=options,
        answer=answer,
        hint="An RNN is one cell applied again and again.",
        solution=steps(
            "An RNN applies one cell at every step: h_t = f(x_t, h_{t−1}) with the same weights.",
            "The sequence length only decides how many times the cell runs, not how many weights "
            "it has; that is why one model handles sequences of any length.",
            final=key,
        ),
        verified_by=f"ran one {s.layer_code()} on {lengths[0]} and {lengths[1]} steps and "
        f"counted its parameters before and after ({before:,} both times)",
    )
