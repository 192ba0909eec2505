"""One generation request (chat, completion, embedding) after its body was parsed: validate,
admit (auth and limits), send through the proxy, and answer with JSON or the relayed stream."""

from __future__ import annotations

from typing import Any

from starlette.background import BackgroundTask
from starlette.responses import Response
from starlette.types import Receive

from serving import sse
from serving.access.admission import Admission
from serving.backends.proxy import Proxy
from serving.catalog import ModelCatalog
from serving.context import RequestContext
from serving.disconnect import unless_disconnected
from serving.protocol import ChatCompletionRequest, CompletionRequest, EmbeddingRequest, RequestBody, validate

GenerationRequest = ChatCompletionRequest | CompletionRequest | EmbeddingRequest
Schema = type[ChatCompletionRequest] | type[CompletionRequest] | type[EmbeddingRequest]


def token_allowance(parsed: GenerationRequest, default: int) -> int:
    """The most completion tokens a request may generate, charged up front: every choice of
    every prompt, at the request's cap or, when it names none, the cap the façade sends."""
    if isinstance(parsed, EmbeddingRequest):
        return 0
    most = getattr(parsed, "max_completion_tokens", None) or parsed.max_tokens or default
    sequences = parsed.n or 1
    if isinstance(parsed, CompletionRequest):
        sequences = max(sequences, parsed.best_of or 1) * parsed.prompt_count
    return most * sequences


def capped(parsed: GenerationRequest, body: dict[str, Any], default: int) -> dict[str, Any]:
    """The body to send: with the cap that was charged when the client named none, so that
    what the backend generates is bounded by what was admitted."""
    if isinstance(parsed, EmbeddingRequest) or parsed.max_tokens or getattr(parsed, "max_completion_tokens", None):
        return body
    return {**body, "max_tokens": default}


class Generation:
    def __init__(self, *, admission: Admission, proxy: Proxy, catalog: ModelCatalog, default_max_tokens: int) -> None:
        self._admission = admission
        self._proxy = proxy
        self._catalog = catalog
        self._default_max_tokens = default_max_tokens

    async def respond(
        self, schema: Schema, path: str, body: RequestBody, *, key_hash: str, ctx: RequestContext, receive: Receive
    ) -> Response:
        parsed = validate(schema, body.json)
        alias = await self.admit(key_hash, parsed, body_bytes=len(body.raw), ctx=ctx)
        stream = bool(getattr(parsed, "stream", False))
        forward_usage = stream and getattr(parsed, "wants_usage_chunk", False)
        forwarded = capped(parsed, body.json, self._default_max_tokens)
        return await unless_disconnected(receive, ctx, self._send(path, alias, forwarded, stream, forward_usage, ctx))

    async def admit(self, key_hash: str, request: GenerationRequest, *, body_bytes: int, ctx: RequestContext) -> str:
        """Auth and limits in one store round trip; fills in ctx and returns the alias to serve.

        Tokens are charged up front by an estimate and settled when the response ends. An
        unknown model charges nothing, but a bad key still gets its 401 first."""
        ctx.prompt_estimate = body_bytes // 4  # ~4 bytes a token
        estimate = ctx.prompt_estimate + token_allowance(request, self._default_max_tokens)
        known = self._catalog.serves(request.model)
        grant = await self._admission.admit(key_hash, request.model, estimate, charge=known)
        ctx.key_name = grant.name
        grant.raise_if_refused()  # a 429 carries the limit headers itself
        ctx.response_headers.update(grant.headers)
        alias = ctx.alias = self._catalog.resolve(grant, request.model)
        ctx.grant = grant
        ctx.priority = max(ctx.priority, grant.priority)  # a header may lower it, never raise it
        return alias

    async def _send(
        self, path: str, alias: str, body: dict[str, Any], stream: bool, forward_usage: bool, ctx: RequestContext
    ) -> Response:
        """Waits for the backend's first byte (a hang-up meanwhile cancels it), then answers."""
        reply = await self._proxy.send(
            path=path, alias=alias, body=body, stream=stream, forward_usage=forward_usage, ctx=ctx
        )
        if reply.relay is None:
            return Response(reply.body, media_type="application/json")
        relay = reply.relay
        events = relay.stream()

        async def close_events() -> None:
            # If the client left while we were suspended at a yield, close the relay now
            # (and with it the backend request) rather than whenever the GC finds it; a
            # stream never started is closed by the relay itself.
            await events.aclose()
            relay.close()

        return sse.response(events, background=BackgroundTask(close_events))
