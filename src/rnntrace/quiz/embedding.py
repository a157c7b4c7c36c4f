"""Quiz questions on a text model's Embedding: shapes, vocabulary size, padding and parameters.

Every key is measured on a real nn.Embedding or SequenceClassifier before it is offered, as
the rest of the quiz does (rnntrace.quiz.verify).
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable

import torch
from torch import nn

from rnntrace.config.settings import ModelConfig
from rnntrace.data.vocabulary import PAD_ID, UNK_ID
from rnntrace.quiz.bank import make_quiz
from rnntrace.quiz.draft import Draft, four_options, near_numbers, near_shapes, shape, steps
from rnntrace.quiz.verify import agree, seeded
from rnntrace.records import QUIZ_LEVELS, Question


@dataclasses.dataclass(frozen=True)
class TextSetting:
    """A text model and the (B, T) of a batch of token ids fed to it."""

    model: ModelConfig
    batch: int
    steps: int

    def code(self) -> str:
        m = self.model
        return f"nn.Embedding({m.vocab_size}, {m.embedding_dim}, padding_idx={PAD_ID})"

    def to_dict(self) -> dict[str, object]:
        m = self.model
        return {"cell": m.cell, "vocab_size": m.vocab_size, "embedding_dim": m.embedding_dim,
                "hidden_size": m.hidden_size, "batch": self.batch, "steps": self.steps}


def _embedding(s: TextSetting) -> nn.Embedding:
    with seeded():
        return nn.Embedding(s.model.vocab_size, s.model.embedding_dim, padding_idx=PAD_ID)


def embedding_shape(s: TextSetting, rng: random.Random) -> Draft:
    b, t, e = s.batch, s.steps, s.model.embedding_dim
    with torch.no_grad():
        measured = tuple(_embedding(s)(torch.zeros(b, t, dtype=torch.long)).shape)
    agree("embedding output shape", (b, t, e), measured)
    key = shape(measured)
    mistakes = [shape((b, t)), shape((b, t, s.model.vocab_size)), shape((b, e)), shape((t, b, e))]
    options, answer = four_options(key, mistakes, rng, near_shapes(measured))
    return Draft(
        prompt=f"`emb = {s.code()}` reads a batch of token ids `ids` of shape "
               f"{shape((b, t))} (B, T). What is the shape of `emb(ids)`?",
        options=options, answer=answer,
        hint="Each id is replaced by one row of the table; the table's width is embedding_dim.",
        solution=steps(f"ids has shape (B, T) = {shape((b, t))}.",
                       f"Each id becomes a vector of embedding_dim = {e} values.",
                       final=key),
        verified_by=f"ran {s.code()} on a {shape((b, t))} tensor of ids",
    )


def vocabulary_size(s: TextSetting, rng: random.Random) -> Draft:
    v = s.model.vocab_size
    real = v - 2
    with torch.no_grad():
        measured = _embedding(s).weight.shape[0]
    agree("embedding rows", v, measured)
    options, answer = four_options(f"{v:,}", [f"{real:,}", f"{real + 1:,}", f"{v + 1:,}"], rng,
                                   near_numbers(v))
    return Draft(
        prompt=f"The training texts hold {real} distinct tokens. rnntrace adds <pad> (id "
               f"{PAD_ID}) and <unk> (id {UNK_ID}). What must `num_embeddings` be?",
        options=options, answer=answer,
        hint="Every id the model can see needs its own row, the reserved ones too.",
        solution=steps(f"{real} real tokens take ids 2…{v - 1}.",
                       f"<pad> and <unk> take ids {PAD_ID} and {UNK_ID}: {real} + 2 rows.",
                       final=f"{v:,}"),
        verified_by=f"built {s.code()} and read weight.shape[0]",
    )


def padding_index(s: TextSetting, rng: random.Random) -> Draft:
    emb = _embedding(s)
    ids = torch.tensor([[3 % s.model.vocab_size, PAD_ID]])
    (emb(ids).sum()).backward()
    grad = emb.weight.grad
    assert grad is not None
    zero_row = bool(torch.all(emb.weight[PAD_ID] == 0))
    no_grad = bool(torch.all(grad[PAD_ID] == 0))
    agree("padding row zero and untrained", (True, True), (zero_row, no_grad))
    key = f"row {PAD_ID} starts at zero and gets no gradient, so it never changes"
    mistakes = [f"row {PAD_ID} is removed from the table, which then has {s.model.vocab_size - 1}"
                " rows", f"row {PAD_ID} is trained like every other row",
                f"row {PAD_ID} is filled with the mean of the other rows"]
    options, answer = four_options(key, mistakes, rng)
    return Draft(
        prompt=f"What does `padding_idx={PAD_ID}` do to row {PAD_ID} of `{s.code()}`'s weight?",
        options=options, answer=answer,
        hint="Padding is not a token; it should carry no information and learn nothing.",
        solution=steps(f"PyTorch fills weight[{PAD_ID}] with zeros at construction.",
                       f"Backward leaves weight.grad[{PAD_ID}] at zero, so no optimiser step "
                       "moves it.", final=key),
        verified_by=f"built {s.code()}, checked weight[{PAD_ID}] and its gradient after backward",
    )


def model_parameters(s: TextSetting, rng: random.Random) -> Draft:
    from rnntrace.model.classifier import SequenceClassifier

    m = s.model
    with seeded():
        model = SequenceClassifier.from_config(m)
    key = sum(p.numel() for name, p in model.named_parameters())
    emb = m.vocab_size * m.embedding_dim
    rnn = sum(p.numel() for p in model.rnn.parameters())
    head = sum(p.numel() for p in model.head.parameters())
    agree("text model parameters", emb + rnn + head, key)
    mistakes = [rnn + head, emb, emb + rnn, (m.vocab_size - 1) * m.embedding_dim + rnn + head]
    options, answer = four_options(f"{key:,}", [f"{w:,}" for w in mistakes], rng,
                                   near_numbers(key))
    layer = f"{m.spec.class_name}({m.embedding_dim}, {m.hidden_size})"
    return Draft(
        prompt=f"A classifier is `{s.code()}` → `{layer}` → `nn.Linear` to {m.n_classes} "
               "classes. How many trainable parameters does it have in all?",
        options=options, answer=answer,
        hint="Add the embedding table (every row, padding included), the recurrent layer and "
             "the Linear head.",
        solution=steps(f"Embedding: {m.vocab_size} × {m.embedding_dim} = {emb:,}.",
                       f"{layer}: {rnn:,}.", f"Linear: {head:,}.",
                       final=f"{key:,}"),
        verified_by="built the SequenceClassifier and summed p.numel() over its parameters",
    )


TEXT_TEMPLATES: tuple[tuple[str, str, Callable[[TextSetting, random.Random], Draft]], ...] = (
    ("embedding_shape", "easy", embedding_shape),
    ("vocabulary_size", "easy", vocabulary_size),
    ("padding_index", "medium", padding_index),
    ("model_parameters", "hard", model_parameters),
)


def layer_config(config: ModelConfig) -> ModelConfig:
    """The recurrent layer of a text model as the numeric quiz sees it: it reads E features."""
    return dataclasses.replace(config, n_features=config.embedding_dim, vocab_size=0,
                               embedding_dropout=0.0,
                               embedding_dim=0)


def text_quiz(config: ModelConfig, *, n: int = 10, seed: int = 0, batch: int = 32,
              steps: int = 10, level: str = "mixed") -> list[Question]:
    """The Embedding's questions, then the recurrent layer's (fed E-wide vectors) up to n."""
    setting = TextSetting(config, batch, steps)
    rng = random.Random(f"text:{seed}")
    picked: list[Question] = []
    for name, lvl, make in TEXT_TEMPLATES:
        if level not in ("mixed", lvl) or len(picked) == n:
            continue
        draft = make(setting, random.Random(f"{seed}:{name}:{rng.random()}"))
        picked.append(Question(
            id="", template=name, level=lvl, prompt=draft.prompt, code=draft.code,
            options=draft.options, answer=draft.answer, hint=draft.hint,
            solution=draft.solution, verified_by=draft.verified_by,
            setting=setting.to_dict(), options_are_code=draft.options_are_code))
    if len(picked) < n:
        layer = layer_config(config)
        shape_ = ((batch, steps, layer.n_features) if layer.batch_first
                  else (steps, batch, layer.n_features))
        picked += make_quiz(layer, n=n - len(picked), level=level, seed=seed, input_shape=shape_)
    if level == "mixed":
        picked.sort(key=lambda q: QUIZ_LEVELS.index(q.level))
    for number, question in enumerate(picked, start=1):
        question.id = f"q{number}-{question.template}"
    return picked
