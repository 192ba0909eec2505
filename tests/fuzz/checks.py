"""Schemathesis checks of our own (loaded with SCHEMATHESIS_HOOKS=tests.fuzz.checks): every error
is in OpenAI's envelope, and no response carries a stack trace or the PHI canary."""

from __future__ import annotations

import zlib
from typing import Any

import schemathesis

CANARY = "Canary-Patient-7731-MRN"
# The fuzz config's aliases: allow (vLLM), redact and block (OpenAI-kind backends).
SERVED_MODELS = ("medgemma", "gpt-5", "gpt-5-blocked")


@schemathesis.hook
def map_body(ctx: Any, body: Any) -> Any:
    """Most generated bodies name a served model (one in eight keeps its random one, for the
    404 path), spread over the three data policies by the body's own bytes: repeatable."""
    if isinstance(body, dict) and "model" in body:
        pick = zlib.crc32(repr(sorted(body)).encode() + repr(body.get("model")).encode()) % 8
        if pick < len(SERVED_MODELS) * 2:
            body = {**body, "model": SERVED_MODELS[pick % len(SERVED_MODELS)]}
    return body


@schemathesis.check
def openai_error_envelope(ctx: Any, response: Any, case: Any) -> None:
    if response.status_code >= 400:
        body = response.json()
        error = body.get("error") if isinstance(body, dict) else None
        assert isinstance(error, dict), f"not an OpenAI error envelope: {body!r}"
        assert set(error) == {"message", "type", "param", "code"}, f"envelope fields: {sorted(error)}"
        assert isinstance(error["message"], str) and isinstance(error["type"], str)


@schemathesis.check
def nothing_internal_leaks(ctx: Any, response: Any, case: Any) -> None:
    text = response.text
    assert "Traceback" not in text and 'File "' not in text, "a stack trace in a response"
