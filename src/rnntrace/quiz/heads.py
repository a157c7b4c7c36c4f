"""Questions about the heads (task.py), each key proved by running PyTorch: the shape of
many-to-many logits, the layout CrossEntropyLoss wants for them, and why MSE wants a
standardised target. A regression or per-step run's quiz is these plus the bank's questions
about its recurrent layer alone (head_quiz)."""

from __future__ import annotations

import dataclasses
import random

import torch
from torch import nn

from rnntrace.config.settings import ModelConfig
from rnntrace.quiz.bank import Template, make_question, make_quiz
from rnntrace.quiz.draft import Draft, four_options, shape, steps
from rnntrace.quiz.setting import LESSON_STEPS, Setting, layer_setting
from rnntrace.quiz.verify import agree, build, error_message, seeded
from rnntrace.records import Question

# The bank's templates that speak of a classifier's head (its input, its classes): left out of
# a regression or per-step quiz, whose head is another.
CLASSIFIER_TEMPLATES = ("classifier_input", "concept_memory")
N_CLASSES = 4  # labels in the per-step questions, when the model has none (regression)


def _labels(s: Setting) -> int:
    return s.model.n_classes if s.model.n_classes >= 2 else N_CLASSES


def many_to_many_shape(s: Setting, rng: random.Random) -> Draft:
    m = dataclasses.replace(s.model, num_layers=1, batch_first=True)
    c, b, t = _labels(s), s.batch, s.steps
    layer = build(m)
    head = nn.Linear(m.state_size * m.num_directions, c)
    with seeded(), torch.no_grad():
        x = torch.randn(b, t, m.n_features)  # (B, T, F)
        out, _ = layer(x)  # (B, T, D·H)
        logits = head(out)  # (B, T, C): Linear acts on the last dimension
    key = shape((b, t, c))
    agree("per-step logits", key, shape(logits.shape))
    width = m.state_size * m.num_directions
    options, answer = four_options(key, [shape((b, c)), shape((b, c, t)), shape((t, b, c)),
                                         shape((b, t, width))], rng)
    layer_code = Setting(m, b, t).layer_code()
    return Draft(
        prompt=(f"A label per step: `out, _ = rnn(x)` with `rnn = {layer_code}` and x of shape "
                f"{shape((b, t, m.n_features))}, then `logits = nn.Linear({width}, {c})(out)`. "
                "What shape are the logits?"),
        options=options, answer=answer,
        hint="nn.Linear acts on the last dimension and keeps every other one.",
        solution=steps(
            f"out holds the top layer's h_t at every step: {shape(out.shape)}.",
            f"Linear maps the last dimension {width} → {c} and keeps (B, T) = ({b}, {t}).",
            final=key),
        verified_by=f"ran a real {layer_code} and nn.Linear({width}, {c}) on a random batch",
    )


