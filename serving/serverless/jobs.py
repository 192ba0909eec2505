"""A RunPod job's input, read as the HTTP request the façade would have received.

Two shapes are accepted:
- OpenAI-route jobs, as RunPod's OpenAI-compatible endpoint (`/openai/v1/...`) delivers them and
  as RunPod's own vLLM worker reads them: `{"openai_route": "/v1/chat/completions",
  "openai_input": {...}}`. Their streams come back as the SSE text an OpenAI client reads.
- Plain jobs: `{"route": "/v1/consultations", "body": {...}}`. Their answer is the JSON document
  (a stream: one JSON object per event).

Either may carry `api_key` (one of our keys); without it, the endpoint's key is used. Only the
API's /v1 routes are reachable: not the admin API, health or metrics.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from serving.errors import InvalidRequest

# GET routes of the API; every other /v1 route is a POST. A job may still name its method.
_GET_ROUTES = ("/v1/models", "/v1/usage")
_METHODS = ("GET", "POST")
# A /v1 path of the API with an optional query; no scheme or host ("." and ".." segments: below).
_ROUTE = re.compile(r"^/v1/[A-Za-z0-9._~/:@-]*(\?[A-Za-z0-9._~=&%:,+-]*)?$")
# Headers a job may add (the cache opt-in, routing hints, a request id); the rest are ours to set.
_JOB_HEADERS = ("x-pearcare-cache", "x-pearcare-priority", "x-session-id", "x-request-id")
_HEADER_VALUE = re.compile(r"^[\x21-\x7e]{1,128}$")  # one visible token: no line breaks, no padding


class InvalidJob(InvalidRequest):
    code = "invalid_job"


@dataclass(frozen=True)
class AppRequest:
    method: str
    path: str
    query: bytes
    body: bytes
    headers: tuple[tuple[bytes, bytes], ...]
    openai_route: bool  # streams come back as raw SSE text, not as parsed events


def read_job(job: Mapping[str, Any], *, endpoint_key: str | None) -> AppRequest:
    """The request a job stands for; InvalidJob (400, OpenAI envelope) when it stands for none."""
    job_input = job.get("input")
    if not isinstance(job_input, dict):
        raise InvalidJob("A job's input must be a JSON object.", param="input")
    if "openai_route" in job_input:
        openai_route, route_field, body_field = True, "openai_route", "openai_input"
    elif "route" in job_input:
        openai_route, route_field, body_field = False, "route", "body"
    else:
        raise InvalidJob(
            "A job names its route: `openai_route` with `openai_input`, or `route` with `body`.", param="input"
        )
    route = job_input[route_field]
    path, _, query = route.partition("?") if isinstance(route, str) else ("", "", "")
    if not _ROUTE.match(route if isinstance(route, str) else "") or {".", ".."} & set(path.split("/")):
        raise InvalidJob(
            f"`{route_field}` must be a path of the API under /v1/, such as /v1/chat/completions.", param=route_field
        )
    method = _method(job_input.get("method"), path)
    body = job_input.get(body_field)
    if body is not None and not isinstance(body, dict):
        raise InvalidJob(f"`{body_field}` must be a JSON object.", param=body_field)
    if method == "POST" and not body:
        raise InvalidJob(f"`{body_field}` is required for POST {path}.", param=body_field)
    headers = [*_job_headers(job_input.get("headers")), (b"content-type", b"application/json")]
    given_key = job_input.get("api_key")
    key = endpoint_key if given_key is None else given_key
    if key is not None and not isinstance(key, str):
        raise InvalidJob("`api_key` must be a string.", param="api_key")
    if key:
        headers.append((b"authorization", b"Bearer " + key.encode("utf-8", "replace")))
    job_id = job.get("id")
    if isinstance(job_id, str) and _HEADER_VALUE.match(job_id) and not any(n == b"x-request-id" for n, _ in headers):
        headers.append((b"x-request-id", job_id.encode()))  # the logs and the audit trail name the RunPod job
    encoded = orjson.dumps(body) if method == "POST" else b""
    return AppRequest(method, path, query.encode(), encoded, tuple(headers), openai_route)


def _method(given: Any, path: str) -> str:
    if given is None:
        return "GET" if path.startswith(_GET_ROUTES) else "POST"
    if not isinstance(given, str) or given.upper() not in _METHODS:
        raise InvalidJob("`method` must be GET or POST.", param="method")
    return given.upper()


def _job_headers(given: Any) -> list[tuple[bytes, bytes]]:
    if given is None:
        return []
    if not isinstance(given, dict) or not all(isinstance(v, str) and _HEADER_VALUE.match(v) for v in given.values()):
        raise InvalidJob("`headers` must be an object of short strings without spaces or line breaks.", param="headers")
    names = [name.lower() for name in given]
    if any(name not in _JOB_HEADERS for name in names) or len(set(names)) != len(names):
        raise InvalidJob(f"A job may set each of these headers once: {', '.join(_JOB_HEADERS)}.", param="headers")
    return [(name.lower().encode(), value.encode()) for name, value in given.items()]
