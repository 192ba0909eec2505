"""POST /v1/responses: OpenAI's Responses API, relayed to either backend kind like chat."""

from fastapi import APIRouter, Request
from starlette.responses import Response

from serving.cache import REQUEST_HEADER as CACHE_HEADER
from serving.deps import BodyDep, KeyHashDep, RecordDep, ServicesDep
from serving.gateway.apis import RESPONSES

router = APIRouter()


@router.post("/v1/responses")
async def create_response(
    request: Request, services: ServicesDep, key_hash: KeyHashDep, body: BodyDep, record: RecordDep
) -> Response:
    return await services.generation.respond(
        RESPONSES,
        body,
        key_hash=key_hash,
        record=record,
        receive=request.receive,
        cache_wanted=request.headers.get(CACHE_HEADER),
    )
