"""Admission against a real redis-server and the embedded store: auth, exact limits, refusals, store failure."""

from __future__ import annotations

import asyncio
import time

import pytest
from redis.asyncio import Redis

from serving.access.admission import Admission
from serving.access.keys import KeyRecord, KeyStore, hash_key
from serving.access.limits import Grant, day_name, day_number
from serving.access.settlement import Settlements
from serving.errors import InvalidAPIKey, ModelNotFound, RateLimited, StoreUnavailable
from serving.observability.metrics import Metrics
from serving.store.connection import CommandRunner, key_for
from serving.store.pipelined import PipelinedRedis
from tests.conftest import RedisServer
from tests.support.keys import Connect, admit_many, make_key
from tests.support.wait import eventually_async


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


@pytest.mark.parametrize("client", ["redis-py", "pipelined"])
async def test_a_store_outage_fails_closed_or_open_by_policy(redis_server: RedisServer, client: str) -> None:
    def scripts() -> CommandRunner:  # what the app runs admission and settlement on (pipelined)
        if client == "pipelined":
            return PipelinedRedis(redis_server.url, socket_timeout=0.5)
        return Redis.from_url(redis_server.url, socket_timeout=0.5)

    key_hash, record = await make_key(Redis.from_url(redis_server.url), tpm=1000)
    closed_store, open_store = scripts(), scripts()
    closed = Admission(closed_store, metrics=Metrics())
    settlements = Settlements(open_store, metrics=Metrics())
    opened = Admission(
        open_store, metrics=Metrics(), failure_policy="open", on_store_recovered=settlements.store_recovered
    )
    await opened.admit(key_hash, "medgemma", 1)  # verified while the store is up
    redis_server.stop()
    with pytest.raises(StoreUnavailable) as caught:
        await closed.admit(key_hash, "medgemma", 1)
    assert caught.value.status == 503 and caught.value.headers["retry-after"] == "1"
    assert not closed.healthy

    # Open serves the key it verified, as that key (its limits are settled later)...
    grant = await opened.admit(key_hash, "medgemma", 1)
    assert (grant.key_id, grant.has_token_limit) == (record.id, True)
    await settlements.settle(grant, alias="medgemma", prompt=5, completion=7, failed=False)  # deferred, not lost
    assert settlements.backlog == 1
    # ...and never an arbitrary bearer string.
    for stranger in (hash_key("sk-anything-at-all"), hash_key("")):
        with pytest.raises(StoreUnavailable) as unknown:
            await opened.admit(stranger, "medgemma", 1)
        assert unknown.value.headers["retry-after"] == "1"

    redis_server.start()  # same port, empty: the key is gone, but the store answers again
    with pytest.raises(InvalidAPIKey):
        await closed.admit(key_hash, "medgemma", 1)
    assert closed.healthy
    with pytest.raises(InvalidAPIKey):
        await opened.admit(key_hash, "medgemma", 1)  # recovery replays the backlog
    await settlements.drain()
    assert settlements.backlog == 0
    store = Redis.from_url(redis_server.url)
    usage_keys = await store.keys(f"pc:{{{key_hash}}}:usage:*")
    assert len(usage_keys) == 1
    usage = await store.hgetall(usage_keys[0])
    assert usage[b"medgemma:prompt_tokens"] == b"5" and usage[b"medgemma:completion_tokens"] == b"7"
    # The replay left nothing behind that lives for ever.
    assert all([await store.ttl(name) > 0 for name in await store.keys("pc:*")])
    # The key that vanished with the store is forgotten too: no longer served if it goes down again.
    redis_server.stop()
    with pytest.raises(StoreUnavailable):
        await opened.admit(key_hash, "medgemma", 1)
    for runner in (closed_store, open_store):
        await runner.aclose()


