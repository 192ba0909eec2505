"""POST /v1/embeddings (passes through; a clear 400 when the backend serves none)"""

from fastapi import APIRouter, Request
from starlette.responses import Response

from serving.deps import ContextDep, ServicesDep
from serving.protocol import EmbeddingRequest
from serving.routes.forwarding import forward

router = APIRouter()


@router.post("/v1/embeddings")
async def create_embedding(
    request: Request,
    services: ServicesDep,
    ctx: ContextDep,
) -> Response:
    return await forward(request, schema=EmbeddingRequest, path="/embeddings", services=services, ctx=ctx)
