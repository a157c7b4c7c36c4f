"""Silent mistakes around recurrent layers, found in the tensors a forward pass really handed on.

PyTorch accepts each of these without a word; each is detected by comparing what a later module
received (or the model returned) with what the recurrent layer produced, and stated with the
numbers of this batch:

    padded_last_step     output[:, -1] of a packed-then-padded batch: short sequences give zeros
    h_n_reshaped         h_n.view(batch, -1) of a (layers·directions, batch, H) state
    time_batch_swapped   the layer read the batch axis as time (and time as the batch)
    padding_packed       a PackedSequence whose lengths are all the padded length, while the
                         shorter sequences end in padding: packed, yet the padding read as data

`output[:, -1]` of a bidirectional layer and padding read as data are found by
`tracing.explain.checked`, which every trace runs too.
"""

from __future__ import annotations

import torch
from torch import Tensor

from rnntrace.records import Finding
from rnntrace.tracing.capture import Capture, Received, RnnCall, tensors_in
from rnntrace.tracing.explain import padded_lengths


def find_mistakes(seen: Capture, labels: Tensor | None = None) -> list[Finding]:
    """Every silent mistake of one captured pass, once per kind and layer."""
    found: list[Finding] = []
    for call in seen.rnn_calls:
        later = [*seen.received_after(call), _returned(seen)]
        for finding in (
            _padded_last_step(call, later),
            _h_n_reshaped(call, later),
            _swapped(call, seen, labels),
            _padding_packed(call),
        ):
            if finding is not None and all(
                (f.kind, f.layer) != (finding.kind, finding.layer) for f in found
            ):
                found.append(finding)
    return found


def _returned(seen: Capture) -> Received:
    return Received(1 << 30, "(model output)", "", tensors_in(seen.output))


def _received(later: list[Received], wanted: Tensor) -> Received | None:
    for r in later:
        for t in r.tensors:
            if t.shape == wanted.shape and t.dtype == wanted.dtype and t.equal(wanted):
                return r
    return None


def _where(r: Received) -> str:
    return f"{r.name} ({r.type})" if r.type else r.name


def _padded_last_step(call: RnnCall, later: list[Received]) -> Finding | None:
    if not call.packed or call.lengths is None or not call.batched:
        return None
    lengths = call.lengths
    short = int((lengths < call.steps).sum())
    if short == 0:
        return None
    pick = "output[:, -1]" if call.rnn.batch_first else "output[-1]"
    last = call.output[:, -1] if call.rnn.batch_first else call.output[-1]  # (B, D·R)
    r = _received(later, last)
    if r is None:
        return None
    zero_rows = int((last.abs().amax(dim=1) == 0).sum())
    return Finding(
        "padded_last_step",
        "warning",
        call.label,
        "each sequence's output at its own last step (lengths - 1), or h_n",
        f"{pick} of the padded output, fed to {_where(r)}: {short} of {call.batch} sequences "
        f"are shorter than {call.steps} steps (lengths {int(lengths.min())}..{int(lengths.max())})",
        f"pads the shorter sequences' outputs with zeros, so {zero_rows} of the {call.batch} rows "
        "it passes on are all zero instead of a summary of the sequence",
        "use h_n[-1] (one direction), or output[torch.arange(B), lengths - 1] for batch_first "
        "output",
    )


def _h_n_reshaped(call: RnnCall, later: list[Received]) -> Finding | None:
    if not call.batched:
        return None
    states, batch = call.h_n.shape[0], call.h_n.shape[1]  # (L·D, B, R)
    if states < 2 or batch < 2:
        return None
    wrong = call.h_n.reshape(batch, -1)  # what h_n.view(B, -1) gives: rows cut across sequences
    right = call.h_n.permute(1, 0, 2).reshape(batch, -1)  # each sequence's states, joined
    if wrong.equal(right):
        return None
    r = _received(later, wrong)
    if r is None:
        return None
    width = call.h_n.shape[2]
    mixed = min(states, batch)
    diff = float((wrong - right).abs().max())
    return Finding(
        "h_n_reshaped",
        "warning",
        call.label,
        f"each sequence's {states} final states side by side: "
        "h_n.permute(1, 0, 2).reshape(B, -1)",
        f"h_n of shape ({states}, {batch}, {width}) reshaped to {tuple(wrong.shape)} and fed to "
        f"{_where(r)}",
        f"lays h_n out layer by layer, so row 0 holds the first state of sequences 0..{mixed - 1}"
        f" rather than sequence 0's {states} states (rows differ by up to {diff:.3g})",
        "h_n.permute(1, 0, 2).reshape(B, -1), or torch.cat([h_n[-2], h_n[-1]], dim=1) for the "
        "top layer's two directions",
    )


