"""The scripts on a Redis Cluster, with a real 3-primary cluster: each call goes straight to
the primary of its keys' slot over that node's pipelined connection; a slot moved to another
primary answers MOVED once, redis-py's cluster client follows it, and the next call goes
straight to the new owner."""

from __future__ import annotations

from typing import Any

import pytest
from redis.crc import key_slot

from loadtests.devstack.redis_topologies import RedisClusterGroup
from serving.access.admission import Admission
from serving.access.keys import KeyRecord, KeyStore, hash_key, record_key
from serving.access.settlement import Settlements
from serving.access.tenants import TenantRecord, TenantStore
from serving.observability.metrics import Metrics
from serving.settings import StoreConfig
from serving.store.clients import connect_script_runner, connect_store
from serving.store.cluster_scripts import ClusterScripts
from serving.store.connection import LuaScript, key_for, tenant_key

pytestmark = pytest.mark.ha
INCR = LuaScript("return redis.call('INCR', KEYS[1])")
TENANT = tenant_key("clinic-c", "tenant")


class Counted:
    """Counts the calls that reach redis-py's cluster client (the slow path)."""

    def __init__(self, store: Any) -> None:
        self.calls = 0
        self._execute = store.execute_command
        store.execute_command = self

    async def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        return await self._execute(*args, **kwargs)


async def test_each_call_goes_straight_to_its_slots_primary(cluster: RedisClusterGroup) -> None:
    config = StoreConfig(redis_url=cluster.url)
    store = connect_store(config)
    runner = connect_script_runner(config, store)
    assert isinstance(runner, ClusterScripts)
    try:
        keys = [key_for(f"hash{index}", "n") for index in range(12)]
        assert len({cluster.primary_for(key).port for key in keys}) == 3  # every primary has some
        slow = Counted(store)
        for round_ in (1, 2):
            assert [await INCR.run(runner, [key], []) for key in keys] == [round_] * len(keys)
        # The first call on each primary lacked the script (EVAL); after that, all were direct.
        assert slow.calls == 0
        for key in keys:
            assert int(cluster.primary_for(key).client().get(key) or 0) == 2
    finally:
        await runner.aclose()
        await store.aclose()


def move_slot(cluster: RedisClusterGroup, key: str) -> int:
    """Reshard `key`'s slot to another primary, as redis-cli --cluster reshard does; the new port."""
    slot = key_slot(key.encode())
    source = cluster.primary_for(key)
    target = next(node for node in cluster.live_nodes() if node.port != source.port and is_primary(node))
    source_id = source.client().execute_command("CLUSTER", "MYID").decode()
    target_id = target.client().execute_command("CLUSTER", "MYID").decode()
    target.client().execute_command("CLUSTER", "SETSLOT", slot, "IMPORTING", source_id)
    source.client().execute_command("CLUSTER", "SETSLOT", slot, "MIGRATING", target_id)
    keys = source.client().execute_command("CLUSTER", "GETKEYSINSLOT", slot, 100)
    if keys:
        source.client().execute_command(
            "MIGRATE", "127.0.0.1", target.port, "", 0, 5000, "AUTH", cluster.password, "KEYS", *keys
        )
    for node in cluster.live_nodes():
        if is_primary(node):
            node.client().execute_command("CLUSTER", "SETSLOT", slot, "NODE", target_id)
    return target.port


def is_primary(node: Any) -> bool:
    return bool(node.client().execute_command("ROLE")[0] == b"master")


async def test_a_moved_slot_is_followed_once_then_called_directly(cluster: RedisClusterGroup) -> None:
    config = StoreConfig(redis_url=cluster.url)
    store = connect_store(config)
    runner = connect_script_runner(config, store)
    key = key_for("moving", "n")
    try:
        assert await INCR.run(runner, [key], []) == 1
        slow = Counted(store)
        new_port = move_slot(cluster, key)
        assert await INCR.run(runner, [key], []) == 2  # MOVED from the old owner: the cluster client follows
        assert slow.calls == 1
        assert await INCR.run(runner, [key], []) == 3  # straight to the new owner now
        assert slow.calls == 1
        assert cluster.primary_for(key).port == new_port
    finally:
        await runner.aclose()
        await store.aclose()


async def test_node_urls_carry_the_clusters_credentials() -> None:
    address = StoreConfig(redis_url="rediss+cluster://app:p%40ss@n1:7000?ssl_cert_reqs=none").address
    assert address is not None
    assert address.node_url("10.0.0.5", 7001) == "rediss://app:p%40ss@10.0.0.5:7001/0?ssl_cert_reqs=none"
    assert address.node_url("fe80::1", 7001).startswith("rediss://app:p%40ss@[fe80::1]:7001/0")


async def test_a_tenants_budget_holds_on_a_cluster(cluster: RedisClusterGroup) -> None:
    """A tenant's key is minted into the tenant's slot, so admission (the key's record, the
    tenant's record, both spend counters) and settlement each run on one primary (#29)."""
    config = StoreConfig(redis_url=cluster.url)
    store = connect_store(config)
    runner = connect_script_runner(config, store)
    try:
        await TenantStore(store).create(TenantRecord(id="clinic-c", daily_budget_usd=2.5e-6))  # 2,500 nano-dollars
        _, secret = await KeyStore(store).create(KeyRecord(id="key_c", name="c", tenant="clinic-c"))
        assert cluster.primary_for(record_key(hash_key(secret))).port == cluster.primary_for(TENANT).port
        admission = Admission(runner, metrics=Metrics())
        grants = [await admission.admit(hash_key(secret), "medgemma", 10, cost=1000) for _ in range(3)]
        assert [grant.refusal is None for grant in grants] == [True, True, False]
        refusal = grants[2].refusal
        assert refusal is not None and refusal.code == "budget_exceeded"
        periods = grants[0].periods
        assert periods is not None
        spent = tenant_key("clinic-c", f"spend:d:{periods.day}")
        assert int(cluster.primary_for(spent).client().get(spent) or 0) == 2000
        # Settled at its real cost (no prices here: nothing), the reservation is given back.
        await Settlements(runner, metrics=Metrics()).settle(
            grants[0], alias="medgemma", prompt=1, completion=1, failed=False
        )
        assert int(cluster.primary_for(spent).client().get(spent) or 0) == 1000
    finally:
        await runner.aclose()
        await store.aclose()
