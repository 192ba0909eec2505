"""Which API key a request presents (the check itself is one Lua call in serving/ratelimit.py)."""

from __future__ import annotations

from starlette.datastructures import Headers

from serving.errors import InvalidAPIKey
from serving.keys import hash_key


def presented_key_hash(headers: Headers) -> str:
    """SHA-256 of the key from `Authorization: Bearer ...` or Azure-style `api-key`; 401 if none."""
    authorization = headers.get("authorization")
    secret = None
    if authorization:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            secret = token.strip()
    else:
        secret = headers.get("api-key") or None
    if not secret:
        raise InvalidAPIKey("You didn't provide an API key. Send it as `Authorization: Bearer YOUR_KEY`.")
    return hash_key(secret)
