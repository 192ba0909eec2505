"""POST /v1/chat/completions"""

from fastapi import APIRouter, Request
from starlette.responses import Response

from serving.deps import ContextDep, ServicesDep
from serving.protocol import ChatCompletionRequest
from serving.routes.forwarding import forward

router = APIRouter()


@router.post("/v1/chat/completions")
async def create_chat_completion(
    request: Request,
    services: ServicesDep,
    ctx: ContextDep,
) -> Response:
    return await forward(request, schema=ChatCompletionRequest, path="/chat/completions", services=services, ctx=ctx)
