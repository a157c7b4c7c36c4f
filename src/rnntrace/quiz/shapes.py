"""Templates about the shapes a recurrent layer takes and returns: output, h_n, c_n, h0.

Shape legend: B batch, T time, F features, H hidden, D directions, L layers × directions,
R the width of h: H, or P = proj_size for an LSTM that projects (its c stays H wide).
"""

from __future__ import annotations

import random
from functools import partial

import torch

from rnntrace.config.cells import LSTM
from rnntrace.quiz.draft import Draft, four_options, near_dims, near_shapes, shape, steps
from rnntrace.quiz.setting import Setting
from rnntrace.quiz.verify import agree, build, error_message, run_shapes, succeeds


def call_line(s: Setting, arg: str = "x") -> str:
    """`output, h_n = layer(x)`, with LSTM's (h_n, c_n) unpacked."""
    state = "(h_n, c_n)" if s.model.spec.has_cell_state else "h_n"
    return f"output, {state} = layer({arg})"


def _code(s: Setting) -> str:
    return f"x = torch.zeros{shape(s.input_shape)}\nlayer = {s.layer_code()}\n{call_line(s)}"


def _layout(s: Setting) -> str:
    b, t, f = s.batch, s.steps, s.model.n_features
    if s.model.batch_first:
        return f"with batch_first=True, x is (B, T, F) = ({b}, {t}, {f})"
    return f"with batch_first=False (the default), x is (T, B, F) = ({t}, {b}, {f})"


def output_formula(s: Setting) -> tuple[int, int, int]:
    m = s.model
    width = m.num_directions * m.state_size
    return (s.batch, s.steps, width) if m.batch_first else (s.steps, s.batch, width)


def state_formula(s: Setting) -> tuple[int, int, int]:
    """h_n (and h0): one R-wide state per layer × direction and sequence."""
    m = s.model
    return (m.num_layers * m.num_directions, s.batch, m.state_size)


def cell_state_formula(s: Setting) -> tuple[int, int, int]:
    """c_n (and c0): like h_n, but H wide even when the LSTM projects h."""
    m = s.model
    return (m.num_layers * m.num_directions, s.batch, m.hidden_size)


def _projection_note(s: Setting) -> list[str]:
    """The worked-solution line a projecting LSTM adds: why h is P wide."""
    m = s.model
    if not m.proj_size:
        return []
    return [
        f"proj_size={m.proj_size}: each h_t = W_hr·(o_t ⊙ tanh(c_t)) is projected from "
        f"hidden_size {m.hidden_size} to P = {m.proj_size} values, so h is P wide."
    ]


def output_shape(s: Setting, rng: random.Random) -> Draft:
    m, (d0, d1, _) = s.model, s.input_shape
    key = output_formula(s)
    agree("output shape", key, run_shapes(s).output)
    h, dh, layers = m.state_size, m.num_directions * m.state_size, m.num_layers
    unprojected = [shape((d0, d1, m.num_directions * m.hidden_size))] if m.proj_size else []
    mistakes = [
        *unprojected,  # hidden_size, as if h were not projected
        shape((d1, d0, dh)),  # batch and time swapped: batch_first misread
        shape((d0, d1, h if m.bidirectional else 2 * h)),  # directions forgotten / invented
        shape((s.batch, dh)),  # thinks output is only the last step
        shape((d0, d1, m.n_features)),  # confuses features with hidden units
        shape(state_formula(s)),  # confuses output with h_n
        shape((d0, d1, layers * dh + h)),  # thinks layers stack along the last dim
    ]
    options, answer = four_options(shape(key), mistakes, rng, near_shapes(key))
    return Draft(
        prompt="What is the shape of `output`?",
        code=_code(s),
        options=options,
        answer=answer,
        hint="output has one vector per (sequence, step), in the same layout as x.",
        solution=steps(
            f"Read the layout: {_layout(s)}.",
            "output holds the top layer's hidden state at every step, so the first two "
            "dimensions keep x's order.",
            *_projection_note(s),
            f"Each vector has {'proj_size' if m.proj_size else 'hidden_size'} × directions = "
            f"{h} × {m.num_directions} = {dh} values; "
            "num_layers does not appear, only the top layer is returned.",
            final=shape(key),
        ),
        verified_by=f"ran {s.layer_code()} on torch.zeros{shape(s.input_shape)}, read output.shape",
    )


