"""Keys, limits and usage through real façade processes sharing one real redis-server."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import openai
import orjson
import pytest

from tests.conftest import RedisServer
from tests.support.stack import (
    TEST_KEY,
    Facade,
    Simulator,
    facade,
    facade_config,
    redis_running,
    simulator,
    vllm_backend,
)
from tests.support.wait import eventually

ADMIN_KEY = "admin-0123456789abcdefghijklmnop"
HELLO = [{"role": "user", "content": "Hello"}]


class LimitStack:
    def __init__(self, facades: list[Facade], sim: Simulator, redis: RedisServer) -> None:
        self.facades = facades
        self.sim = sim
        self.redis = redis

    def admin(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return httpx.request(
            method, self.facades[0].root_url + path, headers={"authorization": f"Bearer {ADMIN_KEY}"}, **kwargs
        )

    def create_key(self, **fields: Any) -> dict[str, Any]:
        response = self.admin("POST", "/admin/keys", json={"name": "t", **fields})
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "serving", "keys", "--config", str(self.facades[0].config_path), *args]
        return subprocess.run(command, capture_output=True, text=True, timeout=30)


def stack_config(sim: Simulator, redis: RedisServer, policy: str = "closed") -> dict[str, Any]:
    return facade_config(
        backends={"sim": vllm_backend(sim.base_url, "sim-model")},
        models={"medgemma": ["sim"], "gpt-5": ["sim"]},
        store={"redis_url": redis.url, "admin_key": ADMIN_KEY, "failure_policy": policy, "default_max_tokens": 100},
        probe_interval_seconds=0.2,
    )


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LimitStack]:
    tmp = tmp_path_factory.mktemp("limits")
    with ExitStack() as running:
        redis = running.enter_context(redis_running(tmp))
        sim = running.enter_context(simulator(tmp, "--ttft-ms", "5", "--itl-ms", "5", "--tokens", "4"))
        config = stack_config(sim, redis)
        facades = [running.enter_context(facade(tmp, config)) for _ in range(4)]
        yield LimitStack(facades, sim, redis)


async def burst(stack: LimitStack, key: str, content: bytes, count: int) -> list[httpx.Response]:
    headers = {"authorization": f"Bearer {key}", "content-type": "application/json"}
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=count)) as client:
        return await asyncio.gather(
            *(
                client.post(stack.facades[i % 4].base_url + "/chat/completions", content=content, headers=headers)
                for i in range(count)
            )
        )


def test_four_instances_admit_exactly_the_request_limit(stack: LimitStack) -> None:
    key = stack.create_key(rpm=50)["key"]
    content = orjson.dumps({"model": "medgemma", "messages": HELLO, "max_tokens": 2})
    responses = asyncio.run(burst(stack, key, content, 200))
    statuses = [r.status_code for r in responses]
    assert statuses.count(200) == 50 and statuses.count(429) == 150
    for response in responses:
        assert response.headers["x-ratelimit-limit-requests"] == "50"
        assert response.headers["x-ratelimit-reset-requests"]
        if response.status_code == 429:
            assert response.headers["x-ratelimit-remaining-requests"] == "0"
            assert 1 <= int(response.headers["retry-after"]) <= 60
            error = response.json()["error"]
            assert (error["type"], error["code"]) == ("requests", "rate_limit_exceeded")
    remaining = sorted(int(r.headers["x-ratelimit-remaining-requests"]) for r in responses if r.status_code == 200)
    assert remaining == list(range(50))  # each admission saw a distinct count: no double admits


def test_four_instances_admit_exactly_the_token_limit(stack: LimitStack) -> None:
    # Admitted requests hang at the backend until the test hangs up, so no settlement gives
    # tokens back mid-burst, however slow the machine: every refusal arrives, the admitted wait.
    content = orjson.dumps({"model": "medgemma", "messages": HELLO, "max_tokens": 90, "simulate": {"hang_ms": 120_000}})
    estimate = len(content) // 4 + 90
    key = stack.create_key(tpm=20 * estimate + estimate // 2)["key"]
    seen_before = stack.sim.stats()["requests"]
    headers = {"authorization": f"Bearer {key}", "content-type": "application/json"}

    async def run() -> list[httpx.Response]:
        async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=200)) as client:
            tasks = [
                asyncio.create_task(
                    client.post(stack.facades[i % 4].base_url + "/chat/completions", content=content, headers=headers)
                )
                for i in range(200)
            ]
            answered = []
            for finished in asyncio.as_completed(tasks, timeout=30):  # a 21st admission: 179, then timeout
                answered.append(await finished)
                if len(answered) == 180:
                    break
            # The 20 others are in flight at the backend; hanging up cancels them there.
            held = await asyncio.to_thread(
                eventually, lambda: stack.sim.stats()["requests"] - seen_before, lambda n: n >= 20
            )
            assert held == 20
            for task in tasks:
                task.cancel()
            return answered

    answered = asyncio.run(run())
    assert [r.status_code for r in answered] == [429] * 180
    rejected = answered[0]
    assert rejected.json()["error"]["type"] == "tokens"
    assert int(rejected.headers["x-ratelimit-remaining-tokens"]) < estimate


def test_key_lifecycle_cli_and_admin_api(stack: LimitStack) -> None:
    created = stack.cli("create", "--name", "clinic-a", "--models", "medgemma", "--rpm", "100")
    assert created.returncode == 0, created.stderr
    record = json.loads(created.stdout)
    secret, key_id = record["key"], record["id"]
    assert secret.startswith("sk-pc-") and len(secret) >= 6 + 43  # 32 random bytes, base64url
    client = openai.OpenAI(base_url=stack.facades[1].base_url, api_key=secret, max_retries=0)
    assert [m.id for m in client.models.list()] == ["medgemma"]
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="gpt-5", messages=HELLO, max_tokens=1)

    listed = stack.cli("list")
    assert key_id in listed.stdout and secret not in listed.stdout
    admin_list = stack.admin("GET", "/admin/keys").json()
    assert key_id in json.dumps(admin_list) and secret not in json.dumps(admin_list)
    assert stack.admin("PATCH", f"/admin/keys/{key_id}", json={"models": ["*"]}).json()["models"] == ["*"]
    assert {m.id for m in client.models.list()} == {"medgemma", "gpt-5"}
    shown = json.loads(stack.cli("show", key_id).stdout)
    assert shown["rpm"] == 100 and "key" not in shown
    updated = json.loads(stack.cli("update", key_id, "--rpm", "7", "--tpm", "7000").stdout)
    assert (updated["rpm"], updated["tpm"]) == (7, 7000)
    limited = httpx.post(
        stack.facades[3].base_url + "/chat/completions",
        headers={"authorization": f"Bearer {secret}"},
        json={"model": "medgemma", "messages": HELLO, "max_tokens": 1},
    )
    assert limited.headers["x-ratelimit-limit-requests"] == "7"  # the change is live on another instance

    assert stack.cli("revoke", key_id).returncode == 0
    with pytest.raises(openai.AuthenticationError):  # a second instance sees it at once
        client.chat.completions.create(model="medgemma", messages=HELLO, max_tokens=1)

    assert stack.cli("show", "key_missing").returncode == 1
    assert stack.admin("GET", "/admin/keys/key_missing").status_code == 404
    bad_admin = httpx.get(stack.facades[0].root_url + "/admin/keys", headers={"authorization": f"Bearer {TEST_KEY}"})
    assert bad_admin.status_code == 401 and bad_admin.json()["error"]["type"] == "authentication_error"
    invalid = stack.admin("POST", "/admin/keys", json={"name": "x", "rpm": -1})
    assert invalid.status_code == 400 and invalid.json()["error"]["param"] == "rpm"


def test_openai_client_sees_the_right_exceptions(stack: LimitStack) -> None:
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=stack.facades[0].base_url, api_key="sk-pc-unknown", max_retries=0).models.list()
    one_per_minute = stack.create_key(rpm=1)["key"]
    client = openai.OpenAI(base_url=stack.facades[0].base_url, api_key=one_per_minute, max_retries=0)
    client.chat.completions.create(model="medgemma", messages=HELLO, max_tokens=1)
    with pytest.raises(openai.RateLimitError) as caught:
        client.chat.completions.create(model="medgemma", messages=HELLO, max_tokens=1)
    assert caught.value.response.headers["retry-after"]

    # An exhausted budget says x-should-retry: false, so the SDK's retries stay home.
    budget = stack.create_key(name="budget", daily_tokens=1)
    retrying = openai.OpenAI(base_url=stack.facades[2].base_url, api_key=budget["key"], max_retries=2)
    retrying.chat.completions.create(model="medgemma", messages=HELLO, max_tokens=1)  # uses the budget up
    eventually(lambda: usage_of(stack, budget["key"]).get("requests") == 1)  # settled just after the response
    before = stack.facades[2].log_text().count('"status": 429')
    with pytest.raises(openai.RateLimitError) as quota:
        retrying.chat.completions.create(model="medgemma", messages=HELLO, max_tokens=1)
    assert quota.value.code == "insufficient_quota"
    # The SDK raises only after its retries; the access log line is written just after the
    # response is sent, so wait for it, then check there was exactly one attempt.
    eventually(lambda: stack.facades[2].log_text().count('"status": 429') > before)
    # The SDK raised after its last attempt was answered, so every attempt is logged by now
    # or within a moment: this short wait is for lines that must not come.
    time.sleep(0.2)
    assert stack.facades[2].log_text().count('"status": 429') == before + 1


def requests_logged(facade: Facade, key_name: str, status: int) -> int:
    lines = [json.loads(line) for line in facade.log_text().splitlines() if line.startswith("{")]
    return sum(1 for line in lines if line.get("key") == key_name and line.get("status") == status)


def test_sdk_waits_for_retry_after_rather_than_its_own_backoff(stack: LimitStack) -> None:
    key = stack.create_key(name="patient-sdk", rpm=1)["key"]
    client = openai.AsyncOpenAI(base_url=stack.facades[0].base_url, api_key=key, max_retries=2)

    async def run() -> None:
        await client.chat.completions.create(model="medgemma", messages=HELLO, max_tokens=1)
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(
                client.chat.completions.create(model="medgemma", messages=HELLO, max_tokens=1), timeout=3
            )

    asyncio.run(run())
    # The SDK's own backoff would have retried within ~1 s; retry-after (~60 s) keeps it waiting.
    assert requests_logged(stack.facades[0], "patient-sdk", 429) == 1
    # The wait was the SDK's, not a hung façade's: it answers at once, the 429 with its Retry-After.
    direct = httpx.post(
        stack.facades[0].base_url + "/chat/completions",
        json={"model": "medgemma", "messages": HELLO, "max_tokens": 1},
        headers={"authorization": f"Bearer {key}"},
        timeout=5,
    )
    assert direct.status_code == 429 and int(direct.headers["retry-after"]) >= 30


def usage_of(stack: LimitStack, key: str) -> dict[str, int]:
    response = httpx.get(stack.facades[3].base_url + "/usage", headers={"authorization": f"Bearer {key}"})
    assert response.status_code == 200
    rows = response.json()["data"]
    return rows[0] if rows else {}


def test_usage_is_reconciled_and_abandoned_streams_are_charged(stack: LimitStack) -> None:
    key = stack.create_key(tpm=100_000)["key"]
    headers = {"authorization": f"Bearer {key}"}
    first = httpx.post(
        stack.facades[0].base_url + "/chat/completions",
        headers=headers,
        json={"model": "medgemma", "messages": HELLO, "max_tokens": 500},
    )
    real = first.json()["usage"]
    assert int(first.headers["x-ratelimit-remaining-tokens"]) < 100_000 - 500  # charged the estimate
    row = eventually(lambda: usage_of(stack, key), lambda r: r.get("requests") == 1)
    assert (row["requests"], row["prompt_tokens"], row["completion_tokens"]) == (
        1,
        real["prompt_tokens"],
        real["completion_tokens"],
    )
    # The estimate was replaced by the real usage: only the real tokens stay charged.
    second = httpx.post(
        stack.facades[1].base_url + "/chat/completions",
        headers=headers,
        json={"model": "medgemma", "messages": HELLO, "max_tokens": 1},
    )
    second_estimate = len(orjson.dumps({"model": "medgemma", "messages": HELLO, "max_tokens": 1})) // 4 + 1
    used_before_second = real["total_tokens"]
    assert int(second.headers["x-ratelimit-remaining-tokens"]) == 100_000 - used_before_second - second_estimate

    client = openai.OpenAI(base_url=stack.facades[0].base_url, api_key=key, max_retries=0)
    streamed = list(
        client.chat.completions.create(
            model="medgemma", messages=HELLO, max_tokens=3, stream=True, extra_body={"simulate": {"eof_delay_ms": 300}}
        )
    )
    assert len(streamed) == 4  # role + 3 tokens; the SDK may hang up right after [DONE]
    row = eventually(lambda: usage_of(stack, key), lambda r: r.get("requests") == 3)
    assert (row["requests"], row["errors"], row["completion_tokens"]) == (3, 0, real["completion_tokens"] + 1 + 3)

    prompt_before = row["prompt_tokens"]
    abandoning = orjson.dumps(
        {
            "model": "medgemma",
            "messages": HELLO,
            "max_tokens": 400,
            "stream": True,
            "simulate": {"tokens": 400, "itl_ms": 20},
        }
    )
    with httpx.stream(
        "POST",
        stack.facades[2].base_url + "/chat/completions",
        headers={**headers, "content-type": "application/json"},
        content=abandoning,
    ) as response:
        lines = response.iter_lines()
        received = [next(lines) for _ in range(12)]  # 6 events: role + 5 tokens
    assert sum(1 for line in received if line.startswith("data: ")) == 6
    row = eventually(lambda: usage_of(stack, key), lambda r: r.get("requests") == 4)
    abandoned = row["completion_tokens"] - real["completion_tokens"] - 1 - 3
    assert row["requests"] == 4 and row["errors"] == 1  # the abandoned stream counts as failed
    assert 5 <= abandoned < 400, "charged what was generated until the client left"
    # No usage chunk came: the prompt is charged at the up-front estimate (~4 bytes a token).
    assert row["prompt_tokens"] - prompt_before == len(abandoning) // 4


def test_a_dropped_non_streaming_request_is_counted_and_its_charge_given_back(stack: LimitStack) -> None:
    key = stack.create_key(tpm=100_000)["key"]
    headers = {"authorization": f"Bearer {key}", "content-type": "application/json"}
    url = stack.facades[0].base_url + "/chat/completions"
    hanging = orjson.dumps({"model": "medgemma", "messages": HELLO, "max_tokens": 900, "simulate": {"hang_ms": 30_000}})
    cancelled_before = stack.sim.stats()["cancelled"]
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(url, headers=headers, content=hanging, timeout=httpx.Timeout(10, read=0.5))
    # The façade noticed the hang-up and cancelled the backend request.
    eventually(lambda: stack.sim.stats()["cancelled"], lambda n: n > cancelled_before)
    row = eventually(lambda: usage_of(stack, key), lambda r: r.get("requests") == 1)
    assert (row["errors"], row["prompt_tokens"], row["completion_tokens"]) == (1, 0, 0)
    # Nothing was generated, so the up-front charge was given back to the token window.
    small = orjson.dumps({"model": "medgemma", "messages": HELLO, "max_tokens": 1})
    after = httpx.post(url, headers=headers, content=small)
    assert int(after.headers["x-ratelimit-remaining-tokens"]) == 100_000 - (len(small) // 4 + 1)


def test_admin_usage_lists_every_key(stack: LimitStack) -> None:
    key = stack.create_key(name="reporting")
    httpx.post(
        stack.facades[0].base_url + "/chat/completions",
        headers={"authorization": f"Bearer {key['key']}"},
        json={"model": "gpt-5", "messages": HELLO, "max_tokens": 1},
    )
    rows = eventually(
        lambda: stack.admin("GET", "/admin/usage").json()["data"],
        lambda rows: any(r["key_id"] == key["id"] and r["model"] == "gpt-5" and r["requests"] == 1 for r in rows),
    )
    assert [r["requests"] for r in rows if r["key_id"] == key["id"]] == [1]
    assert stack.admin("GET", "/admin/usage", params={"start": "2026-01-02", "end": "2026-01-01"}).status_code == 400


@pytest.mark.parametrize("policy", ["closed", "open"])
def test_redis_restart_under_load_follows_policy(tmp_path: Path, policy: str) -> None:
    redis = RedisServer(tmp_path)
    redis.start()
    try:
        with (
            simulator(tmp_path, "--ttft-ms", "1", "--itl-ms", "1", "--tokens", "2") as sim,
            facade(tmp_path, stack_config(sim, redis, policy)) as running,
        ):
            statuses: list[int] = []
            bodies: list[dict[str, Any]] = []

            async def load(seconds: float) -> None:
                headers = {"authorization": f"Bearer {TEST_KEY}"}
                body = {"model": "medgemma", "messages": HELLO, "max_tokens": 1}
                deadline = time.monotonic() + seconds
                async with httpx.AsyncClient(timeout=10) as client:
                    while time.monotonic() < deadline:
                        response = await client.post(running.base_url + "/chat/completions", json=body, headers=headers)
                        statuses.append(response.status_code)
                        bodies.append(response.json())

            asyncio.run(load(0.5))
            assert set(statuses) == {200}
            redis.stop()
            statuses.clear()
            asyncio.run(load(1.5))
            ready = eventually(
                lambda: httpx.get(running.root_url + "/health/ready"), lambda r: r.json()["store"]["state"] == "down"
            )
            if policy == "closed":
                assert set(statuses) == {503} and ready.status_code == 503
                assert all(b["error"]["code"] == "service_unavailable" for b in bodies[-len(statuses) :])
            else:
                assert set(statuses) == {200}
            redis.start()
            statuses.clear()
            eventually(lambda: httpx.get(running.root_url + "/health/ready").json()["store"]["state"] == "up")
            asyncio.run(load(0.5))
            assert statuses and set(statuses) == {200}, "recovers by itself when Redis returns"
            assert httpx.get(running.root_url + "/health/ready").json()["store"]["state"] == "up"
    finally:
        redis.stop()
