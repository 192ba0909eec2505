"""POST /v1/consultations (and the older /v1/langchain/consultation and /v1/langchain/stream):
the consultation's stage events as SSE, or its result document."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import orjson
from fastapi import APIRouter, Request
from starlette.responses import Response

from orchestrator.state import ConsultationRequest
from serving import sse
from serving.deps import ApiKeyDep, BodyDep, ConsultationsDep, RecordDep
from serving.gateway import event_stream
from serving.gateway.disconnect import unless_disconnected
from serving.protocol import validate

router = APIRouter()

# One handler for the three paths: path -> (route name, whether it streams; None: as the body says)
_PATHS = {
    "/v1/consultations": ("create_consultation", None),
    "/v1/langchain/consultation": ("legacy_consultation", None),
    "/v1/langchain/stream": ("legacy_stream", True),
}


def _handler(forced_stream: bool | None) -> Callable[..., Awaitable[Response]]:
    async def create_consultation(
        request: Request, consultations: ConsultationsDep, body: BodyDep, record: RecordDep, api_key: ApiKeyDep
    ) -> Response:
        parsed = validate(ConsultationRequest, body.json)
        # The graph's first node, the emergency screen, runs before the answer starts (off the
        # event loop, in LangGraph's executor): a consultation it refuses is a 400.
        opened = await consultations.open(parsed, api_key=api_key, request_id=record.request_id)
        if parsed.stream if forced_stream is None else forced_stream:
            return event_stream.response(sse.json_events(consultations.events(opened)))

        async def document() -> Response:  # a client that hangs up stops the graph and its model calls
            result = await consultations.run(opened)
            return Response(orjson.dumps(result), media_type="application/json")

        return await unless_disconnected(request.receive, record, document())

    return create_consultation


for _path, (_name, _forced) in _PATHS.items():
    router.add_api_route(_path, _handler(_forced), methods=["POST"], name=_name)
