"""AccessControl against a real redis-server: auth, exact limits, settlement, quota, failures."""

from __future__ import annotations

import asyncio
import time

import pytest
from redis.asyncio import Redis

from serving.errors import InvalidAPIKey, ModelNotFound
from serving.keys import KeyRecord, KeyStore, hash_key
from serving.metrics import Metrics
from serving.ratelimit import AccessControl, RateLimited, StoreUnavailable, duration
from serving.services import connect_store
from serving.settings import StoreConfig
from tests.conftest import RedisServer


async def make_key(redis: Redis, **limits: object) -> tuple[str, KeyRecord]:
    record, secret = await KeyStore(redis).create(KeyRecord(id="key_test", name="t", **limits))  # type: ignore[arg-type]
    return hash_key(secret), record


async def outcomes(access: AccessControl, key_hash: str, count: int, estimate: int) -> list[str]:
    async def one() -> str:
        grant = await access.admit(key_hash, "medgemma", estimate)
        return "ok" if grant.refusal is None else str(grant.refusal.type)

    return await asyncio.gather(*(one() for _ in range(count)))


async def test_request_limit_is_exact_under_concurrency(redis_server: RedisServer) -> None:
    redis = Redis.from_url(redis_server.url)
    key_hash, _ = await make_key(redis, rpm=50)
    # Separate clients, as separate façade instances would have.
    controls = [AccessControl(Redis.from_url(redis_server.url), metrics=Metrics()) for _ in range(4)]
    results = await asyncio.gather(*(outcomes(c, key_hash, 50, 1) for c in controls))
    flat = [r for batch in results for r in batch]
    assert flat.count("ok") == 50 and flat.count("requests") == 150


async def test_a_burst_beyond_the_connection_pool_waits_for_a_connection(redis_server: RedisServer) -> None:
    # redis-py's default pool raises MaxConnectionsError past 100 concurrent commands: a burst
    # of 400 requests failed with 503 (store unavailable) before the pool was a blocking one.
    redis = connect_store(StoreConfig(redis_url=redis_server.url, max_connections=16))
    key_hash, _ = await make_key(redis, rpm=10**6)
    access = AccessControl(redis, metrics=Metrics())
    results = await outcomes(access, key_hash, 400, 1)
    assert results.count("ok") == 400
    clients = await Redis.from_url(redis_server.url).client_list()
    assert len(clients) <= 16 + 2  # the pool's connections, this check's and make_key's
    await redis.aclose()


async def test_token_limit_is_exact_and_settlement_gives_back(redis_server: RedisServer) -> None:
    redis = Redis.from_url(redis_server.url)
    key_hash, _ = await make_key(redis, tpm=1000)
    access = AccessControl(redis, metrics=Metrics())
    results = await outcomes(access, key_hash, 30, 100)
    assert results.count("ok") == 10 and results.count("tokens") == 20

    key_hash2, _ = await make_key(redis, tpm=1000)  # a fresh key for settlement
    grant = await access.admit(key_hash2, "medgemma", 600)
    assert grant.headers["x-ratelimit-remaining-tokens"] == "400"
    with pytest.raises(RateLimited):
        (await access.admit(key_hash2, "medgemma", 600)).raise_if_refused()
    await access.settle(grant, alias="medgemma", prompt=50, completion=50, failed=False)  # used 100, not 600
    second = await access.admit(key_hash2, "medgemma", 600)
    assert second.headers["x-ratelimit-remaining-tokens"] == "300"


async def test_rate_limit_error_carries_openai_headers(redis_server: RedisServer) -> None:
    redis = Redis.from_url(redis_server.url)
    key_hash, _ = await make_key(redis, rpm=1, tpm=500)
    access = AccessControl(redis, metrics=Metrics())
    await access.admit(key_hash, "medgemma", 10)
    with pytest.raises(RateLimited) as caught:
        (await access.admit(key_hash, "medgemma", 10)).raise_if_refused()
    error = caught.value
    assert error.status == 429 and error.type == "requests" and error.code == "rate_limit_exceeded"
    assert 1 <= int(error.headers["retry-after"]) <= 60
    assert error.headers["x-ratelimit-limit-requests"] == "1"
    assert error.headers["x-ratelimit-remaining-requests"] == "0"
    assert error.headers["x-ratelimit-limit-tokens"] == "500"
    assert error.headers["x-ratelimit-reset-requests"].endswith("s")


