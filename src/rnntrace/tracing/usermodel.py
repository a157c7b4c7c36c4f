"""A model that a user's own .py file defines, and an input for it, for `rnntrace trace`.

Loading FILE.py runs it, exactly as `python FILE.py` would import it: this is the user's own code,
run at their request (the command's help says so). Nothing else is executed.
"""

from __future__ import annotations

import importlib.util
import inspect
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from rnntrace.errors import ConfigError, DataError


def load_model(spec: str) -> nn.Module:
    """`FILE.py:NAME` → the module NAME is, builds (a class, no required arguments) or returns."""
    path_text, sep, name = spec.rpartition(":")
    if not sep or not path_text or not name:
        raise ConfigError(f"expected FILE.py:NAME, e.g. model.py:Net, got {spec!r}")
    path = Path(path_text)
    return pick_model(load_file(path), name, path)


def load_file(path: Path) -> Any:
    """The Python module FILE.py is, run as `python FILE.py` would import it."""
    if not path.is_file():
        raise ConfigError(f"{path}: no such file")
    module_name = f"rnntrace_user_{path.stem}"
    loader_spec = importlib.util.spec_from_file_location(module_name, path)
    if loader_spec is None or loader_spec.loader is None:
        raise ConfigError(f"{path}: not a Python file")
    module = importlib.util.module_from_spec(loader_spec)
    sys.modules[module_name] = module  # dataclasses and pickling look the module up by name
    try:
        loader_spec.loader.exec_module(module)
    except Exception as exc:  # the user's code failed: say where, in one line
        del sys.modules[module_name]
        raise ConfigError(f"{path} raised {type(exc).__name__} while loading: {exc}") from exc
    return module


def pick_model(module: Any, name: str, path: Path) -> nn.Module:
    """The nn.Module that `name` in a loaded file is, builds or returns."""
    module_name = module.__name__
    if not hasattr(module, name):
        defined = sorted(
            n for n, v in vars(module).items()
            if not n.startswith("_") and (inspect.isclass(v) or inspect.isfunction(v))
            and getattr(v, "__module__", "") == module_name
        )
        raise ConfigError(f"{path} defines no {name!r} (it defines: {', '.join(defined) or '-'})")
    target = getattr(module, name)
    if isinstance(target, nn.Module):
        model = target
    elif callable(target):
        try:
            model = target()
        except TypeError as exc:
            raise ConfigError(
                f"{name} needs arguments to build ({exc}); give a class whose arguments all "
                "have defaults, or a function of no arguments that returns the model"
            ) from exc
    else:
        raise ConfigError(f"{name} in {path} is of type {type(target).__name__}, not an nn.Module")
    if not isinstance(model, nn.Module):
        raise ConfigError(f"{name}() returned a {type(model).__name__}, not an nn.Module")
    # Whether it holds a recurrence is for rt.trace to say: a loop of nn.Linear shows only
    # when the forward runs.
    return model


def random_input(model: nn.Module, shape_text: str, seed: int = 0) -> torch.Tensor:
    """A seeded input of the given shape: token ids when the model starts with an Embedding."""
    try:
        shape = [int(part) for part in shape_text.split(",")]
    except ValueError:
        raise ConfigError(
            f"--input must be sizes separated by commas, e.g. 4,7,5, got {shape_text!r}"
        ) from None
    if not shape or any(d < 1 for d in shape):
        raise ConfigError(f"--input sizes must be positive, got {shape_text!r}")
    generator = torch.Generator().manual_seed(seed)
    first = next((m for m in model.modules() if not list(m.children())), None)
    if isinstance(first, nn.Embedding):
        return torch.randint(0, first.num_embeddings, shape, generator=generator)
    return torch.randn(shape, generator=generator)


def read_input(path: Path) -> tuple[Any, ...]:
    """The model's inputs from a .npy, .npz (arrays in order) or .pt file (tensor or tuple)."""
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix == ".npy":
        return (torch.from_numpy(np.load(path, allow_pickle=False)),)
    if suffix == ".npz":
        with np.load(path, allow_pickle=False) as arrays:
            return tuple(torch.from_numpy(arrays[k]) for k in arrays.files)
    if suffix == ".pt":
        value = torch.load(path, weights_only=True)
        values = value if isinstance(value, tuple | list) else (value,)
        if not all(isinstance(v, torch.Tensor) for v in values):
            raise DataError(f"{path}: expected a tensor or a tuple of tensors")
        return tuple(values)
    raise DataError(f"{path}: --data reads .npy, .npz or .pt, not {suffix or 'no suffix'}")
