"""API-key verification. Keys are looked up by their SHA-256: the secret itself is never kept."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from starlette.datastructures import Headers

from serving.errors import InvalidAPIKey
from serving.settings import StaticKey


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling and which model aliases they may use (None: all)."""

    name: str
    models: frozenset[str] | None

    def may_use(self, alias: str) -> bool:
        return self.models is None or alias in self.models


def hash_key(secret: str) -> str:
    # A fast hash is right for random, high-entropy keys; a dict lookup by digest leaks
    # nothing about the secret through timing.
    return hashlib.sha256(secret.encode()).hexdigest()


def presented_key(headers: Headers) -> str | None:
    """The key from `Authorization: Bearer ...` or Azure-style `api-key`."""
    authorization = headers.get("authorization")
    if authorization:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip()
        return None
    return headers.get("api-key") or None


class StaticKeyAuthenticator:
    """Keys from the config file (development, tests)."""

    def __init__(self, keys: Iterable[StaticKey]) -> None:
        self._principals = {
            hash_key(key.key): Principal(key.name, None if "*" in key.models else frozenset(key.models)) for key in keys
        }

    @property
    def empty(self) -> bool:
        return not self._principals

    async def authenticate(self, secret: str | None) -> Principal:
        if not secret:
            raise InvalidAPIKey("You didn't provide an API key. Send it as `Authorization: Bearer YOUR_KEY`.")
        principal = self._principals.get(hash_key(secret))
        if principal is None:
            raise InvalidAPIKey("Incorrect API key provided.")
        return principal
