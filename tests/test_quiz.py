"""The quiz bank: every key re-derived here by running PyTorch, independently of rnntrace.quiz."""

from __future__ import annotations

import ast
import random
import re
from collections.abc import Callable

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from rnntrace.config.settings import ModelConfig
from rnntrace.errors import ConfigError
from rnntrace.quiz import TEMPLATES, Setting, lesson_setting, make_question, make_quiz
from rnntrace.records import Question

# ---- independent truth: read the question's own code and run it --------------------------------


def line_value(q: Question, name: str) -> str:
    """The right-hand side of `name = ...` in the question's code."""
    match = re.search(rf"^{name} = (.+)$", q.code, re.MULTILINE)
    assert match, f"{q.template}: no `{name} = ...` in {q.code!r}"
    return match.group(1).split("  #")[0]


def layer_of(q: Question) -> nn.RNNBase:
    torch.manual_seed(1)
    layer = eval(line_value(q, "layer"), {"nn": nn})  # the question's own constructor call
    assert isinstance(layer, nn.RNNBase)
    return layer.eval()


def shape_of(text: str) -> tuple[int, ...]:
    return tuple(ast.literal_eval(text))


def run(
    layer: nn.RNNBase, x: Tensor, h0: Tensor | None = None
) -> tuple[Tensor, Tensor, Tensor | None]:
    with torch.no_grad():
        if h0 is None:
            output, state = layer(x)
        else:
            # c0 is H wide even when an LSTM projects h0 to proj_size.
            c0 = h0.new_zeros((*h0.shape[:-1], layer.hidden_size))
            output, state = layer(x, (h0, c0) if isinstance(layer, nn.LSTM) else h0)
    if isinstance(state, tuple):
        return output, state[0], state[1]
    return output, state, None


def zeros_x(q: Question) -> Tensor:
    return torch.zeros(shape_of(line_value(q, "x").removeprefix("torch.zeros")))


def padded(layer: nn.RNNBase, lengths: list[int]) -> tuple[Tensor, list[Tensor]]:
    """A random zero-padded batch and each sequence's final top-layer state, run alone."""
    feats = layer.input_size
    layer.double()  # float64: a padded step's effect must stand out from rounding noise
    seqs = [torch.randn(n, feats, dtype=torch.float64) for n in lengths]
    x = torch.zeros(len(lengths), max(lengths), feats, dtype=torch.float64)
    for i, seq in enumerate(seqs):
        x[i, : len(seq)] = seq
    truths = []
    for seq in seqs:
        alone = seq.unsqueeze(0) if layer.batch_first else seq.unsqueeze(1)
        _, h_n, _ = run(layer, alone)
        top = h_n[-2:] if layer.bidirectional else h_n[-1:]
        truths.append(top[:, 0].reshape(-1))
    return (x if layer.batch_first else x.transpose(0, 1)), truths


def matching(q: Question, evaluate: Callable[[str], object], truths: list[Tensor]) -> list[int]:
    good = []
    for i, option in enumerate(q.options):
        try:
            got = evaluate(option)
        except (RuntimeError, IndexError, ValueError):
            continue
        if isinstance(got, Tensor) and got.reshape(len(truths), -1).shape == (
            len(truths), truths[0].numel()
        ) and all(torch.allclose(g, t, rtol=0, atol=1e-10) for g, t in zip(
            got.reshape(len(truths), -1), truths, strict=True
        )):
            good.append(i)
    return good


def execute(code: str, scope: dict[str, object]) -> object:
    names = {"torch": torch, "nn": nn, "pack_padded_sequence": pack_padded_sequence,
             "pad_packed_sequence": pad_packed_sequence, **scope}
    with torch.no_grad():
        exec(code, names)
    return names["result"]


def pair(output: Tensor, h_n: Tensor) -> str:
    return f"output {tuple(output.shape)}, h_n {tuple(h_n.shape)}"


