"""Typed exceptions rendered as one OpenAI error envelope, with the status the openai SDK maps."""

from __future__ import annotations

import logging
import re
from http import HTTPStatus
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from redis.exceptions import RedisClusterException, RedisError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

log = logging.getLogger(__name__)

# OpenAI's error "type" for each status the façade returns.
_TYPE_BY_STATUS = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "invalid_request_error",
    405: "invalid_request_error",
    408: "timeout",
    409: "conflict",
    413: "invalid_request_error",
    415: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_exceeded",
}


def error_type_for(status: int) -> str:
    return _TYPE_BY_STATUS.get(status, "server_error" if status >= 500 else "invalid_request_error")


class APIError(Exception):
    """An error the client sees: status, OpenAI envelope fields, extra headers."""

    status: int = 500
    type: str | None = None
    code: str | None = None

    def __init__(
        self,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        type: str | None = None,
        status: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        if status is not None:
            self.status = status
        if code is not None:
            self.code = code
        if type is not None:
            self.type = type
        self.headers = headers or {}

    def envelope(self) -> dict[str, Any]:
        return error_envelope(self.message, self.type or error_type_for(self.status), self.param, self.code)


def error_envelope(message: str, type: str, param: str | None = None, code: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": type, "param": param, "code": code}}


class InvalidRequest(APIError):
    status = 400


class InvalidAPIKey(APIError):
    status = 401
    code = "invalid_api_key"


class ModelNotFound(APIError):
    status = 404
    code = "model_not_found"

    def __init__(self, model: str) -> None:
        super().__init__(f"The model `{model}` does not exist or you do not have access to it.", param="model")


class RequestTooLarge(APIError):
    status = 413
    code = "request_too_large"


class RateLimited(APIError):
    """A key's limit refused the request (requests, tokens, daily budget)."""

    status = 429
    code = "rate_limit_exceeded"


class StoreUnavailable(APIError):
    """The key/limit store could not be reached and the failure policy is closed."""

    status = 503
    code = "service_unavailable"


class BackendUnavailable(APIError):
    """No backend could be reached (connection refused, circuit open)."""

    status = 503
    code = "backend_unavailable"


class BackendFailed(APIError):
    """The backend answered with a server error."""

    status = 502
    code = "backend_error"


class BackendTimeout(APIError):
    status = 504
    code = "backend_timeout"


class BackendOverloaded(APIError):
    """Every endpoint of a backend is at its in-flight cap and the queue is full or the wait
    too long. 503, not 429: the caller is within its own limits (429 is theirs to fix); the
    service is briefly out of capacity, as OpenAI's "engine is overloaded" 503. The openai
    SDK retries both, after Retry-After."""

    status = 503
    code = "backend_overloaded"

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message, headers={"retry-after": "1"})
        self.reason = reason


class PhiNotAllowed(APIError):
    """Patient identifiers (or images) for a backend whose data policy refuses them. The
    message names the identifier types, never a value."""

    status = 400
    code = "phi_not_allowed"

    def __init__(self, backend: str, kinds: list[str], *, unscreenable: str | None = None) -> None:
        self.kinds = kinds
        if unscreenable:
            message = (
                f"This request can't be sent to backend `{backend}`: its data policy doesn't allow patient data, "
                f"and {unscreenable} can't be screened for identifiers (images, audio and files need the key's "
                "allow_images grant). Use a model served on an allowed backend."
            )
        else:
            message = (
                f"The request contains patient identifiers ({', '.join(kinds)}) and backend `{backend}`'s data "
                "policy blocks them. Remove them or use a model served on an allowed backend."
            )
        super().__init__(message, param="messages")


class ScreeningUnavailable(APIError):
    """Screening for identifiers did not finish in time (the screening threads are busy with
    long texts): nothing was sent; the client may retry."""

    status = 503
    code = "screening_unavailable"

    def __init__(self, seconds: float) -> None:
        super().__init__(
            f"The request could not be screened for patient identifiers within {seconds:g} s, so it was not sent. "
            "Retry shortly, or send less text.",
            headers={"retry-after": "1"},
        )


class AuditUnavailable(APIError):
    """The audit trail can take no more records (its store is down and the spool is full)."""

    status = 503
    code = "audit_unavailable"


def render(error: APIError, request_id: str | None = None) -> Response:
    headers = dict(error.headers)
    if error.status in (502, 503) and "retry-after" not in headers:
        headers["retry-after"] = "1"
    return Response(
        orjson.dumps(error.envelope()), status_code=error.status, headers=headers, media_type="application/json"
    )


_UNION_TAGS = ("str", "int", "float", "bool", "list[", "dict[", "tuple[")


def _param_from_location(location: tuple[Any, ...]) -> str | None:
    """A body field's dotted path; pydantic's union member tags (`input.str`) are left out."""
    parts = [
        part
        for part in location
        if part not in ("body", "query", "path", "header")
        and not (isinstance(part, str) and (part in _UNION_TAGS[:4] or part.startswith(_UNION_TAGS[4:])))
    ]
    if not parts:
        return None
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def validation_error(errors: list[Any]) -> InvalidRequest:
    first = errors[0]
    param = _param_from_location(tuple(first.get("loc", ())))
    message = first.get("msg", "Invalid request")
    text = f"Invalid value for '{param}': {message}" if param else message
    return InvalidRequest(text, param=param, code="invalid_value" if param else None)


_CREDENTIAL = re.compile(r"\b(?:sk|pk|rk)-[A-Za-z0-9_*.\-]{3,}")


def backend_error(status: int, body: bytes, backend: str, secret: str | None = None) -> APIError:
    """Rewrite a backend's error body (vLLM's differs from OpenAI's) into our envelope."""
    message, param, code = f"The backend returned HTTP {status}.", None, None
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        payload = None
    if isinstance(payload, dict):
        detail = payload.get("error", payload)
        if isinstance(detail, dict):
            message = str(detail.get("message") or message)
            param = detail.get("param") if isinstance(detail.get("param"), str) else None
            code = detail.get("code") if isinstance(detail.get("code"), str) else None
        elif isinstance(detail, str):
            message = detail
    message = _CREDENTIAL.sub("sk-***", message)  # a backend may quote a key; never pass it on
    if secret and len(secret) >= 8:
        message = message.replace(secret, "***")
    if status >= 500:
        return BackendFailed(f"Backend `{backend}` failed: {message}")
    return APIError(message, status=status, param=param, code=code)


def install_handlers(app: FastAPI) -> None:
    @app.exception_handler(APIError)
    async def _api_error(request: Request, exc: APIError) -> Response:
        return render(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        return render(validation_error(list(exc.errors())))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404:
            message = f"Invalid URL ({request.method} {request.url.path})"
        else:
            message = str(exc.detail) if exc.detail else HTTPStatus(exc.status_code).phrase
        return render(APIError(message, status=exc.status_code, headers=dict(exc.headers or {})))

    @app.exception_handler(RedisError)
    @app.exception_handler(RedisClusterException)
    async def _store(request: Request, exc: Exception) -> Response:
        return render_unexpected(exc)  # the store's 503 (here, not as a last resort: no 500 logged)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        return render_unexpected(exc)


def render_unexpected(exc: Exception) -> Response:
    """A failure nobody foresaw: logged with its traceback (never the request's text), and the
    client gets OpenAI's 500 envelope rather than a trace. The store failing under a route that
    did not catch it (an admin read during a failover) is the store's 503, not a 500."""
    if isinstance(exc, (RedisError, RedisClusterException)):
        log.warning("store unavailable", extra={"error_type": type(exc).__name__})
        return render(StoreUnavailable("The store is unavailable. Retry shortly.", headers={"retry-after": "1"}))
    log.error("unhandled error", exc_info=exc, extra={"error_type": type(exc).__name__})
    return render(APIError("The server had an error while processing your request.", status=500))
