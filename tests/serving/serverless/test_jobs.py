"""A job's input read as the request it stands for (its refusals: test_handler.py)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from serving.serverless.jobs import InvalidJob, read_job

KEY = "sk-endpoint-0123456789abcdefghijk"


def test_an_openai_route_job_is_a_post_with_its_body_and_the_endpoint_key() -> None:
    body = {"model": "medgemma", "messages": [{"role": "user", "content": "hi"}]}
    request = read_job(
        {"id": "sync-1", "input": {"openai_route": "/v1/chat/completions", "openai_input": body}}, endpoint_key=KEY
    )
    headers = dict(request.headers)
    assert (request.method, request.path, request.openai_route) == ("POST", "/v1/chat/completions", True)
    assert orjson.loads(request.body) == body
    assert headers[b"authorization"] == f"Bearer {KEY}".encode() and headers[b"x-request-id"] == b"sync-1"


def test_get_routes_their_query_and_the_jobs_own_headers() -> None:
    job = {
        "id": "j",
        "input": {
            "route": "/v1/usage?day=2026-11-30",
            "api_key": "sk-mine-0123456789abcdefghijklm",
            "headers": {"X-Request-Id": "mine-1", "x-pearcare-cache": "on"},
        },
    }
    request = read_job(job, endpoint_key=KEY)
    headers = dict(request.headers)
    assert (request.method, request.path, request.query, request.body) == ("GET", "/v1/usage", b"day=2026-11-30", b"")
    assert headers[b"authorization"] == b"Bearer sk-mine-0123456789abcdefghijklm"  # the job's key wins
    assert headers[b"x-request-id"] == b"mine-1" and headers[b"x-pearcare-cache"] == b"on"
    assert read_job({"input": {"openai_route": "/v1/models"}}, endpoint_key=None).method == "GET"
    assert (
        read_job({"input": {"route": "/v1/models", "method": "post", "body": {"a": 1}}}, endpoint_key=None).method
        == "POST"
    )


def test_a_null_api_key_is_no_key_and_the_endpoints_is_used() -> None:
    request = read_job({"input": {"openai_route": "/v1/models", "api_key": None}}, endpoint_key=KEY)
    assert dict(request.headers)[b"authorization"] == f"Bearer {KEY}".encode()


def test_no_key_anywhere_sends_no_authorization() -> None:
    request = read_job({"input": {"openai_route": "/v1/models"}}, endpoint_key=None)
    assert b"authorization" not in dict(request.headers)


@pytest.mark.parametrize(
    "job_input",
    [
        {"route": "/v1/..?a=1"},
        {"route": "/v1/./models"},
        {"route": "/v1/models", "headers": {"x-request-id": "two\nlines"}},
        {"route": "/v1/models", "headers": {"x-session-id": " padded"}},
        {"route": "/v1/models", "headers": {"x-session-id": "x" * 129}},
        {"route": "/v1/models", "headers": {"X-Session-Id": "a", "x-session-id": "b"}},
    ],
)
def test_dot_segments_and_unsafe_header_values_are_refused(job_input: dict[str, Any]) -> None:
    with pytest.raises(InvalidJob):
        read_job({"input": job_input}, endpoint_key=None)


def test_a_job_id_that_is_no_safe_request_id_is_not_sent() -> None:
    request = read_job({"id": "bad id\r\n", "input": {"route": "/v1/models"}}, endpoint_key=None)
    assert b"x-request-id" not in dict(request.headers)
