"""rnntrace.aeon: aeon's own estimator checks for the classifier and the regressor, and aeon's
channels-first collections read as the same sequences rnntrace.sklearn reads steps first. Runs
where the `aeon` extra is installed."""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np
import pytest
import torch

aeon = pytest.importorskip("aeon")

from aeon.classification.base import BaseClassifier  # noqa: E402
from aeon.regression.base import BaseRegressor  # noqa: E402
from aeon.testing.estimator_checking import parametrize_with_checks  # noqa: E402

from rnntrace import aeon as rnn_aeon  # noqa: E402
from rnntrace import sklearn as rnn_sklearn  # noqa: E402
from rnntrace.aeon import RNNClassifier, RNNRegressor  # noqa: E402


@parametrize_with_checks([RNNClassifier, RNNRegressor])
def test_aeon_estimator_checks(check: Any) -> None:
    check()


@pytest.mark.parametrize(("ours", "base"), [(RNNClassifier, BaseClassifier),
                                            (RNNRegressor, BaseRegressor)])
def test_the_tags_say_unequal_lengths_and_several_channels(ours: Any, base: Any) -> None:
    estimator = ours()
    assert isinstance(estimator, base)
    assert estimator.get_tag("capability:unequal_length") is True
    assert estimator.get_tag("capability:multivariate") is True
    assert estimator.get_tag("capability:missing_values") is False


@pytest.mark.parametrize("name", ["RNNClassifier", "RNNRegressor"])
def test_the_settings_are_the_scikit_learn_estimators(name: str) -> None:
    ours = inspect.signature(getattr(rnn_aeon, name).__init__).parameters
    theirs = inspect.signature(getattr(rnn_sklearn, name).__init__).parameters
    assert list(ours) == list(theirs)
    # aeon asks for n_jobs=1 by default; scikit-learn's None means joblib's context decides
    assert {k: p.default for k, p in ours.items() if k != "n_jobs"} == {
        k: p.default for k, p in theirs.items() if k != "n_jobs"}


def test_an_unequal_length_multivariate_collection_is_read_series_by_series() -> None:
    rng = np.random.default_rng(0)
    labels = np.array(["a", "b"] * 10)
    # aeon's layout: each series (n_channels, n_timepoints_i)
    X = [rng.normal(0.8 if label == "b" else -0.8, 1.0, (3, int(rng.integers(5, 14))))
         for label in labels]
    clf = RNNClassifier(preset="lesson", epochs=5).fit(X, labels)
    assert list(clf.classes_) == ["a", "b"]
    probabilities = clf.predict_proba(X)
    model = clf.estimator_.module_.eval()
    for i, series in enumerate(X):
        x = torch.tensor(series.T[None], dtype=torch.float32)  # (1, T_i, 3): steps first
        with torch.no_grad():
            alone = torch.softmax(model(x, torch.tensor([series.shape[1]])), dim=-1)
        np.testing.assert_allclose(probabilities[i], alone[0].double().numpy(), rtol=1e-5,
                                   atol=1e-6)
    assert clf.trace_.config.data.n_features == 3
    assert clf.trace_.config.data.max_length == max(s.shape[1] for s in X)


def test_the_regressor_reads_an_unequal_length_multivariate_collection_series_by_series(
        ) -> None:
    rng = np.random.default_rng(1)
    X = [rng.normal(0, 1, (2, int(rng.integers(5, 14)))) for _ in range(20)]  # (C, T_i) each
    y = np.array([series[0].mean() * 4 + series.shape[1] for series in X])
    reg = RNNRegressor(preset="lesson", epochs=5, val_fraction=0.0).fit(X, y)
    predicted = reg.predict(X)
    assert predicted.shape == (20,)
    model = reg.estimator_.module_.eval()
    y32 = y.astype(np.float32)
    mean, std = y32.mean(dtype=np.float64), y32.std(dtype=np.float64)  # nothing held out
    for i, series in enumerate(X):
        x = torch.tensor(series.T[None], dtype=torch.float32)  # (1, T_i, 2): steps first
        with torch.no_grad():
            alone = model(x, torch.tensor([series.shape[1]]))[0, 0].item()
        assert predicted[i] == pytest.approx(alone * std + mean, rel=1e-5, abs=1e-5)
    assert reg.trace_.config.data.n_features == 2
    assert reg.trace_.config.model.task == "regress"
    assert reg.score(X, y) == pytest.approx(
        1 - ((y - predicted) ** 2).sum() / ((y - y.mean()) ** 2).sum(), rel=1e-9)
