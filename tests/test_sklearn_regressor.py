"""rnntrace.sklearn.RNNRegressor: scikit-learn's own estimator checks, predictions against
PyTorch's forward in the target's units, R² against a hand computation, every input shape read
exactly, the tools users put estimators in on sequences of different lengths, and what a
classifier does with numbers."""

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
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils.estimator_checks import parametrize_with_checks

from rnntrace.cli.main import main
from rnntrace.render.html import render_report
from rnntrace.run.directory import load_run
from rnntrace.sklearn import InputError, RNNClassifier, RNNRegressor

# As the classifier's checks: the lesson's model, no search. check_regressors_train asks R² > 0.5
# on make_regression data read as 10-step univariate sequences, where step 4 alone carries the
# target (a straight line on it reaches 0.79): an RNN of 8 for 20 epochs reaches 0.29, of 16
# for 20 epochs 0.72–0.82 over seeds 0–2 (under a second a fit).
QUICK: dict[str, Any] = {"preset": "lesson", "epochs": 20, "hidden": 16}
FAST: dict[str, Any] = {"preset": "lesson", "epochs": 5}


@parametrize_with_checks([RNNRegressor(**QUICK)])
def test_scikit_learn_estimator_checks(estimator: Any, check: Any) -> None:
    check(estimator)


def _drifts(n: int, seed: int, targets: int = 1) -> tuple[list[np.ndarray], np.ndarray]:
    """n univariate walks of 4–15 steps; the target is the walk's drift (×10, + 3), and with
    two targets also its length."""
    rng = np.random.default_rng(seed)
    sequences, y = [], []
    for _ in range(n):
        steps = int(rng.integers(4, 16))
        drift = float(rng.uniform(-1, 1))
        sequences.append(np.cumsum(rng.normal(drift, 0.2, steps))[:, None])  # (T_i, 1)
        y.append([10 * drift + 3, steps][:targets])
    y_array = np.array(y)
    return sequences, (y_array[:, 0] if targets == 1 else y_array)


def _padded(sequences: list[np.ndarray]) -> np.ndarray:
    """(N, T_max, F), NaN past each sequence's end."""
    f = sequences[0].shape[1]
    out = np.full((len(sequences), max(len(s) for s in sequences), f), np.nan)
    for i, s in enumerate(sequences):
        out[i, : len(s)] = s
    return out


def _long_frame(sequences: list[np.ndarray]) -> pd.DataFrame:
    """One row per step, each sequence's rows last step first (the reader sorts by time)."""
    return pd.DataFrame([{"id": f"s{i}", "time": t, "v": s[t, 0]}
                         for i, s in enumerate(sequences) for t in reversed(range(len(s)))])


def _alone(reg: RNNRegressor, sequence: np.ndarray) -> torch.Tensor:
    """PyTorch's forward on one sequence with no padding: the standardised prediction (1, K)."""
    x = torch.tensor(sequence[None], dtype=torch.float32)  # (1, T_i, F)
    with torch.no_grad():
        return reg.module_.eval()(x, torch.tensor([len(sequence)]))


@pytest.mark.parametrize("targets", [1, 2])
def test_predictions_are_pytorchs_forward_in_the_targets_units(targets: int) -> None:
    """predict of a padded batch = each sequence's own forward × the target's training std +
    its training mean (numpy's, over every sequence: nothing is held out here)."""
    sequences, y = _drifts(30, seed=0, targets=targets)
    reg = RNNRegressor(**FAST, val_fraction=0.0).fit(sequences, y)
    predicted = reg.predict(_padded(sequences))
    assert predicted.shape == y.shape and predicted.dtype == np.float64
    y2 = y.reshape(len(y), -1).astype(np.float32)  # the model reads float32 targets
    mean, std = y2.mean(axis=0, dtype=np.float64), y2.std(axis=0, dtype=np.float64)
    for i, s in enumerate(sequences):
        expected = _alone(reg, s)[0].double().numpy() * std + mean  # (K,)
        np.testing.assert_allclose(np.atleast_1d(predicted[i]), expected, rtol=1e-5, atol=1e-5)
    assert reg.n_targets_ == targets
    head = reg.trace_.head
    assert head is not None and head.task == "regress"
    np.testing.assert_allclose(head.target_mean, mean, rtol=1e-5)
    np.testing.assert_allclose(head.target_std, std, rtol=1e-5)


