"""Tenants and dollar budgets through real façade processes sharing one real redis-server (#29):
exact across instances, charged at the real cost, surviving a restart, reported to the nano-dollar."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import openai
import orjson
import pytest
import redis
from redis.crc import key_slot

from serving.access.keys import hash_key as _hash
from serving.access.keys import new_secret
from tests.conftest import RedisServer
from tests.support.stack import Facade, Simulator, facade, facade_config, redis_running, simulator, vllm_backend
from tests.support.wait import eventually

ADMIN_KEY = "admin-0123456789abcdefghijklmnop"
HELLO = [{"role": "user", "content": "Hello"}]
# Prices that make each token's cost a whole number of nano-dollars: $1,000, $100 and $4,000 a million.
INPUT, CACHED, OUTPUT = 1_000_000, 100_000, 4_000_000
PRICING = {"input_per_million": 1000, "cached_input_per_million": 100, "output_per_million": 4000}


class BudgetStack:
    def __init__(self, tmp: Path, facades: list[Facade], sim: Simulator, redis_server: RedisServer) -> None:
        self.tmp = tmp
        self.facades = facades
        self.sim = sim
        self.redis = redis_server
        self.store = redis.Redis.from_url(redis_server.url, decode_responses=True)

    def admin(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return httpx.request(
            method, self.facades[0].root_url + path, headers={"authorization": f"Bearer {ADMIN_KEY}"}, **kwargs
        )

    def tenant(self, tenant_id: str, **fields: Any) -> dict[str, Any]:
        response = self.admin("POST", "/admin/tenants", json={"id": tenant_id, "name": tenant_id.title(), **fields})
        assert response.status_code == 201, response.text
        return dict(response.json())

    def key(self, **fields: Any) -> dict[str, Any]:
        response = self.admin("POST", "/admin/keys", json={"name": "staff", **fields})
        assert response.status_code == 201, response.text
        return dict(response.json())


def budget_config(sim: Simulator, redis_server: RedisServer) -> dict[str, Any]:
    return facade_config(
        backends={"sim": vllm_backend(sim.base_url, "sim-model", pricing=PRICING)},
        models={"medgemma": ["sim"], "gpt-5": ["sim"]},
        store={"redis_url": redis_server.url, "admin_key": ADMIN_KEY, "default_max_tokens": 100},
        probe_interval_seconds=0.2,
    )


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BudgetStack]:
    tmp = tmp_path_factory.mktemp("budgets")
    with ExitStack() as running:
        redis_server = running.enter_context(redis_running(tmp))
        sim = running.enter_context(simulator(tmp, "--ttft-ms", "5", "--itl-ms", "5", "--tokens", "4"))
        config = budget_config(sim, redis_server)
        facades = [running.enter_context(facade(tmp, config)) for _ in range(2)]
        yield BudgetStack(tmp, facades, sim, redis_server)


def worst_case(content: bytes, max_tokens: int) -> int:
    """What admission reserves: the prompt's estimate (4 bytes a token) uncached, the whole cap."""
    return len(content) // 4 * INPUT + max_tokens * OUTPUT


def cost_of(usage: dict[str, Any]) -> int:
    cached = (usage.get("prompt_tokens_details") or {}).get("cached_tokens") or 0
    return (usage["prompt_tokens"] - cached) * INPUT + cached * CACHED + usage["completion_tokens"] * OUTPUT


def seconds_to_utc_midnight() -> float:
    now = datetime.now(UTC)
    return (datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), UTC) - now).total_seconds()