def truth_key(q: Question) -> str | None:
    """What PyTorch says the answer is, or None where the check is by elimination below."""
    t = q.template
    if t in ("output_shape", "h_n_shape", "c_n_shape", "layers_directions", "batch_first_ignored"):
        output, h_n, c_n = run(layer_of(q), zeros_x(q))
        return {
            "output_shape": str(tuple(output.shape)),
            "h_n_shape": str(tuple(h_n.shape)),
            "c_n_shape": str(tuple(c_n.shape)) if c_n is not None else "",
            "layers_directions": pair(output, h_n),
            "batch_first_ignored": pair(output, h_n),
        }[t]
    if t == "param_count":
        call = re.search(r"`(nn\.\w+\(.*\))`", q.prompt)
        assert call
        return f"{sum(p.numel() for p in eval(call.group(1), {'nn': nn}).parameters()):,}"
    if t == "gate_multiplier":
        call = re.search(r"`(nn\.\w+\(.*\))`", q.prompt)
        assert call
        return f"{sum(p.numel() for p in eval(call.group(1), {'nn': nn}).parameters()):,}"
    if t == "classifier_input":
        call = re.search(r"state of `(nn\.\w+\(.*\))`", q.prompt)
        assert call
        layer = eval(call.group(1), {"nn": nn})
        x = torch.zeros(2, 3, layer.input_size)
        _, h_n, _ = run(layer, x if layer.batch_first else x.transpose(0, 1))
        top = torch.cat(list(h_n[-2:]), dim=1) if layer.bidirectional else h_n[-1]
        return str(top.shape[1])
    return None


def right_by_running(q: Question) -> list[int]:
    """The options that PyTorch proves right, for the code-choice and concept questions."""
    t = q.template
    if t == "h0_shape":
        layer, x = layer_of(q), zeros_x(q)
        good = []
        for i, option in enumerate(q.options):
            try:
                run(layer, x, torch.zeros(shape_of(option)))
            except RuntimeError:
                continue
            good.append(i)
        return good
    if t == "constructor_order":
        sizes = re.search(r"reads (\d+) features .* keeps (\d+) hidden units .* stacks (\d+) layer",
                          q.prompt)
        assert sizes
        want = tuple(int(v) for v in sizes.groups())
        return [i for i, o in enumerate(q.options)
                if (lambda m: (m.input_size, m.hidden_size, m.num_layers))(eval(o, {"nn": nn}))
                == want]
    if t == "mismatch_error":
        layer = layer_of(q)
        x = torch.randn(shape_of(line_value(q, "x").removeprefix("torch.randn")))
        with pytest.raises(RuntimeError) as error:
            run(layer, x)
        assert str(error.value) in q.prompt  # the question quotes PyTorch's real message
        fixed = type(layer)(x.shape[-1], layer.hidden_size, batch_first=layer.batch_first)
        run(fixed, x)  # the input_size fix works
        return [i for i, o in enumerate(q.options)
                if f"build it with input_size={x.shape[-1]}" in o]
    if t == "last_state_index":
        lengths = ast.literal_eval(re.search(r"lengths (\[[\d, ]+\])", q.prompt).group(1))  # type: ignore[union-attr]
        which = int(re.search(r"sequence (\d+)'s", q.prompt).group(1))  # type: ignore[union-attr]
        layer = layer_of(q)
        x, truths = padded(layer, lengths)
        output, h_n, _ = run(layer, x)
        return matching(q, lambda o: eval(o, {"output": output, "h_n": h_n}), [truths[which]])
    if t == "bidirectional_last":
        layer = layer_of(q)
        x, truths = padded(layer, [5, 5, 5])
        output, h_n, _ = run(layer, x)
        return matching(q, lambda o: eval(o, {"output": output, "h_n": h_n, "torch": torch}),
                        truths)
    if t == "variable_lengths_code":
        lengths = ast.literal_eval(line_value(q, "lengths").removeprefix("torch.tensor"))
        layer = layer_of(q)
        x, truths = padded(layer, lengths)
        scope = {"layer": layer, "x": x, "lengths": torch.tensor(lengths)}
        return matching(q, lambda o: execute(o, scope), truths)
    if t == "rnn_equation" and "nn.GRU(" in q.prompt:
        return _gru_update_by_hand(q)
    if t == "rnn_equation" and "nn.LSTM(" in q.prompt:
        return _lstm_cell_by_hand(q)
    if t == "rnn_equation":
        f, h = (int(v) for v in re.search(r"nn\.RNN\((\d+), (\d+)\)", q.prompt).groups())  # type: ignore[union-attr]
        layer, x = nn.RNN(f, h), torch.randn(7, f)
        output, _, _ = run(layer, x.unsqueeze(1))
        state = torch.zeros(h)
        with torch.no_grad():
            for step in range(7):
                state = torch.tanh(layer.weight_ih_l0 @ x[step] + layer.bias_ih_l0
                                   + layer.weight_hh_l0 @ state + layer.bias_hh_l0)
                assert torch.allclose(state, output[step, 0], atol=1e-5)
        return [i for i, o in enumerate(q.options) if o.startswith("h_t = tanh(W_ih·x_t")
                and "W_hh·h_{t−1}" in o]
    if t == "weight_sharing":
        layer = eval(re.search(r"`(nn\.\w+\(.*\))`", q.prompt).group(1), {"nn": nn})  # type: ignore[union-attr]
        count = sum(p.numel() for p in layer.parameters())
        assert f"has {count:,} parameters" in q.prompt
        return [i for i, o in enumerate(q.options) if o.startswith("It does not change")]
    if t == "concept_memory":
        layer = nn.RNN(3, 4, batch_first=True)
        x = torch.randn(1, 5, 3)
        later = x.clone()
        later[0, 3] += 1
        assert torch.allclose(run(layer, x)[0][0, 2], run(layer, later)[0][0, 2])
        return [i for i, o in enumerate(q.options) if o.startswith("Everything read so far")]
    if t == "concept_clipping":  # reasoning only, and it says so
        assert q.verified_by.startswith("reasoning only")
        return [i for i, o in enumerate(q.options) if o.startswith("Backpropagation through time")]
    raise AssertionError(f"no independent check for template {t}")


