"""rnntrace.sklearn: scikit-learn's own estimator checks, every input shape read exactly, and
the tools users put estimators in (GridSearchCV with workers, cross_val_score, Pipeline,
pickling) on sequences of different lengths."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils.estimator_checks import parametrize_with_checks

from rnntrace.cli.main import main
from rnntrace.errors import DataError
from rnntrace.render.html import render_report
from rnntrace.run.directory import load_run
from rnntrace.sklearn import InputError, RNNClassifier

# Small and quick for the checks: the lesson's model (RNN of 8) for 5 epochs, no search. It
# clears check_classifiers_train's 0.83 accuracy on its blobs, read as 2-step sequences.
QUICK: dict[str, Any] = {"preset": "lesson", "epochs": 5}


@parametrize_with_checks([RNNClassifier(**QUICK)])
def test_scikit_learn_estimator_checks(estimator: Any, check: Any) -> None:
    check(estimator)


def _walks(n: int, seed: int) -> tuple[list[np.ndarray], np.ndarray]:
    """n two-feature sequences of 4–15 steps; the class is the sign of feature 0's drift."""
    rng = np.random.default_rng(seed)
    labels = np.array(["down", "up"])[np.arange(n) % 2]
    sequences = []
    for label in labels:
        steps = int(rng.integers(4, 16))
        drift = 0.5 if label == "up" else -0.5
        walk = np.cumsum(rng.normal(drift, 0.3, (steps, 2)), axis=0)
        walk[:, 1] = rng.normal(0, 1, steps)  # noise
        sequences.append(walk)
    return sequences, labels


def _padded(sequences: list[np.ndarray]) -> np.ndarray:
    out = np.full((len(sequences), max(len(s) for s in sequences), 2), np.nan)
    for i, s in enumerate(sequences):
        out[i, : len(s)] = s
    return out


def _long_frame(sequences: list[np.ndarray]) -> pd.DataFrame:
    """One row per step; each sequence's rows last step first (the frame is sorted by time)."""
    rows = [{"id": f"s{i}", "time": t, "a": s[t, 0], "b": s[t, 1]}
            for i, s in enumerate(sequences) for t in reversed(range(len(s)))]
    return pd.DataFrame(rows)


def per_sequence_scale(batch: list[np.ndarray]) -> list[np.ndarray]:
    """A transformer's work on sequences: each scaled by its own largest value."""
    return [s / (np.abs(s).max() + 1e-9) for s in batch]


def test_every_input_shape_gives_the_same_sequences_and_the_same_model() -> None:
    sequences, labels = _walks(40, seed=0)
    frame = _long_frame(sequences)
    shapes = {
        "list": sequences,
        "nan-padded 3-D": _padded(sequences),
        "long frame": frame,
        "MultiIndex frame": frame.set_index(["id", "time"]),
    }
    probabilities = {}
    for name, X in shapes.items():
        clf = RNNClassifier(**QUICK).fit(X, labels)
        assert clf.trace_.config is not None
        assert clf.n_features_in_ == 2, name
        probabilities[name] = clf.predict_proba(sequences)
    for name, p in probabilities.items():
        np.testing.assert_array_equal(p, probabilities["list"], err_msg=name)
    # fitted on a frame: a frame to predict must name the same features, in the same order
    np.testing.assert_array_equal(clf.predict_proba(frame), probabilities["list"])
    assert list(clf.feature_names_in_) == ["a", "b"]
    with pytest.raises(InputError, match="features b, a differ from the training features a, b"):
        clf.predict(frame[["id", "time", "b", "a"]])


def test_each_sequence_is_read_to_its_own_length() -> None:
    """predict_proba of a padded batch equals PyTorch's forward of each sequence alone."""
    sequences, labels = _walks(30, seed=1)
    clf = RNNClassifier(**QUICK).fit(sequences, labels)
    batch = clf.predict_proba(_padded(sequences))
    for i, s in enumerate(sequences):
        x = torch.tensor(s[None], dtype=torch.float32)  # (1, T_i, 2): no padding at all
        with torch.no_grad():
            alone = torch.softmax(clf.module_.eval()(x, torch.tensor([len(s)])), dim=-1)
        np.testing.assert_allclose(batch[i], alone[0].double().numpy(), rtol=1e-5, atol=1e-6)
    assert list(clf.classes_) == ["down", "up"]
    assert clf.trace_.config.data.max_length == max(len(s) for s in sequences)


def test_a_2d_array_is_univariate_sequences_with_nan_padding() -> None:
    X = np.array([[1.0, 2.0, 3.0, np.nan], [4.0, 5.0, 6.0, 7.0], [0.5, np.nan, np.nan, np.nan],
                  [3.0, 2.0, 1.0, 0.0]])
    clf = RNNClassifier(**QUICK, val_fraction=0.0).fit(X, [0, 1, 0, 1])
    assert clf.n_features_in_ == 4  # scikit-learn's meaning for a table: its columns
    assert clf.n_channels_ == 1
    assert clf.trace_.config.data.n_sequences == 4
    as_list = [np.array([1.0, 2.0, 3.0]), np.array([4.0, 5.0, 6.0, 7.0]), np.array([0.5]),
               np.array([3.0, 2.0, 1.0, 0.0])]
    np.testing.assert_allclose(clf.predict_proba(X), clf.predict_proba(as_list), rtol=1e-6)