def test_two_instances_hold_a_tenant_budget_exactly(stack: BudgetStack) -> None:
    # Admitted requests hang at the backend, so no settlement gives money back mid-burst: the
    # reservations alone decide, and exactly ten fit in 10.5 worst cases.
    content = orjson.dumps({"model": "medgemma", "messages": HELLO, "max_tokens": 90, "simulate": {"hang_ms": 120_000}})
    worst = worst_case(content, 90)
    stack.tenant("clinic-exact", daily_budget_usd=10.5 * worst / 1e9)
    keys = [stack.key(tenant="clinic-exact")["key"] for _ in range(2)]  # the budget is the tenant's, shared
    seen_before = stack.sim.stats()["requests"]

    async def run() -> list[httpx.Response]:
        async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=40)) as client:
            tasks = [
                asyncio.create_task(
                    client.post(
                        stack.facades[i % 2].base_url + "/chat/completions",
                        content=content,
                        headers={"authorization": f"Bearer {keys[i % 2]}", "content-type": "application/json"},
                    )
                )
                for i in range(40)
            ]
            answered = []
            for finished in asyncio.as_completed(tasks, timeout=30):  # an 11th admission: 29, then timeout
                answered.append(await finished)
                if len(answered) == 30:
                    break
            held = await asyncio.to_thread(
                eventually, lambda: stack.sim.stats()["requests"] - seen_before, lambda n: n >= 10
            )
            assert held == 10
            for task in tasks:
                task.cancel()
            return answered

    answered = asyncio.run(run())
    assert [r.status_code for r in answered] == [429] * 30
    error = answered[0].json()["error"]
    assert (error["type"], error["code"]) == ("insufficient_quota", "budget_exceeded")
    assert "tenant's daily budget" in error["message"]
    assert answered[0].headers["x-should-retry"] == "false"
    retry_after = int(answered[0].headers["retry-after"])
    assert abs(retry_after - seconds_to_utc_midnight()) < 60  # the day's end, UTC (the tenant's zone)


