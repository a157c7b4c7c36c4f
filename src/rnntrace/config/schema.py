"""The schema of a run directory's JSON: every value checked for type and size where it enters.

A run directory may come from anywhere (a colleague, a download, a damaged disk), so nothing in
config.json or trace.json is trusted:

    JSON text       at most _MAX_JSON_BYTES; integers of at most 40 digits; nesting RecursionError
                    caught: each refused with one line naming the file
    config.json     each section built by `build`, driven by the dataclass's fields and their
                    annotations: an int is an int (not 8.0, true or 1e308), a str a str, a
                    list[str] a list of strings; unknown keys refused; sizes bounded by LIMITS,
                    and the model's parameter count bounded before a model is built
    trace.json      rebuilt by Trace.from_dict, then every field checked against its annotation

A new dataclass field needs nothing here unless it wants bounds: then one line in LIMITS.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import math
import stat
import types
import typing
from pathlib import Path
from typing import Any, TypeVar, Union

from rnntrace.config.settings import (
    NAN_POLICIES as POLICIES,
)
from rnntrace.config.settings import (
    DataConfig,
    ModelConfig,
    RunConfig,
    TrainConfig,
)
from rnntrace.errors import ConfigError, RunError

T = TypeVar("T")

_MAX_JSON_BYTES = 512 * 2**20  # a trace of a long run is tens of MB; a config, a few KB
_MAX_INT_DIGITS = 40  # Python refuses over 4,300 with a ValueError of its own; no size needs 40
_MAX_ITEMS = 10_000_000  # entries of one list: more than any real feature or class list
_MAX_TEXT = 1_000_000  # characters of one string
_INT_RANGE = (-(2**63), 2**63 - 1)  # an int without its own bounds must fit an int64

# (lowest, highest) for the sizes a run's configuration claims, by "section.field".
LIMITS: dict[str, tuple[float, float]] = {
    "model.n_features": (1, 1_000_000),
    "model.n_classes": (0, 1_000_000),  # 0 for regression; ModelConfig checks it per task
    "model.n_targets": (1, 1_000_000),
    "model.hidden_size": (1, 65_536),
    "model.num_layers": (1, 64),
    "model.proj_size": (0, 65_536),
    "model.vocab_size": (0, 10_000_000),
    "model.embedding_dim": (0, 65_536),
    "model.window": (1, 10_000_000),
    "model.resample": (0, 10_000_000),
    "train.epochs": (1, 1_000_000),
    "train.batch_size": (1, 1_048_576),
    "train.threads": (1, 4096),
    "train.patience": (1, 1_000_000),
    "train.average_epochs": (0, 1_000_000),
    "data.n_sequences": (0, 10**12),
    "data.max_length": (0, 10_000_000),
    "data.n_features": (0, 1_000_000),
}
# Values in one batch (B × T × F) a configuration may describe: the quiz rebuilds such a batch,
# and 2^31 float32 (8 GB) is more than any run that trained here held at once.
MAX_BATCH_VALUES = 2**31
# Weights a configuration may ask for before a model is built: 2 × 10^8 float32 is 800 MB.
MAX_PARAMETERS = 200_000_000
_GATES_AT_MOST = 4  # an LSTM's; an upper bound for every cell
# What `rnntrace.read` takes from a run's data.read_options, and the type of each.
READ_OPTIONS: dict[str, Any] = {"label": str | list[str], "id": str, "time": str | None,
                                "features": list[str] | None, "nan": str,
                                # text runs (rnntrace.data.text): the column, tokens, folding
                                "text": str | None, "tokens": str, "ascii": bool}


class Invalid(Exception):
    """A value that does not fit its annotation; the message says what it should be."""

    def __init__(self, message: str, path: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.what, self.path = message, path

    def inside(self, name: str) -> Invalid:
        return Invalid(self.what, (name, *self.path))

    def __str__(self) -> str:
        where = "".join(p if p.startswith("[") else f".{p}" for p in self.path).lstrip(".")
        return f"{where} is {self.what}" if where else self.what


def _big_int(text: str) -> int:
    if len(text.lstrip("-")) > _MAX_INT_DIGITS:
        raise Invalid(f"an integer of {len(text)} digits")
    return int(text)


def read_json(path: Path) -> Any:
    """The JSON in `path`, or a RunError with one line naming the file and what is wrong."""
    try:
        info = path.stat()
        size = info.st_size
        if not stat.S_ISREG(info.st_mode):  # a FIFO or a device would block or never end
            raise RunError(f"{path}: not a regular file")
        if size > _MAX_JSON_BYTES:
            raise RunError(f"{path}: {size} bytes, larger than any rnntrace file; is this a run?")
        return json.loads(path.read_text(encoding="utf-8"), parse_int=_big_int)
    except FileNotFoundError:
        raise RunError(f"{path.parent} is not an rnntrace run: {path.name} is missing") from None
    except IsADirectoryError:
        raise RunError(f"{path}: a directory, not a file") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RunError(f"{path}: not valid JSON ({exc})") from None
    except Invalid as exc:
        raise RunError(f"{path}: not an rnntrace file ({exc})") from None
    except (RecursionError, MemoryError):
        raise RunError(f"{path}: not an rnntrace file (nested too deeply)") from None
    except (ValueError, OSError) as exc:
        raise RunError(f"{path}: not readable ({exc})") from None


def _describe(tp: Any) -> str:
    if tp is type(None):
        return "null"
    if typing.get_origin(tp) in (Union, types.UnionType):
        return " or ".join(_describe(a) for a in typing.get_args(tp))
    if typing.get_origin(tp) is list:
        return f"a list of {_describe((typing.get_args(tp) or (Any,))[0])}"
    if typing.get_origin(tp) is dict:
        return "an object"
    return {int: "an integer", float: "a number", bool: "true or false", str: "text"}.get(
        tp, getattr(tp, "__name__", str(tp)))


def check(tp: Any, value: Any, bounds: tuple[float, float] | None = None,
          finite: bool = True) -> None:
    """Raise Invalid unless `value` (plain JSON data or a built dataclass) fits `tp`.

    finite=False lets a float be NaN or ±inf (a trace records a diverged loss as it was).
    """
    origin = typing.get_origin(tp)
    if tp is Any or isinstance(tp, TypeVar):
        return
    if origin in (Union, types.UnionType):
        options = typing.get_args(tp)
        if value is None and type(None) in options:
            return
        others = [o for o in options if o is not type(None)]
        if len(others) == 1:  # X | None: X's own message says what is wrong inside it
            return check(others[0], value, bounds, finite)
        for option in others:
            try:
                return check(option, value, bounds, finite)
            except Invalid:
                continue
        raise Invalid(f"{_short(value)}, not {_describe(tp)}")
    if origin is list:
        if not isinstance(value, list) or len(value) > _MAX_ITEMS:
            raise Invalid(f"{_short(value)}, not {_describe(tp)}")
        (item,) = typing.get_args(tp) or (Any,)
        for i, v in enumerate(value):
            try:
                check(item, v, None, finite)
            except Invalid as exc:
                raise exc.inside(f"[{i}]") from None
        return
    if origin is dict or tp is dict:
        _, item = typing.get_args(tp) or (str, Any)
        if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
            raise Invalid(f"{_short(value)}, not {_describe(tp)}")
        for k, v in value.items():
            try:
                check(item, v, None, finite)
            except Invalid as exc:
                raise exc.inside(k) from None
        return
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, tp):  # type: ignore[arg-type]
            raise Invalid(f"{_short(value)}, not {_describe(tp)}")
        hints = typing.get_type_hints(tp)
        for f in dataclasses.fields(tp):
            try:
                check(hints[f.name], getattr(value, f.name), None, finite)
            except Invalid as exc:
                raise exc.inside(f.name) from None
        return
    _check_scalar(tp, value, bounds, finite)


def _check_scalar(tp: Any, value: Any, bounds: tuple[float, float] | None, finite: bool
                  ) -> None:
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        if not any(value == m.value or value is m for m in tp):
            raise Invalid(f"{_short(value)}, not one of {', '.join(str(m.value) for m in tp)}")
        return
    if tp is bool:
        ok = type(value) is bool
    elif tp is int:
        ok = type(value) is int
        bounds = bounds or _INT_RANGE
    elif tp is float:
        ok = type(value) in (int, float) and (not finite or math.isfinite(value))
    elif tp is str:
        ok = isinstance(value, str) and len(value) <= _MAX_TEXT
    else:
        return  # an annotation this schema does not know: the constructor checks it
    if not ok:
        raise Invalid(f"{_short(value)}, not {_describe(tp)}")
    if bounds is not None and not bounds[0] <= value <= bounds[1]:
        raise Invalid(f"{value}, outside {bounds[0]:g}..{bounds[1]:g}")


def _short(value: Any) -> str:
    text = json.dumps(value) if isinstance(value, (str, int, float, bool, type(None))) else (
        type(value).__name__ if not isinstance(value, (list, dict)) else
        ("a list" if isinstance(value, list) else "an object"))
    return text if len(text) <= 40 else text[:37] + "..."


def build(kind: type[T], raw: Any, section: str) -> T:
    """`kind` from the JSON object `raw`, every field checked first; a ConfigError if not."""
    where = f"{section!r}"
    if not isinstance(raw, dict):
        raise ConfigError(f"not an rnntrace run configuration: {where} is {_short(raw)}, "
                          "not an object")
    assert dataclasses.is_dataclass(kind)
    fields = {f.name: f for f in dataclasses.fields(kind)}
    unknown = sorted(set(raw) - set(fields))
    if unknown:
        raise ConfigError(f"not an rnntrace run configuration: {where} has unknown "
                          f"setting{'s' if len(unknown) > 1 else ''} "
                          f"{', '.join(map(repr, unknown[:5]))}")
    hints = typing.get_type_hints(kind)
    for name, value in raw.items():
        try:
            check(hints[name], value, LIMITS.get(f"{section}.{name}"))
        except Invalid as exc:
            raise ConfigError(f"{section}.{exc.inside(name)}") from None
    absent = [n for n, f in fields.items() if n not in raw and f.default is dataclasses.MISSING
              and f.default_factory is dataclasses.MISSING]
    if absent:
        raise ConfigError(f"not an rnntrace run configuration: {where} has no {absent[0]!r}")
    try:
        return kind(**raw)
    except ConfigError as exc:
        raise ConfigError(f"{section}: {exc.message}") from None
    except (TypeError, ValueError, AttributeError):
        raise ConfigError(f"not an rnntrace run configuration: {where} holds a value of the "
                          "wrong type") from None


def check_read_options(options: dict[str, Any]) -> None:
    """data.read_options must name only what `rnntrace.read` takes, each of the right type."""
    unknown = sorted(set(options) - set(READ_OPTIONS))
    if unknown:
        raise ConfigError(f"data.read_options has unknown option {unknown[0]!r}; it holds "
                          f"{', '.join(READ_OPTIONS)}")
    for name, value in options.items():
        try:
            check(READ_OPTIONS[name], value)
        except Invalid as exc:
            raise ConfigError(f"data.read_options.{exc.inside(name)}") from None

    if options.get("nan", "error") not in POLICIES:
        raise ConfigError(f"data.read_options.nan is {options['nan']!r}, not one of "
                          f"{', '.join(POLICIES)}")


def parameter_bound(n_features: int, hidden: int, layers: int, directions: int,
                    classes: int) -> int:
    """At most how many weights a classifier of these sizes has (as if every cell had 4 gates)."""
    per_direction = _GATES_AT_MOST * (hidden * (n_features + hidden) + 2 * hidden)
    upper = _GATES_AT_MOST * (hidden * (hidden * directions + hidden) + 2 * hidden)
    return directions * (per_direction + (layers - 1) * upper) + classes * (hidden * directions + 1)


def front_end_bound(n_features: int, front_end: str, window: int) -> tuple[int, int]:
    """What the recurrent layer reads after a front end, and at most how many weights the front
    end holds (frontends.py: windows of `window` steps, then for conv three blocks of 64
    channels with kernels 7, 5, 3; its sizes are repeated here because this module has no torch).
    """
    reads = n_features * window
    if front_end != "conv":
        return reads, 0
    channels = 64
    weights = 7 * reads * channels + (5 + 3) * channels * channels + 3 * 5 * channels
    return channels, weights


def check_model_size(model: Any) -> None:
    """Refuse a configuration whose model would hold more than MAX_PARAMETERS weights."""
    reads, front = front_end_bound(model.n_features, model.front_end, model.window)
    bound = front + parameter_bound(reads, model.hidden_size, model.num_layers,
                                    model.num_directions, model.out_width)
    if bound > MAX_PARAMETERS:
        raise ConfigError(f"a model of hidden_size {model.hidden_size}, num_layers "
                          f"{model.num_layers} and {model.n_features} features would hold up to "
                          f"{bound:,} weights, more than the {MAX_PARAMETERS:,} rnntrace builds")


def check_batch_size(batch: int, steps: int, features: int) -> None:
    """Refuse a configuration whose batch (B × T × F) could not have been held in memory."""
    if batch * steps * features > MAX_BATCH_VALUES:
        raise ConfigError(f"a batch of {batch} sequences × {steps} steps × {features} features "
                          f"is more than the {MAX_BATCH_VALUES:,} values rnntrace builds")


def load_config(raw: Any, path: Path) -> Any:
    """A RunConfig from config.json's parsed JSON, or a RunError naming the file."""

    if not isinstance(raw, dict):
        raise RunError(f"{path}: not an rnntrace run configuration")
    try:
        return read_run_config(raw)
    except ConfigError as exc:
        raise RunError(f"{path}: {exc.message}") from None