def h_n_shape(s: Setting, rng: random.Random) -> Draft:
    m = s.model
    key = state_formula(s)
    agree("h_n shape", key, run_shapes(s).h_n)
    ld, h = key[0], m.state_size
    mistakes = [
        *([shape(cell_state_formula(s))] if m.proj_size else []),  # projection forgotten
        shape((s.batch, ld, h)),  # batch_first applied to h_n, which it never is
        shape((m.num_layers, s.batch, h) if m.bidirectional else (ld, s.batch, 2 * h)),
        shape((1, s.batch, h) if ld > 1 else (2, s.batch, h)),  # layers forgotten/doubled
        shape((s.batch, m.num_directions * h)),  # thinks h_n is already the classifier input
        shape((ld, s.steps, h)),  # time instead of batch
    ]
    options, answer = four_options(shape(key), mistakes, rng, near_shapes(key))
    return Draft(
        prompt="What is the shape of `h_n`?",
        code=_code(s),
        options=options,
        answer=answer,
        hint="h_n has one final state per layer and direction, per sequence; "
        "batch_first never applies to it.",
        solution=steps(
            f"h_n stacks one final state per layer × direction: {m.num_layers} × "
            f"{m.num_directions} = {ld}.",
            *_projection_note(s),
            f"Each is a (B, {s.state_letter}) = ({s.batch}, {h}) matrix: one state per sequence "
            "in the batch.",
            "batch_first only changes the layout of x and output; h_n is always "
            f"(L·D, B, {s.state_letter}).",
            final=shape(key),
        ),
        verified_by=f"ran {s.layer_code()} on torch.zeros{shape(s.input_shape)}, read h_n.shape",
    )


def c_n_shape(s: Setting, rng: random.Random) -> Draft:
    lstm = s.with_model(cell=LSTM.name)
    m, key = lstm.model, cell_state_formula(lstm)
    measured = run_shapes(lstm)
    agree("c_n shape", key, measured.c_n)
    agree("h_n shape beside c_n", state_formula(lstm), measured.h_n)
    ld, h = key[0], m.hidden_size
    mistakes = [
        *([shape(state_formula(lstm))] if m.proj_size else []),  # projected like h_n
        shape((ld, s.batch, 4 * h)),  # thinks the four gates are kept in the cell state
        shape(output_formula(lstm)),  # one cell state per step, like output
        shape((s.batch, ld, h)),  # batch_first applied to c_n
        shape((m.num_layers, s.batch, h) if m.bidirectional else (ld, s.batch, 2 * h)),
        shape((ld, s.steps, h)),
    ]
    options, answer = four_options(shape(key), mistakes, rng, near_shapes(key))
    switched = "" if s.model.spec.has_cell_state else (
        " (the same sizes, with the cell switched to LSTM)"
    )
    like_h = (
        f"Unlike h_n, it is not projected: proj_size={m.proj_size} shapes h only, so c_n has "
        f"one (B, H) state per layer × direction: {ld} × ({s.batch}, {h})."
        if m.proj_size else
        f"Like h_n it has one (B, H) state per layer × direction: {ld} × ({s.batch}, {h})."
    )
    return Draft(
        prompt=f"An LSTM also returns its cell state c_n{switched}. What is c_n's shape?",
        code=_code(lstm),
        options=options,
        answer=answer,
        hint="The cell state is kept like the hidden state: per layer, direction and sequence.",
        solution=steps(
            "nn.LSTM returns (output, (h_n, c_n)); c_n is the memory cell after the last step.",
            like_h,
            "The gates are 4·H wide inside the cell, but only the H-wide cell state is returned.",
            final=shape(key),
        ),
        verified_by=f"ran {lstm.layer_code()} on torch.zeros{shape(lstm.input_shape)}, "
        + ("read c_n.shape and h_n.shape" if m.proj_size
           else "read c_n.shape and compared it with h_n.shape"),
    )


