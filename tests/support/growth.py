"""Linear-time checks that assert growth, not speed: the work on four times the input, over the
work on the input, each the best of three runs (the least disturbed by a busy machine)."""

from __future__ import annotations

import time
from collections.abc import Callable

# Linear is about 4; quadratic about 16. Between them, room for a noisy machine.
LINEAR_BOUND = 8.0
# A ratio over the bound is measured again, up to this many times in all, and the least kept: a
# busy moment on a shared CI machine passes; quadratic work is over the bound every time.
ATTEMPTS = 3


def best_of_three(work: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - started)
    return best


def growth(run: Callable[[str], object], small: str, large: str) -> float:
    """How many times longer `run` takes on `large` than on `small`."""
    least = float("inf")
    for _ in range(ATTEMPTS):
        least = min(least, best_of_three(lambda: run(large)) / best_of_three(lambda: run(small)))
        if least < LINEAR_BOUND:
            break
    return least
