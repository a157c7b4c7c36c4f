"""scikit-learn estimators: rnntrace's recurrent classifier (fit / predict / predict_proba)
and regressor (fit / predict of one number or several per sequence).

    from rnntrace.sklearn import RNNClassifier, RNNRegressor
    clf = RNNClassifier().fit(X, y)      # no settings: the no-flag choice (train/search.py)
    clf.predict_proba(X_new)
    print(clf.trace_)                    # the Trace, as `rnntrace train` writes it
    clf.report("report.html")            # its page
    reg = RNNRegressor().fit(X, y)       # y (n,) or (n, K) numbers: the regression head
    reg.predict(X_new)                   # in y's own units, (n,) or (n, K)

X is any shape rnntrace.data.arraylike reads, variable lengths read exactly: a 3-D array
(N, T, F), NaN-padded (trailing all-NaN steps are padding), a list of (T_i, F) arrays, a 2-D
array (N, T) of univariate sequences, or a pandas long frame. The settings have the command
line's names (config/options.py: hidden, layers, clip, ...; random_state is its seed). One left
at None is chosen on held-out training data as `rnntrace train` chooses it (preset="auto"), or
takes the lesson's default (preset="lesson"); one given is fixed, as a flag fixes it. So
RNNClassifier(**settings).fit(X, y) trains the model `rnntrace train` trains on the same data.

Nothing is written to disk: the model, its Trace and Explanation stay on the estimator, and it
pickles (weights as safetensors bytes, so a GPU model unpickles on a CPU machine). Inside
GridSearchCV(n_jobs=...) each fit runs in a worker process; the candidate search itself
spreads over processes with `n_jobs` (joblib; its Ray or Dask backends too).

The shared base, _RNNEstimator, owns settings, input reading, training, tracing and pickling;
a subclass says how y becomes the SequenceSet's labels or targets and what predict returns:

    RNNClassifier   ClassifierMixin   y → class codes      predict: classes_[argmax of logits]
    RNNRegressor    RegressorMixin    y → targets (n, K)   predict: the head × std + mean
                                      (standardised with the training part's mean and std,
                                      which the model keeps: config/task.py's regress)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_array, check_is_fitted, column_or_1d, validate_data

from rnntrace.config.options import SETTINGS
from rnntrace.config.settings import ModelConfig, TrainConfig
from rnntrace.data.arraylike import Collection, read_arraylike
from rnntrace.data.sequences import SequenceSet
from rnntrace.errors import ConfigError, DataError, RnnTraceError
from rnntrace.experiment.from_files import choose_settings
from rnntrace.experiment.traced import train_in_memory
from rnntrace.records import Choice
from rnntrace.train.search import PRESETS

__all__ = ["InputError", "RNNClassifier", "RNNRegressor", "SettingError"]

# Who fixed the settings the search did not choose, as the choice's views name it ("Fixed by
# the estimator's parameters: hidden=16"); the command line's is "your flags".
FIXED_BY_PARAMETERS = "the estimator's parameters"


class InputError(DataError, ValueError):
    """Bad X or y: an rnntrace DataError that scikit-learn's tools see as the ValueError
    they expect (GridSearchCV's error_score, the estimator checks)."""


class SettingError(ConfigError, ValueError):
    """A setting out of range or unknown, as a ValueError for scikit-learn."""


def _as_value_error(exc: RnnTraceError) -> ValueError:
    kind = SettingError if isinstance(exc, ConfigError) else InputError
    return kind(exc.message)


_REQUIRES_Y = "requires y to be passed, but the target y is None"  # scikit-learn's wording


class _RNNEstimator(BaseEstimator):  # type: ignore[misc]  # sklearn ships no type information
    """Settings, input, training, tracing and pickling shared by the estimators.

    None means "not fixed": chosen by the search (preset="auto") or the lesson's default
    (preset="lesson"). Names are ModelConfig's and TrainConfig's.
    """

    # How scikit-learn's validate_data checks y beside a 2-D table (check_X_y's options).
    _y_rules: ClassVar[dict[str, Any]] = {}

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
        n_jobs: int | None = None,
    ) -> None:
        # scikit-learn's rule: __init__ stores the settings as given; fit validates them.
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

    # --- input -----------------------------------------------------------------------------

    def _read(self, X: Any, *, fitting: bool, y: Any = None) -> tuple[Collection, Any]:
        """X as sequences (and y checked against it when fitting).

        A 2-D table is scikit-learn's own shape and follows its rules (n_features_in_ is its
        columns, feature_names_in_ a DataFrame's names, the same columns to predict), so that
        Pipelines and column transformers see a familiar estimator; other shapes count the
        features of a step (n_features_in_ = F).
        """
        try:
            table = _is_table(X)
            if fitting and y is None:
                raise InputError(f"{type(self).__name__} {_REQUIRES_Y}")
            if table and (fitting or getattr(self, "_fitted_on_table", False)):
                if fitting:
                    X, y = validate_data(self, X, y, reset=True, ensure_all_finite="allow-nan",
                                         dtype="numeric", **self._y_rules)
                else:
                    X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan",
                                      dtype="numeric")
            elif table:
                X = check_array(X, ensure_all_finite="allow-nan", dtype="numeric")
            collection = read_arraylike(X)
        except RnnTraceError as exc:
            raise _as_value_error(exc) from None
        if fitting:
            self._fitted_on_table = table
            self.n_channels_ = collection.n_features
            if not table:
                self.n_features_in_ = collection.n_features
                if collection.shape == "frame":
                    self.feature_names_in_ = np.asarray(collection.feature_names, dtype=object)
                elif hasattr(self, "feature_names_in_"):
                    del self.feature_names_in_  # from an earlier fit on named columns
        elif collection.n_features != self.n_channels_:
            raise InputError(f"X: {collection.n_features} features per step, but "
                             f"{type(self).__name__} was fitted on {self.n_channels_}")
        elif (collection.shape == "frame" and not table and hasattr(self, "feature_names_in_")
              and collection.feature_names != list(self.feature_names_in_)):
            raise InputError(f"X: features {', '.join(collection.feature_names)} differ from "
                             f"the training features {', '.join(self.feature_names_in_)}; "
                             "name them alike, in the same order")
        return collection, y

    # --- settings --------------------------------------------------------------------------

    def _given(self) -> dict[str, Any]:
        """The settings given (not None), by their command-line names (config/options.py)."""
        params = self.get_params(deep=False)
        given = {k: v for k, v in params.items() if k in SETTINGS and v is not None}
        return given | {"seed": self._seed()}

    def _seed(self) -> int:
        if isinstance(self.random_state, int | np.integer) and not isinstance(
                self.random_state, bool):
            return int(self.random_state)
        # None or a RandomState: a seed drawn from it, as scikit-learn estimators draw theirs
        return int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))

    def _configs(self, data: SequenceSet
                 ) -> tuple[ModelConfig, TrainConfig, Choice | None]:
        """The final model's and training's settings, as `rnntrace train` makes them, and the
        choice when the search made it."""
        if self.preset not in PRESETS:
            raise SettingError(f"unknown preset {self.preset!r}: choose "
                               f"{' or '.join(PRESETS)}")
        model_config, train_config, choice = choose_settings(
            data, self._given(), preset=self.preset, jobs=self.n_jobs)
        if choice is not None:  # its views say who fixed the rest: not flags, parameters
            choice = choice.fixed_by_other(FIXED_BY_PARAMETERS)
        return model_config, train_config, choice

    # --- training --------------------------------------------------------------------------

    def _fit_sequences(self, data: SequenceSet) -> None:
        """Choose the settings, train, average and trace: what `rnntrace train` does, in memory."""
        try:
            model_config, train_config, choice = self._configs(data)
            traced = train_in_memory(data, model_config, train_config, choice=choice)
        except RnnTraceError as exc:
            raise _as_value_error(exc) from None
        if traced.history.stop_reason is not None and not traced.history.records:
            raise InputError(f"training stopped before its first epoch ended: "
                             f"{traced.history.stop_reason}")
        self.module_ = traced.model
        self.config_ = traced.config
        self.trace_ = traced.trace
        self.explanation_ = traced.explanation
        self.choice_ = choice

    def _to_predict(self, X: Any) -> SequenceSet:
        """X's sequences as the fitted model reads them (their labels or targets unused)."""
        check_is_fitted(self, "module_")
        collection, _ = self._read(X, fitting=False)
        return self._unlabelled(collection)

    def _unlabelled(self, collection: Collection) -> SequenceSet:
        raise NotImplementedError  # each estimator's own: labels or targets

    # --- the trace -------------------------------------------------------------------------

    def report(self, path: str | Path) -> Path:
        """Write the fitted model's report page (self-contained HTML) to `path`; return it."""
        from rnntrace.run.report import write_report

        check_is_fitted(self, "trace_")
        return write_report(self.trace_, Path(path), explanation=self.explanation_)

    # --- pickling --------------------------------------------------------------------------

    def __getstate__(self) -> dict[str, Any]:
        """The weights as safetensors bytes (on the CPU), everything else as it is."""
        state: dict[str, Any] = dict(super().__getstate__())  # a copy: it may be __dict__
        module = state.pop("module_", None)
        if module is not None:
            from safetensors.torch import save

            tensors = {k: v.detach().cpu().contiguous() for k, v in module.state_dict().items()}
            state["_weights"] = save(tensors)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        weights = state.pop("_weights", None)
        super().__setstate__(state)
        if weights is not None:
            import torch
            from safetensors.torch import load

            from rnntrace.model.classifier import SequenceClassifier

            with torch.random.fork_rng(devices=[]):  # the throwaway initial weights draw from
                module = SequenceClassifier.from_config(self.config_.model)  # a copy of the RNG
            with torch.no_grad():
                module.load_state_dict(load(weights))
            self.module_ = module.eval()

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True  # (N, T, F) sequences
        # NaN is read as padding only at the end of a sequence; anywhere else it is an error.
        tags.input_tags.allow_nan = False
        tags.non_deterministic = False  # same random_state, same model and trace
        return tags


