"""Templates about reading a batch right: padding, the last real state, what the classifier gets.

Shape legend: B batch, T time, F features, H hidden, D directions, L layers × directions.
Code options here are executed: each snippet runs on a real padded batch and is compared with
every sequence run alone, unpadded (the independent truth); exactly one option must match.
"""

from __future__ import annotations

import random
from collections.abc import Callable

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from rnntrace.model.classifier import last_hidden_from_h_n, layer_class
from rnntrace.quiz.draft import Draft, four_options, shape, steps
from rnntrace.quiz.setting import Setting, lesson_setting
from rnntrace.quiz.verify import (
    QuizBug,
    agree,
    build,
    error_message,
    matches_truth,
    padded_batch,
    run_snippet,
    succeeds,
)

_PACKING = {
    "pack_padded_sequence": pack_padded_sequence,
    "pad_packed_sequence": pad_packed_sequence,
}


def _lengths(s: Setting, rng: random.Random, count: int = 4) -> list[int]:
    """Unsorted lengths with at least one short sequence and one that fills T."""
    t_max = max(3, min(s.steps, 12))
    rest = [rng.randint(1, t_max) for _ in range(count - 2)]
    return [rng.randint(1, t_max - 1), t_max, *rest]


def _state(s: Setting) -> str:
    return "(h_n, c_n)" if s.model.spec.has_cell_state else "h_n"


def _only_right(what: str, options: list[str], answer: int, ok: Callable[[str], bool]) -> None:
    agree(what, [answer], [i for i, o in enumerate(options) if ok(o)])


def last_state_index(s: Setting, rng: random.Random) -> Draft:
    uni = s.with_model(bidirectional=False)
    bf = uni.model.batch_first
    lengths = _lengths(uni, rng)
    i = next(k for k, n in enumerate(lengths) if n < max(lengths))
    n = lengths[i]

    def at(b: int | str, t: int | str) -> str:
        return f"output[{b}, {t}]" if bf else f"output[{t}, {b}]"

    key = at(i, n - 1)
    swapped = f"output[{n - 1}, {i}]" if bf else f"output[{i}, {n - 1}]"  # layout misread
    mistakes = [at(i, -1), f"h_n[-1, {i}]", at(i, n), swapped]
    options, answer = four_options(key, mistakes, rng)
    layer, x, _, truth = padded_batch(uni, lengths)
    with torch.no_grad():
        output, state = layer(x)
    h_n = state[0] if isinstance(state, tuple) else state

    def right(code: str) -> bool:
        try:
            got = run_snippet(f"result = {code}", {"output": output, "h_n": h_n})
        except IndexError:
            return False
        return matches_truth(got.unsqueeze(0), [truth[i]])

    _only_right("indices that hold the last real state", options, answer, right)
    layout = "(B, T, H)" if bf else "(T, B, H)"
    return Draft(
        prompt=f"A batch of {len(lengths)} sequences with lengths {lengths} is zero-padded to "
        f"{max(lengths)} steps and run through the layer (no packing). Where is sequence {i}'s "
        "last real hidden state?",
        code=f"x = ...  # {shape(x.shape)}, padded\nlayer = {uni.layer_code()}\n"
        f"{'output, ' + _state(uni)} = layer(x)  # output is {layout}",
        options=options,
        answer=answer,
        options_are_code=True,
        hint="Sequence i stops at step lengths[i] − 1; everything after it is padding.",
        solution=steps(
            f"output is {layout}: index the sequence along {'dim 0' if bf else 'dim 1'} and the "
            f"step along {'dim 1' if bf else 'dim 0'}.",
            f"Sequence {i} has {n} real steps, 0 … {n - 1}; steps {n} … {max(lengths) - 1} are "
            "padding, and the layer kept updating its state through them.",
            "So output[..., -1] and h_n (from an unpacked run) both include padding steps.",
            final=key,
        ),
        verified_by=f"ran {uni.layer_code()} on a padded batch and on sequence {i} alone; only "
        "the key equals its unpadded final state",
    )


