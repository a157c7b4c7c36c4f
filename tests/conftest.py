"""Shared fixtures: small seeded data and models, built fresh for each test."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    # Tests run small models; one thread avoids OpenMP stalls on the shared 2-core machine.
    torch.set_num_threads(1)
