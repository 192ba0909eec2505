from __future__ import annotations

import orjson
import pytest

from serving.errors import (
    BackendFailed,
    InvalidAPIKey,
    ModelNotFound,
    backend_error,
    render,
    validation_error,
)


def test_envelope_shape_and_status() -> None:
    response = render(ModelNotFound("x"))
    assert response.status_code == 404
    body = orjson.loads(response.body)
    assert body == {
        "error": {
            "message": "The model `x` does not exist or you do not have access to it.",
            "type": "invalid_request_error",
            "param": "model",
            "code": "model_not_found",
        }
    }
    assert orjson.loads(render(InvalidAPIKey("no")).body)["error"]["type"] == "authentication_error"


def test_gateway_errors_carry_retry_after() -> None:
    assert render(BackendFailed("down")).headers["retry-after"] == "1"


@pytest.mark.parametrize(
    "body",
    [
        b'{"error": {"message": "too long", "type": "BadRequestError", "param": "max_tokens", "code": 400}}',
        b'{"object": "error", "message": "too long", "type": "BadRequestError", "param": "max_tokens", "code": 400}',
    ],
)
def test_vllm_error_bodies_are_rewritten(body: bytes) -> None:
    error = backend_error(400, body, "local-vllm")
    assert error.status == 400
    assert error.envelope() == {
        "error": {"message": "too long", "type": "invalid_request_error", "param": "max_tokens", "code": None}
    }


def test_backend_5xx_and_garbage() -> None:
    error = backend_error(500, b"<html>oops</html>", "local-vllm")
    assert error.status == 502 and "local-vllm" in error.message
    detail = backend_error(404, b'{"detail": "Not Found"}', "b")
    assert detail.status == 404 and detail.message == "The backend returned HTTP 404."


def test_validation_param_paths() -> None:
    error = validation_error([{"loc": ("body", "messages", 0, "role"), "msg": "bad role"}])
    assert error.param == "messages[0].role"
    assert validation_error([{"loc": (), "msg": "bad"}]).param is None


def test_the_backends_own_key_is_masked_whatever_its_shape() -> None:
    body = b'{"error": {"message": "key 0123456789abcdef0123 is not allowed here"}}'
    error = backend_error(400, body, "b", secret="0123456789abcdef0123")
    assert "0123456789abcdef0123" not in error.message and "***" in error.message
