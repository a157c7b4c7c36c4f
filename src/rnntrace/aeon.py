"""aeon's interfaces for rnntrace's recurrent classifier and regressor (the optional `aeon`
extra).

    from rnntrace.aeon import RNNClassifier, RNNRegressor
    clf = RNNClassifier().fit(X_train, y_train)   # aeon collections: (N, C, T) or [(C, T_i)]
    clf.predict(X_test); print(clf.trace_)
    reg = RNNRegressor().fit(X_train, y_numbers)  # aeon's regressors: one number per series

aeon writes a series channels first, (n_channels, n_timepoints); rnntrace reads it steps first,
(T, F). The adapter transposes and hands each series, at its own length, to
rnntrace.sklearn's estimator of the same name, which does the work (the no-flag choice by
default, the trace). aeon's BaseRegressor takes a 1-D y only, so the aeon regressor predicts one
number per series; rnntrace.sklearn.RNNRegressor also takes y of shape (n, K).
Its tags say what aeon may give it: several channels, series of unequal lengths; no missing
values (aeon refuses NaN before the estimator sees it, so its padding convention is not used).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

try:
    from aeon.classification.base import BaseClassifier
    from aeon.regression.base import BaseRegressor
except ImportError:  # the optional extra
    raise ImportError("rnntrace.aeon needs aeon: pip install 'rnntrace[aeon]'") from None

from rnntrace.records import Choice, Trace
from rnntrace.records.explanation import Explanation
from rnntrace.sklearn import RNNClassifier as _Classifier
from rnntrace.sklearn import RNNRegressor as _Regressor

__all__ = ["RNNClassifier", "RNNRegressor"]

# What aeon may give either estimator (aeon reads the tags from the class).
_TAGS: dict[str, Any] = {
    "X_inner_type": ["np-list", "numpy3D"],  # unequal lengths stay unequal
    "capability:multivariate": True,
    "capability:unequal_length": True,
    "capability:multithreading": True,  # the search's candidates in n_jobs processes
    "algorithm_type": "deeplearning",
    "python_dependencies": "torch",
}


class _Adapter:
    """The settings, fit and trace shared by the aeon estimators: each holds the
    rnntrace.sklearn estimator of its name (`estimator_`) and hands it every series steps first.
    """

    _estimator: ClassVar[type[_Classifier] | type[_Regressor]]

    def __init__(
        self,
        *,
        preset: str = "auto",
        cell: str | None = None,
        nonlinearity: str | None = None,
        hidden: int | None = None,
        layers: int | None = None,
        bidirectional: bool | None = None,
        dropout: float | None = None,
        proj_size: int | None = None,
        summary: str | None = None,
        front_end: str | None = None,
        window: int | None = None,
        resample: int | None = None,
        epochs: int | None = None,
        batch_size: int | None = None,
        lr: float | None = None,
        lr_schedule: str | None = None,
        patience: int | None = None,
        val_fraction: float = 0.2,
        clip: float = 1.0,
        random_state: int | np.random.RandomState | None = 0,
        threads: int | None = None,
        device: str = "cpu",
        n_jobs: int = 1,
    ) -> None:
        self.preset = preset
        self.cell = cell
        self.nonlinearity = nonlinearity
        self.hidden = hidden
        self.layers = layers
        self.bidirectional = bidirectional
        self.dropout = dropout
        self.proj_size = proj_size
        self.summary = summary
        self.front_end = front_end
        self.window = window
        self.resample = resample
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.lr_schedule = lr_schedule
        self.patience = patience
        self.val_fraction = val_fraction
        self.clip = clip
        self.random_state = random_state
        self.threads = threads
        self.device = device
        self.n_jobs = n_jobs
        super().__init__()  # aeon's base, after the parameters (aeon's order)

    def _fit(self, X: Any, y: npt.NDArray[Any]) -> Any:
        params = self.get_params(deep=False)  # type: ignore[attr-defined]  # aeon's base's
        self.estimator_ = self._estimator(**params).fit(_steps_first(X), y)
        return self

    def _predict(self, X: Any) -> npt.NDArray[Any]:
        return self.estimator_.predict(_steps_first(X))

    @property
    def trace_(self) -> Trace:
        """The fitted model's Trace."""
        return self.estimator_.trace_

    @property
    def explanation_(self) -> Explanation | None:
        return self.estimator_.explanation_

    @property
    def choice_(self) -> Choice | None:
        """How the search chose the settings (None with preset="lesson")."""
        return self.estimator_.choice_

    def report(self, path: str | Path) -> Path:
        """Write the fitted model's report page to `path`; return it."""
        return self.estimator_.report(path)

    @classmethod
    def _get_test_params(cls, parameter_set: str = "default") -> dict[str, Any]:
        """aeon's checks: the lesson's small model for a few epochs, not the whole search."""
        return {"preset": "lesson", "epochs": 5}


class RNNClassifier(_Adapter, BaseClassifier):  # type: ignore[misc]  # aeon: no type information
    """rnntrace.sklearn.RNNClassifier for aeon's collections, benchmarks and checks.

    The settings are rnntrace.sklearn.RNNClassifier's (None: chosen by the search); n_jobs
    defaults to 1, as aeon asks of an estimator that can run in parallel. Fitted:
    `estimator_` (the rnntrace.sklearn.RNNClassifier), and through it `trace_`,
    `explanation_`, `choice_` and `report(path)`.
    """

    _tags: ClassVar[dict[str, Any]] = dict(_TAGS)
    _estimator = _Classifier

    def _predict_proba(self, X: Any) -> npt.NDArray[np.float64]:
        return self.estimator_.predict_proba(_steps_first(X))


class RNNRegressor(_Adapter, BaseRegressor):  # type: ignore[misc]  # (as above)
    """rnntrace.sklearn.RNNRegressor for aeon's collections, benchmarks and checks: one number
    per series (aeon's regressors take a 1-D y), predicted in y's units.

    The settings are rnntrace.sklearn.RNNRegressor's (None: chosen by the search on the
    regression candidates); n_jobs defaults to 1. Fitted: `estimator_` (the
    rnntrace.sklearn.RNNRegressor), and through it `trace_` (the regression head's scores
    beside the training mean, the prediction's attribution), `choice_` and `report(path)`;
    `explanation_` is None (the regression trace attributes its prediction itself).
    """

    _tags: ClassVar[dict[str, Any]] = dict(_TAGS)
    _estimator = _Regressor


def _steps_first(X: Any) -> list[npt.NDArray[Any]]:
    """aeon's (N, C, T) array or [(C, T_i)] list → rnntrace's [(T_i, C)] list."""
    return [np.asarray(series).T for series in X]
