"""POST /v1/consultations (and the older /v1/langchain/consultation, /v1/langchain/stream)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import orjson
from fastapi import APIRouter, Request
from starlette.responses import Response, StreamingResponse

from orchestrator.state import ConsultationRequest
from serving.auth import presented_key
from serving.consultations import ConsultationService
from serving.deps import CallerDep, ContextDep, ServicesDep
from serving.disconnect import ClientDisconnected, cancel_on_disconnect
from serving.errors import ModelNotFound
from serving.protocol import parse_json_object, validate
from serving.ratelimit import Grant
from serving.routes.forwarding import SSE_HEADERS, read_body
from serving.services import CONSULTATION_ALIAS, Services

router = APIRouter()


def consultations_for(services: Services, caller: Grant) -> ConsultationService:
    if services.consultations is None or not caller.may_use(CONSULTATION_ALIAS):
        raise ModelNotFound(CONSULTATION_ALIAS)
    return services.consultations


async def sse(events: AsyncIterator[dict[str, Any]]) -> AsyncIterator[bytes]:
    async for event in events:
        yield b"data: " + orjson.dumps(event) + b"\n\n"
    yield b"data: [DONE]\n\n"


async def consult(request: Request, services: Services, caller: Grant, *, stream: bool | None) -> Response:
    consultations = consultations_for(services, caller)
    max_bytes = services.config.server.max_request_bytes
    parsed = validate(ConsultationRequest, parse_json_object(await read_body(request, max_bytes), max_bytes))
    state = consultations.start_state(parsed)
    api_key = presented_key(request.headers) or ""
    request_id = request.scope["state"]["ctx"].request_id
    if parsed.stream if stream is None else stream:
        events = consultations.events(state, api_key=api_key, request_id=request_id)
        return StreamingResponse(sse(events), media_type="text/event-stream", headers=SSE_HEADERS)
    try:  # a client that hangs up stops the graph and its model calls
        result = await cancel_on_disconnect(
            request.receive, consultations.run(state, api_key=api_key, request_id=request_id)
        )
    except ClientDisconnected:
        request.scope["state"]["ctx"].outcome = "client_disconnected"
        return Response(status_code=499)
    return Response(orjson.dumps(result), media_type="application/json")


@router.post("/v1/consultations")
async def create_consultation(request: Request, services: ServicesDep, ctx: ContextDep, caller: CallerDep) -> Response:
    ctx.alias = CONSULTATION_ALIAS
    return await consult(request, services, caller, stream=None)


@router.post("/v1/langchain/consultation")
async def legacy_consultation(request: Request, services: ServicesDep, ctx: ContextDep, caller: CallerDep) -> Response:
    ctx.alias = CONSULTATION_ALIAS
    return await consult(request, services, caller, stream=None)


@router.post("/v1/langchain/stream")
async def legacy_stream(request: Request, services: ServicesDep, ctx: ContextDep, caller: CallerDep) -> Response:
    ctx.alias = CONSULTATION_ALIAS
    return await consult(request, services, caller, stream=True)