def test_score_is_r_squared_computed_by_hand() -> None:
    sequences, y = _drifts(30, seed=1, targets=2)
    reg = RNNRegressor(**FAST).fit(sequences, y)
    predicted = reg.predict(sequences)
    # R² per target, 1 − Σ(y − ŷ)² / Σ(y − ȳ)², averaged over the targets (scikit-learn's
    # multioutput="uniform_average")
    by_hand = np.mean(1 - ((y - predicted) ** 2).sum(axis=0)
                      / ((y - y.mean(axis=0)) ** 2).sum(axis=0))
    assert reg.score(sequences, y) == pytest.approx(by_hand, rel=1e-12)
    one = RNNRegressor(**FAST).fit(sequences, y[:, 0])
    p = one.predict(sequences)
    assert p.shape == (30,)
    assert one.score(sequences, y[:, 0]) == pytest.approx(
        1 - ((y[:, 0] - p) ** 2).sum() / ((y[:, 0] - y[:, 0].mean()) ** 2).sum(), rel=1e-12)


def test_every_input_shape_gives_the_same_predictions_on_unequal_lengths() -> None:
    sequences, y = _drifts(36, seed=2)
    assert len({len(s) for s in sequences}) > 5
    frame = _long_frame(sequences)
    shapes = {
        "list": sequences,
        "nan-padded 3-D": _padded(sequences),
        "nan-padded 2-D (univariate)": _padded(sequences)[:, :, 0],
        "long frame": frame,
        "MultiIndex frame": frame.set_index(["id", "time"]),
    }
    predictions = {}
    for name, X in shapes.items():
        reg = RNNRegressor(**FAST).fit(X, y)
        assert reg.n_channels_ == 1, name
        assert reg.trace_.config.data.max_length == max(len(s) for s in sequences), name
        predictions[name] = reg.predict(sequences)
        np.testing.assert_array_equal(reg.predict(X), predictions[name], err_msg=name)
    for name, p in predictions.items():
        np.testing.assert_array_equal(p, predictions["list"], err_msg=name)


def test_grid_search_cross_validation_pipeline_and_pickling_on_unequal_lengths(
        tmp_path: Path) -> None:
    sequences, y = _drifts(36, seed=3)
    folds = KFold(n_splits=3, shuffle=True, random_state=0)
    grid = GridSearchCV(RNNRegressor(**FAST), {"hidden": [4, 8], "cell": ["rnn", "gru"]},
                        cv=folds, n_jobs=2)
    grid.fit(sequences, y)
    assert len(grid.cv_results_["params"]) == 4
    assert np.all(np.isfinite(grid.cv_results_["mean_test_score"]))
    best = grid.best_estimator_
    # the best parameters refitted here give the model the search refitted: a worker's fit
    # (the scores) and this process's fit are the same fit
    again = clone(best).fit(sequences, y)
    np.testing.assert_array_equal(again.predict(sequences), best.predict(sequences))

    scores = cross_val_score(RNNRegressor(**FAST), sequences, y, cv=folds)
    assert scores.shape == (3,) and np.all(np.isfinite(scores)) and np.all(scores <= 1)

    def scale(batch: list[np.ndarray]) -> list[np.ndarray]:
        return [s / 4.0 for s in batch]

    pipe = Pipeline([("scale", FunctionTransformer(scale)),
                     ("rnn", RNNRegressor(**FAST))]).fit(sequences, y)
    alone = RNNRegressor(**FAST).fit(scale(sequences), y)
    np.testing.assert_array_equal(pipe.predict(sequences), alone.predict(scale(sequences)))

    restored = pickle.loads(pickle.dumps(best))
    np.testing.assert_array_equal(restored.predict(sequences), best.predict(sequences))
    assert restored.trace_.to_json() == best.trace_.to_json()
    assert restored.module_.target_scale is not None  # the target's statistics travel too
    joblib.dump(alone, tmp_path / "reg.joblib")
    np.testing.assert_array_equal(joblib.load(tmp_path / "reg.joblib").predict(sequences),
                                  alone.predict(sequences))


