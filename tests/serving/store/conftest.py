"""The pipelined connection's tests run on both event loops; a module's Redis Cluster."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator

import pytest
import uvloop

from loadtests.devstack.redis_topologies import RedisClusterGroup


def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> dict[str, Callable[[], asyncio.AbstractEventLoop]]:
    """The pipelined connection's tests run on both loops: the façade serves on uvloop, whose
    transports behave differently (a write on a closed one raises); the rest on asyncio's."""
    if item.path.name == "test_pipelined.py":
        return {"asyncio": asyncio.new_event_loop, "uvloop": uvloop.new_event_loop}
    return {"asyncio": asyncio.new_event_loop}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisClusterGroup]:
    """A 3-primary Redis Cluster (each primary with a replica) for one test module."""
    with RedisClusterGroup(tmp_path_factory.mktemp("cluster"), primaries=3) as group:
        yield group