class RNNClassifier(ClassifierMixin, _RNNEstimator):  # type: ignore[misc]  # (as above)
    """A recurrent sequence classifier: rnntrace's model, trained and traced as `rnntrace
    train` does it, with scikit-learn's interface.

    Fitted attributes: classes_, n_features_in_ (features per step; a 2-D table's columns),
    n_channels_ (features per step), module_ (the torch model), config_ (RunConfig), trace_
    (the Trace: print it, or show it in a notebook), explanation_, choice_ (how the search
    chose, or None with preset="lesson").
    """

    def fit(self, X: Any, y: Any) -> RNNClassifier:
        """Train on sequences X with one label each in y; return self."""
        collection, y = self._read(X, fitting=True, y=y)
        y = column_or_1d(y, warn=True)
        if len(y) != len(collection.lengths):
            raise InputError(f"X holds {len(collection.lengths)} sequences but y has {len(y)} "
                             "labels; give one label per sequence")
        try:
            check_classification_targets(y)
        except ValueError as exc:  # scikit-learn's words first: its tools look for them
            hint = (" rnntrace.sklearn.RNNRegressor predicts numbers."
                    if "continuous" in str(exc) else "")
            raise InputError(f"{exc}{hint}") from None
        classes, codes = np.unique(y, return_inverse=True)
        if len(classes) < 2:
            raise InputError(f"only one class present ({classes[0]!r}); a classifier needs at "
                             "least two classes")
        self.classes_ = classes
        data = collection.labelled(codes.astype(np.int64), [str(c) for c in classes])
        self._fit_sequences(data)
        return self

    def _unlabelled(self, collection: Collection) -> SequenceSet:
        names = self.config_.data.class_names
        return collection.labelled(np.zeros(len(collection.lengths), dtype=np.int64), names)

    def _logits(self, X: Any) -> npt.NDArray[np.float64]:
        """The model's outputs for every sequence of X, in order, (N, C)."""
        import torch

        from rnntrace.train.loop import predict_logits

        data = self._to_predict(X)  # checks first that the model was fitted
        logits: torch.Tensor = predict_logits(self.module_, data)  # (N, C)
        return logits.double().numpy()

    def predict_proba(self, X: Any) -> npt.NDArray[np.float64]:
        """Each class's probability for every sequence of X, (N, n_classes), classes_ order."""
        logits = self._logits(X)
        shifted = np.exp(logits - logits.max(axis=1, keepdims=True))  # a stable softmax
        return shifted / shifted.sum(axis=1, keepdims=True)  # type: ignore[no-any-return]

    def predict(self, X: Any) -> npt.NDArray[Any]:
        """The most probable class of every sequence of X."""
        best = self._logits(X).argmax(axis=1)  # (N,); checks first that the model was fitted
        return self.classes_[best]  # type: ignore[no-any-return]

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = False
        return tags


