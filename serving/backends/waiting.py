"""A backend's admission queue: requests waiting for an endpoint under its in-flight cap, in
priority order (0 interactive first), first come first served within a class, each for at most
its deadline. A wake-up makes every waiter look again in queue order, so none is lost to a
waiter that leaves, times out or can't use the endpoint that freed up."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from dataclasses import dataclass, field


@dataclass(order=True)
class _Waiter:
    priority: int
    order: int
    future: asyncio.Future[None] = field(compare=False)


class WaitQueue:
    def __init__(self) -> None:
        self._waiters: list[_Waiter] = []
        self._order = itertools.count()

    def __len__(self) -> int:
        return len(self._waiters)

    def ahead_of(self, priority: int) -> bool:
        """Whether a waiter of the same or a higher class is queued (it goes first: a newcomer
        does not take the slot a woken waiter is about to claim)."""
        return bool(self._waiters) and self._waiters[0].priority <= priority

    def place(self) -> int:
        """A newcomer's place, kept when it is woken for nothing: first come, first served."""
        return next(self._order)

    async def wait(self, priority: int, place: int, deadline: float, *, look_again: bool) -> None:
        """Until woken; TimeoutError past the deadline (monotonic). look_again: a slot may be
        free that the waiters ahead can't use, so all look again in queue order, this one too."""
        waiter = _Waiter(priority, place, asyncio.get_running_loop().create_future())
        heapq.heappush(self._waiters, waiter)
        if look_again:
            self.wake()
        try:
            async with asyncio.timeout(max(0.0, deadline - time.monotonic())):
                await waiter.future
        finally:
            if waiter in self._waiters:
                self._waiters.remove(waiter)
                heapq.heapify(self._waiters)

    def wake(self) -> None:
        """Every waiter looks again, in queue order."""
        for waiter in sorted(self._waiters):
            if not waiter.future.done():
                waiter.future.set_result(None)