def check(q: Question) -> None:
    assert len(q.options) == 4 and len(set(q.options)) == 4, q.options
    assert 0 <= q.answer < 4
    assert q.solution[-1].startswith("Final answer:") and q.solution[0].startswith("Step 1:")
    assert q.hint and "\n" not in q.hint and q.verified_by
    key = truth_key(q)
    if key is not None:
        assert q.options[q.answer] == key, (q.template, q.options, key)
        assert key not in [o for i, o in enumerate(q.options) if i != q.answer]
    else:
        assert right_by_running(q) == [q.answer], (q.template, q.options)


def _gru_update_by_hand(q: Question) -> list[int]:
    """PyTorch's documented GRU equations (torch.nn.GRU's docstring), written out here and
    checked against nn.GRU; the option that states its update."""
    f, h = (int(v) for v in re.search(r"nn\.GRU\((\d+), (\d+)\)", q.prompt).groups())  # type: ignore[union-attr]
    layer, x = nn.GRU(f, h), torch.randn(7, f)
    output, _, _ = run(layer, x.unsqueeze(1))
    w_ir, w_iz, w_in = layer.weight_ih_l0.chunk(3)
    w_hr, w_hz, w_hn = layer.weight_hh_l0.chunk(3)
    b_ir, b_iz, b_in = layer.bias_ih_l0.chunk(3)
    b_hr, b_hz, b_hn = layer.bias_hh_l0.chunk(3)
    state = torch.zeros(h)
    with torch.no_grad():
        for step in range(7):
            r = torch.sigmoid(w_ir @ x[step] + b_ir + w_hr @ state + b_hr)
            z = torch.sigmoid(w_iz @ x[step] + b_iz + w_hz @ state + b_hz)
            n = torch.tanh(w_in @ x[step] + b_in + r * (w_hn @ state + b_hn))
            state = (1 - z) * n + z * state
            assert torch.allclose(state, output[step, 0], atol=1e-5)
    return [i for i, o in enumerate(q.options) if o == "h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_{t−1}"]