def test_settings_left_open_are_chosen_as_train_chooses_them(tmp_path: Path) -> None:
    """The no-flag choice for regression, as `rnntrace train --task regress` makes it with the
    same settings given: the same settings, the same weights; each says who fixed what.

    Summary and front end (what the regression candidates vary) are fixed so that one candidate
    is trained, on each of the repeated held-out splits small regression sets get; the rest
    (cell, width, learning rate, averaging) is still the search's."""
    sequences, y = _drifts(24, seed=4)
    reg = RNNRegressor(summary="last", front_end="none", epochs=2).fit(sequences, y)
    np.savez(tmp_path / "drifts.npz", X=np.nan_to_num(_padded(sequences)), y=y,
             lengths=np.array([len(s) for s in sequences]))
    assert main(["train", str(tmp_path / "drifts.npz"), "--task", "regress", "--summary", "last",
                 "--front-end", "none", "--epochs", "2", "--out", str(tmp_path / "run"),
                 "--json"]) == 0
    saved = load_run(tmp_path / "run")
    assert saved.trace is not None and saved.trace.choice is not None
    choice, cli = reg.choice_, saved.trace.choice
    assert choice is not None and choice.score == "R²"
    assert choice.chosen == cli.chosen and choice.settings == cli.settings
    assert choice.settings["hidden_size"] != 8  # chosen by the search, not the lesson's width
    assert reg.config_.train.average_epochs > 0  # and the model ends on averaged weights
    ours = reg.module_.state_dict()
    for name, weights in saved.model.state_dict().items():
        torch.testing.assert_close(ours[name], weights, rtol=0, atol=0, msg=name)
    # who fixed the rest: the estimator's parameters here, the flags there
    assert "your flags fixed every setting the search varies" in cli.reason
    assert cli.fixed_by == "your flags"
    assert "fixed_by" not in saved.trace.to_dict()["choice"]  # trace.json as before
    assert choice.fixed_by == "the estimator's parameters"
    assert choice.reason == cli.reason.replace("your flags", "the estimator's parameters")
    text = str(reg.trace_)
    assert "Fixed by the estimator's parameters: summary=last, front_end=none, epochs=2" in text
    assert "your flags" not in text
    assert "training mean" in text  # the chance line the scores stand beside
    page = reg.report(tmp_path / "page.html").read_text(encoding="utf-8")
    assert page == render_report(reg.trace_, None)
    assert "Fixed by the estimator&#39;s parameters: summary=last" in page
    assert "your flags" not in page
    assert reg.explanation_ is None  # a regression trace attributes its prediction itself


def test_targets_named_by_pandas_and_bad_targets_refused() -> None:
    sequences, y = _drifts(20, seed=6, targets=2)
    reg = RNNRegressor(**FAST).fit(sequences, pd.DataFrame(y, columns=["drift", "steps"]))
    assert reg.trace_.config.data.target_names == ["drift", "steps"]
    assert reg.predict(sequences).shape == (20, 2)
    for bad, words in [(np.where(np.arange(20) == 3, np.nan, y[:, 0]), "NaN"),
                       (y[:-1, 0], "20 sequences but y has 19"),
                       (np.full(20, 1e39), "beyond float32's range"),
                       (y[:, :, None], "dim 3"),
                       (["low", "high"] * 10, "not convert string to float.*RNNClassifier")]:
        with pytest.raises(InputError, match=words) as caught:
            RNNRegressor(**FAST).fit(sequences, bad)
        assert "\n" not in str(caught.value)


def test_a_classifier_reads_numbers_as_scikit_learn_classifiers_do() -> None:
    """Fractions are refused in scikit-learn's words (a classifier's labels are classes), naming
    the regressor; many whole numbers are that many classes, as LogisticRegression makes them."""
    sequences, y = _drifts(60, seed=7)
    with pytest.raises(InputError, match=r"Unknown label type: continuous.*RNNRegressor"):
        RNNClassifier(**FAST).fit(sequences, y)
    whole = np.repeat(np.arange(30) * 3, 2)  # 30 distinct whole numbers, two sequences each
    clf = RNNClassifier(**FAST).fit(sequences, whole)
    table = _padded([s[:4] for s in sequences])[:, :, 0]  # equal-length rows for sklearn
    np.testing.assert_array_equal(clf.classes_, LogisticRegression().fit(table, whole).classes_)
    assert clf.predict_proba(sequences).shape == (60, 30)
    assert set(clf.predict(sequences)) <= set(whole)
