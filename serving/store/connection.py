"""The store behind keys, limits and usage: a Redis connection (or fakeredis in-process), the
one naming scheme of its keys, and the Lua scripts run in it."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Any, Protocol

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError

from serving.settings import StoreConfig
from serving.store.pipelined import PipelinedRedis

log = logging.getLogger(__name__)

KEY_INDEX = "pc:keys"  # hash: key id -> secret hash


def key_for(key_hash: str, suffix: str) -> str:
    """pc:{hash}:suffix. Every key of one API key shares the hash tag: cluster-safe scripts."""
    return f"pc:{{{key_hash}}}:{suffix}"


def connect_store(store: StoreConfig) -> Redis:
    if store.redis_url:
        # A blocking pool: a burst of more concurrent requests than connections waits a moment
        # for one (each command holds it ~0.1 ms) instead of failing; redis-py's default pool
        # raises MaxConnectionsError past 100. One immediate retry on a dropped connection:
        # after a Redis restart the pool's old sockets are dead, and the first command on each
        # would otherwise fail a request.
        pool = BlockingConnectionPool.from_url(
            store.redis_url,
            max_connections=store.max_connections,
            timeout=store.pool_timeout,
            socket_timeout=1.0,
            socket_connect_timeout=1.0,
            retry=Retry(NoBackoff(), 1),
            retry_on_error=[RedisConnectionError],
        )
        return Redis.from_pool(pool)  # closing the client closes the pool
    import fakeredis  # the same Lua scripts, run in-process

    log.warning("no store.redis_url: keys, limits and usage are in-process (one instance only, lost on restart)")
    return fakeredis.FakeAsyncRedis()


class CommandRunner(Protocol):
    """What runs a script: redis-py's client, fakeredis, or the pipelined connection."""

    async def execute_command(self, *args: Any) -> Any: ...

    async def aclose(self) -> None: ...


def connect_script_runner(store: StoreConfig, redis: Redis) -> CommandRunner:
    """What runs the scripts every request calls (admission, settlement): one auto-pipelined
    connection to Redis, or, without a Redis, the in-process store itself."""
    if store.redis_url:
        return PipelinedRedis(store.redis_url, socket_timeout=1.0, connect_timeout=1.0)
    return redis


def decode(raw: dict[Any, Any]) -> dict[str, str]:
    return {
        (k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v) for k, v in raw.items()
    }


class LuaScript:
    """EVALSHA, falling back to EVAL when Redis lost its script cache (a restart).

    Hand-written rather than redis-py's Script: on the hot path its wrapper cost ~15% of the
    CPU of each call, and this is the one Redis call every request makes."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.sha = hashlib.sha1(source.encode()).hexdigest()

    @classmethod
    def named(cls, name: str, **fields: tuple[str, ...]) -> LuaScript:
        """A script shipped beside this module (package data). `fields`: each `{{NAME}}` in the
        source becomes those field names as a Lua list's items ('a', 'b'), fixed at load."""
        source = (Path(__file__).parent / name).read_text()
        for placeholder, names in fields.items():
            source = source.replace("{{" + placeholder + "}}", ", ".join(f"'{field}'" for field in names))
        return cls(source)

    async def run(self, redis: CommandRunner, keys: list[str], args: list[str | int]) -> Any:
        try:
            return await redis.execute_command("EVALSHA", self.sha, len(keys), *keys, *args)
        except NoScriptError:
            return await redis.execute_command("EVAL", self.source, len(keys), *keys, *args)
