"""Store clients for the access and store tests: each runs against a real redis-server and against the
embedded store (fakeredis running the same Lua), so the two never drift apart."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import fakeredis
import pytest
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
