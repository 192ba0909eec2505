"""The shared test helpers themselves."""

from __future__ import annotations

import itertools

import pytest

from tests.support.wait import eventually


def test_eventually_returns_the_first_accepted_value() -> None:
    counter = itertools.count()
    assert eventually(lambda: next(counter), lambda n: n >= 3) == 3


def test_eventually_fails_with_the_last_value() -> None:
    with pytest.raises(AssertionError, match="last value: 0"):
        eventually(lambda: 0, timeout=0.2)