def _swapped(call: RnnCall, seen: Capture, labels: Tensor | None) -> Finding | None:
    if not call.batched or call.packed or call.steps == call.batch:
        return None
    out = seen.output[0] if isinstance(seen.output, tuple | list) else seen.output
    rows = int(out.shape[0]) if isinstance(out, Tensor) and out.dim() == 2 else None
    if call.batch == 1:
        # One sequence of T steps flattened to (T·1, C) rows (a language model's
        # output.view(-1, C)) has as many rows as steps: no evidence of a swap.
        rows = None
    n_labels = int(labels.shape[0]) if labels is not None else None
    evidence = ""
    if n_labels == call.steps:
        evidence = f"{n_labels} labels"
    elif rows == call.steps:
        evidence = f"the model returns {rows} rows of scores"
    if not evidence:
        return None
    layout = "(batch, steps, features)" if call.rnn.batch_first else "(steps, batch, features)"
    flag = "False" if call.rnn.batch_first else "True"
    return Finding(
        "time_batch_swapped",
        "warning",
        call.label,
        f"a batch of {call.steps} sequences laid out {layout}",
        f"a tensor of shape {tuple(call.x.shape)} that it read as a batch of {call.batch} "
        f"sequences of {call.steps} steps, while {evidence}",
        f"runs across the {call.steps} sequences as if they were time steps, so each "
        "'sequence' mixes one step of every example",
        f"transpose the input (x.transpose(0, 1)) or build the layer with batch_first={flag}",
    )


def _padding_packed(call: RnnCall) -> Finding | None:
    """Packed with every length equal to the padded length, though some sequences end in padding.

    Padding is read as trailing all-zero steps, or as trailing steps equal to the one vector every
    sequence ends on (the embedding of a padding id) when the runs differ in length:

        lengths [5, 5, 5]   sequence 0: a b c d e     real length 5
                            sequence 1: a b P P P     real length 2, three padding steps
                            sequence 2: a b c d P     real length 4
    """
    if not call.packed or call.lengths is None or not call.batched or call.batch < 2:
        return None
    if int(call.lengths.min()) != call.steps:
        return None
    xb = call.batch_first(call.x)  # (B, T, F)
    real, what = padded_lengths(xb, True), "all-zero steps"
    if real is None:
        real, what = _shared_padding(xb), "steps equal to the one vector they end on"
    if real is None:
        return None
    short = int((real < call.steps).sum())
    first = bool(call.rnn.batch_first)
    pack = f"pack_padded_sequence(x, lengths.cpu(), batch_first={first}, enforce_sorted=False)"
    return Finding(
        "padding_packed",
        "warning",
        call.label,
        "a PackedSequence with each sequence's own real length",
        f"a PackedSequence whose {call.batch} lengths all equal the padded length {call.steps}, "
        f"while {short} of {call.batch} sequences end in padding ({what}; real lengths "
        f"{int(real.min())}..{int(real.max())})",
        "reads the padding as data: the shorter sequences' h_n is their state after the padding "
        "steps, as if nothing had been packed",
        f"pack with the real lengths, e.g. lengths = (tokens != pad_id).sum(1), then {pack}",
    )


def _shared_padding(xb: Tensor) -> Tensor | None:
    """Real lengths when sequences end on one shared vector in runs of different lengths.

    The vector is the last step of two sequences or more; a run of it at least 2 steps long
    somewhere, and runs that differ, tell padding from data that merely ends alike (two
    sentences ending in a full stop).
    """
    last = xb[:, -1]  # (B, F)
    ends = (last.unsqueeze(1) == last.unsqueeze(0)).all(dim=2).sum(dim=1)  # (B,): alike ends
    pad = last[int(ends.argmax())]
    if int(ends.max()) < 2:
        return None
    same = (xb == pad).all(dim=2)  # (B, T): steps equal to the padding vector
    # the trailing run: steps from the end while still equal (cumprod stops at the first not)
    run = same.flip(1).to(torch.int64).cumprod(dim=1).sum(dim=1)  # (B,)
    real = xb.shape[1] - run
    if int(run.max()) < 2 or int(real.min()) == int(real.max()) or int(real.min()) == 0:
        return None
    return real
