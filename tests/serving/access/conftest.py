"""Store clients for the access tests: each runs against a real redis-server and against the
embedded store (fakeredis running the same Lua), so the two never drift apart."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path

import fakeredis
import pytest
import uvloop
from redis.asyncio import Redis

from tests.support.keys import Connect
from tests.support.stack import redis_running


@pytest.fixture(params=["redis", "embedded"])
def connect(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Connect]:
    """A factory of clients of one store; several clients stand for several façade instances."""
    if request.param == "redis":
        with redis_running(tmp_path) as server:
            yield lambda: Redis.from_url(server.url)
    else:
        shared = fakeredis.FakeServer()
        yield lambda: fakeredis.FakeAsyncRedis(server=shared)


def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> dict[str, Callable[[], asyncio.AbstractEventLoop]]:
    """The pipelined connection's tests run on both loops: the façade serves on uvloop, whose
    transports behave differently (a write on a closed one raises); the rest on asyncio's."""
    if item.path.name == "test_pipelined.py":
        return {"asyncio": asyncio.new_event_loop, "uvloop": uvloop.new_event_loop}
    return {"asyncio": asyncio.new_event_loop}
