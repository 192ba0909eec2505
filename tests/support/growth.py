"""Linear-time checks that assert growth, not speed: the work on four times the input, over the
work on the input, each the best of three runs (the least disturbed by a busy machine)."""

from __future__ import annotations

import time
from collections.abc import Callable

# Linear is about 4; quadratic about 16. Between them, room for a noisy machine.
LINEAR_BOUND = 8.0


def best_of_three(work: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - started)
    return best


def growth(run: Callable[[str], object], small: str, large: str) -> float:
    """How many times longer `run` takes on `large` than on `small`."""
    return best_of_three(lambda: run(large)) / best_of_three(lambda: run(small))
