"""A fast OpenAI-compatible upstream simulator (stands in for GPT-5 or a GPU vLLM in tests and
benchmarks): configurable time to first token, inter-token delay, token count and faults.

    python -m loadtests.simulator --port 9000 --ttft-ms 50 --itl-ms 20 --tokens 64

Every setting can be overridden per request with a `simulate` object in the body, e.g.
`{"simulate": {"error_status": 503}}`; the façade passes unknown fields through untouched.
Faults: `error_status` (answer with that HTTP error; `retry_after_ms` adds `retry-after` and
`retry-after-ms` to it, as OpenAI's 429s carry; `error_message` its text), `hang_ms` (wait before the headers),
`break_after` (drop the connection after N tokens), `stall_after` (stop sending after N tokens,
connection open), `omit_done` (end the stream cleanly without `[DONE]`), `eof_delay_ms` (end the
body late after [DONE]).
`echo` answers with the last user message itself (streamed `echo_chunk` characters an event, so
a word may be split across events; `echo_as_tool_call` puts it in a tool call's arguments):
what the data-policy tests use to see what reached the backend come back.

An engine's limits, for replica tests and benchmarks: `max_running` requests generate at once
(more wait, as vLLM's max_num_seqs); `prefix_ttft_ms` is the time to first token when the
prompt's leading text was seen recently (vLLM's prefix cache). GET /metrics exposes
vllm:num_requests_running, vllm:num_requests_waiting and vllm:kv_cache_usage_perc, and
/stats the prefix cache's hits.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, fields, replace
from typing import Any

import orjson
from aiohttp import web

from loadtests import sim_responses
from serving.backends.balancer import affinity_key


@dataclass(frozen=True)
class Behaviour:
    ttft_ms: float = 50.0
    itl_ms: float = 20.0
    tokens: int = 64
    error_status: int = 0
    retry_after_ms: int = 0
    error_message: str = "simulated failure"
    hang_ms: float = 0.0
    break_after: int = -1
    stall_after: int = -1
    omit_done: bool = False
    eof_delay_ms: float = 0.0  # gap between [DONE] and the end of the body, as real servers have
    echo: bool = False
    echo_chunk: int = 3
    echo_as_tool_call: bool = False
    max_running: int = 0  # 0: no limit
    prefix_ttft_ms: float = -1.0  # < 0: no prefix cache
    prefix_cache_size: int = 1000  # prefixes kept (a KV cache holds so many conversations)
    cached_tokens: int = 0  # reported as usage.prompt_tokens_details.cached_tokens, as OpenAI does

    def overridden(self, body: dict[str, Any]) -> Behaviour:
        wanted = body.get("simulate")
        if not isinstance(wanted, dict):
            return self
        names = {f.name for f in fields(self)}
        return replace(self, **{k: v for k, v in wanted.items() if k in names})


class Simulator:
    def __init__(self, behaviour: Behaviour, model: str = "sim-model") -> None:
        self.behaviour = behaviour
        self.model = model
        self.requests = 0
        self.cancelled = 0
        self.model_lists = 0  # GET /v1/models: how often readiness probed us
        self.last_body: dict[str, Any] | None = None
        self.received: list[bytes] = []  # the last 1,000 request bodies, as sent
        self.last_headers: dict[str, str] = {}
        self.running = 0
        self.peak_running = 0
        self.waiting = 0
        self.prefix_hits = 0
        self.prefix_lookups = 0
        self._prefixes: OrderedDict[str, None] = OrderedDict()
        self._slots = asyncio.Semaphore(behaviour.max_running) if behaviour.max_running > 0 else None

    def app(self) -> web.Application:
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_get("/health", self.health)
        app.router.add_get("/v1/models", self.models)
        app.router.add_post("/v1/chat/completions", self.chat)
        app.router.add_post("/v1/completions", self.completions)
        app.router.add_post("/v1/responses", self.responses)
        app.router.add_post("/v1/embeddings", self.embeddings)
        app.router.add_get("/stats", self.stats)
        app.router.add_get("/metrics", self.metrics)
        return app

    async def metrics(self, request: web.Request) -> web.Response:
        """vLLM's gauges, as its /metrics names them."""
        capacity = self.behaviour.max_running or 256
        labels = f'{{model_name="{self.model}",engine="0"}}'
        text = (
            f"# TYPE vllm:num_requests_running gauge\nvllm:num_requests_running{labels} {self.running}\n"
            f"# TYPE vllm:num_requests_waiting gauge\nvllm:num_requests_waiting{labels} {self.waiting}\n"
            f"# TYPE vllm:kv_cache_usage_perc gauge\nvllm:kv_cache_usage_perc{labels} "
            f"{min(1.0, self.running / capacity)}\n"
        )
        return web.Response(text=text, content_type="text/plain")

    def _prefix_hit(self, body: dict[str, Any]) -> bool:
        key = affinity_key(body, None)
        if key is None:
            return False
        self.prefix_lookups += 1
        hit = key in self._prefixes
        self._prefixes[key] = None
        self._prefixes.move_to_end(key)
        if len(self._prefixes) > self.behaviour.prefix_cache_size:
            self._prefixes.popitem(last=False)
        self.prefix_hits += hit
        return hit

    async def health(self, request: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def stats(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "requests": self.requests,
                "cancelled": self.cancelled,
                "model_lists": self.model_lists,
                "last_body": self.last_body,
                "last_headers": self.last_headers,
                "running": self.running,
                "waiting": self.waiting,
                "prefix_hits": self.prefix_hits,
                "prefix_lookups": self.prefix_lookups,
            }
        )

    async def models(self, request: web.Request) -> web.Response:
        self.model_lists += 1
        card = {"id": self.model, "object": "model", "created": 0, "owned_by": "simulator"}
        return web.json_response({"object": "list", "data": [card]})

    async def embeddings(self, request: web.Request) -> web.Response:
        """A three-number vector per input (recorded like any request body)."""
        self.requests += 1
        raw = await request.read()
        self.received = [*self.received[-999:], raw]
        body = orjson.loads(raw)
        inputs = body.get("input")
        items = inputs if isinstance(inputs, list) and not all(isinstance(i, int) for i in inputs) else [inputs]
        data = [{"object": "embedding", "index": i, "embedding": [0.0, 0.5, 1.0]} for i in range(len(items))]
        usage = {"prompt_tokens": len(items), "total_tokens": len(items)}
        return web.json_response({"object": "list", "data": data, "model": self.model, "usage": usage})

    async def chat(self, request: web.Request) -> web.StreamResponse:
        return await self._generate(request, chat=True)

    async def completions(self, request: web.Request) -> web.StreamResponse:
        return await self._generate(request, chat=False)

    async def responses(self, request: web.Request) -> web.StreamResponse:
        return await self._generate(request, chat=True, responses=True)

    async def _generate(self, request: web.Request, *, chat: bool, responses: bool = False) -> web.StreamResponse:
        self.requests += 1
        raw = await request.read()
        self.received = [*self.received[-999:], raw]
        body = orjson.loads(raw)
        self.last_body = body
        self.last_headers = {
            k: request.headers[k] for k in ("authorization", "x-request-id", "traceparent") if k in request.headers
        }
        how = self.behaviour.overridden(body)
        if how.prefix_ttft_ms >= 0 and self._prefix_hit(body):
            how = replace(how, ttft_ms=how.prefix_ttft_ms)
        self.waiting += 1
        try:
            if self._slots is not None:
                await self._slots.acquire()
        finally:
            self.waiting -= 1
        self.running += 1
        self.peak_running = max(self.peak_running, self.running)
        try:
            if responses:
                return await self._respond(request, how, body)
            return await self._generate_now(request, how, chat, body)
        finally:
            self.running -= 1
            if self._slots is not None:
                self._slots.release()

    async def _generate_now(
        self, request: web.Request, how: Behaviour, chat: bool, body: dict[str, Any]
    ) -> web.StreamResponse:
        if failed := await self._fault(request, how):
            return failed
        max_tokens = body.get("max_tokens") or body.get("max_completion_tokens") or how.tokens
        tokens = min(int(max_tokens), how.tokens) if not body.get("ignore_eos") else int(max_tokens)
        request_id = request.headers.get("x-request-id") or uuid.uuid4().hex
        prompt_tokens = len(orjson.dumps(body.get("messages") or body.get("prompt") or "")) // 4
        usage: dict[str, Any] = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": tokens,
            "total_tokens": prompt_tokens + tokens,
        }
        if how.cached_tokens:
            usage["prompt_tokens_details"] = {"cached_tokens": min(how.cached_tokens, prompt_tokens)}
        if how.echo:
            return await self._echo(request, how, chat, body, request_id)
        if body.get("stream"):
            return await self._stream(request, how, chat, tokens, usage, body, request_id)
        if not await self._wait(request, how.ttft_ms + how.itl_ms * max(tokens - 1, 0)):
            return web.Response(status=499)
        text = " tok" * tokens
        choice: dict[str, Any] = {"index": 0, "finish_reason": "length", "logprobs": None}
        schema = _json_schema_of(body)
        if chat and schema is not None:
            # A structured-output request gets the smallest instance of its schema, as a
            # grammar-constrained engine would guarantee valid JSON.
            text = orjson.dumps(minimal_instance(schema, schema)).decode()
            choice["finish_reason"] = "stop"
        if chat:
            choice["message"] = {"role": "assistant", "content": text}
        else:
            choice["text"] = text
        payload = {
            "id": f"chatcmpl-{request_id}",
            "object": "chat.completion" if chat else "text_completion",
            "created": int(time.time()),
            "model": self.model,
            "choices": [choice],
            "usage": usage,
        }
        return web.Response(body=orjson.dumps(payload), content_type="application/json")

    async def _respond(self, request: web.Request, how: Behaviour, body: dict[str, Any]) -> web.StreamResponse:
        """POST /v1/responses (loadtests/sim_responses.py): " tok" tokens, or the echo."""
        if failed := await self._fault(request, how):
            return failed
        response_id = uuid.uuid4().hex
        tokens = min(int(body.get("max_output_tokens") or how.tokens), how.tokens)
        if how.echo:
            text = sim_responses.input_text(body)
            if how.echo_as_tool_call:
                text = orjson.dumps({"text": text}).decode()
            step = max(1, how.echo_chunk)
            pieces = [text[i : i + step] for i in range(0, len(text), step)]
        else:
            pieces = [" tok"] * tokens
        if not body.get("stream"):
            if not await self._wait(request, 0 if how.echo else how.ttft_ms + how.itl_ms * max(tokens - 1, 0)):
                return web.Response(status=499)
            document = sim_responses.document(
                body, response_id, self.model, "".join(pieces), as_call=how.echo_as_tool_call, output_tokens=len(pieces)
            )
            return web.Response(body=document, content_type="application/json")
        response = web.StreamResponse(headers={"content-type": "text/event-stream", "cache-control": "no-cache"})
        await response.prepare(request)
        events = sim_responses.EventStream(body, response_id, self.model, as_call=how.echo_as_tool_call)
        first_at = time.monotonic() + (0 if how.echo else how.ttft_ms / 1000)
        try:
            await _sleep_until(first_at)
            await response.write(b"".join(events.opening()))
            for index, piece in enumerate(pieces):
                if index == how.break_after:
                    assert request.transport is not None
                    request.transport.close()
                    return response
                if index and not how.echo:
                    await _sleep_until(first_at + index * how.itl_ms / 1000)
                await response.write(events.delta(piece))
            await response.write(b"".join(events.closing(len(pieces))))
            await response.write_eof()
        except (ConnectionResetError, asyncio.CancelledError):
            self.cancelled += 1
            raise
        return response

    async def _fault(self, request: web.Request, how: Behaviour) -> web.StreamResponse | None:
        """A configured hang or error answer, or None to go on."""
        if how.hang_ms and not await self._wait(request, how.hang_ms):
            return web.Response(status=499)
        if how.error_status:
            error = {"message": how.error_message, "type": "server_error", "param": None, "code": None}
            headers = {}
            if how.retry_after_ms:
                seconds = max(1, -(-how.retry_after_ms // 1000))
                headers = {"retry-after": str(seconds), "retry-after-ms": str(how.retry_after_ms)}
            return web.Response(
                status=how.error_status,
                body=orjson.dumps({"error": error}),
                content_type="application/json",
                headers=headers,
            )
        return None

    async def _wait(self, request: web.Request, delay_ms: float) -> bool:
        """Sleep, noticing a client that hung up (aiohttp does not cancel handlers)."""
        deadline = time.monotonic() + delay_ms / 1000
        while (left := deadline - time.monotonic()) > 0:
            await asyncio.sleep(min(left, 0.01))
            if request.transport is None or request.transport.is_closing():
                self.cancelled += 1
                return False
        return True

    async def _stream(
        self,
        request: web.Request,
        how: Behaviour,
        chat: bool,
        tokens: int,
        usage: dict[str, Any],
        body: dict[str, Any],
        request_id: str,
    ) -> web.StreamResponse:
        response = web.StreamResponse(headers={"content-type": "text/event-stream", "cache-control": "no-cache"})
        await response.prepare(request)
        created = int(time.time())
        kind = "chat.completion.chunk" if chat else "text_completion"
        head = f'data: {{"id":"chatcmpl-{request_id}","object":"{kind}","created":{created},"model":"{self.model}",'
        token_event = (
            head + '"choices":[{"index":0,"delta":{"content":" tok"},"finish_reason":null}]}\n\n'
            if chat
            else head + '"choices":[{"index":0,"text":" tok","finish_reason":null}]}\n\n'
        ).encode()
        # Tokens leave on an engine's clock (first at ttft, then every itl), not "itl after the
        # last write": a consumer that delays this process must not stretch the stream, or the
        # reader's CPU cost would show up as the upstream's latency.
        first_at = time.monotonic() + how.ttft_ms / 1000
        try:
            await _sleep_until(first_at)
            if chat:
                role = (
                    head + '"choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}\n\n'
                )
                await response.write(role.encode())
            for index in range(tokens):
                if index == how.break_after:
                    assert request.transport is not None
                    request.transport.close()
                    return response
                if index == how.stall_after:
                    await self._wait(request, 3_600_000)  # until the client gives up
                    return response
                if index:
                    await _sleep_until(first_at + index * how.itl_ms / 1000)
                await response.write(token_event)
            options = body.get("stream_options") or {}
            if options.get("include_usage"):
                await response.write((head + f'"choices":[],"usage":{orjson.dumps(usage).decode()}}}\n\n').encode())
            if not how.omit_done:
                await response.write(b"data: [DONE]\n\n")
            if how.eof_delay_ms:
                await asyncio.sleep(how.eof_delay_ms / 1000)
            await response.write_eof()
        except (ConnectionResetError, asyncio.CancelledError):
            self.cancelled += 1
            raise
        return response

    async def _echo(
        self, request: web.Request, how: Behaviour, chat: bool, body: dict[str, Any], request_id: str
    ) -> web.StreamResponse:
        text = _last_user_text(body)
        frame = {
            "id": f"chatcmpl-{request_id}",
            "object": "chat.completion" if chat else "text_completion",
            "created": int(time.time()),
            "model": self.model,
        }
        arguments = orjson.dumps({"text": text}).decode()
        if not body.get("stream"):
            message: dict[str, Any] = {"role": "assistant", "content": None if how.echo_as_tool_call else text}
            if how.echo_as_tool_call:
                call = {"id": "call_1", "type": "function", "function": {"name": "echo", "arguments": arguments}}
                message["tool_calls"] = [call]
            choice = {"index": 0, "message": message, "finish_reason": "stop"} if chat else {"index": 0, "text": text}
            usage = {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}
            return web.json_response(
                {**frame, "choices": [choice], "usage": usage}, dumps=lambda v: orjson.dumps(v).decode()
            )
        response = web.StreamResponse(headers={"content-type": "text/event-stream"})
        await response.prepare(request)
        kind = "chat.completion.chunk" if chat else "text_completion"
        pieces = arguments if how.echo_as_tool_call else text
        step = max(1, how.echo_chunk)
        for index, start in enumerate(range(0, len(pieces), step)):
            piece = pieces[start : start + step]
            if not chat:
                choice = {"index": 0, "text": piece, "finish_reason": None}
            elif how.echo_as_tool_call:
                delta_call: dict[str, Any] = {"index": 0, "function": {"arguments": piece}}
                if index == 0:
                    delta_call.update(id="call_1", type="function", function={"name": "echo", "arguments": piece})
                choice = {"index": 0, "delta": {"tool_calls": [delta_call]}, "finish_reason": None}
            else:
                choice = {"index": 0, "delta": {"content": piece}, "finish_reason": None}
            await response.write(b"data: " + orjson.dumps({**frame, "object": kind, "choices": [choice]}) + b"\n\n")
        last = (
            {"index": 0, "delta": {}, "finish_reason": "stop"}
            if chat
            else {"index": 0, "text": "", "finish_reason": "stop"}
        )
        await response.write(b"data: " + orjson.dumps({**frame, "object": kind, "choices": [last]}) + b"\n\n")
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response


def _last_user_text(body: dict[str, Any]) -> str:
    if isinstance(body.get("prompt"), str):
        return str(body["prompt"])
    for message in reversed(body.get("messages") or []):
        if isinstance(message, dict) and message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, str):
                return content
            if isinstance(content, list):
                return " ".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


async def _sleep_until(deadline: float) -> None:
    await asyncio.sleep(max(0.0, deadline - time.monotonic()))


def _json_schema_of(body: dict[str, Any]) -> dict[str, Any] | None:
    response_format = body.get("response_format")
    if isinstance(response_format, dict) and response_format.get("type") == "json_schema":
        schema = (response_format.get("json_schema") or {}).get("schema")
        return schema if isinstance(schema, dict) else None
    return None


def minimal_instance(node: dict[str, Any], root: dict[str, Any]) -> Any:
    """The smallest value a JSON schema accepts (enough for $ref, enum, objects, arrays, scalars)."""
    if "$ref" in node:
        target: Any = root
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        return minimal_instance(target, root)
    if "enum" in node:
        return node["enum"][0]
    if "anyOf" in node:
        return minimal_instance(node["anyOf"][0], root)
    kind = node.get("type")
    if kind == "object":
        properties = node.get("properties", {})
        return {name: minimal_instance(properties[name], root) for name in node.get("required", [])}
    if kind == "array":
        return [minimal_instance(node.get("items", {}), root) for _ in range(node.get("minItems", 0))]
    if kind in ("number", "integer"):
        return node.get("minimum", 0)
    if kind == "boolean":
        return False
    return "sim"[: node.get("maxLength", 3)]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m loadtests.simulator", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9000)
    parser.add_argument("--model", default="sim-model")
    for field in fields(Behaviour):
        flag = "--" + field.name.replace("_", "-")
        if isinstance(field.default, bool):
            parser.add_argument(flag, action="store_true")
        else:
            parser.add_argument(flag, type=type(field.default), default=field.default)
    args = parser.parse_args(argv)
    behaviour = Behaviour(**{f.name: getattr(args, f.name) for f in fields(Behaviour)})
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    web.run_app(Simulator(behaviour, args.model).app(), host=args.host, port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