def step_loss_layout(s: Setting, rng: random.Random) -> Draft:
    b, t, c = s.batch, s.steps, _labels(s)
    with seeded():
        logits = torch.randn(b, t, c)  # (B, T, C) as the head gives them
        target = torch.randint(0, c, (b, t))  # (B, T)
    loss = nn.CrossEntropyLoss()
    key = "loss(logits.transpose(1, 2), target)"
    wrong_plain = "loss(logits, target)"
    wrong_target = "loss(logits.transpose(1, 2), target.transpose(0, 1))"
    swapped = target.transpose(0, 1)  # (T, B)
    if b == t:  # a (T, B) target has the (B, T) shape and would run: a flat one is refused
        wrong_target, swapped = "loss(logits.transpose(1, 2), target.reshape(-1))", \
            target.reshape(-1)
    wrong_flat = "loss(logits.reshape(-1, C), target.reshape(B, T))"
    per_step = torch.stack([nn.functional.cross_entropy(logits[:, i], target[:, i],
                                                        reduction="sum") for i in range(t)])
    mean = float(per_step.sum()) / (b * t)
    agree("(B, C, T) gives the mean over every step", True,
          abs(float(loss(logits.transpose(1, 2), target)) - mean) < 1e-5)
    if t != c:  # with T == C PyTorch cannot tell the layouts apart, and a question would lie
        agree("(B, T, C) is refused", True, bool(error_message(lambda: loss(logits, target))))
    agree("a target of another layout is refused", True,
          bool(error_message(lambda: loss(logits.transpose(1, 2), swapped))))
    agree("flat logits with (B, T) target is refused", True,
          bool(error_message(lambda: loss(logits.reshape(-1, c), target.reshape(b, t)))))
    checked = "the others raise an error"
    if t == c:  # (B, T, C) is accepted as (B, C, T): it computes another, wrong number
        wrong_plain = "loss(logits, target)"
        agree("(B, T, C) read as (B, C, T) gives another number", True,
              abs(float(loss(logits, target)) - mean) > 1e-6)
        checked = ("loss(logits, target) runs (T = C) but averages over the wrong dimension "
                   "and gives another number; the others raise an error")
    options, answer = four_options(key, [wrong_plain, wrong_target, wrong_flat], rng)
    return Draft(
        prompt=(f"Per-step logits of shape {shape((b, t, c))} (B, T, C) and targets of shape "
                f"{shape((b, t))}: with `loss = nn.CrossEntropyLoss()`, which call gives the "
                "mean loss over every step?"),
        options=options, answer=answer, options_are_code=True,
        hint="CrossEntropyLoss looks for the classes in dimension 1, for any extra dimensions.",
        solution=steps(
            "For inputs with more than two dimensions, CrossEntropyLoss wants (N, C, d1, …) "
            "and a target of shape (N, d1, …).",
            f"So the classes move to dimension 1: {shape((b, c, t))}, against the (B, T) "
            "target as it is.",
            final=key),
        verified_by=("ran each call in PyTorch: the key equals the mean of per-step "
                     f"cross-entropies; {checked}"),
    )


