"""A memory-mapped data set end to end: split into row subsets, statistics read in chunks,
trained and traced without loading the file, with the numbers in-memory data would give."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from rnntrace.config.settings import ModelConfig, TrainConfig
from rnntrace.data.scaling import feature_stats as in_memory_stats
from rnntrace.data.sequences import SequenceSet
from rnntrace.data.streaming import RowSubset, feature_stats
from rnntrace.data.synthetic import lesson
from rnntrace.experiment.pipeline import run_experiment
from rnntrace.train.split import split_validation


def _mapped(tmp_path: Path) -> tuple[SequenceSet, SequenceSet]:
    data = lesson(seed=0)
    data.lengths = np.random.default_rng(0).integers(3, 11, len(data))  # ragged, for the stats
    data.values[np.arange(10)[None, :] >= data.lengths[:, None]] = 0.0
    np.save(tmp_path / "values.npy", data.values)
    values = np.load(tmp_path / "values.npy", mmap_mode="r")
    return data, SequenceSet(values, data.lengths, data.labels, data.class_names,
                             feature_names=data.feature_names, ids=data.ids, source="values.npy")


def test_chunked_statistics_equal_the_in_memory_ones(tmp_path: Path) -> None:
    data, mapped = _mapped(tmp_path)
    train, _ = split_validation(mapped, None, TrainConfig())
    assert isinstance(train, RowSubset)
    mean, std = feature_stats(train, chunk=97)
    expected_mean, expected_std = in_memory_stats(data.subset(train.rows))
    assert np.allclose(mean, expected_mean, atol=1e-5) and np.allclose(std, expected_std, atol=1e-5)


def test_an_experiment_on_a_memmap_trains_like_one_in_memory(tmp_path: Path) -> None:
    data, mapped = _mapped(tmp_path)
    runs = [
        run_experiment(d, ModelConfig(), TrainConfig(epochs=2), out=tmp_path / name)
        for d, name in ((data, "memory"), (mapped, "mapped"))
    ]
    a, b = (r.model.state_dict() for r in runs)
    assert all(torch.allclose(a[k], b[k], atol=1e-5) for k in a)
    p, q = runs[0].trace.prediction, runs[1].trace.prediction
    assert (p.sequence_id, p.inputs, p.predicted) == (q.sequence_id, q.inputs, q.predicted)
    assert np.allclose(p.logits, q.logits, atol=1e-4)
    assert [r.val_accuracy for r in runs[0].trace.training] == [
        r.val_accuracy for r in runs[1].trace.training
    ]