def bidirectional_last(s: Setting, rng: random.Random) -> Draft:
    bi = s.with_model(bidirectional=True)
    m, h = bi.model, bi.model.state_size
    t = max(3, min(bi.steps, 12))
    # Open slices completed below: output[:, -1, :H] with batch_first, output[-1, :, :H] without.
    last, first = ("output[:, -1", "output[:, 0") if m.batch_first else (
        "output[-1, :", "output[0, :"
    )
    key = "torch.cat([h_n[-2], h_n[-1]], dim=1)"
    mistakes = [
        f"{last}]",
        f"torch.cat([{first}, :{h}], {last}, {h}:]], dim=1)",  # directions' ends swapped
        "h_n[-1]",
        "torch.cat([h_n[0], h_n[1]], dim=1)" if m.num_layers > 1 else "h_n.view(h_n.size(1), -1)",
    ]
    options, answer = four_options(key, mistakes, rng)
    layer, x, _, truth = padded_batch(bi, [t] * 3)
    with torch.no_grad():
        output, state = layer(x)
    h_n = state[0] if isinstance(state, tuple) else state

    def right(code: str) -> bool:
        try:
            return matches_truth(run_snippet(f"result = {code}", {"output": output, "h_n": h_n}),
                                 truth)
        except (RuntimeError, IndexError):
            return False

    _only_right("expressions that give both directions' summaries", options, answer, right)
    return Draft(
        prompt="The layer is bidirectional and the batch has no padding. Which expression is the "
        f"(B, 2{bi.state_letter}) = (B, {2 * h}) summary of each whole sequence, to feed the "
        "classifier?",
        code=f"layer = {bi.layer_code()}\noutput, {_state(bi)} = layer(x)",
        options=options,
        answer=answer,
        options_are_code=True,
        hint="The backward direction finishes reading at step 0, not at the last step.",
        solution=steps(
            "The forward direction reads steps 0 → T−1, so its summary is its state at the last "
            f"step: output[..., -1, :{h}], which is h_n[-2].",
            "The backward direction reads T−1 → 0, so its summary is its state at step 0: "
            f"output[..., 0, {h}:], which is h_n[-1]. output[..., -1] has only seen one step "
            "backward.",
            "h_n stacks layers × directions; the top layer's two are always h_n[-2] and h_n[-1]"
            + (f" (with {m.num_layers} layers, h_n[0] and h_n[1] are the bottom layer)."
               if m.num_layers > 1 else "."),
            final=key,
        ),
        verified_by=f"ran {bi.layer_code()} on 3 sequences together and each alone; evaluated "
        "every option, only the key equals the sequences' own final states",
    )


def variable_lengths_code(s: Setting, rng: random.Random) -> Draft:
    m = s.model
    bf = str(m.batch_first)
    pick = "torch.cat([h_n[-2], h_n[-1]], dim=1)" if m.bidirectional else "h_n[-1]"
    last_col = "output[:, -1]" if m.batch_first else "output[-1]"
    pack = f"packed = pack_padded_sequence(x, lengths, batch_first={bf}, enforce_sorted=False)\n"
    key = f"{pack}_, {_state(s)} = layer(packed)\nresult = {pick}"
    mistakes = [
        f"output, _ = layer(x)\nresult = {last_col}",
        f"_, {_state(s)} = layer(x)\nresult = {pick}",
        f"packed = pack_padded_sequence(x, lengths, batch_first={bf})\n"
        f"_, {_state(s)} = layer(packed)\nresult = {pick}",
        f"{pack}output, _ = layer(packed)\n"
        f"output, _ = pad_packed_sequence(output, batch_first={bf})\nresult = {last_col}",
    ]
    options, answer = four_options(key, mistakes, rng)
    lengths = _lengths(s, rng)
    layer, x, lengths_t, truth = padded_batch(s, lengths)

    def right(code: str) -> bool:
        scope = {"layer": layer, "x": x, "lengths": lengths_t, **_PACKING}
        try:
            return matches_truth(run_snippet(code, scope), truth)
        except (RuntimeError, ValueError):
            return False  # e.g. packing unsorted lengths without enforce_sorted=False

    _only_right("snippets that return every sequence's true last state", options, answer, right)
    return Draft(
        prompt=f"Sequences of different lengths ({lengths}) are zero-padded into x, with their "
        "lengths in `lengths`. Which code gives each sequence's true final hidden state?",
        code=f"layer = {s.layer_code()}\nx = ...  # {shape(x.shape)}, zero-padded\n"
        f"lengths = torch.tensor({lengths})",
        options=options,
        answer=answer,
        options_are_code=True,
        hint="The layer must stop at each sequence's own last step: tell it the lengths.",
        solution=steps(
            "A plain run reads the padding as if it were data: output's last column and h_n "
            "both include the padded steps of every shorter sequence.",
            "pack_padded_sequence tells the layer each length, so h_n holds each sequence's "
            "state at its own last step (and the backward direction starts there).",
            f"The lengths {lengths} are not sorted, so pass enforce_sorted=False (h_n comes back "
            "in the batch's original order).",
            final=key.replace("\n", "; "),
        ),
        verified_by=f"ran every option on a padded batch for {s.layer_code()} and compared with "
        "each sequence run alone; only the key matched",
    )