def batch_first_ignored(s: Setting, rng: random.Random) -> Draft:
    """The same tensor into a layer whose batch_first is flipped: output hides it, h_n shows it."""
    flipped = s.with_model(batch_first=not s.model.batch_first)
    d0, d1, _ = s.input_shape
    # The flipped layer reads x's dims with the other meaning: its batch is the other dim.
    first = flipped.model.batch_first
    misread = Setting(flipped.model, batch=d0 if first else d1, steps=d1 if first else d0)
    agree("flipped input", misread.input_shape, s.input_shape)
    key_out, key_h = output_formula(misread), state_formula(misread)
    got = run_shapes(misread)
    agree("output with batch_first flipped", key_out, got.output)
    agree("h_n with batch_first flipped", key_h, got.h_n)
    ld, h, dh = key_h[0], s.model.state_size, key_out[2]

    def pair(out: tuple[int, ...], h_n: tuple[int, ...]) -> str:
        return f"output {shape(out)}, h_n {shape(h_n)}"

    mistakes = [
        pair(key_out, state_formula(s)),  # expects h_n as if the flag were right
        "PyTorch raises an error: x's layout does not match batch_first",
        pair((d1, d0, dh), key_h),  # thinks output gets transposed
        pair((d1, d0, dh), state_formula(s)),
        pair(key_out, (misread.batch, ld, h)),  # batch_first applied to h_n
        pair((d0, d1, h if s.model.bidirectional else 2 * h), key_h),
    ]
    near = [pair(key_out, h_n) for h_n in near_dims(key_h)]
    options, answer = four_options(pair(key_out, key_h), mistakes, rng, near)
    wrong = f"batch_first={flipped.model.batch_first}"
    return Draft(
        prompt=f"Your data x is laid out for {s.layer_code()}, but the layer was built with "
        f"{wrong} by mistake. What comes back?",
        code=f"x = torch.zeros{shape(s.input_shape)}\nlayer = {flipped.layer_code()}\n"
        f"{call_line(s)}",
        options=options,
        answer=answer,
        hint="PyTorch cannot know which dimension you meant as batch: it just reads them in order.",
        solution=steps(
            f"With {wrong} the layer reads x {shape(s.input_shape)} as "
            f"{'(B, T, F)' if flipped.model.batch_first else '(T, B, F)'}: "
            f"batch = {misread.batch}, time = {misread.steps}. No error: every size fits.",
            f"output keeps x's first two dims: {shape(key_out)}; the mistake is invisible here.",
            f"h_n is (L·D, B, {s.state_letter}) with the misread B = {misread.batch}: "
            f"{shape(key_h)}. Sequences "
            "and steps are mixed up, and the model trains on nonsense without complaint.",
            final=pair(key_out, key_h),
        ),
        verified_by=f"ran {flipped.layer_code()} on torch.zeros{shape(s.input_shape)}, "
        "read output.shape and h_n.shape",
    )


