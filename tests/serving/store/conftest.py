"""The pipelined connection's tests run on both event loops."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
import uvloop


def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> dict[str, Callable[[], asyncio.AbstractEventLoop]]:
    """The pipelined connection's tests run on both loops: the façade serves on uvloop, whose
    transports behave differently (a write on a closed one raises); the rest on asyncio's."""
    if item.path.name == "test_pipelined.py":
        return {"asyncio": asyncio.new_event_loop, "uvloop": uvloop.new_event_loop}
    return {"asyncio": asyncio.new_event_loop}
