"""The OpenAI APIs the façade serves, one descriptor each: the schema a body is validated
against, the backend path, how many tokens a request may generate and how that cap is sent,
whether a stream carries usage, how a backend's translator builds the body, and how a redacted
answer is restored. Adding an API is one descriptor here and one route."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from serving.backends.relay import EventRewriter
from serving.backends.translate import RequestTranslator
from serving.privacy.redaction import Redaction
from serving.privacy.restoration import ResponseStreamRestorer, StreamRestorer
from serving.protocol import ChatCompletionRequest, CompletionRequest, EmbeddingRequest, ResponsesRequest


@dataclass(frozen=True, slots=True)
class Api:
    """Chat completions; the other APIs override what differs."""

    name: str
    path: str  # the backend's path, and the cache key's namespace
    schema: type[BaseModel]
    typed_events: bool = False  # the Responses API: typed events, usage in the last, no [DONE]
    strips_null_usage: bool = False  # completion chunks: OpenAI's schema has no null usage
    optional_endpoint: bool = False  # a backend's 404/405/501 means the model does not serve it
    cacheable: bool = True  # answers may be kept in the response cache (serving/cache.py)

    def allowance(self, parsed: Any, default: int) -> int:
        """The most completion tokens a request may generate, charged up front: every choice,
        at the request's cap or, when it names none, the cap the façade sends."""
        most = getattr(parsed, "max_completion_tokens", None) or parsed.max_tokens or default
        return int(most * (parsed.n or 1))

    def capped(self, parsed: Any, body: dict[str, Any], default: int) -> dict[str, Any]:
        """The body to send: with the cap that was charged when the client named none, so
        that what the backend generates is bounded by what was admitted."""
        if parsed.max_tokens or getattr(parsed, "max_completion_tokens", None):
            return body
        return {**body, "max_tokens": default}

    def forwards_usage(self, parsed: Any) -> bool:
        """Whether the client gets the stream's usage event (stream_options.include_usage)."""
        return bool(getattr(parsed, "wants_usage_chunk", False))

    def translate(
        self, translator: RequestTranslator, body: dict[str, Any], *, stream: bool, may_store: bool
    ) -> dict[str, Any]:
        return translator.chat(body, stream=stream)

    def stream_restorer(self, redaction: Redaction, *, json_content: bool) -> EventRewriter:
        return StreamRestorer(redaction, json_content=json_content)


@dataclass(frozen=True, slots=True)
class CompletionsApi(Api):
    def allowance(self, parsed: Any, default: int) -> int:
        sequences = max(parsed.n or 1, parsed.best_of or 1) * parsed.prompt_count
        return int((parsed.max_tokens or default) * sequences)

    def translate(
        self, translator: RequestTranslator, body: dict[str, Any], *, stream: bool, may_store: bool
    ) -> dict[str, Any]:
        return translator.plain(body, stream=stream)


@dataclass(frozen=True, slots=True)
class ResponsesApi(Api):
    def allowance(self, parsed: Any, default: int) -> int:
        return int(parsed.max_output_tokens or default)

    def capped(self, parsed: Any, body: dict[str, Any], default: int) -> dict[str, Any]:
        return body if parsed.max_output_tokens else {**body, "max_output_tokens": default}

    def forwards_usage(self, parsed: Any) -> bool:
        return True  # inside its last event (response.completed): always forwarded

    def translate(
        self, translator: RequestTranslator, body: dict[str, Any], *, stream: bool, may_store: bool
    ) -> dict[str, Any]:
        return translator.responses(body, may_store=may_store)

    def stream_restorer(self, redaction: Redaction, *, json_content: bool) -> EventRewriter:
        return ResponseStreamRestorer(redaction, json_content=json_content)


@dataclass(frozen=True, slots=True)
class EmbeddingsApi(Api):
    def allowance(self, parsed: Any, default: int) -> int:
        return 0  # nothing is generated

    def capped(self, parsed: Any, body: dict[str, Any], default: int) -> dict[str, Any]:
        return body

    def translate(
        self, translator: RequestTranslator, body: dict[str, Any], *, stream: bool, may_store: bool
    ) -> dict[str, Any]:
        return translator.plain(body, stream=False)


CHAT = Api("chat", "/chat/completions", ChatCompletionRequest)
COMPLETIONS = CompletionsApi("completions", "/completions", CompletionRequest, strips_null_usage=True)
RESPONSES = ResponsesApi("responses", "/responses", ResponsesRequest, typed_events=True)
EMBEDDINGS = EmbeddingsApi("embeddings", "/embeddings", EmbeddingRequest, optional_endpoint=True, cacheable=False)
