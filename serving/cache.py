"""The response cache: deterministic answers served again to the key that asked for them.

Opt-in twice: the key (`response_cache`) and the request (`x-pearcare-cache: on`). Only a
deterministic request is cached: temperature 0, or a seed. Entries are exact matches on the
canonical request (route and the whole body with sorted keys: model, messages, parameters,
the stream flag included) and scoped to the key: an answer may carry patient data and is
never served to another key. They live in the store with a TTL, bounded in size per entry. A stream is kept as the bytes
the client was sent and replayed event by event in the same SSE shape; a non-streaming
answer as its JSON body. A cache failure is a miss, never a failed request.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from typing import Any, Literal

import orjson

from serving.observability.metrics import Metrics
from serving.settings import CacheConfig
from serving.store.connection import Store
from serving.store.errors import STORE_ERRORS

log = logging.getLogger(__name__)

REQUEST_HEADER = "x-pearcare-cache"
CacheResult = Literal["hit", "miss", "bypass"]


def is_deterministic(body: dict[str, Any]) -> bool:
    return body.get("temperature") == 0 or isinstance(body.get("seed"), int)


class ResponseCache:
    def __init__(self, redis: Store, config: CacheConfig, metrics: Metrics) -> None:
        self._redis = redis
        self._config = config
        self._metrics = metrics

    def wanted(self, header: str | None) -> bool:
        """The request asked for the cache (the key's opt-in is checked at admission)."""
        return self._config.enabled and (header or "").strip().lower() == "on"

    def key_for(self, key_hash: str, path: str, body: dict[str, Any]) -> str | None:
        """The entry's store key: the canonical request under the API key's own hash (a key
        name reused later never sees an earlier key's answers). None: not cacheable."""
        try:
            canonical = orjson.dumps([path, body], option=orjson.OPT_SORT_KEYS)
        except orjson.JSONEncodeError:  # nested deeper than orjson writes: served, not cached
            return None
        return f"pc:cache:{key_hash}:{hashlib.sha256(canonical).hexdigest()}"

    def count(self, alias: str, result: CacheResult) -> None:
        self._metrics.cache_requests.labels(alias, result).inc()

    async def get(self, key: str) -> bytes | None:
        try:
            value = await self._redis.get(key)
        except STORE_ERRORS as exc:
            log.warning("response cache unavailable", extra={"error_type": type(exc).__name__})
            return None
        return value if isinstance(value, bytes) else None

    async def put(self, key: str, value: bytes) -> None:
        if len(value) > self._config.max_entry_bytes:
            self._metrics.cache_skipped.labels("too_large").inc()
            return
        try:
            await self._redis.set(key, value, ex=self._config.ttl_seconds)
        except STORE_ERRORS as exc:
            log.warning("response cache unavailable", extra={"error_type": type(exc).__name__})

    async def keep_stream(
        self, key: str, events: AsyncIterator[bytes], completed: Callable[[], bool]
    ) -> AsyncGenerator[bytes, None]:
        """Relays a stream, keeping its bytes; stored when it completed (`completed()`), whole."""
        kept: list[bytes] = []
        size = 0
        async for chunk in events:
            size += len(chunk)
            if size <= self._config.max_entry_bytes:
                kept.append(chunk)
            yield chunk
        if not completed():
            return
        if size > self._config.max_entry_bytes:
            self._metrics.cache_skipped.labels("too_large").inc()
            return
        await self.put(key, b"".join(kept))


async def replay(stored: bytes) -> AsyncIterator[bytes]:
    """A kept stream, event by event."""
    for event in stored.split(b"\n\n"):
        if event:
            yield event + b"\n\n"
