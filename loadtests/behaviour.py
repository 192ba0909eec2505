"""Behaviour before and after a change: 100 fixed requests through the façade in-process (each
API, streamed and not, fallbacks, redacted and blocked identifiers, the cache, refusals and bad
input) against the simulator, written as what a client and an auditor see of each: status,
headers, body (SSE events parsed), the access-log line, the audit record and the usage report.
Ids, times and durations are blanked; everything else must match between two trees.

    python -m loadtests.behaviour --out after.json
    (cd /path/to/old/tree && python /path/to/loadtests/behaviour.py --out before.json)
    python -m loadtests.behaviour --compare before.json after.json

Only APIs both trees have are used (create_app, the settings, the audit reader), so the script
runs against an older checkout too."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import re
import sys
from pathlib import Path
from typing import Any

import httpx
import orjson
from aiohttp import web

from loadtests.simulator import Behaviour, Simulator
from serving.app import create_app
from serving.audit import reader
from serving.observability.metrics import Metrics
from serving.settings import ServingConfig

KEY = "sk-behaviour-0123456789abcdefghij"
SMALL_KEY = "sk-behaviour-small-0123456789abcdef"
ADMIN = "admin-behaviour-0123456789abcdef"
PHI = "Patient John Smith, DOB 03/14/1957, MRN 4471920, phone 617-555-0142, has a cough."
_BLANKED = {
    "id",
    "hash",
    "prev",
    "created",
    "created_at",
    "ts",
    "instance",
    "duration_ms",
    "ttft_ms",
    "response_id",
    "item_id",
}
_HEX = re.compile(r"\b[0-9a-f]{32}\b")
_TIMED_HEADERS = ("x-ratelimit-reset-requests", "x-ratelimit-reset-tokens")
_KEPT_HEADERS = (
    "content-type",
    "cache-control",
    "x-accel-buffering",
    "x-cache",
    "x-request-id",
    "retry-after",
    "allow",
)


def config(sim_url: str, spool: Path) -> dict[str, Any]:
    def backend(kind: str, **extra: Any) -> dict[str, Any]:
        found = {"kind": kind, "base_url": sim_url, "model": "sim-model", **extra}
        return found | ({"api_key": "sk-provider-behaviour-0123456789"} if kind == "openai" else {})

    return {
        "server": {"max_request_bytes": 65536, "request_id_secret": "behaviour-secret-0123456789"},
        "store": {"admin_key": ADMIN},
        "audit": {"spool_dir": str(spool)},
        "backends": {
            "local": backend("vllm"),
            "provider": backend("openai", data_policy="redact"),
            "strict": backend("openai", data_policy="block"),
            "gone": {"kind": "vllm", "base_url": "http://127.0.0.1:9/v1", "model": "sim-model"},
        },
        "models": {"medgemma": ["local"], "gpt-5": ["provider"], "strict": ["strict"], "fallback": ["gone", "local"]},
        "keys": [
            {"key": KEY, "name": "behaviour", "models": ["*"], "response_cache": True},
            {"key": SMALL_KEY, "name": "small", "models": ["medgemma"], "tpm": 300},
        ],
        "cache": {"enabled": True},
    }


def requests() -> list[dict[str, Any]]:
    """(path, body or raw bytes, headers): 100 of them, in a fixed order."""
    chat = [{"role": "user", "content": "Describe a migraine."}]
    phi_chat = [{"role": "user", "content": PHI}]
    out: list[dict[str, Any]] = []

    def add(path: str, body: Any, key: str | None = KEY, method: str = "POST", **headers: str) -> None:
        if key is not None:
            headers["authorization"] = f"Bearer {key}"
        out.append({"method": method, "path": path, "body": body, "headers": headers})

    for model in ("medgemma", "gpt-5", "fallback"):
        for stream in (False, True):
            add("/v1/chat/completions", {"model": model, "messages": chat, "stream": stream, "max_tokens": 6})
            add(
                "/v1/chat/completions",
                {"model": model, "messages": chat, "stream": stream, "stream_options": {"include_usage": True}}
                if stream
                else {"model": model, "messages": chat, "n": 2},
            )
            add("/v1/completions", {"model": model, "prompt": "Describe a migraine.", "stream": stream})
            add("/v1/completions", {"model": model, "prompt": ["a", "b"], "stream": stream, "max_tokens": 3})
            add("/v1/responses", {"model": model, "input": "Describe a migraine.", "stream": stream})
            add("/v1/responses", {"model": model, "input": chat, "stream": stream, "max_output_tokens": 5})
        add("/v1/embeddings", {"model": model, "input": "a migraine"})
    for model in ("medgemma", "gpt-5", "strict"):
        for stream in (False, True):
            echo = {"echo": True}
            add("/v1/chat/completions", {"model": model, "messages": phi_chat, "stream": stream, "simulate": echo})
            add("/v1/responses", {"model": model, "input": PHI, "stream": stream, "simulate": echo})
            add("/v1/completions", {"model": model, "prompt": PHI, "stream": stream, "simulate": echo})
    for stream in (False, True):
        cached = {"model": "medgemma", "messages": chat, "temperature": 0, "stream": stream}
        add("/v1/chat/completions", cached, **{"x-pearcare-cache": "on"})
        add("/v1/chat/completions", cached, **{"x-pearcare-cache": "on"})
        add(
            "/v1/chat/completions",
            {"model": "medgemma", "messages": chat, "stream": stream, "simulate": {"error_status": 503}},
        )
        add(
            "/v1/chat/completions",
            {"model": "medgemma", "messages": chat, "stream": stream, "simulate": {"error_status": 400}},
        )
        add(
            "/v1/chat/completions",
            {"model": "medgemma", "messages": chat, "stream": stream, "simulate": {"break_after": 2}},
        )
        add(
            "/v1/chat/completions",
            {"model": "medgemma", "messages": chat, "stream": stream, "simulate": {"omit_done": True}},
        )
        add("/v1/chat/completions", {"model": "medgemma", "messages": chat, "stream": stream}, SMALL_KEY)
        add("/v1/chat/completions", {"model": "nonexistent", "messages": chat, "stream": stream})
        add("/v1/chat/completions", {"model": "gpt-5", "messages": chat, "stream": stream}, SMALL_KEY)
    add("/v1/chat/completions", {"model": "medgemma", "messages": chat}, None)
    add("/v1/chat/completions", {"model": "medgemma", "messages": chat}, "sk-unknown-0123456789abcdefghij")
    add("/v1/chat/completions", b"{not json")
    add("/v1/chat/completions", b"[1, 2]")
    add("/v1/chat/completions", {"model": "medgemma"})
    add("/v1/chat/completions", {"model": "medgemma", "messages": chat, "max_tokens": 0})
    add("/v1/chat/completions", {"model": "medgemma", "messages": chat, "temperature": 9})
    add("/v1/completions", {"model": "medgemma"})
    add("/v1/responses", {"model": "medgemma", "input": "x", "previous_response_id": "resp_1"})
    add("/v1/embeddings", {"model": "medgemma"})
    add("/v1/chat/completions", {"model": "medgemma", "messages": [{"role": "user", "content": "x" * 70_000}]})
    add(
        "/v1/chat/completions",
        {
            "model": "gpt-5",
            "messages": chat,
            "tools": [
                {
                    "type": "function",
                    "function": {
                        "name": "lookup",
                        "parameters": {"type": "object", "properties": {"John Smith": {"type": "string"}}},
                    },
                }
            ],
        },
    )
    add(
        "/v1/chat/completions",
        {
            "model": "strict",
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "what is this"},
                        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
                    ],
                }
            ],
        },
    )
    add("/v1/completions", {"model": "gpt-5", "prompt": [1, 2, 3]})
    add("/v1/chat/completions", {"model": "medgemma", "messages": chat, "stream": True}, **{"x-session-id": "s-1"})
    add("/v1/chat/completions", {"model": "gpt-5", "messages": chat}, **{"x-pearcare-priority": "batch"})
    add("/v1/chat/completions", {"model": "medgemma", "messages": chat}, **{"x-request-id": "bad id with spaces"})
    add("/v1/chat/completions", b"", method="GET")
    while len(out) < 100:
        add("/v1/chat/completions", {"model": "medgemma", "messages": chat, "max_tokens": 2 + len(out) % 5})
    return out[:100]


def _blank(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: "*" if k in _BLANKED else _blank(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_blank(v) for v in node]
    if isinstance(node, str):
        return _HEX.sub("<hex>", node)
    return node


def _body(response: httpx.Response) -> Any:
    if response.headers.get("content-type", "").startswith("text/event-stream"):
        events = []
        for line in response.text.splitlines():
            if line.startswith("data:"):
                data = line[5:].strip()
                events.append(data if data == "[DONE]" else _blank(_json_or_text(data)))
            elif line.strip():
                events.append(line)
        return events
    return _blank(_json_or_text(response.text))


def _json_or_text(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


class _AccessLog(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        fields = ("route", "status", "alias", "backend", "key", "prompt_tokens", "completion_tokens")
        more = ("tokens_estimated", "outcome", "data_policy", "phi", "method")
        self.lines.append({name: getattr(record, name, None) for name in (*fields, *more)})


async def run(workdir: Path) -> dict[str, Any]:
    simulator = Simulator(Behaviour(ttft_ms=0, itl_ms=0, tokens=5), "sim-model")
    runner = web.AppRunner(simulator.app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    sim_url = f"http://127.0.0.1:{runner.addresses[0][1]}/v1"
    log = _AccessLog()
    logging.getLogger("serving.access_log").addHandler(log)
    logging.getLogger("serving.access_log").setLevel(logging.INFO)
    seen: list[dict[str, Any]] = []
    try:
        app = create_app(ServingConfig.model_validate(config(sim_url, workdir / "spool")), metrics=Metrics())
        services = app.state.services
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://facade.test", timeout=30) as client:
                for index, sent in enumerate(requests()):
                    body = sent["body"]
                    content = body if isinstance(body, bytes) else orjson.dumps(body)
                    headers = {"x-request-id": f"behaviour-{index:03d}", **sent["headers"]}
                    response = await client.request(sent["method"], sent["path"], content=content, headers=headers)
                    await services.settlements.drain()
                    kept = {h: response.headers[h] for h in _KEPT_HEADERS if h in response.headers}
                    limits = {
                        h: v
                        for h, v in response.headers.items()
                        if h.startswith("x-ratelimit") and h not in _TIMED_HEADERS
                    }
                    seen.append(
                        {
                            "path": sent["path"],
                            "status": response.status_code,
                            "headers": _blank(kept | limits),
                            "body": _body(response),
                        }
                    )
                usage = (await client.get("/v1/usage", headers={"authorization": f"Bearer {KEY}"})).json()
            await services.audit.flush()
            audit = (await reader.page(services.audit_trail, reader.AuditQuery(), after=None, limit=1000)).records
    finally:
        logging.getLogger("serving.access_log").removeHandler(log)
        await runner.cleanup()
    return {
        "requests": seen,
        "access_log": [_blank(line) for line in log.lines],
        "audit": [_blank(record) for record in audit],
        "usage": _blank(usage),
    }


def compare(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    differences = []
    for part in ("requests", "access_log", "audit"):
        if len(before[part]) != len(after[part]):
            differences.append(f"{part}: {len(before[part])} entries before, {len(after[part])} after")
        for index, (old, new) in enumerate(zip(before[part], after[part], strict=False)):
            if old != new:
                differences.append(
                    f"{part}[{index}]:\n  before {json.dumps(old)[:600]}\n  after  {json.dumps(new)[:600]}"
                )
    if before["usage"] != after["usage"]:
        differences.append(f"usage:\n  before {before['usage']}\n  after  {after['usage']}")
    return differences


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--compare", nargs=2, type=Path, metavar=("BEFORE", "AFTER"))
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/pearcare-behaviour"))
    args = parser.parse_args()
    if args.compare:
        before, after = (json.loads(path.read_text()) for path in args.compare)
        differences = compare(before, after)
        print("\n".join(differences) or f"no difference in {len(after['requests'])} requests")
        return 1 if differences else 0
    args.workdir.mkdir(parents=True, exist_ok=True)
    result = asyncio.run(run(args.workdir))
    text = json.dumps(result, indent=1, sort_keys=True)
    if args.out:
        args.out.write_text(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
