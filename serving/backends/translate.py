"""Per-backend request translation, declared in config: model name, renamed and dropped params, messages."""

from __future__ import annotations

from typing import Any

from serving.backends.gemma import normalise_gemma3_messages
from serving.settings import BackendConfig


class RequestTranslator:
    """Builds the body one backend gets from the client's body. Never mutates the original."""

    def __init__(self, config: BackendConfig) -> None:
        self._model = config.model
        self._rename = dict(config.rename_params)
        self._drop = config.dropped_params
        self._force = config.forced_params
        self._gemma3 = config.message_format == "gemma3"

    def translate(self, body: dict[str, Any], *, stream: bool, path: str = "/chat/completions") -> dict[str, Any]:
        out = {key: value for key, value in body.items() if key not in self._drop}
        out["model"] = self._model
        if path == "/chat/completions":  # the other endpoints take no `store` and the like
            out.update(self._force)
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
