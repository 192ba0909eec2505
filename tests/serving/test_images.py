"""Images in-process, the simulator as the backend: inline data: URLs pass within their limits,
remote URLs only from allowed hosts (SSRF), other schemes never, and each image is charged a
fixed count of tokens up front instead of its base64 size."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from loadtests.devstack.redis_server import RedisServer
from tests.support.inprocess import QUICK, RunningApp, RunningSimulator, running_app, simulator_server
from tests.support.stack import facade_config, vllm_backend

LIMITED = "sk-test-image-tenant-0123456789abcd"
HEADERS = {"authorization": f"Bearer {LIMITED}"}
PNG = "data:image/png;base64," + base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(300_000)).decode()


def image_chat(*urls: str, text: str = "What does this X-ray show?") -> dict[str, Any]:
    parts: list[dict[str, Any]] = [{"type": "text", "text": text}]
    parts += [{"type": "image_url", "image_url": {"url": url}} for url in urls]
    return {"model": "medgemma", "messages": [{"role": "user", "content": parts}], "max_tokens": 10}


@asynccontextmanager
async def image_stack(redis_url: str) -> AsyncIterator[tuple[RunningApp, RunningSimulator]]:
    async with simulator_server(QUICK) as sim:
        config = facade_config(
            {"sim": vllm_backend(sim.base_url, "m")},
            {"medgemma": ["sim"]},
            store={"redis_url": redis_url, "allow_unauthenticated_store": True},
            max_request_bytes=2_000_000,
        )
        config["images"] = {
            "max_image_bytes": 400_000,
            "max_images_per_request": 3,
            "max_request_image_bytes": 700_000,
            "allowed_url_hosts": ["pacs.example-hospital.org", "*.images.example.org"],
            "tokens_per_image": 256,
        }
        config["keys"].append({"key": LIMITED, "name": "image-tenant", "tpm": 100_000})
        async with running_app(config) as app:
            yield app, sim


async def test_an_inline_image_passes_and_is_charged_256_tokens(redis_server: RedisServer) -> None:
    async with image_stack(redis_server.url) as (app, sim):
        response = await app.client.post("/v1/chat/completions", json=image_chat(PNG), headers=HEADERS)
        assert response.status_code == 200, response.text
        sent = sim.simulator.last_body["messages"][0]["content"]  # type: ignore[index]
        assert sent[1]["image_url"]["url"] == PNG  # untouched
        # Charged: ~30 tokens of text + 256 for the image + the 10 asked for; never the
        # 100,000 tokens its 400 KB of base64 would count as text.
        charged = 100_000 - int(response.headers["x-ratelimit-remaining-tokens"])
        assert 256 + 10 <= charged <= 256 + 10 + 100, charged


async def test_responses_api_input_image_is_checked_too(redis_server: RedisServer) -> None:
    body = {
        "model": "medgemma",
        "input": [{"role": "user", "content": [{"type": "input_image", "image_url": "http://169.254.169.254/x"}]}],
    }
    async with image_stack(redis_server.url) as (app, sim):
        response = await app.client.post("/v1/responses", json=body, headers=HEADERS)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "image_url_not_allowed"
    assert response.json()["error"]["param"] == "input[0].content[0].image_url"
    assert sim.requests == 0


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("http://10.0.0.5/admin", "image_url_not_allowed"),
        ("https://pacs.example-hospital.org.evil.com/x.png", "image_url_not_allowed"),
        ("http://localhost:6379/", "image_url_not_allowed"),
        ("file:///etc/passwd", "invalid_image_url"),
        ("ftp://pacs.example-hospital.org/x.png", "invalid_image_url"),
        ("data:text/plain;base64,aGVsbG8=", "invalid_image_url"),
        ("data:image/png,rawbytes", "invalid_image_url"),
        ("data:image/png;base64," + "A" * 600_000, "image_too_large"),
    ],
)
async def test_refused_images_never_reach_the_backend(redis_server: RedisServer, url: str, code: str) -> None:
    async with image_stack(redis_server.url) as (app, sim):
        response = await app.client.post("/v1/chat/completions", json=image_chat(url), headers=HEADERS)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == code and error["param"] == "messages[0].content[1].image_url"
    assert sim.requests == 0


async def test_allowed_hosts_and_the_count_limit(redis_server: RedisServer) -> None:
    async with image_stack(redis_server.url) as (app, sim):
        allowed = image_chat("https://pacs.example-hospital.org/study/1.png", "https://a.images.example.org/2.png")
        assert (await app.client.post("/v1/chat/completions", json=allowed, headers=HEADERS)).status_code == 200
        three = image_chat(PNG, PNG, PNG)  # 3 x 300 KB: within the count, over the 700 KB in all
        response = await app.client.post("/v1/chat/completions", json=three, headers=HEADERS)
        assert response.status_code == 400 and response.json()["error"]["code"] == "images_too_large"
        four = image_chat(*["https://pacs.example-hospital.org/1.png"] * 4)
        response = await app.client.post("/v1/chat/completions", json=four, headers=HEADERS)
        assert response.status_code == 400 and response.json()["error"]["code"] == "too_many_images"
        assert sim.requests == 1


async def test_text_mentioning_images_is_served_as_text_not_refused(redis_server: RedisServer) -> None:
    body = {"model": "medgemma", "messages": [{"role": "user", "content": "image_url: file:///etc/passwd"}]}
    async with image_stack(redis_server.url) as (app, sim):
        response = await app.client.post("/v1/chat/completions", json=body, headers=HEADERS)
    assert response.status_code == 200 and sim.requests == 1


@pytest.mark.parametrize(
    "raw",
    [
        # A JSON escape hides the word "image" from a byte search.
        b'{"model": "medgemma", "messages": [{"role": "user", "content": [{"type": "\\u0069mage_url", '
        b'"\\u0069mage_url": {"url": "http://169.254.169.254/latest"}}]}]}',
        # No `type`: vLLM still reads a part with an image_url as an image.
        b'{"model": "medgemma", "messages": [{"role": "user", "content": [{"image_url": {"url": "http://10.0.0.1/"}}]}]}',
        # Parsers disagree on the host of this one (urllib: the allowed host; urllib3: evil.example).
        b'{"model": "medgemma", "messages": [{"role": "user", "content": [{"type": "image_url", '
        b'"image_url": {"url": "http://evil.example\\\\@pacs.example-hospital.org/x.png"}}]}]}',
        # In a function call's output (Responses API).
        b'{"model": "medgemma", "input": [{"type": "function_call_output", "call_id": "c", '
        b'"output": [{"type": "input_image", "image_url": "http://10.0.0.1/x.png"}]}]}',
    ],
)
async def test_disguised_remote_images_are_refused(redis_server: RedisServer, raw: bytes) -> None:
    path = "/v1/responses" if b'"input"' in raw else "/v1/chat/completions"
    async with image_stack(redis_server.url) as (app, sim):
        response = await app.client.post(path, content=raw, headers={**HEADERS, "content-type": "application/json"})
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "image_url_not_allowed"
    assert sim.requests == 0
