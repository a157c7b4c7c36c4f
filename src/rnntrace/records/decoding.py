"""An encoder–decoder's decoder, step by step (rt.trace; filled by tracing/decoding.py)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class DecoderStep:
    """One step of an encoder–decoder's decoder, for sequence 0."""

    step: int  # from 1
    token: int | None  # the token id it read (looked up in an nn.Embedding); None: not a token
    read: str  # where that token came from, e.g. "the token it emitted at the step before"
    emitted: int | None  # the argmax of the scores it produced; None when none were found
    probability: float | None  # softmax probability of `emitted`


@dataclass
class DecoderTrace:
    """The decoder loop of an encoder–decoder: each step, and its attention where computed."""

    name: str  # the decoder's recurrent module, e.g. "decoder.gru"
    steps: list[DecoderStep]
    attention: list[list[float]]  # (decoder steps, encoder steps) for sequence 0; [] if none
    encoder_steps: int
