"""POST /v1/completions"""

from fastapi import APIRouter, Request
from starlette.responses import Response

from serving.cache import REQUEST_HEADER as CACHE_HEADER
from serving.deps import BodyDep, KeyHashDep, RecordDep, ServicesDep
from serving.gateway.apis import COMPLETIONS

router = APIRouter()


@router.post("/v1/completions")
async def create_completion(
    request: Request, services: ServicesDep, key_hash: KeyHashDep, body: BodyDep, record: RecordDep
) -> Response:
    return await services.generation.respond(
        COMPLETIONS,
        body,
        key_hash=key_hash,
        record=record,
        receive=request.receive,
        cache_wanted=request.headers.get(CACHE_HEADER),
    )
