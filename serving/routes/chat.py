"""POST /v1/chat/completions (model `consultation` runs the consultation pipeline)."""

from fastapi import APIRouter, Request
from starlette.responses import Response, StreamingResponse

from serving import consultation_chat
from serving.auth import presented_key, presented_key_hash
from serving.deps import ContextDep, ServicesDep
from serving.disconnect import ClientDisconnected, cancel_on_disconnect
from serving.protocol import ChatCompletionRequest, parse_json_object, validate
from serving.routes.consultations import consultations_for
from serving.routes.forwarding import SSE_HEADERS, forward, read_body

router = APIRouter()


@router.post("/v1/chat/completions")
async def create_chat_completion(request: Request, services: ServicesDep, ctx: ContextDep) -> Response:
    key_hash = presented_key_hash(request.headers)  # 401 before reading the body
    raw = await read_body(request, services.config.server.max_request_bytes)
    body = parse_json_object(raw, services.config.server.max_request_bytes)
    if body.get("model") != consultation_chat.MODEL or services.consultations is None:
        return await forward(
            request,
            schema=ChatCompletionRequest,
            path="/chat/completions",
            services=services,
            ctx=ctx,
            raw=raw,
            body=body,
        )
    ctx.alias = consultation_chat.MODEL
    caller = await services.access.admit(key_hash, "", 0, charge=False)
    ctx.key_name = caller.name
    consultations = consultations_for(services, caller)
    parsed = validate(ChatCompletionRequest, body)
    state = consultation_chat.consultation_state(consultations, parsed)
    api_key, request_id = presented_key(request.headers) or "", ctx.request_id
    if parsed.stream:
        events = consultation_chat.chat_stream(
            consultations, state, api_key=api_key, request_id=request_id, include_usage=parsed.wants_usage_chunk
        )
        return StreamingResponse(events, media_type="text/event-stream", headers=SSE_HEADERS)
    try:
        content = await cancel_on_disconnect(
            request.receive,
            consultation_chat.chat_completion(consultations, state, api_key=api_key, request_id=request_id),
        )
    except ClientDisconnected:
        ctx.outcome = "client_disconnected"
        return Response(status_code=499)
    return Response(content, media_type="application/json")
