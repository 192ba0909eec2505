"""The store connection (a bounded, blocking pool), its key naming, and the Lua runner."""

from __future__ import annotations

from redis.asyncio import Redis

from serving.access.admission import Admission
from serving.observability.metrics import Metrics
from serving.settings import StoreConfig
from serving.store.clients import connect_store
from serving.store.connection import LuaScript, key_for
from tests.conftest import RedisServer
from tests.support.keys import Connect, admit_many, make_key


async def test_a_burst_beyond_the_connection_pool_waits_for_a_connection(redis_server: RedisServer) -> None:
    # redis-py's default pool raises MaxConnectionsError past 100 concurrent commands: a burst
    # of 400 requests failed with 503 (store unavailable) before the pool was a blocking one.
    redis = connect_store(StoreConfig(redis_url=redis_server.url, max_connections=16))
    key_hash, _ = await make_key(redis, rpm=10**6)
    admission = Admission(redis, metrics=Metrics())
    results = await admit_many(admission, key_hash, 400, 1)
    assert results.count("ok") == 400
    clients = await Redis.from_url(redis_server.url).client_list()
    assert len(clients) <= 16 + 2  # the pool's connections, this check's and make_key's
    await redis.aclose()


def test_every_key_of_one_api_key_shares_its_hash_tag() -> None:
    assert key_for("abc", "rpm") == "pc:{abc}:rpm"
    assert key_for("abc", "day:20261129") == "pc:{abc}:day:20261129"


async def test_a_script_runs_again_after_the_store_lost_its_cache(connect: Connect) -> None:
    redis = connect()
    script = LuaScript("return tonumber(ARGV[1]) + 1")
    assert await script.run(redis, [], [41]) == 42  # EVALSHA misses, EVAL loads it
    assert await script.run(redis, [], [1]) == 2  # EVALSHA hits
    await redis.script_flush()  # a Redis restart empties the script cache
    assert await script.run(redis, [], [2]) == 3
