"""Each OpenAI API as a backend speaks it (WireApi): its path, how a backend's translator builds
its body, how its stream ends and carries usage, and how a redacted answer is restored. The
gateway's descriptors (serving/gateway/apis.py) add what the façade decides before sending."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from serving.backends.relay import EventRewriter
from serving.backends.translate import RequestTranslator
from serving.privacy.redaction import Redaction
from serving.privacy.restoration import ResponseStreamRestorer, StreamRestorer

Translation = Callable[[RequestTranslator, dict[str, Any], bool, bool], dict[str, Any]]
"""(translator, body, stream, may_store) -> the body this backend is sent."""


def _chat(translator: RequestTranslator, body: dict[str, Any], stream: bool, may_store: bool) -> dict[str, Any]:
    return translator.chat(body, stream=stream)


def _plain(translator: RequestTranslator, body: dict[str, Any], stream: bool, may_store: bool) -> dict[str, Any]:
    return translator.plain(body, stream=stream)


def _responses(translator: RequestTranslator, body: dict[str, Any], stream: bool, may_store: bool) -> dict[str, Any]:
    return translator.responses(body, may_store=may_store)


def _embeddings(translator: RequestTranslator, body: dict[str, Any], stream: bool, may_store: bool) -> dict[str, Any]:
    return translator.plain(body, stream=False)


@dataclass(frozen=True, slots=True)
class WireApi:
    name: str
    path: str  # the backend's path, and the response cache's namespace
    translation: Translation
    typed_events: bool = False  # the Responses API: typed events, usage in the last, no [DONE]
    strips_null_usage: bool = False  # completion chunks: OpenAI's schema has no null usage
    optional_endpoint: bool = False  # a backend's 404/405/501 means the model does not serve it

    def translate(
        self, translator: RequestTranslator, body: dict[str, Any], *, stream: bool, may_store: bool
    ) -> dict[str, Any]:
        return self.translation(translator, body, stream, may_store)

    def stream_restorer(self, redaction: Redaction, *, json_content: bool) -> EventRewriter:
        if self.typed_events:
            return ResponseStreamRestorer(redaction, json_content=json_content)
        return StreamRestorer(redaction, json_content=json_content)


CHAT_WIRE = WireApi("chat", "/chat/completions", _chat)
COMPLETIONS_WIRE = WireApi("completions", "/completions", _plain, strips_null_usage=True)
RESPONSES_WIRE = WireApi("responses", "/responses", _responses, typed_events=True)
EMBEDDINGS_WIRE = WireApi("embeddings", "/embeddings", _embeddings, optional_endpoint=True)
