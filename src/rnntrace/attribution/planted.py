"""The planted-signal self-test: data whose class only a known window of steps and features
decides, so an attribution method can be checked against the answer.

    step      1 … 7  8 9 10 11  12 … 20
    feature 0  noise  noise      noise
    feature 1  noise  ±a ±a ±a ±a noise     + for class "up", − for "down": the only signal
    feature 2  noise  noise      noise

A model that learned the task must put most of its attribution inside the window; the same
model before training has no reason to, and attribution must tell the two apart.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import numpy as np
import torch

from rnntrace.attribution.sequences import attribute_sequences, window_share
from rnntrace.config.settings import ModelConfig, TrainConfig
from rnntrace.data.sequences import SequenceSet
from rnntrace.errors import ConfigError
from rnntrace.records.explanation import PlantedCheck

PLANTED_CLASSES = ("down", "up")


def planted_signal(
    n_sequences: int = 400,
    steps: int = 20,
    n_features: int = 3,
    *,
    window: tuple[int, int] = (8, 11),
    features: Sequence[int] = (1,),
    amplitude: float = 3.0,
    seed: int = 0,
) -> SequenceSet:
    """Gaussian noise everywhere; ±`amplitude` added on steps `window` (1-based, inclusive) of
    `features` decides the class. Balanced classes, seeded."""
    first, last = window
    if not 1 <= first <= last <= steps:
        raise ConfigError(f"the window {window} must lie within steps 1..{steps}")
    if not features or any(not 0 <= f < n_features for f in features):
        raise ConfigError(f"planted features {list(features)} must lie in 0..{n_features - 1}")
    if n_sequences < 2:
        raise ConfigError(f"the planted signal needs at least 2 sequences, got {n_sequences}")
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(n_sequences) % 2).astype(np.int64)  # (N,)
    values = rng.normal(0.0, 1.0, (n_sequences, steps, n_features))  # (N, T, F)
    sign = np.where(labels == 1, 1.0, -1.0)[:, None]  # (N, 1)
    for f in features:
        values[:, first - 1 : last, f] += amplitude * sign
    return SequenceSet(
        values=values.astype(np.float32),
        lengths=np.full(n_sequences, steps, dtype=np.int64),
        labels=labels,
        class_names=list(PLANTED_CLASSES),
        feature_names=[f"x{i}" for i in range(n_features)],
        ids=[f"planted{i:04d}" for i in range(n_sequences)],
        source="synthetic:planted",
    )


def planted_self_test(
    cell: str = "gru",
    *,
    bidirectional: bool = False,
    hidden_size: int = 8,
    n_sequences: int = 400,
    steps: int = 12,
    n_features: int = 2,
    epochs: int = 10,
    attributed: int = 32,
    seed: int = 0,
) -> PlantedCheck:
    """Train on planted data, then measure the attribution share inside the window for the
    trained model and for its untrained copy, over `attributed` held-out sequences."""
    from rnntrace.model.classifier import SequenceClassifier
    from rnntrace.train.fit import fit
    from rnntrace.train.loop import predict_logits
    from rnntrace.train.split import split_validation

    # A window in the middle: a unidirectional model's untrained attribution favours the last
    # steps (its memory fades), so a window there would not tell trained from untrained.
    first = max(1, steps // 3)
    window, planted = (first, min(steps, first + 3)), (n_features - 1,)
    data = planted_signal(n_sequences, steps, n_features, window=window, features=planted,
                          seed=seed)
    config = TrainConfig(epochs=epochs, seed=seed, lr=0.01, checkpoint=False)
    train, held_out = split_validation(data, None, config)
    assert isinstance(train, SequenceSet) and isinstance(held_out, SequenceSet)
    model = SequenceClassifier.from_config(ModelConfig(
        n_features=data.n_features, n_classes=2, hidden_size=hidden_size, cell=cell,
        bidirectional=bidirectional), seed=seed)
    mean, std = train.values.mean(axis=(0, 1)), train.values.std(axis=(0, 1))
    model.standardize.set_statistics(torch.from_numpy(mean), torch.from_numpy(std))
    untrained = copy.deepcopy(model)
    fit(model, train, held_out, config)
    model.cpu()
    shown = list(range(min(attributed, len(held_out))))
    shares, accuracies, holds = [], [], True
    for m in (model, untrained):
        records = attribute_sequences(m, held_out, shown, occlusion=False)
        holds = holds and all(r.completeness.holds for r in records)
        shares.append(float(np.mean([window_share(r, window, planted) for r in records])))
        predicted = predict_logits(m, held_out).argmax(1).numpy()
        accuracies.append(float((predicted == held_out.labels).mean()))
    return PlantedCheck(
        window=list(window), features=list(planted), share_trained=shares[0],
        share_untrained=shares[1],
        share_by_chance=(window[1] - window[0] + 1) * len(planted) / (steps * data.n_features),
        accuracy_trained=accuracies[0], accuracy_untrained=accuracies[1],
        n_sequences=len(shown), cell=cell, bidirectional=bidirectional,
        completeness_holds=holds,
    )
