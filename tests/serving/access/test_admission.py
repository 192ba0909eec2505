"""Admission against a real redis-server and the embedded store: auth, exact limits, refusals, store failure."""

from __future__ import annotations

import asyncio
import time

import pytest
from redis.asyncio import Redis

from serving.access.admission import Admission
from serving.access.keys import KeyRecord, KeyStore, hash_key
from serving.access.settlement import Settlements
from serving.errors import InvalidAPIKey, ModelNotFound, RateLimited, StoreUnavailable
from serving.observability.metrics import Metrics
from tests.conftest import RedisServer
from tests.support.keys import Connect, admit_many, make_key


async def test_request_limit_is_exact_under_concurrency(connect: Connect) -> None:
    redis = connect()
    key_hash, _ = await make_key(redis, rpm=50)
    # Separate clients, as separate façade instances would have.
    controls = [Admission(connect(), metrics=Metrics()) for _ in range(4)]
    results = await asyncio.gather(*(admit_many(c, key_hash, 50, 1) for c in controls))
    flat = [r for batch in results for r in batch]
    assert flat.count("ok") == 50 and flat.count("requests") == 150


async def test_token_limit_is_exact_and_settlement_gives_back(connect: Connect) -> None:
    redis = connect()
    key_hash, _ = await make_key(redis, tpm=1000)
    admission = Admission(redis, metrics=Metrics())
    settlements = Settlements(redis, metrics=Metrics())
    results = await admit_many(admission, key_hash, 30, 100)
    assert results.count("ok") == 10 and results.count("tokens") == 20

    key_hash2, _ = await make_key(redis, tpm=1000)  # a fresh key for settlement
    grant = await admission.admit(key_hash2, "medgemma", 600)
    assert grant.headers["x-ratelimit-remaining-tokens"] == "400"
    with pytest.raises(RateLimited):
        (await admission.admit(key_hash2, "medgemma", 600)).raise_if_refused()
    await settlements.settle(grant, alias="medgemma", prompt=50, completion=50, failed=False)  # used 100, not 600
    second = await admission.admit(key_hash2, "medgemma", 600)
    assert second.headers["x-ratelimit-remaining-tokens"] == "300"


async def test_rate_limit_error_carries_openai_headers(connect: Connect) -> None:
    redis = connect()
    key_hash, _ = await make_key(redis, rpm=1, tpm=500)
    admission = Admission(redis, metrics=Metrics())
    await admission.admit(key_hash, "medgemma", 10)
    with pytest.raises(RateLimited) as caught:
        (await admission.admit(key_hash, "medgemma", 10)).raise_if_refused()
    error = caught.value
    assert error.status == 429 and error.type == "requests" and error.code == "rate_limit_exceeded"
    # The one request of this minute frees its slot 60 s after its second began.
    retry_ms = int(error.headers["retry-after-ms"])
    assert 58_000 < retry_ms <= 60_000
    assert int(error.headers["retry-after"]) == -(-retry_ms // 1000)
    assert error.headers["x-ratelimit-limit-requests"] == "1"
    assert error.headers["x-ratelimit-remaining-requests"] == "0"
    assert error.headers["x-ratelimit-limit-tokens"] == "500"
    assert error.headers["x-ratelimit-reset-requests"].endswith("s")


async def test_too_large_and_daily_quota_say_do_not_retry(connect: Connect) -> None:
    redis = connect()
    key_hash, _ = await make_key(redis, tpm=100, daily_tokens=150)
    admission = Admission(redis, metrics=Metrics())
    settlements = Settlements(redis, metrics=Metrics())
    with pytest.raises(RateLimited) as too_large:
        (await admission.admit(key_hash, "medgemma", 101)).raise_if_refused()
    assert too_large.value.headers["x-should-retry"] == "false"
    grant = await admission.admit(key_hash, "medgemma", 80)
    await settlements.settle(grant, alias="medgemma", prompt=100, completion=60, failed=False)  # 160 >= 150 used
    with pytest.raises(RateLimited) as quota:
        (await admission.admit(key_hash, "medgemma", 1)).raise_if_refused()
    assert quota.value.code == "insufficient_quota" and quota.value.headers["x-should-retry"] == "false"


async def test_unknown_revoked_expired_and_forbidden_keys(connect: Connect) -> None:
    redis = connect()
    store = KeyStore(redis)
    admission = Admission(redis, metrics=Metrics())
    with pytest.raises(InvalidAPIKey):
        await admission.admit(hash_key("sk-nobody"), "medgemma", 1)
    _, secret = await store.create(KeyRecord(id="key_a", name="a", models=["medgemma"]))
    assert (await admission.admit(hash_key(secret), "medgemma", 1)).key_id == "key_a"
    with pytest.raises(ModelNotFound):
        await admission.admit(hash_key(secret), "gpt-5", 1)
    await store.revoke("key_a")
    with pytest.raises(InvalidAPIKey, match="disabled"):
        await admission.admit(hash_key(secret), "medgemma", 1)
    _, old = await store.create(KeyRecord(id="key_b", name="b", expires_at=int(time.time()) - 1))
    with pytest.raises(InvalidAPIKey, match="expired"):
        await admission.admit(hash_key(old), "medgemma", 1)


async def test_redis_down_fails_closed_or_open_by_policy(redis_server: RedisServer) -> None:
    key_hash, _ = await make_key(Redis.from_url(redis_server.url))
    closed = Admission(Redis.from_url(redis_server.url, socket_timeout=0.5), metrics=Metrics(), failure_policy="closed")
    open_store = Redis.from_url(redis_server.url, socket_timeout=0.5)
    settlements = Settlements(open_store, metrics=Metrics())
    opened = Admission(
        open_store, metrics=Metrics(), failure_policy="open", on_store_recovered=settlements.store_recovered
    )
    redis_server.stop()
    with pytest.raises(StoreUnavailable) as caught:
        await closed.admit(key_hash, "medgemma", 1)
    assert caught.value.status == 503 and caught.value.headers["retry-after"] == "1"
    assert not closed.healthy
    grant = await opened.admit(key_hash, "medgemma", 1)
    assert grant.key_id == "unverified"
    await settlements.settle(grant, alias="medgemma", prompt=5, completion=7, failed=False)  # deferred, not lost
    assert settlements.backlog == 1

    redis_server.start()  # same port, empty: the key is gone, but the store answers again
    with pytest.raises(InvalidAPIKey):
        await closed.admit(key_hash, "medgemma", 1)
    assert closed.healthy
    with pytest.raises(InvalidAPIKey):
        await opened.admit(key_hash, "medgemma", 1)  # recovery replays the backlog
    await settlements.drain()
    assert settlements.backlog == 0
    usage_keys = await Redis.from_url(redis_server.url).keys(f"pc:{{{key_hash}}}:usage:*")
    assert len(usage_keys) == 1
    usage = await Redis.from_url(redis_server.url).hgetall(usage_keys[0])
    assert usage[b"medgemma:prompt_tokens"] == b"5" and usage[b"medgemma:completion_tokens"] == b"7"
