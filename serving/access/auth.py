"""Which API key a request presents (the check itself is one Lua call: serving/access/admission.py)."""

from __future__ import annotations

from starlette.datastructures import Headers

from serving.access.keys import hash_key
from serving.errors import InvalidAPIKey


def presented_key(headers: Headers) -> str | None:
    """The key from `Authorization: Bearer ...` or Azure-style `api-key`."""
    authorization = headers.get("authorization")
    if authorization:
        scheme, _, token = authorization.partition(" ")
        return token.strip() if scheme.lower() == "bearer" and token.strip() else None
    return headers.get("api-key") or None


def presented_key_hash(headers: Headers) -> str:
    """SHA-256 of the presented key; 401 if there is none."""
    secret = presented_key(headers)
    if not secret:
        raise InvalidAPIKey("You didn't provide an API key. Send it as `Authorization: Bearer YOUR_KEY`.")
    return hash_key(secret)