async def test_requests_in_flight_are_capped_and_leases_expire(connect: Connect) -> None:
    redis = connect()
    key_hash, _ = await make_key(redis, max_in_flight=2)
    admission = Admission(redis, metrics=Metrics(), lease_ms=300)
    settlements = Settlements(redis, metrics=Metrics())
    first = await admission.admit(key_hash, "medgemma", 1)
    second = await admission.admit(key_hash, "medgemma", 1)
    assert first.refusal is None and second.refusal is None and first.lease != second.lease
    with pytest.raises(RateLimited) as caught:
        (await admission.admit(key_hash, "medgemma", 1)).raise_if_refused()
    assert (caught.value.status, caught.value.code) == (429, "concurrency_limit_exceeded")
    assert caught.value.headers["retry-after"] == "1" and "limit 2" in caught.value.message
    await settlements.settle(first, alias="medgemma", prompt=1, completion=1, failed=False)  # releases its lease
    assert (await admission.admit(key_hash, "medgemma", 1)).refusal is None
    # A crashed instance never settles: its leases expire.
    assert (await admission.admit(key_hash, "medgemma", 1)).refusal is not None

    async def admit() -> Grant:
        return await admission.admit(key_hash, "medgemma", 1)

    await eventually_async(admit, lambda grant: grant.refusal is None, timeout=5)  # after lease_ms


async def test_windows_run_on_the_stores_clock_not_the_instances(
    redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Real Redis only: the embedded store is one process, and shares the process's clock.
    redis = Redis.from_url(redis_server.url)
    key_hash, _ = await make_key(redis, rpm=3, daily_tokens=1000)
    on_time = Admission(redis, metrics=Metrics())
    assert (await on_time.admit(key_hash, "medgemma", 10)).refusal is None
    # An instance whose clock runs a day and a minute ahead: it neither wipes the window nor
    # charges another day's budget.
    real = time.time
    monkeypatch.setattr("serving.access.admission.time.time", lambda: real() + 86_460)
    ahead = Admission(redis, metrics=Metrics())
    grants = [await ahead.admit(key_hash, "medgemma", 10) for _ in range(3)]
    assert [g.refusal is None for g in grants] == [True, True, False]
    assert grants[1].day == grants[0].day == day_number(real())
    assert int(grants[1].headers["x-ratelimit-remaining-requests"]) == 0
    day_counter = key_for(key_hash, f"day:{day_name(day_number(real()))}")
    assert int(await redis.get(day_counter)) == 30


async def test_requests_that_generate_nothing_take_no_lease_and_need_no_model(connect: Connect) -> None:
    redis = connect()
    key_hash, _ = await make_key(redis, max_in_flight=1, rpm=10, daily_tokens=5, models=["medgemma"])
    admission = Admission(redis, metrics=Metrics())
    for _ in range(3):
        report = await admission.admit(key_hash, "", 0, generates=False)
        assert report.refusal is None and report.lease == ""
    generating = await admission.admit(key_hash, "medgemma", 5)
    assert generating.refusal is None and generating.lease
    assert generating.headers["x-ratelimit-remaining-requests"] == "6"  # the reports counted
    # Out of budget, a key still reads its usage.
    assert (await admission.admit(key_hash, "medgemma", 1)).refusal is not None
    assert (await admission.admit(key_hash, "", 0, generates=False)).refusal is None


async def test_a_usage_report_does_not_forget_the_keys_limits_for_an_outage(redis_server: RedisServer) -> None:
    store = Redis.from_url(redis_server.url, socket_timeout=0.5)
    key_hash, _ = await make_key(store, tpm=1000, daily_tokens=5000)
    admission = Admission(store, metrics=Metrics(), failure_policy="open")
    await admission.admit(key_hash, "medgemma", 1)
    await admission.admit(key_hash, "", 0, generates=False)  # a usage report, after the generation
    redis_server.stop()
    served = await admission.admit(key_hash, "medgemma", 1)
    assert served.has_token_limit and served.has_daily_budget  # its tokens are still counted later
