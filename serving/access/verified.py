"""Keys this instance has recently seen the store accept, remembered for a short while.

Two uses, both bounded by the TTL: a request with a key we know skips the look-up that
refuses unknown keys before their body is read; and with failure_policy open, a store outage
serves only these keys (never an arbitrary bearer string). Revocation is unaffected: every
admission still checks the key's record in the store."""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass

from serving.access.limits import NO_GRANTS, KeyGrants


@dataclass(frozen=True, slots=True)
class VerifiedKey:
    key_id: str
    name: str
    models: frozenset[str] | None
    has_token_limit: bool
    has_daily_budget: bool
    grants: KeyGrants = NO_GRANTS


class VerifiedKeys:
    def __init__(self, *, ttl_seconds: float, most: int = 10_000) -> None:
        self._ttl = ttl_seconds
        self._most = most
        self._keys: OrderedDict[str, tuple[float, VerifiedKey]] = OrderedDict()

    def remember(self, key_hash: str, key: VerifiedKey) -> None:
        self._keys[key_hash] = (time.monotonic(), key)
        self._keys.move_to_end(key_hash)
        if len(self._keys) > self._most:
            self._keys.popitem(last=False)

    def forget(self, key_hash: str) -> None:
        self._keys.pop(key_hash, None)

    def recall(self, key_hash: str) -> VerifiedKey | None:
        entry = self._keys.get(key_hash)
        if entry is None:
            return None
        if time.monotonic() - entry[0] > self._ttl:
            del self._keys[key_hash]
            return None
        return entry[1]
