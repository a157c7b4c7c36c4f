"""rnntrace.aeon: aeon's own estimator checks, and aeon's channels-first collections read as
the same sequences rnntrace.sklearn reads steps first. Runs where the `aeon` extra is installed."""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np
import pytest
import torch

aeon = pytest.importorskip("aeon")

from aeon.testing.estimator_checking import parametrize_with_checks  # noqa: E402

from rnntrace import sklearn as rnn_sklearn  # noqa: E402
from rnntrace.aeon import RNNClassifier  # noqa: E402


@parametrize_with_checks([RNNClassifier])
def test_aeon_estimator_checks(check: Any) -> None:
    check()


def test_the_tags_say_unequal_lengths_and_several_channels() -> None:
    clf = RNNClassifier()
    assert clf.get_tag("capability:unequal_length") is True
    assert clf.get_tag("capability:multivariate") is True
    assert clf.get_tag("capability:missing_values") is False


def test_the_settings_are_the_scikit_learn_estimators() -> None:
    ours = inspect.signature(RNNClassifier.__init__).parameters
    theirs = inspect.signature(rnn_sklearn.RNNClassifier.__init__).parameters
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
