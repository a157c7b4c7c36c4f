"""Many models at once: the no-flag search in joblib's workers (processes, or a local Ray
cluster through joblib's Ray backend) chooses what one process chooses, one thread each."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from joblib import parallel_config

from rnntrace.cli.main import main
from rnntrace.config.settings import ModelConfig, TrainConfig
from rnntrace.data.sequences import SequenceSet
from rnntrace.train.resources import choose_threads, thread_budget
from rnntrace.train.search import SearchProgress, choose, workers


def _steps(n: int, seed: int) -> SequenceSet:
    """Two classes of 6–16 steps: a step up or down somewhere in feature 0."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 2
    lengths = rng.integers(6, 17, n)
    values = np.zeros((n, 16, 2), dtype=np.float32)
    for i, (label, length) in enumerate(zip(labels, lengths, strict=True)):
        values[i, :length] = rng.normal(0, 0.3, (length, 2))
        values[i, length // 2:length, 0] += 1.0 if label else -1.0
    return SequenceSet(values, lengths, labels, ["down", "up"])


def _outcome(result: tuple[ModelConfig, TrainConfig, Any]) -> dict[str, Any]:
    """What the search decided, without the timings (the only part that is not a function of
    the data and the seed)."""
    model_config, train_config, choice = result
    raw = dataclasses.asdict(choice)
    raw["seconds"] = 0
    for candidate in raw["candidates"]:
        candidate["seconds"] = 0
    return {"model": dataclasses.asdict(model_config),
            "train": dataclasses.asdict(train_config), "choice": raw}


def test_workers_choose_what_one_process_chooses() -> None:
    data = _steps(24, seed=0)
    serial = _outcome(choose(data, {"epochs": 2}, seed=3))
    heard: list[SearchProgress] = []
    parallel = _outcome(choose(data, {"epochs": 2}, seed=3, n_jobs=2, on_progress=heard.append))
    assert parallel == serial
    # every candidate's score, in candidate order, each once
    assert [p.index for p in heard] == [1, 2, 3, 4]
    assert [p.score.name for p in heard if p.score] == [
        c["name"] for c in serial["choice"]["candidates"]]
    # The candidates differ, so the equality above is not of four identical numbers.
    assert len({c["val_loss"] for c in serial["choice"]["candidates"]}) > 1


def test_without_jobs_a_slow_first_candidate_sends_the_rest_to_workers(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """No --jobs: the first candidate trains here; when it was slow and two cores are free, the
    rest train in workers (which report only their scores, not their epochs), and the choice is
    what one process makes with --jobs 1."""
    from rnntrace.train import search

    data = _steps(24, seed=0)
    alone = _outcome(choose(data, {"epochs": 2}, seed=3, n_jobs=1))
    monkeypatch.setattr(search, "free_cores", lambda: 2)  # as on an idle 2-core machine
    for after, in_workers in ((0.0, True), (float("inf"), False)):
        monkeypatch.setattr(search, "AUTO_WORKERS_AFTER", after)
        heard: list[SearchProgress] = []
        assert _outcome(choose(data, {"epochs": 2}, seed=3, on_progress=heard.append)) == alone
        epochs_heard = {p.index for p in heard if p.epoch is not None}
        assert epochs_heard == ({1} if in_workers else {1, 2, 3, 4})
        assert [p.index for p in heard if p.score is not None] == [1, 2, 3, 4]
    monkeypatch.setattr(search, "AUTO_WORKERS_AFTER", 0.0)
    monkeypatch.setattr(search, "free_cores", lambda: 1)  # a busy machine: all here
    heard = []
    choose(data, {"epochs": 2}, seed=3, on_progress=heard.append)
    assert {p.index for p in heard if p.epoch is not None} == {1, 2, 3, 4}


def test_candidates_train_side_by_side_in_processes_only() -> None:
    assert workers(None, 4) == 1  # joblib's default: one after another
    assert workers(2, 4) == 2 and workers(-1, 4) >= 1 and workers(8, 4) == 4
    with parallel_config(n_jobs=2):
        assert workers(None, 4) == 2
    # threads share torch's global seed: the candidates would race, so one at a time
    with parallel_config(backend="threading", n_jobs=2):
        assert workers(None, 4) == 1 and workers(2, 4) == 1


def test_train_jobs_searches_in_workers_and_chooses_as_one_process(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    os.chdir(tmp_path)
    data = _steps(24, seed=2)
    np.savez(tmp_path / "train.npz", X=data.values, y=data.labels, lengths=data.lengths,
             class_names=np.array(data.class_names))
    assert main(["train", "train.npz", "--jobs", "0", "--out", "bad"]) == 2
    assert capsys.readouterr().err.strip().endswith("(-1: one per core), not 0")
    assert not (tmp_path / "bad").exists()
    assert main(["train", "train.npz", "--epochs", "2", "--jobs", "2", "--out", "run",
                 "--json"]) == 0
    capsys.readouterr()
    stored = json.loads((tmp_path / "run" / "trace.json").read_text())["choice"]
    _, _, serial = choose(data, {"epochs": 2}, seed=0)
    assert stored["chosen"] == serial.chosen
    assert [(c["name"], c["val_accuracy"], c["val_loss"], c["best_epoch"])
            for c in stored["candidates"]] == [
        (c.name, c.val_accuracy, c.val_loss, c.best_epoch) for c in serial.candidates]


def test_a_launchers_thread_budget_caps_the_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    big = ModelConfig(n_features=4, n_classes=2, hidden_size=256, cell="lstm")
    config = TrainConfig(batch_size=256)
    monkeypatch.setattr("rnntrace.train.resources.free_cores", lambda: 4)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    assert thread_budget() is None and choose_threads(config, big) == 4
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # as joblib sets it in 2 workers on 2 cores
    assert thread_budget() == 1 and choose_threads(config, big) == 1
    monkeypatch.setenv("OMP_NUM_THREADS", "oops")
    assert thread_budget() is None and choose_threads(config, big) == 4
    assert choose_threads(dataclasses.replace(config, threads=3), big) == 3  # asked for: kept


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # ray's own imports
@pytest.mark.filterwarnings("ignore::FutureWarning")
def test_the_search_runs_on_a_local_ray_cluster_through_joblib() -> None:
    ray = pytest.importorskip("ray")
    from ray.util.joblib import register_ray

    data = _steps(24, seed=1)
    serial = _outcome(choose(data, {"epochs": 2}, seed=0))
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             object_store_memory=80 * 2**20)
    try:
        register_ray()
        with parallel_config(backend="ray", n_jobs=2):
            on_ray = _outcome(choose(data, {"epochs": 2}, seed=0))
        workers = ray.nodes()[0]["Resources"]["CPU"]
    finally:
        ray.shutdown()
    assert workers == 2
    assert on_ray == serial
    assert not ray.is_initialized()
