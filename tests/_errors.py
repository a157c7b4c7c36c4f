"""Assertions shared by the reader tests."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from rnntrace.errors import DataError


def expect_error(call: Callable[[], object], *fragments: str) -> str:
    """The DataError's message: one line holding every fragment."""
    with pytest.raises(DataError) as info:
        call()
    message = str(info.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, message
    return message