@pytest.mark.parametrize(("X", "words"), [
    (np.array([[[1.0], [np.nan], [2.0]], [[1.0], [2.0], [3.0]]]), "NaN inside"),
    (np.array([[[1.0], [np.inf]], [[1.0], [2.0]]]), "inf"),
    (np.full((2, 3, 1), np.nan), "all NaN"),
    ([np.ones((3, 2)), np.ones((3, 3))], "same features"),
])
def test_bad_input_is_one_clear_error(X: Any, words: str) -> None:
    with pytest.raises(InputError, match=words) as caught:
        RNNClassifier(**QUICK).fit(X, [0, 1])
    assert isinstance(caught.value, DataError) and isinstance(caught.value, ValueError)
    assert "\n" not in str(caught.value)


def test_predicting_other_features_is_refused() -> None:
    sequences, labels = _walks(20, seed=2)
    clf = RNNClassifier(**QUICK).fit(sequences, labels)
    with pytest.raises(InputError, match="3 features per step, but RNNClassifier was fitted on 2"):
        clf.predict([np.ones((5, 3))])


def test_same_seed_same_model_and_trace() -> None:
    sequences, labels = _walks(30, seed=3)
    fits = [RNNClassifier(**QUICK, random_state=7).fit(sequences, labels) for _ in range(2)]
    np.testing.assert_array_equal(fits[0].predict_proba(sequences),
                                  fits[1].predict_proba(sequences))
    traces = [f.trace_ for f in fits]
    for trace in traces:
        trace.meta = {}  # timings and dates: the only part that is not a function of the seed
    assert traces[0].to_json() == traces[1].to_json()
    other = RNNClassifier(**QUICK, random_state=8).fit(sequences, labels)
    assert not np.array_equal(other.predict_proba(sequences), fits[0].predict_proba(sequences))


def test_no_settings_runs_the_no_flag_choice_as_train_does(tmp_path: Path) -> None:
    sequences, labels = _walks(24, seed=4)
    clf = RNNClassifier(epochs=2).fit(sequences, labels)  # the search, each candidate 2 epochs
    # `rnntrace train` on the same sequences in a file: the same choice and the same weights
    padded = _padded(sequences)
    np.savez(tmp_path / "walks.npz", X=np.nan_to_num(padded), y=labels,
             lengths=np.array([len(s) for s in sequences]))
    assert main(["train", str(tmp_path / "walks.npz"), "--epochs", "2", "--out",
                 str(tmp_path / "run"), "--json"]) == 0
    saved = load_run(tmp_path / "run")
    assert saved.trace is not None and saved.trace.choice is not None
    assert saved.trace.choice.chosen == clf.choice_.chosen
    assert saved.trace.choice.settings == clf.choice_.settings
    ours = clf.module_.state_dict()
    for name, weights in saved.model.state_dict().items():
        torch.testing.assert_close(ours[name], weights, rtol=0, atol=0, msg=name)
    choice = clf.choice_
    assert choice is not None and clf.trace_.choice is choice
    assert len(choice.candidates) == 4 and choice.user_settings == {"epochs": 2}
    assert choice.settings["summary"] == clf.config_.model.summary
    assert clf.config_.train.average_epochs > 0  # and the final model ends on averaged weights
    # Lengths differ, so every candidate resamples to the longest, as `rnntrace train` does.
    assert clf.config_.model.resample == max(len(s) for s in sequences)
    text = str(clf.trace_)
    assert "Data Flow" in text
    assert "Fixed by the estimator's parameters: epochs=2" in text  # not "your flags"
    assert clf.trace_._repr_html_().startswith("<iframe")
    page = clf.report(tmp_path / "page.html")
    written = page.read_text(encoding="utf-8")
    assert written == render_report(clf.trace_, clf.explanation_)
    assert choice.chosen in written


def test_grid_search_cross_validation_pipeline_and_pickling_on_unequal_lengths(
        tmp_path: Path) -> None:
    sequences, labels = _walks(36, seed=5)
    assert len({len(s) for s in sequences}) > 5
    folds = StratifiedKFold(n_splits=3, shuffle=True, random_state=0)
    grid = GridSearchCV(RNNClassifier(**QUICK),
                        {"hidden": [4, 8], "cell": ["rnn", "gru"]}, cv=folds, n_jobs=2)
    grid.fit(sequences, labels)
    assert len(grid.cv_results_["params"]) == 4
    assert np.all(np.isfinite(grid.cv_results_["mean_test_score"]))
    best = grid.best_estimator_
    assert best.get_params()["cell"] in ("rnn", "gru")
    # the search's best model, refitted on everything in this process, is the same model a
    # fit with its parameters gives here: a worker's fit is the same fit
    again = clone(best).fit(sequences, labels)
    np.testing.assert_array_equal(again.predict_proba(sequences), best.predict_proba(sequences))

    scores = cross_val_score(RNNClassifier(**QUICK), sequences, labels, cv=folds)
    assert scores.shape == (3,) and np.all((scores >= 0) & (scores <= 1))

    pipe = Pipeline([("scale", FunctionTransformer(per_sequence_scale)),
                     ("rnn", RNNClassifier(**QUICK))]).fit(sequences, labels)
    scaled = RNNClassifier(**QUICK).fit(per_sequence_scale(sequences), labels)
    np.testing.assert_array_equal(pipe.predict_proba(sequences),
                                  scaled.predict_proba(per_sequence_scale(sequences)))

    rng_before = torch.get_rng_state()
    restored = pickle.loads(pickle.dumps(best))
    assert torch.equal(torch.get_rng_state(), rng_before)  # unpickling draws no random numbers
    np.testing.assert_array_equal(restored.predict_proba(sequences),
                                  best.predict_proba(sequences))
    assert restored.trace_.to_json() == best.trace_.to_json()
    joblib.dump(pipe, tmp_path / "pipe.joblib")
    np.testing.assert_array_equal(joblib.load(tmp_path / "pipe.joblib").predict(sequences),
                                  pipe.predict(sequences))
