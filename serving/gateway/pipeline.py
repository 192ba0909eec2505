"""One generation request (chat, completions, Responses, embeddings) from its parsed body to
its answer, in the order it flows: validate → (cache) → admit → send (the proxy guards each
backend's data policy and falls back) → answer with JSON or the relayed stream. The request's
record is written here from the facts each step returns; finish.py reads it at the end."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, Literal

from starlette.background import BackgroundTask
from starlette.responses import Response
from starlette.types import Receive

from serving.access.admission import Admission
from serving.access.prices import PriceList
from serving.backends.dispatch import Dispatch, ProxyReply
from serving.backends.proxy import Proxy
from serving.cache import ResponseCache, is_deterministic, replay
from serving.catalog import ModelCatalog
from serving.gateway import event_stream
from serving.gateway.apis import Api
from serving.gateway.disconnect import unless_disconnected
from serving.gateway.record import RequestRecord
from serving.images import ImageGuard
from serving.observability.tracing import Tracing
from serving.protocol import RequestBody, validate


class GenerationPipeline:
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
        tracing: Tracing | None = None,
        prices: PriceList | None = None,
    ) -> None:
        self._tracing = tracing
        self._prices = prices
        self._admission = admission
        self._proxy = proxy
        self._catalog = catalog
        self._default_max_tokens = default_max_tokens
        self._images = images
        self._cache = cache
        self._overlap = overlap_admission

    async def respond(
        self,
        api: Api,
        body: RequestBody,
        *,
        key_hash: str,
        record: RequestRecord,
        receive: Receive,
        cache_wanted: str | None = None,
    ) -> Response:
        """cache_wanted: the request's x-pearcare-cache header (serving/cache.py)."""
        parsed: Any = validate(api.schema, body.json)
        images = self._images.inspect(body.raw, body.json)  # a refused image costs nothing
        stream = bool(getattr(parsed, "stream", False))
        cache_key = None
        if not api.cacheable:
            cache_wanted = None
        if self._cache.wanted(cache_wanted) and is_deterministic(body.json):
            cache_key = self._cache.key_for(key_hash, api.wire.path, body.json)
            # Looked up before admission: a hit generates nothing, so it is admitted on the
            # request rate alone (a key out of token budget still gets its cached answer).
            if cache_key is not None and (stored := await self._cache.get(cache_key)) is not None:
                hit = await self._serve_hit(key_hash, parsed.model, stored, stream, record)
                if hit is not None:
                    return hit
        prompt_tokens = (len(body.raw) - images.inline_bytes) // 4 + self._images.prompt_tokens(images)
        forwarded = api.capped(parsed, body.json, self._default_max_tokens)
        forward_usage = stream and api.forwards_usage(parsed)
        early: asyncio.Future[ProxyReply] | None = None
        early_send: _Send | None = None
        if stream and self._overlap and self._leaves_early(key_hash, parsed.model):
            # The time to first token need not wait for the store: the request leaves for our
            # own vLLM now, and nothing of it reaches the client unless admission says yes.
            early_send = _Send(self._dispatch(api, parsed.model, forwarded, forward_usage, record))
            early = asyncio.ensure_future(self._proxy.send(early_send.dispatch, early_send.reply))
        try:
            if self._tracing is None:
                alias = await self.admit(api, key_hash, parsed, prompt_tokens=prompt_tokens, record=record)
            else:
                with self._tracing.step("admission"):
                    alias = await self.admit(api, key_hash, parsed, prompt_tokens=prompt_tokens, record=record)
        except BaseException:
            if early is not None and early_send is not None:
                try:
                    await _abandon(early, record)
                finally:
                    early_send.note(record)
            raise
        if self._cache.wanted(cache_wanted) and record.grant is not None and record.grant.grants.response_cache:
            self._cached(record, alias, "miss" if cache_key is not None else "bypass")
        else:
            cache_key = None
        if early is not None and early_send is not None:
            try:
                return await unless_disconnected(receive, record, self._answer(early, record, cache_key))
            except BaseException:
                _let_go(early)  # cancelled before _answer ran (shutdown): the request must not run on
                raise
            finally:
                early_send.note(record)
        send = _Send(self._dispatch(api, alias, forwarded, forward_usage, record, stream))
        try:
            return await unless_disconnected(receive, record, self._send(send, record, cache_key))
        finally:
            send.note(record)  # also when a hang-up cancelled it midway: the prompt may have left

    def _dispatch(
        self,
        api: Api,
        alias: str,
        body: dict[str, Any],
        forward_usage: bool,
        record: RequestRecord,
        stream: bool = True,
    ) -> Dispatch:
        return Dispatch(
            api=api.wire,
            alias=alias,
            body=body,
            stream=stream,
            forward_usage=forward_usage,
            request_id=record.request_id,
            started=record.started,
            grant=record.grant,
            session_id=record.session_id,
            priority=record.priority,
        )

    async def _serve_hit(
        self, key_hash: str, model: str, stored: bytes, stream: bool, record: RequestRecord
    ) -> Response | None:
        """A cached answer, for a key that (still) opted in; None otherwise. Counted against the
        request rate and in usage as a request of 0 tokens."""
        grant = await self._admission.admit(key_hash, model, 0, generates=False)
        record.key_name = grant.name
        grant.raise_if_refused()
        if not grant.grants.response_cache:
            # The key lost its opt-in since the entry was kept: served live (this request then
            # counts twice against the request rate, once here, once in its admission).
            return None
        record.response_headers.update(grant.headers)
        alias = record.alias = self._catalog.resolve(grant.models, model)
        record.grant = grant
        self._cached(record, alias, "hit")
        record.backend, record.prompt_tokens, record.completion_tokens = "cache", 0, 0  # nothing generated
        if stream:
            return event_stream.response(replay(stored))
        return Response(stored, media_type="application/json")

    def _leaves_early(self, key_hash: str, model: str) -> bool:
        """Only for our own backends (nothing leaves the network, no queue place is taken) and
        a key admission will most likely accept (serving/access/admission.py: likely_admits)."""
        return (
            self._catalog.serves(model)
            and self._proxy.self_hosted(model)
            and self._admission.likely_admits(key_hash, model)
        )

    def _cached(self, record: RequestRecord, alias: str, result: Literal["hit", "miss", "bypass"]) -> None:
        record.response_headers["x-cache"] = result
        self._cache.count(alias, result)

    async def admit(self, api: Api, key_hash: str, parsed: Any, *, prompt_tokens: int, record: RequestRecord) -> str:
        """Auth and limits in one store round trip; returns the alias to serve.

        Tokens are charged up front by an estimate (prompt_tokens: ~4 bytes a token of text, a
        fixed count per image) and settled when the response ends. An unknown model charges
        nothing, but a bad key still gets its 401 first."""
        record.prompt_estimate = prompt_tokens
        allowance = api.allowance(parsed, self._default_max_tokens)
        known = self._catalog.serves(parsed.model)
        # The worst case a budget must hold: the prompt uncached, the whole cap at the dearest backend.
        cost = self._prices.worst_case(parsed.model, prompt_tokens, allowance) if known and self._prices else 0
        grant = await self._admission.admit(key_hash, parsed.model, prompt_tokens + allowance, charge=known, cost=cost)
        record.key_name = grant.name
        grant.raise_if_refused()  # a 429 carries the limit headers itself
        record.response_headers.update(grant.headers)
        alias = record.alias = self._catalog.resolve(grant.models, parsed.model)
        record.grant = grant
        record.priority = max(record.priority, grant.grants.priority)  # a header may lower it, never raise it
        return alias

    async def _send(self, send: _Send, record: RequestRecord, cache_key: str | None) -> Response:
        """Waits for the backend's first byte (a hang-up meanwhile cancels it), then answers."""
        reply = await self._proxy.send(send.dispatch, send.reply)
        return await self._respond_with(reply, record, cache_key)

    async def _answer(
        self, early: asyncio.Future[ProxyReply], record: RequestRecord, cache_key: str | None
    ) -> Response:
        """The answer of a request sent before its admission was known (admitted since)."""
        try:
            reply = await early
        except BaseException:
            # The client hung up meanwhile: the request goes too, or, when it completed in the
            # same turn, the stream it opened is closed (its endpoint released).
            _let_go(early)
            raise
        return await self._respond_with(reply, record, cache_key)

    async def _respond_with(self, reply: ProxyReply, record: RequestRecord, cache_key: str | None) -> Response:
        _record_reply(record, reply)
        if reply.error is not None:
            raise reply.error
        if reply.relay is None:
            if cache_key is not None and reply.body is not None:
                await self._cache.put(cache_key, reply.body)
            return Response(reply.body, media_type="application/json")
        relay = record.stream = reply.relay
        events = relay.stream()
        if cache_key is not None:
            events = self._cache.keep_stream(cache_key, events, lambda: relay.succeeded)

        async def close_events() -> None:
            # If the client left while we were suspended at a yield, close the relay now
            # (and with it the backend request) rather than whenever the GC finds it; a
            # stream never started is closed by the relay itself.
            await events.aclose()
            relay.close()

        return event_stream.response(events, background=BackgroundTask(close_events))


