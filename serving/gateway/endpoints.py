"""The generation endpoints (chat, completions, Responses, embeddings) as plain ASGI: the
key, then the body (bounded, parsed once), then the pipeline. Served by entry.py before
FastAPI's routing: no dependency solving, request objects or response wrappers on the path
every token of every stream takes (the measured reason: loadtests/overhead.py, README)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.datastructures import Headers
from starlette.requests import ClientDisconnect
from starlette.responses import Response
from starlette.types import Receive, Scope

from serving.access.admission import Admission
from serving.access.auth import presented_key, presented_key_hash
from serving.cache import REQUEST_HEADER as CACHE_HEADER
from serving.errors import APIError, InvalidAPIKey, InvalidRequest, RequestTooLarge
from serving.gateway.apis import CHAT, COMPLETIONS, EMBEDDINGS, RESPONSES, Api
from serving.gateway.disconnect import CLIENT_CLOSED_REQUEST
from serving.gateway.pipeline import GenerationPipeline
from serving.gateway.record import RequestRecord
from serving.observability.metrics import Metrics
from serving.protocol import RequestBody, parse_json_object

ROUTES: dict[str, Api] = {
    "/v1/chat/completions": CHAT,
    "/v1/completions": COMPLETIONS,
    "/v1/responses": RESPONSES,
    "/v1/embeddings": EMBEDDINGS,
}

# A chat request for a model the pipeline does not serve itself (the consultation, as a chat
# model: serving/consultation/chat.py): the body, the key's hash, the key, the record, receive.
ChatModel = Callable[[RequestBody, str, str, RequestRecord, Receive], Awaitable[Response]]


class GenerationEndpoints:
    def __init__(
        self,
        *,
        pipeline: GenerationPipeline,
        admission: Admission,
        metrics: Metrics,
        max_request_bytes: int,
        chat_models: dict[str, ChatModel] | None = None,
    ) -> None:
        self._pipeline = pipeline
        self._admission = admission
        self._metrics = metrics
        self._max_bytes = max_request_bytes
        self._chat_models = chat_models or {}

    @staticmethod
    def route(scope: Scope) -> str | None:
        """The route a request is for, when it is one of these endpoints."""
        path: str = scope["path"]
        if path in ROUTES:
            return path
        trimmed = path.rstrip("/")
        return trimmed if trimmed in ROUTES else None

    async def respond(self, route: str, scope: Scope, receive: Receive, record: RequestRecord) -> Response:
        """The response to send; an APIError for a request refused on the way."""
        if scope["method"] != "POST":
            raise APIError("Method Not Allowed", status=405, headers={"allow": "POST"})
        headers = Headers(scope=scope)
        key_hash = key_hash_of(headers, self._metrics)
        try:
            body = await read_json_body(headers, receive, self._admission, key_hash, self._max_bytes)
        except ClientDisconnect:
            record.outcome = "client_disconnected"
            return Response(status_code=CLIENT_CLOSED_REQUEST)
        api = ROUTES[route]
        model = body.json.get("model")
        chat_model = self._chat_models.get(model) if api is CHAT and isinstance(model, str) else None
        if chat_model is not None:
            return await chat_model(body, key_hash, presented_key(headers) or "", record, receive)
        return await self._pipeline.respond(
            api, body, key_hash=key_hash, record=record, receive=receive, cache_wanted=headers.get(CACHE_HEADER)
        )


def key_hash_of(headers: Headers, metrics: Metrics) -> str:
    """The presented key's hash; a missing key is a 401, counted."""
    try:
        return presented_key_hash(headers)
    except InvalidAPIKey:
        metrics.auth_failures.inc()
        raise


async def read_json_body(
    headers: Headers, receive: Receive, admission: Admission, key_hash: str, max_bytes: int
) -> RequestBody:
    """The body as a JSON object, read (bounded) and parsed once; an unknown key's 401 comes
    before it is read (a key verified recently costs no store call)."""
    await admission.check_known(key_hash)
    raw = await read_body(headers, receive, max_bytes)
    return RequestBody(raw, parse_json_object(raw, max_bytes))


async def read_body(headers: Headers, receive: Receive, max_bytes: int) -> bytes:
    """The request body, refused past max_bytes: at once when Content-Length says so, else as
    soon as the chunks read pass it."""
    declared = headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise InvalidRequest("Invalid Content-Length header.")
        if int(declared) > max_bytes:
            raise RequestTooLarge(f"Request body is {declared} bytes; the limit is {max_bytes}.")
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > max_bytes:
            raise RequestTooLarge(f"Request body exceeds the limit of {max_bytes} bytes.")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)
