"""POST /v1/embeddings (passes through; a clear 400 when the backend serves none)"""

from fastapi import APIRouter, Request
from starlette.responses import Response

from serving.deps import BodyDep, ContextDep, KeyHashDep, ServicesDep
from serving.protocol import EmbeddingRequest

router = APIRouter()


@router.post("/v1/embeddings")
async def create_embedding(
    request: Request, services: ServicesDep, key_hash: KeyHashDep, body: BodyDep, ctx: ContextDep
) -> Response:
    return await services.generation.respond(
        EmbeddingRequest, "/embeddings", body, key_hash=key_hash, ctx=ctx, receive=request.receive
    )