def test_spend_is_charged_at_the_real_cost_and_reconciles_with_usage(stack: BudgetStack) -> None:
    stack.tenant("clinic-report", monthly_budget_usd=1000)
    keys = [stack.key(name=f"desk-{i}", tenant="clinic-report") for i in range(2)]
    expected: dict[str, int] = {key["id"]: 0 for key in keys}
    for i in range(12):
        key, where = keys[i % 2], stack.facades[(i // 2) % 2]
        client = openai.OpenAI(base_url=where.base_url, api_key=key["key"], max_retries=0)
        simulate = {"cached_tokens": 3} if i % 3 == 0 else {}
        if i % 4 == 1:
            stream = client.chat.completions.create(
                model="medgemma",
                messages=[{"role": "user", "content": "Hello " * (i + 1)}],
                max_tokens=4,
                stream=True,
                stream_options={"include_usage": True},
                extra_body={"simulate": simulate},
            )
            usage = [chunk.usage for chunk in stream if chunk.usage is not None][-1]
        else:
            reply = client.chat.completions.create(
                model="medgemma",
                messages=[{"role": "user", "content": "Hello " * (i + 1)}],
                max_tokens=4,
                extra_body={"simulate": simulate},
            )
            usage = reply.usage
        assert usage is not None
        expected[key["id"]] += cost_of(usage.model_dump())
    total = sum(expected.values())
    month = datetime.now(UTC).strftime("%Y%m")
    # Settlement is just after each response: wait until the tenant's month holds no reservation.
    eventually(lambda: int(stack.store.get(f"pc:{{t:clinic-report}}:spend:m:{month}") or 0), lambda v: v == total)

    report = stack.admin("GET", "/admin/spend", params={"tenant": "clinic-report", "group_by": "key"}).json()
    assert {row["key_id"]: row["cost_nanos"] for row in report["data"]} == expected
    assert {row["key_name"] for row in report["data"]} == {"desk-0", "desk-1"}
    assert report["total_cost_usd"] == pytest.approx(total / 1e9, abs=1e-9)
    # Reconciled with the usage records each key reads itself, to the cent (here: to the nano-dollar).
    for key in keys:
        usage = httpx.get(
            stack.facades[1].base_url + "/usage", headers={"authorization": f"Bearer {key['key']}"}
        ).json()["data"]
        assert sum(row["cost_nanos"] for row in usage) == expected[key["id"]]
        assert round(sum(row["cost_usd"] for row in usage), 2) == round(expected[key["id"]] / 1e9, 2)
    by_model = stack.admin("GET", "/admin/spend", params={"tenant": "clinic-report", "group_by": "model"}).json()
    assert [(row["model"], row["requests"], row["cost_nanos"]) for row in by_model["data"]] == [("medgemma", 12, total)]
    as_csv = stack.admin("GET", "/admin/spend", params={"tenant": "clinic-report", "group_by": "day", "format": "csv"})
    assert as_csv.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert [int(row["cost_nanos"]) for row in rows] == [total]
    assert rows[0]["date"] == datetime.now(UTC).date().isoformat()


def test_a_spent_key_budget_survives_a_restart(stack: BudgetStack) -> None:
    content = orjson.dumps({"model": "medgemma", "messages": HELLO, "max_tokens": 4})
    worst = worst_case(content, 4)
    key = stack.key(monthly_budget_usd=2.5 * worst / 1e9)  # no tenant: a budget of the key's own
    headers = {"authorization": f"Bearer {key['key']}", "content-type": "application/json"}
    for where in stack.facades:  # two requests, one per instance, then the budget holds no third
        assert httpx.post(where.base_url + "/chat/completions", content=content, headers=headers).status_code == 200
    spent_key = f"pc:{{{_hash(key['key'])}}}:spend:m:{datetime.now(UTC):%Y%m}"
    eventually(lambda: int(stack.store.get(spent_key) or 0), lambda v: v < 2 * worst)  # settled below the worst
    refused = httpx.post(stack.facades[0].base_url + "/chat/completions", content=content, headers=headers)
    if refused.status_code == 200:  # the real costs left room for a third: the fourth cannot fit
        refused = httpx.post(stack.facades[0].base_url + "/chat/completions", content=content, headers=headers)
    assert refused.status_code == 429 and refused.json()["error"]["code"] == "budget_exceeded"
    assert "API key's monthly budget" in refused.json()["error"]["message"]
    # A new instance (a restart) knows nothing in memory: the store keeps the month's spend.
    with facade(stack.tmp, budget_config(stack.sim, stack.redis)) as restarted:
        again = httpx.post(restarted.base_url + "/chat/completions", content=content, headers=headers)
    assert again.status_code == 429 and again.json()["error"]["code"] == "budget_exceeded"
    now = datetime.now(UTC)
    month_end = datetime(now.year + (now.month == 12), now.month % 12 + 1, 1, tzinfo=UTC)
    assert abs(int(again.headers["retry-after"]) - (month_end - now).total_seconds()) < 60


def test_a_tenant_narrows_its_keys_and_disabling_it_stops_them(stack: BudgetStack) -> None:
    stack.tenant("clinic-narrow", models=["medgemma"], time_zone="America/Chicago")
    key = stack.key(tenant="clinic-narrow")
    assert key["models"] == ["medgemma"] and key["tenant"] == "clinic-narrow"  # the tenant's, by default
    stack.tenant("clinic-other")
    moved = stack.admin("PATCH", f"/admin/keys/{key['id']}", json={"tenant": "clinic-other"})
    assert moved.status_code == 400 and moved.json()["error"]["param"] == "tenant"  # a key stays in its tenant
    widening = stack.admin("POST", "/admin/keys", json={"name": "x", "tenant": "clinic-narrow", "models": ["gpt-5"]})
    assert widening.status_code == 400 and widening.json()["error"]["code"] == "widens_tenant"
    missing = stack.admin("POST", "/admin/keys", json={"name": "x", "tenant": "no-such-clinic"})
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "tenant_not_found"
    client = openai.OpenAI(base_url=stack.facades[1].base_url, api_key=key["key"], max_retries=0)
    assert [model.id for model in client.models.list()] == ["medgemma"]
    client.chat.completions.create(model="medgemma", messages=HELLO, max_tokens=1)
    # The tenant's own grant narrows a key the store still says may use every model.
    stack.store.hset(f"pc:{{{_hash(key['key'])}}}:key", "models", "*")
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="gpt-5", messages=HELLO, max_tokens=1)
    assert stack.admin("DELETE", "/admin/tenants/clinic-narrow").json()["disabled"] is True
    with pytest.raises(openai.AuthenticationError) as refused:
        client.chat.completions.create(model="medgemma", messages=HELLO, max_tokens=1)
    assert "tenant is disabled" in str(refused.value)
    listed = stack.admin("GET", "/admin/tenants").json()["data"]
    assert {"clinic-narrow", "clinic-other"} <= {tenant["id"] for tenant in listed}
    assert stack.admin("POST", "/admin/tenants", json={"id": "clinic-narrow"}).status_code == 409
    assert stack.admin("POST", "/admin/tenants", json={"id": "Bad Id"}).status_code == 400
    assert stack.admin("GET", "/admin/spend", params={"tenant": "nobody"}).status_code == 404


def test_a_tenants_keys_share_its_hash_slot() -> None:
    for tenant in ("clinic-a", "clinic-b"):
        secret = new_secret(tenant)
        assert key_slot(f"pc:{{{_hash(secret)}}}:key".encode()) == key_slot(f"pc:{{t:{tenant}}}:tenant".encode())
    assert new_secret() != new_secret()


def cli(stack: BudgetStack, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "serving", *args[:1], "--config", str(stack.facades[0].config_path), *args[1:]]
    return subprocess.run(command, capture_output=True, text=True, timeout=30)


def test_tenants_keys_and_spend_from_the_command_line(stack: BudgetStack) -> None:
    created = cli(stack, "tenants", "create", "clinic-cli", "--name", "Clinic CLI", "--models", "medgemma")
    assert created.returncode == 0, created.stderr
    assert json.loads(created.stdout)["models"] == ["medgemma"]
    updated = cli(stack, "tenants", "update", "clinic-cli", "--daily-budget-usd", "12.5", "--time-zone", "Asia/Tokyo")
    assert json.loads(updated.stdout)["daily_budget_usd"] == 12.5
    assert cli(stack, "tenants", "update", "clinic-cli", "--time-zone", "Mars/Olympus").returncode == 1
    key = cli(stack, "keys", "create", "--name", "front-desk", "--tenant", "clinic-cli")
    assert key.returncode == 0, key.stderr
    record = json.loads(key.stdout)
    assert (record["tenant"], record["models"]) == ("clinic-cli", ["medgemma"])
    widening = cli(stack, "keys", "create", "--name", "x", "--tenant", "clinic-cli", "--models", "gpt-5")
    assert widening.returncode == 1 and "allows only" in widening.stderr
    client = openai.OpenAI(base_url=stack.facades[0].base_url, api_key=record["key"], max_retries=0)
    reply = client.chat.completions.create(model="medgemma", messages=HELLO, max_tokens=3)
    assert reply.usage is not None
    expected = cost_of(reply.usage.model_dump())
    # Tokyo's day: the tenant's budget counts in its zone (the report's days stay UTC).
    tokyo_day = datetime.now(ZoneInfo("Asia/Tokyo")).strftime("%Y%m%d")
    spent = f"pc:{{t:clinic-cli}}:spend:d:{tokyo_day}"
    eventually(lambda: int(stack.store.get(spent) or 0), lambda v: v == expected)
    report = cli(stack, "spend", "--tenant", "clinic-cli", "--group-by", "key")
    assert report.returncode == 0, report.stderr
    rows = list(csv.DictReader(io.StringIO(report.stdout)))
    assert [(row["key_name"], int(row["cost_nanos"])) for row in rows] == [("front-desk", expected)]
    as_json = json.loads(cli(stack, "spend", "--tenant", "clinic-cli", "--format", "json").stdout)
    assert as_json[0]["cost_nanos"] == expected
    assert cli(stack, "spend", "--tenant", "nobody").returncode == 1
    assert json.loads(cli(stack, "tenants", "disable", "clinic-cli").stdout)["disabled"] is True
    assert "clinic-cli" in cli(stack, "tenants", "list").stdout


def test_tenants_and_their_keys_from_the_config_file(stack: BudgetStack, tmp_path: Path) -> None:
    config = budget_config(stack.sim, stack.redis)
    config["tenants"] = [{"id": "clinic-file", "models": ["medgemma"], "daily_budget_usd": 0.000001}]
    secret = "sk-file-key-0123456789abcdef"
    config["keys"].append({"key": secret, "name": "file-desk", "tenant": "clinic-file"})
    with facade(tmp_path, config) as from_file:
        client = openai.OpenAI(base_url=from_file.base_url, api_key=secret, max_retries=0)
        assert [model.id for model in client.models.list()] == ["medgemma"]
        with pytest.raises(openai.RateLimitError) as refused:  # $0.000001 fits no request
            client.chat.completions.create(model="medgemma", messages=HELLO, max_tokens=1)
    assert refused.value.code == "budget_exceeded"
    shown = stack.admin("GET", "/admin/tenants/clinic-file").json()
    assert shown["daily_budget_usd"] == 0.000001 and shown["created_at"] > 0
