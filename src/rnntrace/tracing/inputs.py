"""The model and the forward's arguments for `rnntrace trace FILE.py[:NAME]`, from any source.

The arguments come, in this order of preference, from `--data FILE` (.npy: one array; .npz:
arrays, by name or in order; .pt: a tensor, a tuple of tensors or a dict of named tensors),
from `--input SHAPE` (a seeded random first argument), or from the file's own
`example_inputs()` (a tensor, a tuple, or a dict of keyword arguments). Named tensors go to the
forward's parameters of those names. Before anything is traced, the arguments are bound to the
forward's signature, so a forward that needs more is refused in one line that names what is
missing, and the forward is run once, so its own errors are one line too.
"""

from __future__ import annotations

import inspect
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from rnntrace.errors import ConfigError, DataError
from rnntrace.tracing.usermodel import load_file, pick_model, random_input

EXAMPLE = "example_inputs"  # the function a model file may define: the forward's arguments


def model_and_inputs(
    target: str, shape: str | None, data: Path | None, seed: int = 0
) -> tuple[nn.Module, tuple[Any, ...], dict[str, Any]]:
    """The model FILE.py[:NAME] names and the arguments it is traced on, checked to bind."""
    path_text, sep, name = target.rpartition(":")
    if not (sep and path_text and name and not name.endswith(".py") and "/" not in name):
        path_text, name = target, ""  # FILE.py alone: its model() or its one nn.Module class
    path = Path(path_text)
    module = load_file(path)
    model = pick_model(module, name or _default_name(module, path), path)
    if data is not None and shape is not None:
        raise ConfigError("give the input as --input SHAPE or --data FILE, not both")
    kwargs: dict[str, Any] = {}
    if data is not None:
        args, kwargs = read_named(data)
    elif shape is not None:
        args = (random_input(model, shape, seed),)
    elif hasattr(module, EXAMPLE):
        args, kwargs = _examples(module, path)
    else:
        raise ConfigError(
            f"give the input as --input SHAPE or --data FILE (one of them), or define "
            f"{EXAMPLE}() in {path.name} returning the forward's arguments"
        )
    check_binds(model, args, kwargs)
    _run_once(model, args, kwargs)
    return model, args, kwargs


def seed_everything(seed: int) -> None:
    """torch, numpy and Python's `random` from one seed: the generators a forward may draw from."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _default_name(module: Any, path: Path) -> str:
    if callable(getattr(module, "model", None)):
        return "model"
    classes: list[str] = [
        n for n, v in vars(module).items()
        if inspect.isclass(v) and issubclass(v, nn.Module) and v.__module__ == module.__name__
    ]
    if len(classes) == 1:
        return classes[0]
    listed = ", ".join(classes) or "none"
    raise ConfigError(
        f"{path} defines {len(classes)} nn.Module classes ({listed}): name one as "
        f"{path.name}:NAME, or define model() returning the model"
    )


def _examples(module: Any, path: Path) -> tuple[tuple[Any, ...], dict[str, Any]]:
    try:
        value = getattr(module, EXAMPLE)()
    except Exception as exc:  # the user's code: say where, in one line
        raise ConfigError(f"{EXAMPLE}() in {path} raised {type(exc).__name__}: {exc}") from exc
    if isinstance(value, dict):
        return (), dict(value)
    if isinstance(value, tuple | list):
        return tuple(value), {}
    return (value,), {}


def read_named(path: Path) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """Positional and named tensors from .npy, .npz or .pt (weights_only: no code runs)."""
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix == ".npy":
        return (torch.from_numpy(np.load(path, allow_pickle=False)),), {}
    if suffix == ".npz":
        with np.load(path, allow_pickle=False) as arrays:
            named = {k: torch.from_numpy(arrays[k]) for k in arrays.files}
        if all(k.startswith("arr_") for k in named):  # np.savez(f, a, b): in order
            return tuple(named.values()), {}
        return (), named
    if suffix == ".pt":
        value = torch.load(path, weights_only=True)
        if isinstance(value, dict):
            if not all(isinstance(k, str) for k in value):
                raise DataError(f"{path}: a dict of inputs needs the forward's argument names")
            return (), dict(value)
        values = value if isinstance(value, tuple | list) else (value,)
        if not all(isinstance(v, torch.Tensor) for v in values):
            raise DataError(f"{path}: expected a tensor, a tuple of tensors or a dict of them")
        return tuple(values), {}
    raise DataError(f"{path}: --data reads .npy, .npz or .pt, not {suffix or 'no suffix'}")


def check_binds(model: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """The arguments bind to the forward's signature, or one line naming what is wrong."""
    try:
        signature = inspect.signature(model.forward)
    except (TypeError, ValueError):  # a builtin or C forward: let it speak for itself
        return
    try:
        signature.bind(*args, **kwargs)
    except TypeError:
        params = signature.parameters
        required = [p for p, v in params.items() if v.default is inspect.Parameter.empty
                    and v.kind in (v.POSITIONAL_ONLY, v.POSITIONAL_OR_KEYWORD, v.KEYWORD_ONLY)]
        given = set(list(params)[: len(args)]) | set(kwargs)
        missing = [p for p in required if p not in given]
        unknown = [k for k in kwargs if k not in params
                   and not any(v.kind == v.VAR_KEYWORD for v in params.values())]
        said = ([f"needs {', '.join(missing)}"] if missing else []) + (
            [f"takes no {', '.join(unknown)}"] if unknown else [])
        what = "; ".join(said) or f"takes {len(params)} arguments, not {len(args)}"
        raise ConfigError(
            f"{type(model).__name__}.forward{signature} {what}: define {EXAMPLE}() in the file "
            f"returning them, or give --data FILE.npz with arrays named "
            f"{', '.join(required) or 'as the forward names them'}"
        ) from None


@torch.no_grad()
def _run_once(model: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """The forward on these arguments, once: the user's own error as one line."""
    was_training = model.training
    model.eval()
    try:
        model(*args, **kwargs)
    except Exception as exc:
        raise ConfigError(
            f"{type(model).__name__}'s forward raised {type(exc).__name__} on these inputs: "
            + " ".join(str(exc).split())
        ) from exc
    finally:
        model.train(was_training)
