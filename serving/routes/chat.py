"""POST /v1/chat/completions (model `consultation` runs the consultation pipeline)."""

from fastapi import APIRouter, Request
from starlette.responses import Response

from serving.access.auth import presented_key
from serving.cache import REQUEST_HEADER as CACHE_HEADER
from serving.consultation import chat as consultation_chat
from serving.consultation.service import ALIAS as CONSULTATION_ALIAS
from serving.deps import BodyDep, KeyHashDep, RecordDep, ServicesDep, authenticate
from serving.errors import ModelNotFound
from serving.gateway.apis import CHAT
from serving.protocol import ChatCompletionRequest, validate

router = APIRouter()


@router.post("/v1/chat/completions")
async def create_chat_completion(
    request: Request, services: ServicesDep, key_hash: KeyHashDep, body: BodyDep, record: RecordDep
) -> Response:
    if body.json.get("model") != CONSULTATION_ALIAS or services.consultations is None:
        return await services.generation.respond(
            CHAT,
            body,
            key_hash=key_hash,
            record=record,
            receive=request.receive,
            cache_wanted=request.headers.get(CACHE_HEADER),
        )
    record.alias = CONSULTATION_ALIAS
    if not (await authenticate(services, key_hash, record)).may_use(CONSULTATION_ALIAS):
        raise ModelNotFound(CONSULTATION_ALIAS)
    parsed = validate(ChatCompletionRequest, body.json)
    api_key = presented_key(request.headers) or ""  # the stages call the façade as the caller
    return await consultation_chat.respond(
        services.consultations, parsed, api_key=api_key, record=record, receive=request.receive
    )
