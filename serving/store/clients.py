"""The store's clients, by the shape store.redis_url names (serving/settings/store_address.py):
redis-py's client for keys, usage, audit and the cache, and what runs the two scripts every
request calls (admission and settlement)."""

from __future__ import annotations

import asyncio
import functools
import logging
from typing import Any

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import MasterNotFoundError, Sentinel
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

from serving.settings import StoreConfig
from serving.settings.store_address import StoreAddress
from serving.store.cluster_scripts import ClusterScripts
from serving.store.connection import CommandRunner, Store
from serving.store.pipelined import PipelinedRedis

log = logging.getLogger(__name__)


def connect_store(store: StoreConfig, *, socket_timeout: float = 1.0) -> Store:
    """redis-py's client for the store's address: one server, the primary Sentinel names (a
    new connection asks again; one to a demoted primary ends at its READONLY), or a cluster
    (routed by key slot, following MOVED/ASK and failovers). Without a URL, fakeredis."""
    address = store.address
    if address is None:
        import fakeredis  # the same Lua scripts, run in-process

        log.warning("no store.redis_url: keys, limits and usage are in-process (one instance only, lost on restart)")
        return fakeredis.FakeAsyncRedis()
    # One immediate retry on a dropped connection: after a Redis restart (or a failover) the
    # pool's old sockets are dead, and the first command on each would otherwise fail a request.
    timeouts: dict[str, Any] = {
        "socket_timeout": socket_timeout,
        "socket_connect_timeout": 1.0,
        "retry": Retry(NoBackoff(), 1),
    }
    if address.kind == "cluster":
        return BoundedCluster(
            startup_nodes=[ClusterNode(host, port) for host, port in address.nodes],
            username=address.username,
            password=address.password,
            ssl=address.tls,
            max_connections=store.max_connections,
            **address.tls_options,
            **timeouts,
        )
    if address.kind == "sentinel":
        primary: Redis = sentinel_of(address, socket_timeout).master_for(
            address.service,
            db=address.db,
            username=address.username,
            password=address.password,
            ssl=address.tls,
            max_connections=store.max_connections,
            retry_on_error=[RedisConnectionError],  # a demoted primary's READONLY reads as one
            **address.tls_options,
            **timeouts,
        )
        return primary
    # A blocking pool: a burst of more concurrent requests than connections waits a moment
    # for one (each command holds it ~0.1 ms) instead of failing; redis-py's default pool
    # raises MaxConnectionsError past 100.
    pool = BlockingConnectionPool.from_url(
        address.url,
        max_connections=store.max_connections,
        timeout=store.pool_timeout,
        retry_on_error=[RedisConnectionError],
        **timeouts,
    )
    return Redis.from_pool(pool)  # closing the client closes the pool


class BoundedCluster(RedisCluster):
    """redis-py's cluster client, waiting for a connection as the single-server pool does: its
    own pool raises MaxConnectionsError once max_connections calls are out to one node (a burst
    of admissions on one key's primary would be 503s). At most that many calls are out at once."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._calls = asyncio.Semaphore(kwargs["max_connections"])

    async def execute_command(self, *args: Any, **kwargs: Any) -> Any:
        async with self._calls:
            return await super().execute_command(*args, **kwargs)


def sentinel_of(address: StoreAddress, socket_timeout: float = 1.0) -> Sentinel:
    return Sentinel(
        list(address.nodes),
        sentinel_kwargs={"socket_timeout": socket_timeout, "socket_connect_timeout": 1.0, **address.sentinel_auth},
    )


def connect_script_runner(store: StoreConfig, redis: Store) -> CommandRunner:
    """What runs the scripts every request calls (admission, settlement): one auto-pipelined
    connection to Redis (to the primary the Sentinels name, followed through a failover), or
    one to each primary of a cluster (serving/store/cluster_scripts.py: routed by the keys'
    slot, with redis-py's cluster client for redirections and failovers), or, without a
    Redis, the in-process store itself."""
    address = store.address
    if address is None:
        return redis
    if address.kind == "cluster":
        assert isinstance(redis, RedisCluster)
        return ClusterScripts(redis, address)
    if address.kind == "sentinel":
        sentinel = sentinel_of(address)
        return PipelinedRedis(
            address.primary_url,
            locate=functools.partial(primary_of, sentinel, address.service),
            on_close=functools.partial(close_sentinel, sentinel),
            socket_timeout=1.0,
            connect_timeout=1.0,
        )
    return PipelinedRedis(address.url, socket_timeout=1.0, connect_timeout=1.0)


async def primary_of(sentinel: Sentinel, service: str) -> tuple[str, int]:
    """The primary's host and port as the Sentinels name it now."""
    try:
        host, port = await sentinel.discover_master(service)
    except MasterNotFoundError as exc:
        raise RedisConnectionError(f"No Sentinel names a primary for {service!r}: {exc}") from exc
    return host, int(port)


async def close_sentinel(sentinel: Sentinel) -> None:
    await asyncio.gather(*(client.aclose() for client in sentinel.sentinels), return_exceptions=True)