def _lstm_cell_by_hand(q: Question) -> list[int]:
    """PyTorch's documented LSTM equations, written out here and checked against nn.LSTM's
    h_t and c_n; the option that states its cell update."""
    f, h = (int(v) for v in re.search(r"nn\.LSTM\((\d+), (\d+)\)", q.prompt).groups())  # type: ignore[union-attr]
    layer, x = nn.LSTM(f, h), torch.randn(7, 1, f)
    with torch.no_grad():
        output, (_, c_n) = layer(x)
        gates = [w.chunk(4) for w in (layer.weight_ih_l0, layer.weight_hh_l0,
                                      layer.bias_ih_l0, layer.bias_hh_l0)]
        state, cell = torch.zeros(h), torch.zeros(h)
        for step in range(7):
            i, f_, g, o = (w_i @ x[step, 0] + b_i + w_h @ state + b_h
                           for w_i, w_h, b_i, b_h in zip(*gates, strict=True))
            cell = torch.sigmoid(f_) * cell + torch.sigmoid(i) * torch.tanh(g)
            state = torch.sigmoid(o) * torch.tanh(cell)
            assert torch.allclose(state, output[step, 0], atol=1e-5)
        assert torch.allclose(cell, c_n[0, 0], atol=1e-5)
    return [i for i, o in enumerate(q.options) if o == "c_t = f_t ⊙ c_{t−1} + i_t ⊙ g_t"]


# ---- the properties -------------------------------------------------------------------------

configs = st.builds(
    ModelConfig,
    n_features=st.integers(1, 9),
    hidden_size=st.integers(1, 9),
    cell=st.sampled_from(["rnn", "gru", "lstm"]),
    num_layers=st.integers(1, 3),
    bidirectional=st.booleans(),
    batch_first=st.booleans(),
)


@settings(max_examples=20, deadline=None)
@given(config=configs, batch=st.integers(1, 9), steps=st.integers(1, 9), seed=st.integers(0, 99))
def test_every_key_is_what_pytorch_returns(
    config: ModelConfig, batch: int, steps: int, seed: int
) -> None:
    setting = Setting(config, batch, steps)
    for template in TEMPLATES:
        check(make_question(template, setting, random.Random(seed)))


@st.composite
def projecting_lstms(draw: st.DrawFn) -> ModelConfig:
    hidden = draw(st.integers(2, 9))
    return ModelConfig(
        n_features=draw(st.integers(1, 9)),
        hidden_size=hidden,
        cell="lstm",
        num_layers=draw(st.integers(1, 3)),
        bidirectional=draw(st.booleans()),
        batch_first=draw(st.booleans()),
        proj_size=draw(st.integers(1, hidden - 1)),
    )


@settings(max_examples=10, deadline=None)
@given(config=projecting_lstms(), batch=st.integers(1, 9), steps=st.integers(1, 9),
       seed=st.integers(0, 99))
def test_every_key_is_what_pytorch_returns_for_a_projecting_lstm(
    config: ModelConfig, batch: int, steps: int, seed: int
) -> None:
    setting = Setting(config, batch, steps)
    for template in TEMPLATES:
        question = make_question(template, setting, random.Random(seed))
        check(question)
        if "layer = " in question.code:
            assert f"proj_size={config.proj_size}" in line_value(question, "layer") or (
                template.name == "mismatch_error"  # its own small layer, built to fail
            )


def test_bank_has_the_promised_breadth() -> None:
    assert len(TEMPLATES) >= 14
    assert {t.level for t in TEMPLATES} == {"easy", "medium", "hard"}
    assert len({t.name for t in TEMPLATES}) == len(TEMPLATES)


# ---- the lesson's own questions ---------------------------------------------------------------


def lesson(name: str, setting: Setting | None = None) -> Question:
    template = next(t for t in TEMPLATES if t.name == name)
    return make_question(template, setting or lesson_setting(), random.Random(0))