def read_run_config(raw: Any) -> RunConfig:
    """A run's configuration read back; a foreign or inconsistent one is a ConfigError.

    Every value is checked for type and size (`build`) before it is used.
    """
    if not isinstance(raw, dict):
        raise ConfigError("not an rnntrace run configuration: not a JSON object")
    unknown = sorted(set(raw) - {"model", "train", "data"})
    if unknown:
        raise ConfigError(f"not an rnntrace run configuration: unknown section {unknown[0]!r}")
    parts: dict[str, Any] = {}
    for name, kind in (("model", ModelConfig), ("train", TrainConfig), ("data", DataConfig)):
        if not isinstance(raw.get(name), dict):
            raise ConfigError(f"not an rnntrace run configuration: no {name!r} section")
        parts[name] = build(kind, raw[name], name)
    config = RunConfig(**parts)
    model, data = config.model, config.data
    check_read_options(data.read_options)
    check_model_size(model)
    check_batch_size(config.train.batch_size, data.max_length, model.n_features)
    if data.class_names and len(data.class_names) != model.n_classes:
        raise ConfigError(f"inconsistent: {len(data.class_names)} class names for a model of "
                          f"{model.n_classes} classes")
    tokens = data.vocabulary.get("tokens") if data.vocabulary else None
    if (tokens is not None or model.vocab_size) and (
            not isinstance(tokens, list) or len(tokens) != model.vocab_size):
        raise ConfigError(f"inconsistent: the vocabulary does not hold the model's "
                          f"{model.vocab_size} embedding rows")
    if data.feature_names and len(data.feature_names) != model.n_features:
        raise ConfigError(f"inconsistent: {len(data.feature_names)} feature names for a "
                          f"model of {model.n_features} features")
    for key in ("feature_mean", "feature_std"):
        stats = getattr(data, key)
        if stats and len(stats) != model.n_features:
            raise ConfigError(f"inconsistent: {len(stats)} values in data.{key} for a model "
                              f"of {model.n_features} features")
    return config
