"""What the three forwarding routes share: read and validate the body, resolve the alias,
forward, and turn the reply into a JSON or SSE response."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

from fastapi import Request
from starlette.background import BackgroundTask
from starlette.responses import Response, StreamingResponse
from starlette.types import Receive

from serving.auth import presented_key_hash
from serving.context import RequestContext
from serving.errors import InvalidRequest, RequestTooLarge
from serving.protocol import ChatCompletionRequest, CompletionRequest, EmbeddingRequest, parse_json_object, validate
from serving.services import Services

Schema = type[ChatCompletionRequest] | type[CompletionRequest] | type[EmbeddingRequest]
T = TypeVar("T")

_SSE_HEADERS = {"cache-control": "no-cache", "x-accel-buffering": "no"}


async def read_body(request: Request, max_bytes: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise InvalidRequest("Invalid Content-Length header.")
        if int(declared) > max_bytes:
            raise RequestTooLarge(f"Request body is {declared} bytes; the limit is {max_bytes}.")
        return await request.body()
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise RequestTooLarge(f"Request body exceeds the limit of {max_bytes} bytes.")
        chunks.append(chunk)
    return b"".join(chunks)


class ClientDisconnected(Exception):
    pass


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def cancel_on_disconnect(receive: Receive, work: Awaitable[T]) -> T:
    """Run work unless the client hangs up first; then cancel it (closing the upstream request,
    so vLLM aborts it). Only call once the request body has been read."""
    task = asyncio.ensure_future(work)
    watcher = asyncio.ensure_future(_disconnected(receive))
    try:
        await asyncio.wait((task, watcher), return_when=asyncio.FIRST_COMPLETED)
    finally:
        watcher.cancel()
    if task.done():
        return task.result()
    task.cancel()
    raise ClientDisconnected


def token_allowance(parsed: ChatCompletionRequest | CompletionRequest | EmbeddingRequest, default: int) -> int:
    if isinstance(parsed, EmbeddingRequest):
        return 0
    most = getattr(parsed, "max_completion_tokens", None) or parsed.max_tokens or default
    return most * (parsed.n or 1)


async def forward(
    request: Request,
    *,
    schema: Schema,
    path: str,
    services: Services,
    ctx: RequestContext,
) -> Response:
    key_hash = presented_key_hash(request.headers)  # 401 before reading the body
    max_bytes = services.config.server.max_request_bytes
    raw = await read_body(request, max_bytes)
    body = parse_json_object(raw, max_bytes)
    parsed = validate(schema, body)
    ctx.prompt_estimate = len(raw) // 4  # ~4 bytes a token: charged now, settled with real usage
    estimate = ctx.prompt_estimate + token_allowance(parsed, services.config.store.default_max_tokens)
    known = parsed.model in services.registry.aliases
    # Auth and limits in one round trip. An unknown model charges nothing; a bad key still gets 401.
    grant = await services.access.admit(key_hash, parsed.model, estimate, charge=known)
    ctx.key_name = grant.name
    grant.raise_if_refused()  # a 429 carries the limit headers itself
    ctx.response_headers.update(grant.headers)
    ctx.alias = services.resolve_alias(grant, parsed.model)
    ctx.grant = grant
    stream = bool(getattr(parsed, "stream", False))
    try:
        reply = await cancel_on_disconnect(
            request.receive,
            services.proxy.forward(
                path=path,
                alias=ctx.alias,
                body=body,
                stream=stream,
                forward_usage=stream and getattr(parsed, "wants_usage_chunk", False),
                ctx=ctx,
            ),
        )
    except ClientDisconnected:
        ctx.outcome = "client_disconnected"
        return Response(status_code=499)
    if reply.relay is not None:
        events = reply.relay.stream()

        async def close_events() -> None:
            # If the client left while we were suspended at a yield, close the relay now
            # (and with it the upstream request) rather than whenever the GC finds it.
            await events.aclose()

        return StreamingResponse(
            events, media_type="text/event-stream", headers=_SSE_HEADERS, background=BackgroundTask(close_events)
        )
    return Response(reply.body, media_type="application/json")
