"""The API schema (/openapi.json when server.api_docs is on, and what the fuzzer reads): the
routes that read their body themselves (to parse it once, within its size limit) declare it,
and the generation endpoints, which the gateway serves before FastAPI's routing, are added."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

from orchestrator.state import ConsultationRequest
from serving.protocol import ChatCompletionRequest, CompletionRequest, EmbeddingRequest, ResponsesRequest

REQUEST_BODIES: dict[str, type[BaseModel]] = {
    "/v1/chat/completions": ChatCompletionRequest,
    "/v1/completions": CompletionRequest,
    "/v1/embeddings": EmbeddingRequest,
    "/v1/responses": ResponsesRequest,
    "/v1/consultations": ConsultationRequest,
    "/v1/langchain/consultation": ConsultationRequest,
    "/v1/langchain/stream": ConsultationRequest,
}
# The gateway serves these before FastAPI's routing (serving/gateway/endpoints.py): their
# operations are written here, named as FastAPI named them when they were its routes.
GENERATION_OPERATIONS = {
    "/v1/chat/completions": "create_chat_completion",
    "/v1/completions": "create_completion",
    "/v1/embeddings": "create_embedding",
    "/v1/responses": "create_response",
}
_REF = "#/components/schemas/{model}"


def install(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def build(app: FastAPI) -> dict[str, Any]:
    schema = get_openapi(title=app.title, version=app.version, routes=app.routes)
    for path, name in GENERATION_OPERATIONS.items():
        schema["paths"].setdefault(path, {})["post"] = {
            "summary": name.replace("_", " ").title(),
            "operationId": f"{name}{path.replace('/', '_')}_post",
            "responses": {
                "200": {"description": "Successful Response", "content": {"application/json": {"schema": {}}}}
            },
        }
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for path, model in REQUEST_BODIES.items():
        operation = schema["paths"].get(path, {}).get("post")
        if operation is None:
            continue
        body = model.model_json_schema(ref_template=_REF)
        components.update(body.pop("$defs", {}))
        components[model.__name__] = body
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": _REF.format(model=model.__name__)}}},
        }
    return schema
