"""The audit trail end to end: the façade in-process over a real Redis, the simulator as the
backend. One record per API and admin request; the chain verifies and breaks where a record
is edited or deleted in the store; records spool to disk while Redis is down and appear when
it is back; no identifier reaches a record."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import orjson
import redis
import yaml

from loadtests.devstack.redis_server import RedisServer
from loadtests.simulator import Behaviour
from serving.audit.chain import GENESIS, link, verify
from serving.audit.cli import verify_file
from serving.audit.trail import HEAD, STREAM, AuditTrail
from tests.support.inprocess import AUTH, RunningApp, running_app, simulator_server
from tests.support.stack import facade_config, vllm_backend

ADMIN = "admin-credential-0123456789abcdef"
ADMIN_AUTH = {"authorization": f"Bearer {ADMIN}"}
NOTE = "Patient Rosalind Okafor (MRN 00482913), DOB 03/14/1957."
CANARIES = ("Rosalind", "Okafor", "00482913", "03/14/1957")


@asynccontextmanager
async def audited(
    redis_server: RedisServer, tmp_path: Path, flush_every: float = 0.05, **store: Any
) -> AsyncIterator[RunningApp]:
    async with simulator_server(Behaviour(ttft_ms=1, itl_ms=1, tokens=3, echo=True)) as sim:
        config = facade_config(
            {
                "local": vllm_backend(sim.base_url, "medgemma-27b"),
                "gpt": {"kind": "openai", "base_url": sim.base_url, "model": "gpt-5", "api_key": "sk-sim-0123456789"},
            },
            {"medgemma": ["local"], "gpt-5": ["gpt"]},
            store={"redis_url": redis_server.url, "admin_key": ADMIN, **store},
        )
        config["audit"] = {"spool_dir": str(tmp_path / "spool"), "flush_interval_seconds": flush_every}
        async with running_app(config) as app:
            yield app


def writer(app: RunningApp) -> Any:
    return app.app.state.services.audit


async def records(app: RunningApp) -> list[dict[str, Any]]:
    await writer(app).flush()
    return [record async for _, record in AuditTrail(app.app.state.services.redis).entries() if record is not None]


def chat(model: str, content: str = "hello", **extra: Any) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": content}], **extra}


async def test_one_record_per_request_with_who_what_and_the_policy(redis_server: RedisServer, tmp_path: Path) -> None:
    async with audited(redis_server, tmp_path) as app:
        ok = await app.client.post("/v1/chat/completions", json=chat("medgemma"), headers=AUTH)
        redacted = await app.client.post("/v1/chat/completions", json=chat("gpt-5", NOTE, stream=True), headers=AUTH)
        bad_key = await app.client.post(
            "/v1/chat/completions", json=chat("medgemma"), headers={"authorization": "Bearer sk-nope-0123456789"}
        )
        await app.client.get("/health")  # not audited
        found = await records(app)
    assert (ok.status_code, redacted.status_code, bad_key.status_code) == (200, 200, 401)
    assert [r["status"] for r in found] == [200, 200, 401]
    first, second, third = found
    assert first["key_id"] == "static-test" and first["key_name"] == "test"
    assert first["route"] == "/v1/chat/completions" and first["alias"] == "medgemma"
    assert first["backend"] == "local" and first["model"] == "medgemma-27b"
    assert first["data_policy"] == "allow" and first["phi"] == {} and first["outcome"] == "ok"
    assert first["request_id"] == ok.headers["x-request-id"]
    assert isinstance(first["prompt_tokens"], int) and first["ts"].endswith("+00:00")
    assert second["data_policy"] == "redact" and second["backend"] == "gpt"
    assert second["phi"] == {"NAME": 1, "MRN": 1, "DATE": 1}
    assert third["key_id"] is None and third["outcome"] == "error"
    text = json.dumps(found)
    assert not any(canary in text for canary in CANARIES)
    assert verify([(str(r["seq"]), r) for r in found]).ok


async def test_admin_actions_are_recorded_and_the_trail_is_paged(redis_server: RedisServer, tmp_path: Path) -> None:
    async with audited(redis_server, tmp_path) as app:
        created = await app.client.post("/admin/keys", json={"name": "clinic-a"}, headers=ADMIN_AUTH)
        key_id = created.json()["id"]
        await app.client.patch(f"/admin/keys/{key_id}", json={"rpm": 5}, headers=ADMIN_AUTH)
        await app.client.delete(f"/admin/keys/{key_id}", headers=ADMIN_AUTH)
        await app.client.get("/admin/usage", headers=ADMIN_AUTH)
        await app.client.post("/v1/chat/completions", json=chat("gpt-5", NOTE), headers=AUTH)
        await writer(app).flush()
        pages, after = [], None
        while True:
            params: dict[str, Any] = {"kind": "admin", "limit": 2, **({"after": after} if after else {})}
            page = (await app.client.get("/admin/audit", params=params, headers=ADMIN_AUTH)).json()
            pages.append(page["data"])
            after = page["next_cursor"]
            if not page["has_more"]:
                break
        with_phi = (await app.client.get("/admin/audit", params={"phi": "true"}, headers=ADMIN_AUTH)).json()
        by_key = (await app.client.get("/admin/audit", params={"key_id": "static-test"}, headers=ADMIN_AUTH)).json()
        bad_cursor = await app.client.get("/admin/audit", params={"after": "not-a-cursor"}, headers=ADMIN_AUTH)
    actions = [(r["action"], r.get("target")) for page in pages for r in page]
    expected = [("key.created", key_id), ("key.updated", key_id), ("key.revoked", key_id), ("usage.read", None)]
    assert actions[:4] == expected
    assert all(len(page) <= 2 for page in pages) and len(pages) >= 3
    assert all(r["key_name"] == "admin" for page in pages for r in page)
    assert [r["backend"] for r in with_phi["data"]] == ["gpt"]
    assert [r["route"] for r in by_key["data"]] == ["/v1/chat/completions"]
    assert bad_cursor.status_code == 400 and bad_cursor.json()["error"]["param"] == "after"


async def test_key_grants_name_known_backends_in_the_admin_api(redis_server: RedisServer, tmp_path: Path) -> None:
    async with audited(redis_server, tmp_path) as app:
        bad = await app.client.post("/admin/keys", json={"name": "x", "allow_phi": ["nowhere"]}, headers=ADMIN_AUTH)
        good = await app.client.post("/admin/keys", json={"name": "y", "allow_phi": ["gpt"]}, headers=ADMIN_AUTH)
        secret = good.json()["key"]
        sent = await app.client.post(
            "/v1/chat/completions", json=chat("gpt-5", NOTE), headers={"authorization": f"Bearer {secret}"}
        )
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "allow_phi"
    assert good.json()["allow_phi"] == ["gpt"]
    assert sent.json()["choices"][0]["message"]["content"] == NOTE  # its own BAA: sent and echoed as is


def _rewrite(redis_server: RedisServer, change: Any) -> None:
    """What someone with write access to Redis would do: rebuild the stream with one change."""
    client = redis.Redis.from_url(redis_server.url)
    entries = client.xrange(STREAM)
    client.delete(STREAM)
    for index, (entry_id, fields) in enumerate(entries):
        record = orjson.loads(fields[b"r"])
        record = change(index, record)
        if record is not None:
            client.xadd(STREAM, {"r": orjson.dumps(record)}, id=entry_id)
    client.close()


def _cli(redis_server: RedisServer, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    config = facade_config({"b": vllm_backend("http://127.0.0.1:1/v1", "m")}, {"m": ["b"]})
    config["store"] = {"redis_url": redis_server.url}
    path = tmp_path / "cli.yaml"
    path.write_text(yaml.safe_dump(config))
    command = [sys.executable, "-m", "serving", "audit", "--config", str(path), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


async def _five_records(redis_server: RedisServer, tmp_path: Path) -> None:
    async with audited(redis_server, tmp_path) as app:
        for _ in range(5):
            await app.client.post("/v1/chat/completions", json=chat("medgemma"), headers=AUTH)
        assert len(await records(app)) == 5


async def test_verify_passes_then_finds_an_edited_record(redis_server: RedisServer, tmp_path: Path) -> None:
    await _five_records(redis_server, tmp_path)
    intact = _cli(redis_server, tmp_path, "verify")
    assert intact.returncode == 0, intact.stderr
    assert "ok: 5 records, seq 1..5" in intact.stdout

    def cheaper(index: int, record: dict[str, Any]) -> dict[str, Any]:
        return {**record, "prompt_tokens": 0} if index == 2 else record

    _rewrite(redis_server, cheaper)
    edited = _cli(redis_server, tmp_path, "verify")
    assert edited.returncode == 1
    assert "BROKEN at stream id" in edited.stdout and "seq 3's content does not match its hash" in edited.stdout


async def test_verify_finds_deleted_records(redis_server: RedisServer, tmp_path: Path) -> None:
    await _five_records(redis_server, tmp_path)
    _rewrite(redis_server, lambda index, record: None if index == 1 else record)
    middle = _cli(redis_server, tmp_path, "verify")
    assert middle.returncode == 1 and "records 2..2 missing (deleted)" in middle.stdout


async def test_verify_finds_the_newest_records_deleted(redis_server: RedisServer, tmp_path: Path) -> None:
    await _five_records(redis_server, tmp_path)
    client = redis.Redis.from_url(redis_server.url)
    for entry_id, _ in client.xrevrange(STREAM, count=2):
        client.xdel(STREAM, entry_id)
    client.close()
    tail = _cli(redis_server, tmp_path, "verify")
    assert tail.returncode == 1 and "newest records deleted" in tail.stdout


async def test_export_writes_json_lines_that_verify(redis_server: RedisServer, tmp_path: Path) -> None:
    await _five_records(redis_server, tmp_path)
    out = tmp_path / "export.jsonl"
    exported = _cli(redis_server, tmp_path, "export", "--since", "2000-01-01", "--output", str(out))
    assert exported.returncode == 0 and "exported 5 records" in exported.stderr
    assert len(out.read_text().splitlines()) == 5
    assert verify_file(out).ok
    lines = out.read_text().splitlines()
    edited = json.loads(lines[3]) | {"status": 500}
    out.write_text("\n".join([*lines[:3], json.dumps(edited), lines[4]]) + "\n")
    checked = _cli(redis_server, tmp_path, "verify", "--file", str(out))
    assert checked.returncode == 1 and "BROKEN at line 4" in checked.stdout


async def test_records_spool_while_the_store_is_down_and_appear_when_it_is_back(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    async with audited(redis_server, tmp_path, failure_policy="open") as app:
        await app.client.post("/v1/chat/completions", json=chat("medgemma"), headers=AUTH)  # the key is now verified
        await writer(app).flush()
        redis_server.stop()
        served = [await app.client.post("/v1/chat/completions", json=chat("medgemma"), headers=AUTH) for _ in range(3)]
        await writer(app).flush()
        assert writer(app).store_down
        spooled = list((tmp_path / "spool").glob("audit-*.jsonl"))
        assert sum(len(p.read_text().splitlines()) for p in spooled) == 3
        assert app.metric("pearcare_audit_records_total", outcome="spooled") == 3
        redis_server.start()
        found = await records(app)
    assert [r.status_code for r in served] == [200, 200, 200]
    # The test's Redis keeps nothing on disk: the record stored before the outage went with it.
    assert [r["status"] for r in found] == [200, 200, 200]
    assert verify([(str(r["seq"]), r) for r in found]).ok
    assert app.metric("pearcare_audit_records_total", outcome="replayed") == 3


async def test_a_full_spool_with_the_store_down_refuses_requests(redis_server: RedisServer, tmp_path: Path) -> None:
    async with audited(redis_server, tmp_path, failure_policy="open") as app:
        writer(app)._spool._max_bytes = 1  # any record fills it
        await app.client.post("/v1/chat/completions", json=chat("medgemma"), headers=AUTH)
        await writer(app).flush()
        redis_server.stop()
        await app.client.post("/v1/chat/completions", json=chat("medgemma"), headers=AUTH)
        await writer(app).flush()
        refused = await app.client.post("/v1/chat/completions", json=chat("medgemma"), headers=AUTH)
        health = await app.client.get("/health")
        redis_server.start()
        await writer(app).flush()
        again = await app.client.post("/v1/chat/completions", json=chat("medgemma"), headers=AUTH)
    assert refused.status_code == 503
    assert refused.json()["error"]["code"] == "audit_unavailable"
    assert health.status_code == 200
    assert again.status_code == 200


async def test_a_graceful_stop_flushes_queued_records(redis_server: RedisServer, tmp_path: Path) -> None:
    trail = AuditTrail(redis.asyncio.Redis.from_url(redis_server.url))
    async with audited(redis_server, tmp_path, flush_every=10) as app:  # no flush but the stop's
        await app.client.post("/v1/chat/completions", json=chat("medgemma"), headers=AUTH)
        await app.app.state.services.settlements.drain()  # the record is handed over...
        assert [record async for _, record in trail.entries()] == []  # ...and still queued
    kept = [record async for _, record in trail.entries()]
    assert len(kept) == 1


def test_chain_links_and_verifies() -> None:
    linked, seq, head = link([{"a": 1}, {"a": 2}], seq=0, prev=GENESIS)
    assert seq == 2 and linked[1]["prev"] == linked[0]["hash"] and head == linked[1]["hash"]
    assert verify([("1", linked[0]), ("2", linked[1])], head=(2, head)).ok
    assert not verify([("1", linked[0]), ("2", {**linked[1], "a": 3})]).ok
    assert not verify([("2", linked[1])]).ok  # the first one deleted
    assert not verify([("1", linked[0]), ("x", None)]).ok
    assert "head was edited" in (verify([("1", linked[0])], head=(0, GENESIS)).problem or "")
    assert HEAD.startswith("pc:{audit}")


async def test_audit_can_be_turned_off(redis_server: RedisServer) -> None:
    async with simulator_server() as sim:
        config = facade_config({"local": vllm_backend(sim.base_url, "m")}, {"medgemma": ["local"]})
        config["store"] = {"redis_url": redis_server.url}
        config["audit"] = {"enabled": False}
        async with running_app(config) as app:
            await app.client.post("/v1/chat/completions", json=chat("medgemma"), headers=AUTH)
            assert app.app.state.services.audit is None
    assert redis.Redis.from_url(redis_server.url).xlen(STREAM) == 0


async def test_retention_trims_and_the_chain_still_verifies(redis_server: RedisServer, tmp_path: Path) -> None:
    client = redis.asyncio.Redis.from_url(redis_server.url)
    trail = AuditTrail(client)
    for index in range(5):  # five batches, milliseconds apart
        await trail.append([{"n": index}])
        await asyncio.sleep(0.005)
    ids = [entry_id async for entry_id, _ in trail.entries()]
    cutoff = int(ids[3].split("-")[0])  # records written before the fourth's millisecond go
    removed = await trail.trim_before(cutoff)
    kept = [record async for _, record in trail.entries()]
    anchor = await trail.anchor()
    await client.aclose()
    assert removed == 5 - len(kept) and removed >= 1
    assert anchor[0] == kept[0]["seq"] - 1
    intact = _cli(redis_server, tmp_path, "verify")
    assert intact.returncode == 0, intact.stdout
    assert f"ok: {len(kept)} records" in intact.stdout


async def test_a_keyed_chain_needs_its_key(redis_server: RedisServer, tmp_path: Path) -> None:
    client = redis.asyncio.Redis.from_url(redis_server.url)
    keyed = AuditTrail(client, key="a-chain-key-kept-outside-redis")
    await keyed.append([{"a": 1}, {"a": 2}])
    entries = [entry async for entry in keyed.entries()]
    head = await keyed.head()
    await client.aclose()
    assert verify(entries, head=head, key=keyed.key).ok
    forged = verify(entries, head=head)  # without the key, as someone with only Redis access would
    assert not forged.ok and "does not match its hash" in (forged.problem or "")


async def test_records_left_by_a_process_that_died_are_replayed_at_start(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    spool = tmp_path / "spool"
    spool.mkdir(mode=0o700)
    orphan = {"id": "orphan-1", "kind": "request", "status": 200, "phi": {}}
    (spool / "audit-999999-deadbeef.jsonl").write_bytes(orjson.dumps(orphan) + b"\n")
    async with audited(redis_server, tmp_path) as app:
        found = await records(app)
    assert [r["id"] for r in found] == ["orphan-1"]
    assert list(spool.glob("*.jsonl")) == []


async def test_audit_queries_with_odd_bounds_are_answered_not_500(redis_server: RedisServer, tmp_path: Path) -> None:
    async with audited(redis_server, tmp_path) as app:
        await app.client.post("/v1/chat/completions", json=chat("medgemma"), headers=AUTH)
        await writer(app).flush()
        early = await app.client.get("/admin/audit", params={"since": "1900-01-01T00:00:00"}, headers=ADMIN_AUTH)
        huge = await app.client.get("/admin/audit", params={"after": "1-" + "9" * 20}, headers=ADMIN_AUTH)
        redis_server.stop()
        down = await app.client.get("/admin/audit", headers=ADMIN_AUTH)
        redis_server.start()
    assert early.status_code == 200 and len(early.json()["data"]) == 1
    assert huge.status_code == 400
    assert down.status_code == 503


async def _keyed_trail_of_five(redis_server: RedisServer) -> tuple[redis.asyncio.Redis, AuditTrail]:
    client = redis.asyncio.Redis.from_url(redis_server.url)
    trail = AuditTrail(client, key="a-chain-key-kept-outside-redis")
    for index in range(5):
        await trail.append([{"n": index, "ts": f"2026-01-0{index + 1}T00:00:00.000+00:00"}])
    return client, trail


async def test_a_moved_anchor_is_caught_even_over_edited_records(redis_server: RedisServer) -> None:
    """#26 item 1: someone with Redis but not the chain key edits records 2-4 and moves the
    anchor to 4; verify used to skip every record at or below the anchor and report the trail
    intact (and an empty trail with the anchor at the head)."""
    from serving.audit.cli import verify_store
    from serving.audit.trail import ANCHOR

    client, trail = await _keyed_trail_of_five(redis_server)
    assert (await verify_store(trail)).ok
    records = [record async for _, record in trail.entries()]
    await client.delete(STREAM)
    for record in records:  # rewritten in place: 2-4 edited, their hashes now wrong
        edited = {**record, "n": 99} if record["seq"] in (2, 3, 4) else record
        await client.xadd(STREAM, {"r": orjson.dumps(edited)})
    for seq in (4, 5):  # the anchor moved over them, then to the head
        await client.hset(ANCHOR, mapping={"seq": seq, "hash": records[seq - 1]["hash"]})
        verdict = await verify_store(trail)
        assert not verdict.ok, verdict.describe()
        assert "not signed by the chain key" in (verdict.problem or "")
    unkeyed = AuditTrail(client)  # no key to check a signature: records still present are a break
    verdict = await verify_store(unkeyed)
    assert not verdict.ok and "still present at or before the retention anchor" in (verdict.problem or "")
    await client.aclose()


async def test_a_signed_anchor_verifies_and_an_early_trim_does_not(redis_server: RedisServer) -> None:
    from serving.audit.cli import verify_store

    client, trail = await _keyed_trail_of_five(redis_server)
    ids = [entry_id async for entry_id, _ in trail.entries()]
    # Records 1-3 (their ts in January) go, and any written in the same millisecond as the third
    # (stream ids are milliseconds: a cutoff at the fourth's could remove nothing on a fast machine).
    await trail.trim_before(int(ids[2].split("-")[0]) + 1)
    details = await trail.anchor_details()
    assert details["mac"] and details["ts"].startswith("2026-01-0")
    assert (await verify_store(trail, retention_days=30)).ok  # January is more than 30 days ago
    early = await verify_store(trail, retention_days=100_000)  # a retention those records are inside
    assert not early.ok and "records removed early" in (early.problem or "")
    await client.aclose()


async def test_two_writers_appending_at_once_never_fork_the_chain(redis_server: RedisServer) -> None:
    """Two instances (two connections, two AuditTrails) append batches at the same time: every
    record gets its own seq, one after another, and the chain verifies."""
    from serving.audit.cli import verify_store

    clients = [redis.asyncio.Redis.from_url(redis_server.url) for _ in range(2)]
    trails = [AuditTrail(client, key="a-chain-key-kept-outside-redis") for client in clients]

    async def writer(index: int) -> None:
        for batch in range(25):
            await trails[index].append([{"writer": index, "batch": batch, "n": n} for n in range(3)])

    await asyncio.gather(writer(0), writer(1))
    seqs = [record["seq"] async for _, record in trails[0].entries()]
    assert seqs == list(range(1, 151))
    writers = {record["writer"] async for _, record in trails[0].entries()}
    assert writers == {0, 1}
    assert (await verify_store(trails[1])).ok
    for client in clients:
        await client.aclose()
