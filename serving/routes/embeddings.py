"""POST /v1/embeddings (passes through; a clear 400 when the backend serves none)"""

from fastapi import APIRouter, Request
from starlette.responses import Response

from serving.deps import BodyDep, KeyHashDep, RecordDep, ServicesDep
from serving.gateway.apis import EMBEDDINGS

router = APIRouter()


@router.post("/v1/embeddings")
async def create_embedding(
    request: Request, services: ServicesDep, key_hash: KeyHashDep, body: BodyDep, record: RecordDep
) -> Response:
    return await services.generation.respond(
        EMBEDDINGS, body, key_hash=key_hash, record=record, receive=request.receive
    )
