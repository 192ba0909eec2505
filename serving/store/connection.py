"""The store behind keys, limits and usage: a Redis connection (one server, a Sentinel-watched
primary or a cluster; fakeredis in-process without one), the one naming scheme of its keys,
and the Lua scripts run in it."""

from __future__ import annotations

import functools
import hashlib
import logging
from pathlib import Path
from typing import Any, Protocol

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import MasterNotFoundError, Sentinel
from redis.backoff import NoBackoff
from redis.exceptions import (
    ClusterDownError,
    NoScriptError,
    ReadOnlyError,
    RedisClusterException,
    RedisError,
    ResponseError,
    TryAgainError,
)
from redis.exceptions import ConnectionError as RedisConnectionError

from serving.settings import StoreConfig
from serving.settings.store_address import StoreAddress, parse_store_url
from serving.store.pipelined import PipelinedRedis

Store = Redis | RedisCluster  # what the services call the store (fakeredis is a Redis)

log = logging.getLogger(__name__)

KEY_INDEX = "pc:keys"  # hash: key id -> secret hash


def key_for(key_hash: str, suffix: str) -> str:
    """pc:{hash}:suffix. Every key of one API key shares the hash tag: cluster-safe scripts."""
    return f"pc:{{{key_hash}}}:{suffix}"


# What a store call can raise: redis-py's errors, and its cluster client's own (a slot no node
# covers, no seed node reachable) that are not RedisError.
STORE_ERRORS: tuple[type[Exception], ...] = (RedisError, RedisClusterException)
# Error replies that mean "not now" rather than "no": a failover under way (a demoted or
# replica-less primary, a cluster slot without its primary), or a Redis still loading.
_PASSING_REPLIES = frozenset({"READONLY", "NOREPLICAS", "MASTERDOWN", "CLUSTERDOWN", "TRYAGAIN", "LOADING"})


def passing(exc: Exception) -> bool:
    """Whether a store error may go away by itself (retry later), not a refusal of the command."""
    if not isinstance(exc, ResponseError):
        return True  # the connection, a timeout, no node for the slot
    if isinstance(exc, (ClusterDownError, TryAgainError, ReadOnlyError)):
        return True
    return getattr(exc, "status_code", None) in _PASSING_REPLIES


def connect_store(store: StoreConfig, *, socket_timeout: float = 1.0) -> Store:
    """redis-py's client for the store's address: one server, the primary Sentinel names (a
    failover makes the next connection ask again), or a cluster (routed by key slot, following
    MOVED/ASK and failovers). Without a URL, fakeredis in-process."""
    if not store.redis_url:
        import fakeredis  # the same Lua scripts, run in-process

        log.warning("no store.redis_url: keys, limits and usage are in-process (one instance only, lost on restart)")
        return fakeredis.FakeAsyncRedis()
    address = parse_store_url(store.redis_url)
    # One immediate retry on a dropped connection: after a Redis restart (or a failover) the
    # pool's old sockets are dead, and the first command on each would otherwise fail a request.
    timeouts: dict[str, Any] = {
        "socket_timeout": socket_timeout,
        "socket_connect_timeout": 1.0,
        "retry": Retry(NoBackoff(), 1),
    }
    if address.kind == "cluster":
        return RedisCluster(
            startup_nodes=[ClusterNode(host, port) for host, port in address.nodes],
            username=address.username,
            password=address.password,
            ssl=address.tls,
            max_connections=store.max_connections,
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
            **timeouts,
        )
        return primary
    # A blocking pool: a burst of more concurrent requests than connections waits a moment
    # for one (each command holds it ~0.1 ms) instead of failing; redis-py's default pool
    # raises MaxConnectionsError past 100.
    pool = BlockingConnectionPool.from_url(
        store.redis_url,
        max_connections=store.max_connections,
        timeout=store.pool_timeout,
        retry_on_error=[RedisConnectionError],
        **timeouts,
    )
    return Redis.from_pool(pool)  # closing the client closes the pool


def sentinel_of(address: StoreAddress, socket_timeout: float = 1.0) -> Sentinel:
    return Sentinel(
        list(address.nodes),
        sentinel_kwargs={"socket_timeout": socket_timeout, "socket_connect_timeout": 1.0, **address.sentinel_auth},
    )


class CommandRunner(Protocol):
    """What runs a script: redis-py's client, fakeredis, or the pipelined connection."""

    async def execute_command(self, *args: Any) -> Any: ...

    async def aclose(self) -> None: ...


def connect_script_runner(store: StoreConfig, redis: Store) -> CommandRunner:
    """What runs the scripts every request calls (admission, settlement): one auto-pipelined
    connection to Redis (to the primary Sentinel names, asked again after a failover), or
    redis-py's cluster client for a cluster (it routes each script by its keys' slot and
    follows the topology; loadtests/redis_client_cost.py measures what that costs), or,
    without a Redis, the in-process store itself."""
    if not store.redis_url:
        return redis
    address = parse_store_url(store.redis_url)
    if address.kind == "cluster":
        return _SharedClient(redis)
    if address.kind == "sentinel":
        sentinel = sentinel_of(address)
        return PipelinedRedis(
            address.primary_url,
            locate=functools.partial(primary_of, sentinel, address.service),
            socket_timeout=1.0,
            connect_timeout=1.0,
        )
    return PipelinedRedis(store.redis_url, socket_timeout=1.0, connect_timeout=1.0)


async def primary_of(sentinel: Sentinel, service: str) -> tuple[str, int]:
    """The primary's host and port as the Sentinels name it now."""
    try:
        host, port = await sentinel.discover_master(service)
    except MasterNotFoundError as exc:
        raise RedisConnectionError(f"No Sentinel names a primary for {service!r}: {exc}") from exc
    return host, int(port)


class _SharedClient:
    """The cluster client runs the scripts too; the services close it once, as the store."""

    def __init__(self, client: Store) -> None:
        self.execute_command = client.execute_command

    async def aclose(self) -> None:
        return None


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
