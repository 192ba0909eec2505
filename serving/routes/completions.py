"""POST /v1/completions"""

from fastapi import APIRouter, Request
from starlette.responses import Response

from serving.deps import ContextDep, ServicesDep
from serving.protocol import CompletionRequest
from serving.routes.forwarding import forward

router = APIRouter()


@router.post("/v1/completions")
async def create_completion(
    request: Request,
    services: ServicesDep,
    ctx: ContextDep,
) -> Response:
    return await forward(request, schema=CompletionRequest, path="/completions", services=services, ctx=ctx)
