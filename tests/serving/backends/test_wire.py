"""Each OpenAI API as a backend speaks it (serving/backends/wire.py): which translation builds
its body, and which restorer a redacted stream of it gets."""

from __future__ import annotations

from typing import Any

from serving.backends.translate import RequestTranslator
from serving.backends.wire import CHAT_WIRE, COMPLETIONS_WIRE, EMBEDDINGS_WIRE, RESPONSES_WIRE
from serving.privacy.redaction import Redaction
from serving.privacy.restoration import ResponseStreamRestorer, StreamRestorer


class Recording(RequestTranslator):
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def chat(self, body: dict[str, Any], *, stream: bool) -> dict[str, Any]:
        self.calls.append(("chat", {"stream": stream}))
        return body

    def plain(self, body: dict[str, Any], *, stream: bool) -> dict[str, Any]:
        self.calls.append(("plain", {"stream": stream}))
        return body

    def responses(self, body: dict[str, Any], *, may_store: bool) -> dict[str, Any]:
        self.calls.append(("responses", {"may_store": may_store}))
        return body


def test_each_api_is_translated_by_its_own_translation() -> None:
    translator = Recording()
    for wire in (CHAT_WIRE, COMPLETIONS_WIRE, RESPONSES_WIRE, EMBEDDINGS_WIRE):
        assert wire.translate(translator, {"model": "m"}, stream=True, may_store=True) == {"model": "m"}
    assert translator.calls == [
        ("chat", {"stream": True}),
        ("plain", {"stream": True}),
        ("responses", {"may_store": True}),
        ("plain", {"stream": False}),  # embeddings never stream
    ]


def test_typed_event_streams_get_the_responses_restorer() -> None:
    redaction = Redaction()
    assert isinstance(RESPONSES_WIRE.stream_restorer(redaction, json_content=False), ResponseStreamRestorer)
    for wire in (CHAT_WIRE, COMPLETIONS_WIRE):
        assert type(wire.stream_restorer(redaction, json_content=False)) is StreamRestorer
    assert [w.path for w in (CHAT_WIRE, COMPLETIONS_WIRE, RESPONSES_WIRE, EMBEDDINGS_WIRE)] == [
        "/chat/completions",
        "/completions",
        "/responses",
        "/embeddings",
    ]
