"""Batches: every sequence once per epoch, seeded shuffles, trimming, bucketing, and streaming
from a memory-mapped .npy giving exactly the in-memory batches."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from rnntrace.config.settings import TrainConfig
from rnntrace.data.batching import TensorSet, batch_order, batches
from rnntrace.data.sequences import SequenceSet
from rnntrace.data.streaming import StreamingSet, batch_source, is_memory_mapped
from rnntrace.model.classifier import SequenceClassifier
from rnntrace.train.fit import fit
from rnntrace.train.loop import predict_logits


def _ragged(n: int, t: int, seed: int = 0) -> SequenceSet:
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, t + 1, size=n)
    values = rng.standard_normal((n, t, 3)).astype(np.float32)
    values[np.arange(t)[None, :] >= lengths[:, None]] = 0.0
    return SequenceSet(values, lengths, rng.integers(0, 2, size=n), ["a", "b"])


def _memmapped(data: SequenceSet, tmp_path: Path) -> SequenceSet:
    path = tmp_path / "values.npy"
    np.save(path, data.values)
    values = np.load(path, mmap_mode="r")
    return SequenceSet(values, data.lengths, data.labels, data.class_names)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 120), batch=st.integers(1, 40), bucket=st.booleans(),
       seed=st.integers(0, 3))
def test_an_epoch_holds_every_sequence_once(n: int, batch: int, bucket: bool, seed: int) -> None:
    source = TensorSet.from_sequences(_ragged(n, 7, seed))
    groups = batch_order(source, batch, generator=torch.Generator().manual_seed(seed),
                         bucket=bucket)
    assert sorted(torch.cat(groups).tolist()) == list(range(n))
    assert all(1 <= len(g) <= batch for g in groups)


def test_shuffles_are_seeded_and_differ_between_epochs() -> None:
    source = TensorSet.from_sequences(_ragged(200, 9))

    def epochs(seed: int) -> list[list[int]]:
        g = torch.Generator().manual_seed(seed)
        return [torch.cat(batch_order(source, 16, generator=g)).tolist() for _ in range(2)]

    assert epochs(1) == epochs(1)
    first, second = epochs(1)
    assert first != second and epochs(1) != epochs(2)


def test_a_batch_is_trimmed_to_its_longest_sequence_and_keeps_the_values() -> None:
    data = _ragged(50, 12)
    for batch in batches(TensorSet.from_sequences(data), 8, bucket=False):
        assert batch.lengths is not None
        assert batch.x.shape[1] == int(batch.lengths.max())
    index = torch.tensor([4, 0, 9])
    batch = TensorSet.from_sequences(data).take(index, batch_first=False)  # (T, B, F)
    for col, i in enumerate(index.tolist()):
        length = int(data.lengths[i])
        assert torch.equal(batch.x[:length, col], torch.from_numpy(data.sequence(i)))


def test_bucketing_cuts_the_padded_steps() -> None:
    source = TensorSet.from_sequences(_ragged(2000, 200))

    def steps(bucket: bool) -> int:
        groups = batch_order(source, 32, generator=torch.Generator().manual_seed(0),
                             bucket=bucket)
        return sum(len(g) * int(source.lengths[g].max()) for g in groups)

    assert steps(True) < 0.7 * steps(False)


def test_streamed_batches_equal_in_memory_ones(tmp_path: Path) -> None:
    data = _ragged(300, 15)
    mapped = _memmapped(data, tmp_path)
    assert is_memory_mapped(mapped.values) and not is_memory_mapped(data.values)
    streamed, memory = batch_source(mapped), batch_source(data)
    assert isinstance(streamed, StreamingSet) and isinstance(memory, TensorSet)
    for bucket in (True, False):
        a = batches(streamed, 32, generator=torch.Generator().manual_seed(0), bucket=bucket)
        b = batches(memory, 32, generator=torch.Generator().manual_seed(0), bucket=bucket)
        for x, y in zip(a, b, strict=True):
            assert torch.equal(x.x, y.x) and torch.equal(x.y, y.y)
            assert x.lengths is not None and y.lengths is not None
            assert torch.equal(x.lengths, y.lengths)
    # A subset of rows streams without copying the file: rows 5, 7, 250 only.
    rows = np.array([250, 5, 7])
    part = batch_source(mapped, rows=rows)
    assert torch.equal(part.take(torch.arange(3)).x, memory.take(torch.from_numpy(rows)).x)


def test_training_on_a_memmap_matches_training_in_memory(tmp_path: Path) -> None:
    data = _ragged(200, 10)
    mapped = _memmapped(data, tmp_path)
    weights = []
    for d in (data, mapped):
        torch.manual_seed(0)
        model = SequenceClassifier(n_features=3, n_classes=2)
        fit(model, d, None, TrainConfig(epochs=2))
        weights.append(model.state_dict())
        logits = predict_logits(model, d)
        assert logits.shape == (200, 2)
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])


def test_bucketing_a_small_set_still_mixes_the_batches_from_epoch_to_epoch() -> None:
    # Sorting a whole small set by length would put the same sequences together every epoch.
    source = TensorSet.from_sequences(_ragged(40, 100))
    generator = torch.Generator().manual_seed(0)
    epochs = [{frozenset(g.tolist()) for g in batch_order(source, 10, generator=generator)}
              for _ in range(3)]
    assert epochs[0] != epochs[1] and epochs[1] != epochs[2]
