"""POST /v1/completions"""

from fastapi import APIRouter, Request
from starlette.responses import Response

from serving.cache import REQUEST_HEADER as CACHE_HEADER
from serving.deps import BodyDep, ContextDep, KeyHashDep, ServicesDep
from serving.protocol import CompletionRequest

router = APIRouter()


@router.post("/v1/completions")
async def create_completion(
    request: Request, services: ServicesDep, key_hash: KeyHashDep, body: BodyDep, ctx: ContextDep
) -> Response:
    return await services.generation.respond(
        CompletionRequest,
        "/completions",
        body,
        key_hash=key_hash,
        ctx=ctx,
        receive=request.receive,
        cache_wanted=request.headers.get(CACHE_HEADER),
    )
