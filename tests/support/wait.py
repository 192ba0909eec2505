"""Waiting for an asynchronous effect by polling, never by a fixed sleep: fast when the machine
is fast, patient when a busy CI machine is slow."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


def eventually(probe: Callable[[], T], accept: Callable[[T], bool] = bool, *, timeout: float = 10.0) -> T:
    """Call probe until accept(its result); return that result, or fail with the last one seen."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if accept(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached within {timeout} s; last value: {value!r}")
        time.sleep(0.05)


async def eventually_async(
    probe: Callable[[], Awaitable[T]], accept: Callable[[T], bool] = bool, *, timeout: float = 10.0
) -> T:
    """eventually() for a probe that runs in the event loop (an in-process app)."""
    deadline = time.monotonic() + timeout
    while True:
        value = await probe()
        if accept(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached within {timeout} s; last value: {value!r}")
        await asyncio.sleep(0.02)
