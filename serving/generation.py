"""One generation request (chat, completion, embedding) after its body was parsed: validate,
admit (auth and limits), send through the proxy, and answer with JSON or the relayed stream."""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from starlette.background import BackgroundTask
from starlette.responses import Response
from starlette.types import Receive

from serving import sse
from serving.access.admission import Admission
from serving.backends.proxy import Proxy, ProxyReply
from serving.cache import ResponseCache, is_deterministic, replay
from serving.catalog import ModelCatalog
from serving.context import RequestContext
from serving.disconnect import unless_disconnected
from serving.images import ImageGuard
from serving.protocol import (
    ChatCompletionRequest,
    CompletionRequest,
    EmbeddingRequest,
    RequestBody,
    ResponsesRequest,
    validate,
)

GenerationRequest = ChatCompletionRequest | CompletionRequest | EmbeddingRequest | ResponsesRequest
Schema = type[ChatCompletionRequest] | type[CompletionRequest] | type[EmbeddingRequest] | type[ResponsesRequest]


def token_allowance(parsed: GenerationRequest, default: int) -> int:
    """The most completion tokens a request may generate, charged up front: every choice of
    every prompt, at the request's cap or, when it names none, the cap the façade sends."""
    if isinstance(parsed, EmbeddingRequest):
        return 0
    if isinstance(parsed, ResponsesRequest):
        return parsed.max_output_tokens or default
    most = getattr(parsed, "max_completion_tokens", None) or parsed.max_tokens or default
    sequences = parsed.n or 1
    if isinstance(parsed, CompletionRequest):
        sequences = max(sequences, parsed.best_of or 1) * parsed.prompt_count
    return most * sequences


def capped(parsed: GenerationRequest, body: dict[str, Any], default: int) -> dict[str, Any]:
    """The body to send: with the cap that was charged when the client named none, so that
    what the backend generates is bounded by what was admitted."""
    if isinstance(parsed, ResponsesRequest):
        return body if parsed.max_output_tokens else {**body, "max_output_tokens": default}
    if isinstance(parsed, EmbeddingRequest) or parsed.max_tokens or getattr(parsed, "max_completion_tokens", None):
        return body
    return {**body, "max_tokens": default}


