"""Budgets at the store (#29), on a real redis-server and the embedded store: one script call per
admitted request once the instance knows the key's tenant, a settlement replayed after a lost
reply changes nothing, a provider's stream cut short costs its reservation, and config tenants."""

from __future__ import annotations

from typing import Any

import pytest

from serving.access.admission import Admission
from serving.access.keys import KeyRecord, KeyStore, hash_key
from serving.access.prices import PriceList
from serving.access.settlement import Settlements
from serving.access.spend import spend_keys
from serving.access.tenants import TenantRecord, TenantStore
from serving.observability.metrics import Metrics
from serving.settings import GRANT_FIELDS, BackendConfig, ServingConfig
from serving.settings.tenants import TENANT_GRANT_FIELDS, StaticTenant
from serving.store.connection import CommandRunner, LuaScript
from tests.support.keys import Connect

SCRIPT_FIELDS = {"GRANT_FIELDS": GRANT_FIELDS, "TENANT_GRANT_FIELDS": TENANT_GRANT_FIELDS}  # as admission loads it
PRICED = {"input_per_million": 1000, "output_per_million": 4000}  # 1,000,000 and 4,000,000 nano-dollars a token


class CountedRunner:
    """Counts the script calls that reach the store."""

    def __init__(self, redis: CommandRunner) -> None:
        self.redis = redis
        self.calls = 0

    async def execute_command(self, *args: Any) -> Any:
        self.calls += 1
        return await self.redis.execute_command(*args)

    async def aclose(self) -> None:
        return None


async def tenant_key(redis: Any, tenant: str = "clinic-t", **budgets: float) -> str:
    await TenantStore(redis).create(TenantRecord(id=tenant, time_zone="Europe/Paris", **budgets))
    _, secret = await KeyStore(redis).create(KeyRecord(id="key_t", name="t", tenant=tenant))
    return hash_key(secret)


async def test_one_store_call_per_request_once_the_tenant_is_known(connect: Connect) -> None:
    redis = connect()
    key_hash = await tenant_key(redis, monthly_budget_usd=1.0)
    runner = CountedRunner(redis)
    admission = Admission(runner, metrics=Metrics())
    await redis.execute_command("SCRIPT", "LOAD", LuaScript.named("admit.lua", **SCRIPT_FIELDS).source)
    first = await admission.admit(key_hash, "medgemma", 10, cost=1000)
    # A key's first request on an instance learns its tenant, then the tenant's zone: three calls.
    assert first.refusal is None and (first.tenant, runner.calls) == ("clinic-t", 3)
    assert first.periods is not None and first.periods.time_zone == "Europe/Paris"
    for _ in range(5):
        assert (await admission.admit(key_hash, "medgemma", 10, cost=1000)).refusal is None
    assert runner.calls == 3 + 5  # budgets add no round trip: the admission script grows instead


async def test_a_replayed_settlement_changes_nothing(connect: Connect) -> None:
    redis = connect()
    key_hash = await tenant_key(redis, daily_budget_usd=1.0)
    grant = await Admission(redis, metrics=Metrics()).admit(key_hash, "medgemma", 10, cost=5000)
    assert grant.periods is not None
    counters = spend_keys(key_hash, "clinic-t", grant.periods)
    keys, args = Settlements(redis, metrics=Metrics()).settlement_of(
        grant, alias="medgemma", prompt=1, completion=1, failed=False
    )
    settle = LuaScript.named("settle.lua")
    assert await settle.run(redis, keys, args) == 1
    # Unpriced here: the reservation is given back, the key's and the tenant's.
    assert [int(await redis.get(name) or 0) for name in counters] == [0, 0, 0, 0]
    usage = await redis.hgetall(keys[2])
    # The backlog replays a settlement whose reply was lost after it ran: nothing twice.
    assert await settle.run(redis, keys, args) == 0
    assert [int(await redis.get(name) or 0) for name in counters] == [0, 0, 0, 0]
    assert await redis.hgetall(keys[2]) == usage


async def test_a_providers_stream_cut_short_costs_its_reservation(connect: Connect) -> None:
    redis = connect()
    key_hash = await tenant_key(redis, monthly_budget_usd=1.0)
    backends = {
        "openai": BackendConfig(kind="openai", base_url="https://x/v1", model="gpt-5", pricing=PRICED),
        "local": BackendConfig(kind="vllm", base_url="http://x/v1", model="m", pricing=PRICED),
    }
    prices = PriceList(backends, {"gpt-5": ["openai"], "medgemma": ["local"]})
    admission = Admission(redis, metrics=Metrics())
    settlements = Settlements(redis, metrics=Metrics(), prices=prices)
    reserved = prices.worst_case("gpt-5", 10, 100)
    for backend, expected in (("openai", reserved), ("local", 10 * 1_000_000 + 3 * 4_000_000)):
        grant = await admission.admit(key_hash, "gpt-5", 110, cost=reserved)
        assert grant.periods is not None
        month = spend_keys(key_hash, "clinic-t", grant.periods)[3]
        before = int(await redis.get(month) or 0) - reserved
        # No usage came: 3 events relayed. A provider bills reasoning it never streamed.
        await settlements.settle(
            grant, alias="gpt-5", prompt=10, completion=3, failed=False, backend=backend, estimated=True
        )
        assert int(await redis.get(month) or 0) - before == expected


@pytest.mark.parametrize("connect", ["redis"], indirect=True)
async def test_a_config_tenant_disabled_by_an_admin_stays_disabled(connect: Connect) -> None:
    redis = connect()
    tenants = TenantStore(redis)
    await tenants.install(StaticTenant(id="clinic-file", daily_budget_usd=5))
    await tenants.update("clinic-file", disabled=True)
    await tenants.install(StaticTenant(id="clinic-file", daily_budget_usd=7))  # a restart
    record = await tenants.get("clinic-file")
    assert record.disabled and record.daily_budget_usd == 7  # the file's budget, the admin's revocation


def config_with(tenants: list[dict[str, Any]], keys: list[dict[str, Any]], redis_url: str | None = None) -> Any:
    return ServingConfig.model_validate(
        {
            "backends": {"b": {"kind": "vllm", "base_url": "http://x/v1", "model": "m"}},
            "models": {"medgemma": ["b"], "gpt-5": ["b"]},
            "tenants": tenants,
            "keys": keys,
            "store": {"redis_url": redis_url},
        }
    )


def test_a_config_key_takes_its_tenants_grants_and_never_more() -> None:
    tenant = {"id": "clinic-a", "models": ["medgemma"], "allow_phi": ["b"]}
    key = {"key": "sk-config-0123456789abcdef", "name": "desk", "tenant": "clinic-a"}
    config = config_with([tenant], [key])
    assert (config.keys[0].models, config.keys[0].allow_phi) == (["medgemma"], ["b"])
    with pytest.raises(ValueError, match="allows only"):
        config_with([tenant], [{**key, "models": ["gpt-5"]}])
    with pytest.raises(ValueError, match="not in tenants"):
        config_with([], [key])
    with pytest.raises(ValueError, match="Redis Cluster"):
        config_with([tenant], [key], redis_url="redis+cluster://:pw@127.0.0.1:7000")
