"""Ask PyTorch: build the layer, run tensors through it, and hold each template's reasoning to it.

Shape legend: B batch, T time, F features, H hidden, D directions, L layers × directions.
Every template states its answer twice: once from its own formula (what a teacher would reason)
and once from what PyTorch actually returns here. `agree` raises QuizBug when they differ: that is
a bug in rnntrace, never a user error, so it is not an RnnTraceError.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from rnntrace.config.settings import ModelConfig
from rnntrace.model.classifier import make_rnn
from rnntrace.quiz.setting import Setting

_SEED = 0  # weights never reach a question's text; a fixed seed keeps value checks repeatable


class QuizBug(RuntimeError):
    """A template's reasoning and PyTorch disagree, or its options cannot be told apart."""


def agree(what: str, formula: object, measured: object) -> None:
    """Fail loudly when a template's formula and PyTorch's real answer differ."""
    if formula != measured:
        raise QuizBug(f"{what}: the template reasons {formula!r} but PyTorch gives {measured!r}")


@contextmanager
def seeded() -> Iterator[None]:
    """Seed torch for repeatable checks, leaving the caller's random state as it was."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(_SEED)
        yield


def build(model: ModelConfig) -> nn.RNNBase:
    """The torch layer for a config, in eval mode (dropout off), seeded."""
    with seeded():
        layer = make_rnn(model)
    return layer.eval()


@dataclass(frozen=True)
class Shapes:
    """What a recurrent layer really returned."""

    output: tuple[int, ...]
    h_n: tuple[int, ...]
    c_n: tuple[int, ...] | None  # LSTM only


def run_shapes(setting: Setting) -> Shapes:
    """Run a zero batch of the setting's real input shape and read the shapes PyTorch returns."""
    # Several templates ask about one setting; a large model's forward pass is worth reusing.
    # Shapes depend only on what to_dict holds (cell, sizes, layout, input shape).
    key = json.dumps(setting.to_dict(), sort_keys=True)
    if key not in _SHAPES:
        if len(_SHAPES) >= 64:
            _SHAPES.clear()
        _SHAPES[key] = _measure_shapes(setting)
    return _SHAPES[key]


_SHAPES: dict[str, Shapes] = {}


def _measure_shapes(setting: Setting) -> Shapes:
    layer = build(setting.model)
    x = torch.zeros(setting.input_shape)  # (B, T, F) or (T, B, F)
    with torch.no_grad():
        output, state = layer(x)
    if isinstance(state, tuple):
        h_n, c_n = state
        return Shapes(tuple(output.shape), tuple(h_n.shape), tuple(c_n.shape))
    return Shapes(tuple(output.shape), tuple(state.shape), None)


def count_parameters(model: ModelConfig) -> int:
    """The number of trainable values in the recurrent layer, counted by PyTorch."""
    return sum(p.numel() for p in build(model).parameters())


def error_message(action: Callable[[], object]) -> str:
    """The message PyTorch raises for `action`; a QuizBug if it unexpectedly succeeds."""
    try:
        with torch.no_grad():
            action()
    except (RuntimeError, ValueError) as exc:
        return str(exc)
    raise QuizBug("expected PyTorch to reject this, but it ran")


def succeeds(action: Callable[[], object]) -> bool:
    """Whether PyTorch accepts `action` without raising."""
    try:
        with torch.no_grad():
            action()
    except (RuntimeError, ValueError):
        return False
    return True


def run_snippet(code: str, namespace: dict[str, Any]) -> Any:
    """Execute one of our own generated snippets and return the value it binds to `result`.

    Only ever called on code rnntrace wrote itself (option texts), never on user input.
    """
    scope = {"torch": torch, "nn": nn, **namespace}
    with torch.no_grad():
        exec(code, scope)
    return scope.get("result")


def padded_batch(
    setting: Setting, lengths: list[int]
) -> tuple[nn.RNNBase, Tensor, Tensor, list[Tensor]]:
    """A random padded batch for the setting's layer, plus each sequence run alone.

    Returns (layer, x, lengths, truth) where truth[i] is sequence i's final hidden state
    (D·H,) from running it unpadded on its own: the independent ground truth for "last state".
    Everything runs in float64: with tiny or deep layers a padded step can move the state by less
    than float32 noise, and a wrong option must never pass for a right one.

        seq 0  x x x x x    length 5
        seq 1  x x x · ·    length 3   (· is padding the layer must not read)
    """
    model = setting.model
    layer = build(model).double()
    t_max, feats = max(lengths), model.n_features
    with seeded():
        seqs = [torch.randn(n, feats, dtype=torch.float64) for n in lengths]  # each (T_i, F)
    x = torch.zeros(len(lengths), t_max, feats, dtype=torch.float64)  # (B, T, F)
    for i, seq in enumerate(seqs):
        x[i, : len(seq)] = seq
    if not model.batch_first:
        x = x.transpose(0, 1).contiguous()  # (T, B, F)
    truth = []
    with torch.no_grad():
        for seq in seqs:
            alone = seq.unsqueeze(0 if model.batch_first else 1)  # (1, T_i, F) or (T_i, 1, F)
            _, state = layer(alone)
            h_n = state[0] if isinstance(state, tuple) else state  # (L, 1, H)
            top = h_n[-2:] if model.bidirectional else h_n[-1:]  # (D, 1, H)
            truth.append(torch.cat(list(top[:, 0]), dim=0))  # (D·H,)
    return layer, x, torch.tensor(lengths), truth


def matches_truth(result: Any, truth: list[Tensor]) -> bool:
    """Whether a snippet's (B, D·H) result holds every sequence's true last state."""
    if not isinstance(result, Tensor) or tuple(result.shape) != (len(truth), truth[0].numel()):
        return False
    return all(torch.allclose(result[i], t, rtol=0, atol=1e-10) for i, t in enumerate(truth))
