"""Records to and from their JSON form: `dataclasses.asdict` output back into nested dataclasses."""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any, TypeVar, Union

Nested = Any  # nested lists of floats: a few real values sampled from a tensor


T = TypeVar("T")


def from_dict(cls: type[T], raw: Any) -> T:
    """Rebuild a dataclass (and the dataclasses nested in it) from `dataclasses.asdict` output."""
    return typing.cast(T, _convert(cls, raw))


def _convert(tp: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        options = [a for a in typing.get_args(tp) if a is not type(None)]
        return _convert(options[0], value) if len(options) == 1 else value
    if origin is list:
        (item,) = typing.get_args(tp) or (Any,)
        return [_convert(item, v) for v in value]
    if origin is dict:
        _, item = typing.get_args(tp) or (Any, Any)
        return {k: _convert(item, v) for k, v in value.items()}
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        hints = typing.get_type_hints(tp)
        names = {f.name for f in dataclasses.fields(tp)}
        return tp(**{k: _convert(hints[k], v) for k, v in value.items() if k in names})
    return value
