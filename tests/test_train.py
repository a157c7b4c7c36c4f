"""fit(): learning, the NaN guard, early stopping, the plateau schedule, threads, evaluation."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

from rnntrace.config.settings import ModelConfig, TrainConfig
from rnntrace.data.sequences import SequenceSet, stratified_split
from rnntrace.data.synthetic import lesson
from rnntrace.errors import ConfigError
from rnntrace.model.classifier import SequenceClassifier
from rnntrace.train.fit import fit
from rnntrace.train.loop import choose_threads, evaluate, predict_logits


def _split(data: SequenceSet) -> tuple[SequenceSet, SequenceSet]:
    train, held = stratified_split(data.labels, 0.2, 0)
    return data.subset(train), data.subset(held)


def _model(**kwargs: object) -> SequenceClassifier:
    torch.manual_seed(0)
    return SequenceClassifier(**kwargs)  # type: ignore[arg-type]


def test_fit_holds_out_a_stratified_share_and_standardises_on_the_rest() -> None:
    data = lesson(seed=3)
    model = _model()
    history = fit(model, data, epochs=1, seed=3)  # no val: 20 % held out, as documented
    train_idx, val_idx = stratified_split(data.labels, 0.2, 3)
    assert abs(len(val_idx) - 200) <= 3  # 20 % of each class, rounded per class
    train = data.values[train_idx]
    mean, std = train.mean(axis=(0, 1)), train.std(axis=(0, 1))  # the training split's only
    assert torch.allclose(model.standardize.mean, torch.from_numpy(mean), atol=1e-5)
    assert torch.allclose(model.standardize.std, torch.from_numpy(std), atol=1e-5)
    loss, accuracy = evaluate(model, data.subset(val_idx))
    assert history.records[0].val_loss == pytest.approx(loss, rel=1e-5)
    assert history.records[0].val_accuracy == pytest.approx(accuracy)


def test_fit_learns_the_lesson_and_records_what_it_measured() -> None:
    train, held = _split(lesson(seed=0))
    model = _model()
    history = fit(model, train, held, TrainConfig(epochs=5))
    last = history.records[-1]
    assert history.stop_reason is None and len(history.records) == 5
    assert last.accuracy >= 0.85 and last.val_accuracy is not None and last.val_accuracy >= 0.85
    # The recorded held-out numbers are what an independent evaluation of the weights gives.
    loss, acc = evaluate(model, held)
    assert loss == pytest.approx(last.val_loss, rel=1e-5) and acc == last.val_accuracy
    logits = predict_logits(model, held)
    x = torch.from_numpy(held.values)
    with torch.no_grad():
        assert torch.allclose(logits, model(x), atol=1e-6)
    assert all(s > 0 for s in history.seqs_per_s) and len(history.train_seconds) == 5


@pytest.mark.parametrize("settings", [
    {"front_end": "conv", "cell": "gru", "hidden_size": 16},  # BatchNorm
    {"num_layers": 2, "dropout": 0.5},
])
def test_held_out_scores_are_the_eval_mode_model_s(settings: dict[str, object]) -> None:
    # Scored in training mode, dropout would perturb the held-out score, and BatchNorm would
    # normalise by the held-out batch and fold it into the running statistics.
    train, held = _split(lesson(seed=0))
    model = _model(**settings)
    history = fit(model, train, held, TrainConfig(epochs=2))
    loss, accuracy = evaluate(model, held)
    assert history.records[-1].val_loss == pytest.approx(loss, rel=1e-6)
    assert history.records[-1].val_accuracy == accuracy


def test_same_seed_same_weights_and_other_seed_differs() -> None:
    data = lesson(seed=1)
    weights = []
    for seed in (3, 3, 4):
        model = _model()
        fit(model, data, None, TrainConfig(epochs=2, seed=seed))
        weights.append(model.state_dict())
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])
    assert not torch.equal(weights[0]["rnn.weight_hh_l0"], weights[2]["rnn.weight_hh_l0"])


def test_a_nan_loss_stops_training_with_a_diagnosis_and_keeps_the_last_good_weights() -> None:
    # ReLU recurrence with a huge step: the hidden state overflows float32 within the epoch.
    train = lesson(seed=0)
    model = _model(nonlinearity="relu")
    fit(model, train, None, TrainConfig(epochs=1, lr=0.01))  # one good epoch first
    good = {k: v.clone() for k, v in model.state_dict().items()}
    history = fit(model, train, None, TrainConfig(epochs=4, lr=1e6, clip_grad_norm=None))
    assert history.stop_reason == "non-finite loss in epoch 1"
    assert len(history.records) == 1
    observation = history.records[0].observation
    assert "NaN" in observation and "learning rate" in observation
    assert all(torch.equal(v, good[k]) for k, v in model.state_dict().items())


@pytest.mark.parametrize("clip", [0.05, None])
def test_each_step_is_adam_on_the_clipped_gradient_of_a_shuffled_batch(clip: float | None) -> None:
    # Truth: the same steps written out with PyTorch directly, in the order fit's seeded
    # generator shuffles. Adam's first step ignores the gradient's scale, so take three.
    data = lesson(seed=0).subset(np.arange(96))
    model, reference = _model(), _model()
    history = fit(model, data, None, TrainConfig(epochs=1, batch_size=32, clip_grad_norm=clip,
                                                 val_fraction=0))
    mean, std = data.values.mean(axis=(0, 1)), data.values.std(axis=(0, 1))  # all steps real
    assert torch.allclose(model.standardize.mean, torch.from_numpy(mean), atol=1e-5)
    assert torch.allclose(model.standardize.std, torch.from_numpy(std), atol=1e-5)
    reference.standardize.set_statistics(torch.from_numpy(mean), torch.from_numpy(std))

    x, y = torch.from_numpy(data.values), torch.from_numpy(data.labels)
    optimizer = torch.optim.Adam(reference.parameters(), lr=0.01)
    norms = []
    for index in torch.randperm(96, generator=torch.Generator().manual_seed(0)).split(32):
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(reference(x[index]), y[index]).backward()
        grads = [p.grad for p in reference.parameters() if p.grad is not None]
        norms.append(float(torch.linalg.vector_norm(torch.stack([g.norm() for g in grads]))))
        if clip is not None:
            torch.nn.utils.clip_grad_norm_(reference.parameters(), clip)
        optimizer.step()
    for name, value in reference.state_dict().items():
        assert torch.allclose(model.state_dict()[name], value, atol=1e-6), name
    assert history.records[0].grad_norm == pytest.approx(sum(norms) / 3, rel=1e-5)


def test_early_stopping_keeps_the_best_held_out_weights() -> None:
    data = lesson(seed=0)
    data.labels = np.random.default_rng(0).integers(0, 3, len(data))  # nothing to learn
    train, held = _split(data)
    model = _model()
    history = fit(model, train, held, TrainConfig(epochs=30, patience=2))
    assert history.stop_reason is not None and history.stop_reason.startswith("early stop")
    assert len(history.records) < 30
    val_losses = [r.val_loss for r in history.records if r.val_loss is not None]
    best = min(val_losses)
    assert val_losses[-2:] and all(v >= best for v in val_losses[-2:])
    assert evaluate(model, held)[0] == pytest.approx(best, rel=1e-5)


def test_plateau_schedule_halves_the_learning_rate_when_held_out_loss_stalls() -> None:
    data = lesson(seed=0)
    data.labels = np.random.default_rng(1).integers(0, 3, len(data))
    train, held = _split(data)
    history = fit(_model(), train, held, TrainConfig(epochs=8, lr_schedule="plateau"))
    lrs = [r.lr for r in history.records]
    assert lrs[0] == 0.01 and lrs[-1] < 0.01
    assert all(b in (a, a / 2) for a, b in itertools.pairwise(lrs))


def test_threads_are_chosen_from_the_work_and_restored_after() -> None:
    small = ModelConfig()
    assert choose_threads(TrainConfig(), small) == 1
    assert choose_threads(TrainConfig(threads=3), small) == 3
    torch.set_num_threads(1)
    history = fit(_model(), lesson(seed=0), None, TrainConfig(epochs=1, threads=2))
    assert history.threads == 2 and torch.get_num_threads() == 1


def test_cosine_schedule_lowers_the_lr_along_a_half_cosine() -> None:
    history = fit(_model(), lesson(seed=0), None, TrainConfig(epochs=4, lr_schedule="cosine"))
    expected = [0.01 * (1 + math.cos(math.pi * e / 4)) / 2 for e in range(4)]
    assert [r.lr for r in history.records] == pytest.approx(expected)


def test_bad_engine_settings_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="patience"):
        TrainConfig(patience=0)
    with pytest.raises(ConfigError, match="lr schedule"):
        TrainConfig(lr_schedule="linear")
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="no CUDA GPU"):
            fit(_model(), lesson(seed=0), None, TrainConfig(device="cuda"))