class RNNRegressor(RegressorMixin, _RNNEstimator):  # type: ignore[misc]  # (as above)
    """A recurrent sequence regressor: one number per sequence (or K of them), trained and
    traced as `rnntrace train --task regress` does it, with scikit-learn's interface.

    y is (n,) or (n, K) numbers; predict returns the same shape, in y's own units (the head
    predicts the target standardised with the training part's mean and std, which the model
    keeps). score is R² (RegressorMixin; averaged over the K targets). With no settings the
    no-flag choice on regression's candidates (train/search.py).

    Fitted attributes: n_targets_ (K), n_features_in_, n_channels_, module_, config_, trace_
    (its head's scores beside the training-mean line, the predicted value's attribution),
    explanation_ (None: a regression trace attributes its prediction itself, trace_.head),
    choice_.
    """

    _y_rules: ClassVar[dict[str, Any]] = {"multi_output": True, "y_numeric": True}

    def fit(self, X: Any, y: Any) -> RNNRegressor:
        """Train on sequences X with one number (y (n,)) or K numbers (y (n, K)) each."""
        names = _target_names(y)
        collection, y = self._read(X, fitting=True, y=y)
        try:  # numbers, finite, at most 2-D: scikit-learn's checks and words
            y = check_array(y, ensure_2d=False, dtype=np.float64, input_name="y")
        except ValueError as exc:
            words = str(exc).splitlines()[0]
            if "convert" in words:  # text: the user may have meant classes
                words = (f"y: {words}; a regressor predicts numbers "
                         "(rnntrace.sklearn.RNNClassifier predicts classes)")
            raise InputError(words) from None
        n = len(collection.lengths)
        if len(y) != n:
            raise InputError(f"X holds {n} sequences but y has {len(y)} targets; give one "
                             "target (or one row of targets) per sequence")
        if y.ndim == 2 and y.shape[1] == 0:
            raise InputError("y has no columns; give at least one target per sequence")
        if n == 1 and self.val_fraction > 0:
            raise InputError(f"1 sample: nothing to hold out {self.val_fraction:.0%} of; give "
                             "more sequences (or val_fraction=0 with preset='lesson')")
        self.n_targets_ = 1 if y.ndim == 1 else int(y.shape[1])
        self._one_dimensional = y.ndim == 1  # predict returns y's shape
        if len(names) != self.n_targets_:
            names = []  # the default names: target, or target_0, target_1, ...
        try:
            data = collection.targeted(y, names)
        except RnnTraceError as exc:
            raise _as_value_error(exc) from None
        self._fit_sequences(data)
        return self

    def _unlabelled(self, collection: Collection) -> SequenceSet:
        zeros = np.zeros((len(collection.lengths), self.n_targets_))
        return collection.targeted(zeros, self.config_.data.target_names)

    def predict(self, X: Any) -> npt.NDArray[np.float64]:
        """Every sequence's predicted target(s) in y's units: (n,) for a 1-D y, else (n, K).

        Computed in float64 by a double copy of the model: in float32 a sequence's prediction
        moved by an ulp with the other sequences in its batch (matrix products round by batch
        size), and scikit-learn expects predict(X)[rows] == predict(X[rows]) to 1e-7.
        """
        import copy

        import torch

        from rnntrace.data.batching import batch_order
        from rnntrace.data.streaming import batch_source

        data = self._to_predict(X)  # checks first that the model was fitted
        model = copy.deepcopy(self.module_).double().eval()
        source = batch_source(data, next(model.parameters()).device)
        with torch.inference_mode():
            values = torch.cat([
                model.predict_values(batch.x.double(), batch.lengths).cpu()
                for batch in (source.take(index, model.config.batch_first)
                              for index in batch_order(source, 256, bucket=False))
            ]).numpy()  # (N, K), in X's order
        return values[:, 0] if self._one_dimensional else values

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.single_output = True
        tags.target_tags.multi_output = True  # y (n, K): K numbers from one head
        return tags


def _target_names(y: Any) -> list[str]:
    """The names a pandas y gives its targets (a Series' name, a DataFrame's columns)."""
    if type(y).__name__ == "Series" and getattr(y, "name", None) is not None:
        return [str(y.name)]
    if type(y).__name__ == "DataFrame":
        return [str(c) for c in y.columns]
    return []


def _is_table(X: Any) -> bool:
    """Whether X is scikit-learn's 2-D shape: a 2-D array, nested lists, or a wide DataFrame."""
    from scipy.sparse import issparse

    if issparse(X):
        return True  # refused by scikit-learn's own check, in its own words
    if type(X).__name__ == "DataFrame":
        import pandas as pd

        return not isinstance(X.index, pd.MultiIndex) and "id" not in X.columns
    if isinstance(X, list | tuple) and X and isinstance(X[0], np.ndarray):
        return False  # a list of arrays: one sequence each, whatever their lengths
    try:
        return np.asarray(X).ndim == 2
    except ValueError:  # ragged nested lists
        return False