def window_to_steps(k: int, length: int, n_features: int) -> Template:
    """The question of a model that reads windows of `k` steps: the shape its per-step logits
    have once each window's are repeated to its steps, for input `length` steps long."""

    def make(s: Setting, rng: random.Random) -> Draft:
        m = dataclasses.replace(s.model, num_layers=1, batch_first=True)
        c, b, t, f = _labels(s), s.batch, length, n_features
        t_windows = -(-t // k)
        layer = build(dataclasses.replace(m, n_features=k * f))
        head = nn.Linear(m.state_size * m.num_directions, c)
        with seeded(), torch.no_grad():
            x = torch.randn(b, t, f)  # (B, T, F)
            padded = nn.functional.pad(x, (0, 0, 0, t_windows * k - t))  # zeros at the end
            out, _ = layer(padded.reshape(b, t_windows, k * f))  # (B, T', D·H)
            windows = head(out)  # (B, T', C)
            logits = windows.repeat_interleave(k, dim=1)[:, :t]  # (B, T, C)
            by_hand = windows[:, torch.arange(t) // k]  # step i takes window i // k
        key = shape((b, t, c))
        agree("per-step logits from windows", key, shape(logits.shape))
        agree("step i takes window i // k's logits", True, bool(torch.equal(logits, by_hand)))
        options, answer = four_options(key, [
            shape((b, t_windows, c)), shape((b, t_windows * k, c)), shape((b, t, k * c)),
            shape((b, t_windows, k * c))], rng)
        return Draft(
            prompt=(f"This model labels every step, but its recurrent layer reads one vector "
                    f"per window of {k} steps: for x of shape {shape((b, t, f))} its Linear "
                    f"head gives `windows` of shape {shape(windows.shape)}, one row of label "
                    f"scores per window. What shape is `windows.repeat_interleave({k}, "
                    f"dim=1)[:, :{t}]`, the logits the loss reads?"),
            options=options, answer=answer,
            hint="repeat_interleave copies each window's row k times, in place; the slice "
                 "drops the copies past the last real step.",
            solution=steps(
                f"{t} steps in windows of {k}: ceil({t}/{k}) = {t_windows} windows"
                + (", the last completed with zeros." if t % k else "."),
                f"repeat_interleave({k}, dim=1) gives {t_windows}·{k} = {t_windows * k} rows, "
                f"window j's logits at steps {k}j … {k}j+{k - 1}.",
                f"[:, :{t}] keeps the {t} real steps: every step gets its window's logits.",
                final=key),
            verified_by=(f"ran a real {s.cls} on the windows and nn.Linear, repeated the "
                         "logits, and checked each step holds its window's (step i: window "
                         "i // k)"),
        )

    return Template("window_to_steps", "medium", make)


def standardised_target(s: Setting, rng: random.Random) -> Draft:
    m = dataclasses.replace(s.model, num_layers=1, batch_first=True, bidirectional=False)
    layer = build(m)
    head = nn.Linear(m.state_size, 1)
    with seeded(), torch.no_grad():
        x = torch.randn(64, 10, m.n_features)
        prices = 50_000 + 12_000 * torch.randn(64, 1)  # a target in its own units
        out, _ = layer(x)
        guess = head(out[:, -1])  # (64, 1): an untrained head guesses near 0
        raw = float(nn.functional.mse_loss(guess, prices))
        z = (prices - prices.mean()) / prices.std()
        scaled = float(nn.functional.mse_loss(guess, z))
    agree("raw MSE dwarfs the standardised one", True, raw > 1e6 * scaled)
    key = ("The loss starts near 1 whatever the units: raw targets of ~50,000 start it near "
           f"{raw:.1e}, and its gradients throw the weights far off")
    options, answer = four_options(key, [
        "MSE is only defined for values between −1 and 1",
        "Standardising makes the model's predictions more accurate in the target's units "
        "without changing training",
        "PyTorch's MSELoss divides by the target's variance itself",
        "A recurrent layer's output can only be compared with negative targets",
    ], rng)
    return Draft(
        prompt=("A GRU regressor predicts house prices (mean 50,000, sd 12,000). Why train it on "
                "(y − mean) / sd of the training targets, and report ŷ·sd + mean?"),
        options=options, answer=answer,
        hint="What is the first epoch's MSE when an untrained head outputs numbers near 0?",
        solution=steps(
            f"An untrained Linear head outputs values near 0: MSE against the raw prices was "
            f"{raw:.3g} here.",
            f"Against the standardised target it was {scaled:.3g}: the gradients' scale no "
            "longer depends on the units, so one learning rate works for every target.",
            "The mean and sd come from the training targets only, and undo the scaling for "
            "the prediction.",
            final=key),
        verified_by=(f"an untrained GRU + Linear on random input: MSE {raw:.3g} on raw prices, "
                     f"{scaled:.3g} on standardised ones"),
    )


HEAD_TEMPLATES: dict[str, tuple[Template, ...]] = {
    "steps": (Template("many_to_many_shape", "easy", many_to_many_shape),
              Template("step_loss_layout", "medium", step_loss_layout)),
    "regress": (Template("standardised_target", "medium", standardised_target),),
}


def head_quiz(config: ModelConfig, *, n: int = 10, seed: int = 0,
              input_shape: tuple[int, int, int] | None = None,
              level: str = "mixed") -> list[Question]:
    """The head's own questions at `level` (all of them when mixed), then the bank's about the
    recurrent layer alone at the same level, up to n. The head's come first whatever their
    level: they are what this model adds to the layer.

    Behind a front end the layer reads what the front end gives (windows of k steps, or the
    convolutions' channels, ceil(T / k) steps long), so its questions use those sizes: they
    are about this model's layer. `input_shape` is the model's input, in its layout.
    """
    setting = layer_setting(config, input_shape)
    layer_only = setting.model
    templates = HEAD_TEMPLATES[config.task]
    if config.task_spec.per_step and config.window > 1:
        t = LESSON_STEPS * config.window + 1 if input_shape is None else (
            input_shape[1] if config.batch_first else input_shape[0])
        templates = (*templates, window_to_steps(config.window, t, config.n_features))
    # make_quiz checks `level` and `n` (one ConfigError line) before anything is built.
    rest = make_quiz(layer_only, n=n, level=level, seed=seed,
                     input_shape=None if input_shape is None else setting.input_shape,
                     exclude=CLASSIFIER_TEMPLATES)
    own = [make_question(t, setting, random.Random(f"{seed}:{t.name}")) for t in templates
           if level in ("mixed", t.level)][:n]
    picked = own + rest[: n - len(own)]
    for number, question in enumerate(picked, start=1):
        question.id = f"q{number}-{question.template}"
    return picked
