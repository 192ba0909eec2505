"""Shared fixtures: a real redis-server on a free port, private to the test that asks for it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from serving.devstack.redis_server import RedisServer
from tests.support.stack import redis_running

__all__ = ["RedisServer", "redis_server"]


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    with redis_running(tmp_path) as server:
        yield server