def layers_directions(s: Setting, rng: random.Random) -> Draft:
    m = s.model
    deep = s if (m.num_layers > 1 and m.bidirectional) else s.with_model(
        num_layers=max(2, m.num_layers), bidirectional=True
    )
    dm = deep.model
    key_out, key_h = output_formula(deep), state_formula(deep)
    got = run_shapes(deep)
    agree("output of a deep bidirectional layer", key_out, got.output)
    agree("h_n of a deep bidirectional layer", key_h, got.h_n)
    d0, d1, _ = deep.input_shape
    layers, h = dm.num_layers, dm.state_size

    def pair(out: tuple[int, ...], h_n: tuple[int, ...]) -> str:
        return f"output {shape(out)}, h_n {shape(h_n)}"

    mistakes = [
        pair((d0, d1, h), key_h),  # directions forgotten in output
        pair(key_out, (layers, deep.batch, 2 * h)),  # directions merged into h_n's last dim
        pair((d0, d1, 2 * layers * h), key_h),  # layers stacked into output
        pair((d0, d1, h), (layers, deep.batch, h)),  # bidirectional ignored everywhere
        pair(key_out, (layers, deep.batch, h)),  # directions forgotten in h_n
    ]
    near = [pair(key_out, h_n) for h_n in near_dims(key_h)]
    options, answer = four_options(pair(key_out, key_h), mistakes, rng, near)
    return Draft(
        prompt=f"With num_layers={layers} and bidirectional=True, what shapes come back?",
        code=_code(deep),
        options=options,
        answer=answer,
        hint="output concatenates the two directions of the top layer; h_n stacks every layer "
        "and direction along its first dimension.",
        solution=steps(
            *_projection_note(deep),
            f"output is the top layer only, both directions side by side: 2 × {h} = {2 * h} "
            f"values per step, so {shape(key_out)}.",
            f"h_n keeps every layer's final state for each direction: {layers} × 2 = "
            f"{2 * layers} states of (B, {deep.state_letter}) = ({deep.batch}, {h}).",
            "h_n[-2] and h_n[-1] are the top layer's forward and backward states.",
            final=pair(key_out, key_h),
        ),
        verified_by=f"ran {deep.layer_code()} on torch.zeros{shape(deep.input_shape)}, "
        "read output.shape and h_n.shape",
    )


def h0_shape(s: Setting, rng: random.Random) -> Draft:
    m = s.model
    key, cell_key = state_formula(s), cell_state_formula(s)
    ld, h = key[0], m.state_size
    candidates: list[tuple[int, ...]] = [
        key,
        *([cell_key] if m.proj_size else []),  # hidden_size, as if h were not projected
        (s.batch, ld, h),  # batch_first applied to h0
        (m.num_layers, s.batch, h) if m.bidirectional else (ld, s.batch, 2 * h),
        (1, s.batch, h) if ld > 1 else (ld, s.batch, m.n_features),
        (ld, s.steps, h),
        (ld, s.batch, m.n_features),
    ]
    candidates += near_dims(key)
    dims_of = {shape(c): c for c in reversed(candidates)}
    options, answer = four_options(shape(key), [shape(c) for c in candidates[1:]], rng)
    layer, x = build(m), torch.zeros(s.input_shape)

    def feed(dims: tuple[int, ...]) -> object:
        h0 = torch.zeros(dims)
        return layer(x, (h0, torch.zeros(cell_key)) if m.spec.has_cell_state else h0)

    runs = [succeeds(partial(feed, dims_of[o])) for o in options]
    agree("options PyTorch accepts as h0", [answer], [i for i, ok in enumerate(runs) if ok])
    wrong = next(o for o in options if o != shape(key))
    message = error_message(lambda: feed(dims_of[wrong]))
    arg = "(h0, c0)" if m.spec.has_cell_state else "h0"
    each = ", each of the same shape" if m.spec.has_cell_state else ""
    if m.proj_size:
        each = f", with c0 of shape {shape(cell_key)} (c is not projected)"
    return Draft(
        prompt=f"You want to pass an initial state {arg}{each}: `layer(x, {arg})`. "
        "Which shape does PyTorch accept?",
        code=_code(s),
        options=options,
        answer=answer,
        hint="The initial state has exactly the shape of h_n.",
        solution=steps(
            "The initial state is what h_n would be before the first step, so it has h_n's shape.",
            *_projection_note(s),
            f"That is (L·D, B, {s.state_letter}) = ({m.num_layers}×{m.num_directions}, "
            f"{s.batch}, {h}); batch_first does not apply to it.",
            f"Passing {wrong} fails with: {message}",
            final=shape(key),
        ),
        verified_by=f"called {s.layer_code()} on torch.zeros{shape(s.input_shape)} with a zero "
        "initial state of each option's shape; only the key ran",
    )