def classifier_input(s: Setting, rng: random.Random) -> Draft:
    m = s.model
    small = Setting(m, batch=3, steps=max(2, min(s.steps, 12)))
    layer = build(m)
    with torch.no_grad():
        _, state = layer(torch.zeros(small.input_shape))
        h_n = state[0] if isinstance(state, tuple) else state
        summary = last_hidden_from_h_n(h_n, m.bidirectional)  # (B, D·H)
        key = int(summary.size(1))
        nn.Linear(key, m.n_classes)(summary)  # the head accepts it
    r = m.state_size
    agree("classifier input width", m.num_directions * r, key)
    dh = m.num_directions * r
    mistakes = [
        *([m.num_directions * m.hidden_size] if m.proj_size else []),  # projection forgotten
        r if m.bidirectional else 2 * r,
        m.num_layers * dh if m.num_layers > 1 else dh + r,
        s.steps * dh,
        m.n_features,
        m.n_classes,
    ]
    options, answer = four_options(
        str(key), [str(w) for w in mistakes], rng, [str(key + k) for k in (1, 2, 3)]
    )
    return Draft(
        prompt=f"The classifier `nn.Linear(in_features, {m.n_classes})` reads the final hidden "
        f"state of `{s.layer_code()}`. What must in_features be?",
        options=options,
        answer=answer,
        hint="The classifier sees one vector per sequence: the top layer's final state, "
        "every direction.",
        solution=steps(
            "Only the top layer's final state feeds the classifier; lower layers feed the layer "
            "above them.",
            *([f"proj_size={m.proj_size} makes each h_t = W_hr·(o_t ⊙ tanh(c_t)) P = "
               f"{m.proj_size} values wide instead of hidden_size {m.hidden_size}."]
              if m.proj_size else []),
            f"It has {'proj_size' if m.proj_size else 'hidden_size'} × directions = "
            f"{r} × {m.num_directions} = {dh} "
            "values: h_n[-1]" + (", or torch.cat([h_n[-2], h_n[-1]], 1) when bidirectional."
                                 if m.bidirectional else "."),
            final=str(key),
        ),
        verified_by=f"ran {s.layer_code()}, took the top layer's final state(s) from h_n and "
        f"passed it through nn.Linear({key}, {m.n_classes})",
    )


def _mismatch_numbers(s: Setting, rng: random.Random) -> tuple[int, int, tuple[int, int, int]]:
    if s == lesson_setting():
        return 8, s.model.hidden_size, (3, 5, 10)  # the lesson's own example
    size = s.model.n_features
    return size, s.model.hidden_size, (3, 5, size + rng.randint(1, 5))


def mismatch_error(s: Setting, rng: random.Random) -> Draft:
    expected, hidden, dims = _mismatch_numbers(s, rng)
    bf = s.model.batch_first
    cls = layer_class(s.model.spec)
    suffix = ", batch_first=True" if bf else ""
    code = f"layer = {s.cls}(input_size={expected}, hidden_size={hidden}{suffix})\n" \
           f"x = torch.randn{shape(dims)}\noutput, _ = layer(x)"
    got = dims[2]

    def run(size: int, hid: int, first: bool, x_dims: tuple[int, int, int]) -> object:
        return cls(size, hid, batch_first=first)(torch.zeros(x_dims))

    message = error_message(lambda: run(expected, hidden, bf, dims))
    if f"Expected {expected}, got {got}" not in message:
        raise QuizBug(f"mismatch_error: unexpected PyTorch message {message!r}")
    batch_pos = 0 if bf else 1
    more = list(dims)
    more[batch_pos] = expected
    fixes: dict[str, Callable[[], object]] = {
        f"x has {got} features per step (its last dimension) but the layer was built for "
        f"input_size={expected}: build it with input_size={got}, or fix the data":
            lambda: run(got, hidden, bf, dims),
        f"The batch must have input_size = {expected} sequences in it":
            lambda: run(expected, hidden, bf, (more[0], more[1], got)),
        f"hidden_size must equal the input's last dimension: build it with hidden_size={got}":
            lambda: run(expected, got, bf, dims),
        "The layout is wrong: flip batch_first so the dimensions are read the other way":
            lambda: run(expected, hidden, not bf, dims),
    }
    key = next(iter(fixes))
    options, answer = four_options(key, list(fixes)[1:], rng)
    _only_right("explanations whose fix makes the code run", options, answer,
                lambda o: succeeds(fixes[o]))
    return Draft(
        prompt=f"This code fails with `RuntimeError: {message}`. What does the error mean?",
        code=code,
        options=options,
        answer=answer,
        hint="input_size is the number of features per step, the last dimension of x.",
        solution=steps(
            f"x is {shape(dims)}; in every layout its last dimension is the features per step: "
            f"{got}.",
            f"The layer was built for input_size={expected} features, so its W_ih is "
            f"(H × {expected}) and cannot multiply a {got}-wide input.",
            f"Fix one side: {s.cls}(input_size={got}, ...) or give x {expected} features.",
            final=key,
        ),
        verified_by="ran the code to get PyTorch's real message, then applied each option's fix; "
        "only the key's fix runs",
    )