class Generation:
    def __init__(
        self,
        *,
        admission: Admission,
        proxy: Proxy,
        catalog: ModelCatalog,
        default_max_tokens: int,
        images: ImageGuard,
        cache: ResponseCache,
        overlap_admission: bool = True,
    ) -> None:
        self._admission = admission
        self._proxy = proxy
        self._catalog = catalog
        self._default_max_tokens = default_max_tokens
        self._images = images
        self._cache = cache
        self._overlap = overlap_admission

    async def respond(
        self,
        schema: Schema,
        path: str,
        body: RequestBody,
        *,
        key_hash: str,
        ctx: RequestContext,
        receive: Receive,
        cache_wanted: str | None = None,
    ) -> Response:
        """cache_wanted: the request's x-pearcare-cache header (serving/cache.py)."""
        parsed = validate(schema, body.json)
        images = self._images.inspect(body.raw, body.json)  # a refused image costs nothing
        stream = bool(getattr(parsed, "stream", False))
        cache_key = None
        if self._cache.wanted(cache_wanted) and is_deterministic(body.json):
            cache_key = self._cache.key_for(key_hash, path, body.json)
            # Looked up before admission: a hit generates nothing, so it is admitted on the
            # request rate alone (a key out of token budget still gets its cached answer).
            if cache_key is not None and (stored := await self._cache.get(cache_key)) is not None:
                hit = await self._serve_hit(key_hash, parsed, stored, stream, ctx)
                if hit is not None:
                    return hit
        prompt_tokens = (len(body.raw) - images.inline_bytes) // 4 + self._images.prompt_tokens(images)
        # A Responses stream's usage is inside its last event (response.completed): always forwarded.
        forward_usage = stream and (isinstance(parsed, ResponsesRequest) or getattr(parsed, "wants_usage_chunk", False))
        forwarded = capped(parsed, body.json, self._default_max_tokens)
        early: asyncio.Future[ProxyReply] | None = None
        if stream and self._overlap and self._leaves_early(key_hash, parsed.model):
            # The time to first token need not wait for the store: the request leaves for our
            # own vLLM now, and nothing of it reaches the client unless admission says yes.
            early = asyncio.ensure_future(
                self._proxy.send(
                    path=path, alias=parsed.model, body=forwarded, stream=True, forward_usage=forward_usage, ctx=ctx
                )
            )
        try:
            alias = await self.admit(key_hash, parsed, prompt_tokens=prompt_tokens, ctx=ctx)
        except BaseException:
            if early is not None:
                await _abandon(early, ctx)
            raise
        if self._cache.wanted(cache_wanted) and ctx.grant is not None and ctx.grant.response_cache:
            self._cached(ctx, alias, "miss" if cache_key is not None else "bypass")
        else:
            cache_key = None
        if early is not None:
            try:
                return await unless_disconnected(receive, ctx, self._answer(early, cache_key))
            except BaseException:
                _let_go(early)  # cancelled before _answer ran (shutdown): the request must not run on
                raise
        sending = self._send(path, alias, forwarded, stream, forward_usage, ctx, cache_key)
        return await unless_disconnected(receive, ctx, sending)

    async def _serve_hit(
        self, key_hash: str, parsed: GenerationRequest, stored: bytes, stream: bool, ctx: RequestContext
    ) -> Response | None:
        """A cached answer, for a key that (still) opted in; None otherwise. Counted against the
        request rate and in usage as a request of 0 tokens."""
        grant = await self._admission.admit(key_hash, parsed.model, 0, generates=False)
        ctx.key_name = grant.name
        grant.raise_if_refused()
        if not grant.response_cache:
            # The key lost its opt-in since the entry was kept: served live (this request then
            # counts twice against the request rate, once here, once in its admission).
            return None
        ctx.response_headers.update(grant.headers)
        alias = ctx.alias = self._catalog.resolve(grant, parsed.model)
        ctx.grant = grant
        self._cached(ctx, alias, "hit")
        ctx.backend, ctx.prompt_tokens, ctx.completion_tokens = "cache", 0, 0  # nothing generated
        if stream:
            return sse.response(replay(stored))
        return Response(stored, media_type="application/json")

    def _leaves_early(self, key_hash: str, model: str) -> bool:
        """Only for our own backends (nothing leaves the network, no queue place is taken) and
        a key admission will most likely accept (serving/access/admission.py: likely_admits)."""
        return (
            self._catalog.serves(model)
            and self._proxy.self_hosted(model)
            and self._admission.likely_admits(key_hash, model)
        )

    def _cached(self, ctx: RequestContext, alias: str, result: Literal["hit", "miss", "bypass"]) -> None:
        ctx.response_headers["x-cache"] = result
        self._cache.count(alias, result)

    async def admit(self, key_hash: str, request: GenerationRequest, *, prompt_tokens: int, ctx: RequestContext) -> str:
        """Auth and limits in one store round trip; fills in ctx and returns the alias to serve.

        Tokens are charged up front by an estimate (prompt_tokens: ~4 bytes a token of text, a
        fixed count per image) and settled when the response ends. An unknown model charges
        nothing, but a bad key still gets its 401 first."""
        ctx.prompt_estimate = prompt_tokens
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
        self,
        path: str,
        alias: str,
        body: dict[str, Any],
        stream: bool,
        forward_usage: bool,
        ctx: RequestContext,
        cache_key: str | None = None,
    ) -> Response:
        """Waits for the backend's first byte (a hang-up meanwhile cancels it), then answers."""
        reply = await self._proxy.send(
            path=path, alias=alias, body=body, stream=stream, forward_usage=forward_usage, ctx=ctx
        )
        return await self._respond_with(reply, cache_key)

    async def _answer(self, early: asyncio.Future[ProxyReply], cache_key: str | None) -> Response:
        """The answer of a request sent before its admission was known (admitted since)."""
        try:
            reply = await early
        except BaseException:
            early.cancel()  # the client hung up meanwhile: the request goes too
            raise
        return await self._respond_with(reply, cache_key)

    async def _respond_with(self, reply: ProxyReply, cache_key: str | None) -> Response:
        if reply.relay is None:
            if cache_key is not None and reply.body is not None:
                await self._cache.put(cache_key, reply.body)
            return Response(reply.body, media_type="application/json")
        relay = reply.relay
        events = relay.stream()
        if cache_key is not None:
            events = self._cache.keep_stream(cache_key, events, lambda: relay.succeeded)

        async def close_events() -> None:
            # If the client left while we were suspended at a yield, close the relay now
            # (and with it the backend request) rather than whenever the GC finds it; a
            # stream never started is closed by the relay itself.
            await events.aclose()
            relay.close()

        return sse.response(events, background=BackgroundTask(close_events))


async def _abandon(early: asyncio.Future[ProxyReply], ctx: RequestContext) -> None:
    """Admission refused a request already on its way: cancel it (vLLM aborts a request whose
    connection closes). Nothing of it reached the client, and no usage is recorded (nothing
    was admitted to record it against); the backend it reached stays on the request's record
    (access log, audit trail): its prompt did leave for it."""
    early.cancel()
    try:
        reply = await early
    except asyncio.CancelledError:
        current = asyncio.current_task()
        if current is not None and current.cancelling():
            raise  # we were cancelled ourselves, not only the early request
        reply = None
    except Exception:  # the backend failed before answering: nothing to close
        reply = None
    if reply is not None and reply.relay is not None:
        reply.relay.abandoned = True
        reply.relay.close()
    ctx.outcome = "ok"  # the refusal is the outcome, not the cancelled stream
    ctx.completion_tokens = ctx.prompt_tokens = None
    ctx.tokens_estimated = False
    ctx.time_to_first_token = ctx.inter_token_latency = None


def _let_go(early: asyncio.Future[ProxyReply]) -> None:
    """An early request whose answer will never be sent: cancelled, or its stream closed."""
    if not early.done():
        early.cancel()
    elif not early.cancelled() and early.exception() is None and (relay := early.result().relay) is not None:
        relay.close()  # idempotent: a no-op for a relay a response already closed