async def test_too_large_and_daily_quota_say_do_not_retry(redis_server: RedisServer) -> None:
    redis = Redis.from_url(redis_server.url)
    key_hash, _ = await make_key(redis, tpm=100, daily_tokens=150)
    access = AccessControl(redis, metrics=Metrics())
    with pytest.raises(RateLimited) as too_large:
        (await access.admit(key_hash, "medgemma", 101)).raise_if_refused()
    assert too_large.value.headers["x-should-retry"] == "false"
    grant = await access.admit(key_hash, "medgemma", 80)
    await access.settle(grant, alias="medgemma", prompt=100, completion=60, failed=False)  # 160 >= 150 used
    with pytest.raises(RateLimited) as quota:
        (await access.admit(key_hash, "medgemma", 1)).raise_if_refused()
    assert quota.value.code == "insufficient_quota" and quota.value.headers["x-should-retry"] == "false"


async def test_unknown_revoked_expired_and_forbidden_keys(redis_server: RedisServer) -> None:
    redis = Redis.from_url(redis_server.url)
    store = KeyStore(redis)
    access = AccessControl(redis, metrics=Metrics())
    with pytest.raises(InvalidAPIKey):
        await access.admit(hash_key("sk-nobody"), "medgemma", 1)
    _, secret = await store.create(KeyRecord(id="key_a", name="a", models=["medgemma"]))
    assert (await access.admit(hash_key(secret), "medgemma", 1)).key_id == "key_a"
    with pytest.raises(ModelNotFound):
        await access.admit(hash_key(secret), "gpt-5", 1)
    await store.revoke("key_a")
    with pytest.raises(InvalidAPIKey, match="disabled"):
        await access.admit(hash_key(secret), "medgemma", 1)
    _, old = await store.create(KeyRecord(id="key_b", name="b", expires_at=int(time.time()) - 1))
    with pytest.raises(InvalidAPIKey, match="expired"):
        await access.admit(hash_key(old), "medgemma", 1)


async def test_usage_aggregates_count_failures_too(redis_server: RedisServer) -> None:
    redis = Redis.from_url(redis_server.url)
    key_hash, _ = await make_key(redis)
    access = AccessControl(redis, metrics=Metrics())
    for failed in (False, True):
        grant = await access.admit(key_hash, "medgemma", 10)
        await access.settle(grant, alias="medgemma", prompt=7, completion=3, failed=failed)
    keys = [k.decode() for k in await redis.keys("pc:*usage*")]
    assert len(keys) == 1
    usage = {k.decode(): int(v) for k, v in (await redis.hgetall(keys[0])).items()}
    assert usage == {
        "medgemma:requests": 2,
        "medgemma:prompt_tokens": 14,
        "medgemma:completion_tokens": 6,
        "medgemma:errors": 1,
    }


async def test_redis_down_fails_closed_or_open_by_policy(redis_server: RedisServer) -> None:
    key_hash, _ = await make_key(Redis.from_url(redis_server.url))
    closed = AccessControl(
        Redis.from_url(redis_server.url, socket_timeout=0.5), metrics=Metrics(), failure_policy="closed"
    )
    opened = AccessControl(
        Redis.from_url(redis_server.url, socket_timeout=0.5), metrics=Metrics(), failure_policy="open"
    )
    redis_server.stop()
    with pytest.raises(StoreUnavailable) as caught:
        await closed.admit(key_hash, "medgemma", 1)
    assert caught.value.status == 503 and caught.value.headers["retry-after"] == "1"
    assert not closed.healthy
    grant = await opened.admit(key_hash, "medgemma", 1)
    assert grant.key_id == "unverified"
    await opened.settle(grant, alias="medgemma", prompt=5, completion=7, failed=False)  # deferred, not lost

    redis_server.start()  # same port, empty: the key is gone, but the store answers again
    with pytest.raises(InvalidAPIKey):
        await closed.admit(key_hash, "medgemma", 1)
    assert closed.healthy
    with pytest.raises(InvalidAPIKey):
        await opened.admit(key_hash, "medgemma", 1)  # recovery replays the backlog
    await opened.drain()
    usage_keys = await Redis.from_url(redis_server.url).keys(f"pc:{{{key_hash}}}:usage:*")
    assert len(usage_keys) == 1
    usage = await Redis.from_url(redis_server.url).hgetall(usage_keys[0])
    assert usage[b"medgemma:prompt_tokens"] == b"5" and usage[b"medgemma:completion_tokens"] == b"7"


def test_reset_durations_match_openai_format() -> None:
    assert duration(12) == "12ms"
    assert duration(1000) == "1s"
    assert duration(6500) == "6.5s"
    assert duration(360_000) == "6m0s"
