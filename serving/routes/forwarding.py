"""What the three forwarding routes share: read and validate the body, resolve the alias,
forward, and turn the reply into a JSON or SSE response."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from starlette.background import BackgroundTask
from starlette.responses import Response, StreamingResponse

from serving.auth import presented_key_hash
from serving.context import RequestContext
from serving.disconnect import ClientDisconnected, cancel_on_disconnect
from serving.errors import InvalidRequest, RequestTooLarge
from serving.protocol import ChatCompletionRequest, CompletionRequest, EmbeddingRequest, parse_json_object, validate
from serving.services import Services

Schema = type[ChatCompletionRequest] | type[CompletionRequest] | type[EmbeddingRequest]

SSE_HEADERS = {"cache-control": "no-cache", "x-accel-buffering": "no"}


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


async def forward(
    request: Request,
    *,
    schema: Schema,
    path: str,
    services: Services,
    ctx: RequestContext,
    raw: bytes | None = None,
    body: dict[str, Any] | None = None,
) -> Response:
    """raw/body: the request body when the route already read it."""
    key_hash = presented_key_hash(request.headers)  # 401 before reading the body
    max_bytes = services.config.server.max_request_bytes
    if raw is None or body is None:
        raw = await read_body(request, max_bytes)
        body = parse_json_object(raw, max_bytes)
    parsed = validate(schema, body)
    alias = await services.admit(key_hash, parsed, body_bytes=len(raw), ctx=ctx)
    stream = bool(getattr(parsed, "stream", False))
    try:
        reply = await cancel_on_disconnect(
            request.receive,
            services.proxy.forward(
                path=path,
                alias=alias,
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
            events, media_type="text/event-stream", headers=SSE_HEADERS, background=BackgroundTask(close_events)
        )
    return Response(reply.body, media_type="application/json")