def test_lesson_output_shape() -> None:
    q = lesson("output_shape")
    assert "torch.zeros(1000, 10, 5)" in q.code and "hidden_size=8" in q.code
    assert q.answer_text == "(1000, 10, 8)"


def test_small_batch_first_output_shape() -> None:
    q = lesson("output_shape", Setting(ModelConfig(hidden_size=3, batch_first=True), 4, 7))
    assert "torch.zeros(4, 7, 5)" in q.code
    assert q.answer_text == "(4, 7, 3)"
    assert "(7, 4, 3)" in q.options  # the batch_first-ignored mistake is offered


def test_lesson_mismatch_error_quotes_pytorch() -> None:
    q = lesson("mismatch_error")
    assert "nn.RNN(input_size=8" in q.code and "torch.randn(3, 5, 10)" in q.code
    with pytest.raises(RuntimeError) as error:
        nn.RNN(input_size=8, hidden_size=8, batch_first=True)(torch.randn(3, 5, 10))
    assert str(error.value) in q.prompt and "Expected 8, got 10" in q.prompt
    assert "input_size=8" in q.answer_text and "10 features" in q.answer_text


def test_lesson_quiz_covers_every_template_once() -> None:
    config = ModelConfig()
    questions = make_quiz(config, n=len(TEMPLATES), input_shape=(1000, 10, 5))
    assert sorted(q.template for q in questions) == sorted(t.name for t in TEMPLATES)
    for q in questions:
        check(q)
    levels = [q.level for q in questions]
    assert levels == sorted(levels, key=["easy", "medium", "hard"].index)  # easy → hard


# ---- make_quiz --------------------------------------------------------------------------------


def test_same_seed_same_quiz_and_different_seed_differs() -> None:
    a = [q.to_dict() for q in make_quiz(n=5, seed=3)]
    assert a == [q.to_dict() for q in make_quiz(n=5, seed=3)]
    assert a != [q.to_dict() for q in make_quiz(n=5, seed=4)]


def test_level_filter_and_round_trip() -> None:
    questions = make_quiz(ModelConfig(cell="gru"), n=6, level="hard", seed=1)
    assert len(questions) == 6 and {q.level for q in questions} == {"hard"}
    assert len({(q.prompt, q.code) for q in questions}) == 6  # repeats use another batch
    for q in questions:
        assert Question.from_dict(q.to_dict()) == q


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"level": "expert"}, "unknown level"),
        ({"n": 0}, "at least one question"),
        ({"config": ModelConfig(), "input_shape": (4, 7, 6)}, "6 features"),
        ({"config": ModelConfig(), "input_shape": (4, 7)}, "three positive sizes"),
    ],
)
def test_bad_arguments_are_config_errors(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        make_quiz(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(("front_end", "window"), [("conv", 4), ("window", 3), ("none", 1)])
def test_a_models_quiz_is_about_the_layer_it_has(front_end: str, window: int) -> None:
    """Behind a front end the recurrent layer reads the front end's output: the questions give
    the sizes of the model's own nn.GRU (as PyTorch built it), not the file's feature count."""
    from rnntrace.model.classifier import SequenceClassifier

    config = ModelConfig(n_features=3, n_classes=4, cell="gru", hidden_size=16,
                         front_end=front_end, window=window, summary="max", batch_first=True)
    rnn = SequenceClassifier.from_config(config, seed=0).rnn
    questions = make_quiz(config, n=12, seed=0, input_shape=(16, 100, 3))
    assert questions
    for q in questions:
        assert q.setting["input_size"] == rnn.input_size, q.template
        if q.setting["batch"] == 16:  # the model's own batch, not a later round's other one
            assert q.setting["steps"] == -(-100 // window), q.template
    counted = next((q for q in questions if q.template == "param_count"), None)
    if counted is not None:
        assert counted.answer_text.replace(",", "") == str(sum(p.numel() for p in
                                                               rnn.parameters()))