@dataclass(slots=True)
class _Send:
    """One send to the proxy: what was dispatched, and the reply it fills in as it goes (kept
    by us, so what it learned survives a cancel)."""

    dispatch: Dispatch
    reply: ProxyReply = field(default_factory=ProxyReply)

    def note(self, record: RequestRecord) -> None:
        """The data policy applied and the identifier types and counts found, on the record."""
        if self.reply.screening is not None:
            record.phi_counts = self.reply.screening.counts
        if self.reply.data_policy is not None:
            record.data_policy = self.reply.data_policy


def _record_reply(record: RequestRecord, reply: ProxyReply) -> None:
    """What sending did, on the request's record (a stream's usage when it ends)."""
    if reply.data_policy is not None:
        record.data_policy = reply.data_policy
    if reply.backend is not None:
        record.backend, record.backend_model = reply.backend, reply.backend_model
    if reply.usage is not None:
        record.take_usage(reply.usage)


async def _abandon(early: asyncio.Future[ProxyReply], record: RequestRecord) -> None:
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
        return
    except Exception:  # failed outside the protocol (a closed session at shutdown): nothing to close
        return
    reply.usage = None  # nothing of it is counted
    _record_reply(record, reply)
    if reply.relay is not None:
        reply.relay.abandoned = True
        reply.relay.close()


def _let_go(early: asyncio.Future[ProxyReply]) -> None:
    """An early request whose answer will never be sent: cancelled, or its stream closed."""
    if not early.done():
        early.cancel()
    elif not early.cancelled() and early.exception() is None and (relay := early.result().relay) is not None:
        relay.close()  # idempotent: a no-op for a relay a response already closed
