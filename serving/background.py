"""Background tasks that stop within a bound: a loop asked to stop through an event it checks,
then cancelled, and cancelled again while it lives (a library call may swallow one cancel and
return normally: redis-py 8.2's ping did, and a stop that relied on it waited forever). A task
that outlives the bound is logged and left: shutdown goes on to drain usage and flush audit."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

STOP_TIMEOUT_SECONDS = 5.0
_RECANCEL_SECONDS = 0.05


async def stop_task(
    task: asyncio.Task[None] | None, *, name: str, grace: float = 0.0, timeout: float = STOP_TIMEOUT_SECONDS
) -> bool:
    """End `task`: let it finish on its own for `grace` seconds (a flush that must not be cut
    short), then cancel it until it ends or `timeout` more seconds pass. True when it ended."""
    if task is None or task.done():
        return True
    if grace > 0:
        await asyncio.wait({task}, timeout=grace)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not task.done():
        remaining = deadline - loop.time()
        if remaining <= 0:
            log.error("background task did not stop; shutdown goes on without it", extra={"task": name})
            return False
        task.cancel()
        await asyncio.wait({task}, timeout=min(_RECANCEL_SECONDS, remaining))
    if not task.cancelled() and task.exception() is not None:
        log.error("background task failed", extra={"task": name, "error_type": type(task.exception()).__name__})
    return True


class Periodic:
    """`step` every `interval` seconds (first at once when `immediately`) until stopped; a
    failing step is logged and the loop goes on."""

    def __init__(
        self, step: Callable[[], Awaitable[None]], *, interval: float, name: str, immediately: bool = False
    ) -> None:
        self._step = step
        self._interval = interval
        self._name = name
        self._immediately = immediately
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._stopping.clear()
        self._task = asyncio.create_task(self._run(), name=self._name)

    async def stop(self, timeout: float = STOP_TIMEOUT_SECONDS) -> bool:
        self._stopping.set()
        task, self._task = self._task, None
        return await stop_task(task, name=self._name, timeout=timeout)

    async def _run(self) -> None:
        if not self._immediately:
            await self._pause()
        while not self._stopping.is_set():
            try:
                await self._step()
            except Exception as exc:  # one failed step must never end the loop
                log.exception("background step failed", extra={"task": self._name, "error_type": type(exc).__name__})
            await self._pause()

    async def _pause(self) -> None:
        """The interval, or less when asked to stop."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), self._interval)
