"""Which replica of a backend takes a request.

- least_request: the less loaded of two endpoints drawn at random (power of two choices, as
  Envoy's LEAST_REQUEST): near the best choice, without herding every instance onto the one
  endpoint that looked idlest a moment ago.
- Prefix affinity: requests that share a prompt prefix (a conversation's system prompt and
  first turn, a consultation stage's instructions) go to the same endpoint, so vLLM's prefix
  cache hits, as long as that endpoint's load stays within `bound` × the average
  (consistent hashing with bounded loads, Mirrokni et al. 2018); past it the key moves on
  round the ring, and endpoints joining or leaving move few keys.
- round_robin: for comparison (and what a Kubernetes Service gives per connection).
"""

from __future__ import annotations

import bisect
import hashlib
import math
import random
from collections.abc import Sequence
from typing import Any, Literal

from serving.backends.endpoint import Endpoint

Strategy = Literal["least_request", "round_robin"]
VIRTUAL_NODES = 100
PREFIX_CHARS = 2048  # enough to cover a system prompt and a first turn; vLLM caches 16-token blocks


def affinity_key(body: dict[str, Any], session: str | None) -> str | None:
    """What decides the replica: the session header, else the prompt's leading text (system
    messages and the first user turn, or a completion prompt's start)."""
    if session:
        return "session:" + session
    messages = body.get("messages")
    if isinstance(messages, list) and messages:
        leading = []
        for message in messages:
            if not isinstance(message, dict):
                break
            content = message.get("content")
            leading.append(f"{message.get('role')}:{content if isinstance(content, str) else repr(content)}")
            if message.get("role") == "user":
                break
        text = "\n".join(leading)
    elif isinstance(body.get("prompt"), str):
        text = body["prompt"]
    else:
        return None
    return "prefix:" + text[:PREFIX_CHARS]


def _point(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


class Ring:
    """Endpoints on a hash ring (VIRTUAL_NODES points each), rebuilt when they change."""

    def __init__(self) -> None:
        self._names: tuple[str, ...] = ()
        self._points: list[int] = []
        self._owners: list[str] = []

    def order(self, key: str, names: Sequence[str]) -> list[str]:
        """The endpoints in ring order from the key's point: its first choice first."""
        if tuple(names) != self._names:
            self._rebuild(tuple(names))
        if not self._points:
            return []
        start = bisect.bisect(self._points, _point(key)) % len(self._points)
        seen: dict[str, None] = {}
        for index in range(len(self._points)):
            owner = self._owners[(start + index) % len(self._points)]
            if owner not in seen:
                seen[owner] = None
                if len(seen) == len(self._names):
                    break
        return list(seen)

    def _rebuild(self, names: tuple[str, ...]) -> None:
        ring = sorted((_point(f"{name}#{vnode}"), name) for name in names for vnode in range(VIRTUAL_NODES))
        self._names = names
        self._points = [point for point, _ in ring]
        self._owners = [name for _, name in ring]


class Balancer:
    def __init__(
        self,
        strategy: Strategy,
        *,
        prefix_affinity: bool,
        bound: float,
        load_max_age: float,
        rng: random.Random | None = None,
    ) -> None:
        self.strategy = strategy
        self.prefix_affinity = prefix_affinity
        self.bound = bound
        self.load_max_age = load_max_age
        self._rng = rng or random.Random()
        self._ring = Ring()
        self._turn = 0

    def pick(self, candidates: list[Endpoint], everyone: list[Endpoint], key: str | None, now: float) -> Endpoint:
        """One of `candidates` (those that may take a request now); `everyone` sets the ring
        and the average load, so a key keeps its place while others come and go."""
        if len(candidates) == 1:
            return candidates[0]
        if self.strategy == "round_robin":
            self._turn += 1
            return candidates[self._turn % len(candidates)]
        if self.prefix_affinity and key is not None:
            chosen = self._bounded(candidates, everyone, key, now)
            if chosen is not None:
                return chosen
        first, second = self._rng.sample(candidates, 2)
        return first if first.load(self.load_max_age, now) <= second.load(self.load_max_age, now) else second

    def _bounded(self, candidates: list[Endpoint], everyone: list[Endpoint], key: str, now: float) -> Endpoint | None:
        total = sum(endpoint.load(self.load_max_age, now) for endpoint in everyone)
        capacity = math.ceil(self.bound * (total + 1) / len(everyone))
        by_name = {endpoint.name: endpoint for endpoint in candidates}
        for name in self._ring.order(key, [endpoint.name for endpoint in everyone]):
            endpoint = by_name.get(name)
            if endpoint is not None and endpoint.load(self.load_max_age, now) + 1 <= capacity:
                return endpoint
        return None
