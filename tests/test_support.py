"""The shared test helpers themselves."""

from __future__ import annotations

import itertools
import time

import pytest

from tests.support.growth import LINEAR_BOUND, growth
from tests.support.wait import eventually


def test_eventually_returns_the_first_accepted_value() -> None:
    counter = itertools.count()
    assert eventually(lambda: next(counter), lambda n: n >= 3) == 3


def test_eventually_fails_with_the_last_value() -> None:
    with pytest.raises(AssertionError, match="last value: 0"):
        eventually(lambda: 0, timeout=0.2)


def test_growth_measures_again_past_a_busy_moment() -> None:
    calls = itertools.count()

    def run(text: str) -> None:
        # The first three runs on the large text are disturbed: thirty times slower.
        busy = len(text) > 1 and next(calls) < 3
        time.sleep(len(text) * (0.03 if busy else 0.001))

    assert growth(run, "x", "xxxx") < LINEAR_BOUND


def test_growth_reports_quadratic_work_every_time() -> None:
    assert growth(lambda text: time.sleep(len(text) ** 2 * 0.0005), "xx", "xxxxxxxx") > LINEAR_BOUND
