"""The Trace assembled from a model and a batch: every figure is the model's own, checked
against the model's forward pass and against a hand unroll of the recurrent layer."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnntrace.config.settings import TrainConfig
from rnntrace.data.synthetic import lesson
from rnntrace.experiment.assemble import assemble_trace, model_inputs
from rnntrace.model.classifier import SequenceClassifier
from rnntrace.tracing.equations import unroll
from rnntrace.train.fit import fit
from rnntrace.train.split import split


def _padded(n: int = 12, seed: int = 4) -> tuple[np.ndarray, np.ndarray]:
    data = lesson(n_sequences=n, seed=seed)
    lengths = np.array([10, 7, 4, 9, 10, 3, 8, 10, 5, 6, 2, 10][:n])
    return data.values, lengths


def test_model_inputs_follow_the_models_layout_and_lengths() -> None:
    data = lesson(n_sequences=6, seed=1)
    model = SequenceClassifier(batch_first=False)
    x, lengths = model_inputs(model, data)
    assert x.shape == (10, 6, 5) and lengths is None  # (T, B, F): every sequence fills T
    torch.testing.assert_close(x[:, 2], torch.from_numpy(data.values[2]))
    short = data.subset([0, 1, 2])
    short.lengths[1] = 4
    _, lengths = model_inputs(SequenceClassifier(), short)
    assert lengths is not None and lengths.tolist() == [10, 4, 10]


def test_a_trace_without_history_holds_the_models_own_numbers() -> None:
    torch.manual_seed(0)
    data = lesson(n_sequences=40, seed=2)
    model = SequenceClassifier(cell="gru", hidden_size=6)
    trace = assemble_trace(model, data)
    assert trace.training == [] and trace.config.model == model.config
    assert trace.config.data.n_sequences == 40 and trace.config.data.class_names == data.class_names
    assert [s.name.split(":")[0] for s in trace.stages] == [
        "Input", "Standardize", "RNN layer", "Last hidden state", "Linear", "Softmax"
    ]
    p = trace.prediction
    assert p is not None and p.sequence_id == data.ids[0] and p.true_class == data.labels[0]
    with torch.no_grad():
        logits = model(torch.from_numpy(data.values[:1]))  # (1, C)
    assert p.logits == pytest.approx(logits[0].tolist(), abs=1e-6)
    assert trace.recomputation is not None and trace.recomputation.matches
    assert trace.module_calls is not None and trace.module_calls.model_type == "SequenceClassifier"
    assert trace.dynamics is not None and trace.dynamics.logits_diff < 1e-5
    assert len(trace.quiz) == 10


def test_summarize_of_an_unrolled_padded_bidirectional_batch_matches_the_packed_model() -> None:
    # The model packs a padded bidirectional batch; summarize reads the state of a hand unroll
    # that stops each sequence at its own length. Both must give the same summary.
    torch.manual_seed(3)
    model = SequenceClassifier(cell="lstm", hidden_size=4, num_layers=2, bidirectional=True)
    model.eval()
    values, lengths = _padded()
    x, lens = torch.from_numpy(values), torch.from_numpy(lengths)
    with torch.no_grad():
        z = model.standardize(x)
        unrolled = unroll(model.rnn, z, None, lens)
        assert unrolled.c_n is not None
        mine = model.summarize(unrolled.output, (unrolled.h_n, unrolled.c_n), lens)
        torch.testing.assert_close(mine, model.last_hidden(z, lens), atol=1e-5, rtol=0)


def test_fit_takes_the_split_and_its_statistics() -> None:
    data = lesson(n_sequences=60, seed=5)
    config = TrainConfig(epochs=1, seed=5)
    parts = split(data, None, config)
    assert len(parts.train) + len(parts.held_out or []) == 60
    train_values = np.concatenate([parts.train.sequence(i) for i in range(len(parts.train))])
    np.testing.assert_allclose(parts.mean, train_values.astype(np.float64).mean(0), atol=1e-6)

    torch.manual_seed(0)
    given = SequenceClassifier()
    fit(given, parts, config=config)
    torch.testing.assert_close(given.standardize.mean, torch.from_numpy(parts.mean).float())
    torch.manual_seed(0)
    own = SequenceClassifier()
    fit(own, data, config=config)  # splits and standardises the same way by itself
    for a, b in zip(given.state_dict().values(), own.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b)


def test_tracing_a_model_in_training_mode_changes_none_of_its_state() -> None:
    # fit leaves a model in training mode. Tracing it must read it as it predicts: a forward in
    # training mode would fold the traced sequence into BatchNorm's running statistics (the
    # step-through did), and the saved model would no longer be the one trained.
    from rnntrace.experiment.pipeline import explain_held_out

    data = lesson(n_sequences=40, seed=2)
    torch.manual_seed(0)
    model = SequenceClassifier(5, 3, 8, "gru", num_layers=2, dropout=0.5, front_end="conv",
                               summary="max")
    parts = split(data, None, TrainConfig(seed=0))
    history = fit(model, parts, config=TrainConfig(epochs=1, batch_size=8))
    assert model.training
    before = {k: v.clone() for k, v in model.state_dict().items()}
    trace = assemble_trace(model, data, history, held_out=parts.held_out, test=data)
    explain_held_out(model, parts.train, parts.held_out, 8)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert model.training
    model.eval()
    assert isinstance(parts.held_out, type(data)) and trace.prediction is not None
    assert parts.held_out.ids[0] == trace.prediction.sequence_id  # the traced sequence
    with torch.no_grad():
        x = torch.from_numpy(parts.held_out.sequence(0)).unsqueeze(0)  # alone: no padding
        rnn_in = model.front(model.inputs(x))[0]  # type: ignore[misc]
    assert trace.steps[0].x == pytest.approx(rnn_in[0].tolist(), abs=1e-6)
