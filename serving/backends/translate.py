"""Per-backend request translation, declared in config: model name, renamed and dropped params, messages."""

from __future__ import annotations

from typing import Any

from serving.backends.gemma import normalise_gemma3_input, normalise_gemma3_messages
from serving.errors import InvalidRequest
from serving.settings import BackendConfig

# Responses API fields that continue what a backend stored from an earlier request.
_STATEFUL = ("previous_response_id", "conversation", "background")


class RequestTranslator:
    """Builds the body one backend gets from the client's body. Never mutates the original."""

    def __init__(self, config: BackendConfig) -> None:
        self._kind = config.kind
        self._model = config.model
        self._rename = dict(config.rename_params)
        self._drop = config.dropped_params
        self._force = config.forced_params
        self._gemma3 = config.message_format == "gemma3"

    def chat(self, body: dict[str, Any], *, stream: bool) -> dict[str, Any]:
        """A chat completion: the forced params (`store` and the like) apply here alone."""
        out = self._common(body)
        out.update(self._force)
        return self._finish(out, stream=stream)

    def plain(self, body: dict[str, Any], *, stream: bool) -> dict[str, Any]:
        """Completions and embeddings: they take no `store` and the like."""
        return self._finish(self._common(body), stream=stream)

    def responses(self, body: dict[str, Any], *, may_store: bool) -> dict[str, Any]:
        """may_store: the key lets this backend keep its responses (allow_store)."""
        return self._responses(self._common(body), may_store=may_store)

    def _common(self, body: dict[str, Any]) -> dict[str, Any]:
        out = {key: value for key, value in body.items() if key not in self._drop}
        out["model"] = self._model
        return out

    def _finish(self, out: dict[str, Any], *, stream: bool) -> dict[str, Any]:
        for source, target in self._rename.items():
            if source in out:
                value = out.pop(source)
                out.setdefault(target, value)
        if stream:
            # Always ask for the usage chunk so tokens are counted; the relay strips it
            # again when the client did not ask for it.
            options = dict(out.get("stream_options") or {})
            options["include_usage"] = True
            out["stream_options"] = options
        if self._gemma3 and "messages" in out:
            out["messages"] = normalise_gemma3_messages(out["messages"])
        return out

    def _responses(self, out: dict[str, Any], *, may_store: bool) -> dict[str, Any]:
        """The Responses API: its own parameter names already (max_output_tokens, reasoning,
        text), usage always in its last event, and state only where the key allows it."""
        stateful = next((field for field in _STATEFUL if out.get(field)), None)
        if self._kind == "vllm":
            # vLLM keeps responses in one process's memory: another replica, or the same one
            # after a restart, would not find them. Conversations are sent whole instead.
            if stateful is not None:
                raise InvalidRequest(
                    f"`{stateful}` is not supported on this model: its server keeps no state across replicas and "
                    "restarts. Send the whole conversation in `input` (earlier outputs included) instead.",
                    param=stateful,
                    code="unsupported_parameter",
                )
            out["store"] = False  # vLLM's store would keep it in one process's memory, unbounded
        elif not may_store:
            if stateful is not None:
                raise InvalidRequest(
                    f"`{stateful}` needs the backend to keep responses, and this key does not allow that "
                    "(allow_store). Send the whole conversation in `input` instead.",
                    param=stateful,
                    code="unsupported_parameter",
                )
            out.update({k: v for k, v in self._force.items() if k == "store"})
        if self._gemma3:
            out.update(normalise_gemma3_input(out.get("input"), out.pop("instructions", None)))
        return out
