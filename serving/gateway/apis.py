"""The OpenAI APIs the façade serves, one descriptor each: the schema a body is validated
against, how many tokens a request may generate and how that cap is sent, whether a stream
carries usage, whether answers may be cached, and the API as a backend speaks it (its WireApi:
path, translation, restoring: serving/backends/wire.py). Adding an API is one descriptor here,
one WireApi and one route."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from serving.backends.wire import CHAT_WIRE, COMPLETIONS_WIRE, EMBEDDINGS_WIRE, RESPONSES_WIRE, WireApi
from serving.protocol import ChatCompletionRequest, CompletionRequest, EmbeddingRequest, ResponsesRequest


@dataclass(frozen=True, slots=True)
class Api:
    """Chat completions; the other APIs override what differs."""

    schema: type[BaseModel]
    wire: WireApi  # the API as the proxy sends it
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


@dataclass(frozen=True, slots=True)
class CompletionsApi(Api):
    def allowance(self, parsed: Any, default: int) -> int:
        sequences = max(parsed.n or 1, parsed.best_of or 1) * parsed.prompt_count
        return int((parsed.max_tokens or default) * sequences)


@dataclass(frozen=True, slots=True)
class ResponsesApi(Api):
    def allowance(self, parsed: Any, default: int) -> int:
        return int(parsed.max_output_tokens or default)

    def capped(self, parsed: Any, body: dict[str, Any], default: int) -> dict[str, Any]:
        return body if parsed.max_output_tokens else {**body, "max_output_tokens": default}

    def forwards_usage(self, parsed: Any) -> bool:
        return True  # inside its last event (response.completed): always forwarded


@dataclass(frozen=True, slots=True)
class EmbeddingsApi(Api):
    def allowance(self, parsed: Any, default: int) -> int:
        return 0  # nothing is generated

    def capped(self, parsed: Any, body: dict[str, Any], default: int) -> dict[str, Any]:
        return body


CHAT = Api(ChatCompletionRequest, CHAT_WIRE)
COMPLETIONS = CompletionsApi(CompletionRequest, COMPLETIONS_WIRE)
RESPONSES = ResponsesApi(ResponsesRequest, RESPONSES_WIRE)
EMBEDDINGS = EmbeddingsApi(EmbeddingRequest, EMBEDDINGS_WIRE, cacheable=False)
