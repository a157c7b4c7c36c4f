"""Old public names kept for one release: each warns once, then behaves as its new name."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from typing import Any

_warned: set[str] = set()  # old names already announced in this process


def warn_renamed(old: str, new: str) -> None:
    """Say once per process that `old` is now `new` (DeprecationWarning, at the caller's line)."""
    if old in _warned:
        return
    _warned.add(old)
    warnings.warn(
        f"{old} is renamed {new}; the old name will be removed in the next release",
        DeprecationWarning,
        stacklevel=3,
    )


def renamed_getattr(
    module: str, renamed: Mapping[str, str], namespace: Mapping[str, Any]
) -> Callable[[str], Any]:
    """A module `__getattr__` serving each old name in `renamed` as its new one, warning once."""

    def __getattr__(name: str) -> Any:
        if name in renamed:
            new = renamed[name]
            warn_renamed(f"{module}.{name}", f"{module}.{new}")
            return namespace[new]
        raise AttributeError(f"module {module!r} has no attribute {name!r}")

    return __getattr__
