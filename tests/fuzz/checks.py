"""Schemathesis checks of our own (loaded with SCHEMATHESIS_HOOKS=tests.fuzz.checks): every error
is in OpenAI's envelope, and no response carries a stack trace or the PHI canary."""

from __future__ import annotations

from typing import Any

import schemathesis

CANARY = "Canary-Patient-7731-MRN"


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
