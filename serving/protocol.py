"""Wire models mirroring OpenAI's requests: they validate, the raw body is what gets forwarded.

Unknown fields are allowed (tools, response_format, logprobs, seed, vLLM extras such as
ignore_eos) and pass through untouched, because routes forward the original dict.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from serving.errors import InvalidRequest, RequestTooLarge, validation_error

_PASS_THROUGH = ConfigDict(extra="allow")
# The most tokens one request may ask for: above any model's context, and far below what the
# store's arithmetic (Lua numbers are doubles) can count exactly.
MAX_TOKENS = 1_000_000


class StreamOptions(BaseModel):
    model_config = _PASS_THROUGH
    include_usage: bool | None = None


class _Generation(BaseModel):
    model_config = _PASS_THROUGH
    model: str = Field(min_length=1)
    stream: bool | None = False
    stream_options: StreamOptions | None = None
    max_tokens: int | None = Field(None, ge=1, le=MAX_TOKENS)
    n: int | None = Field(None, ge=1, le=128)
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, ge=0, le=1)

    @property
    def wants_usage_chunk(self) -> bool:
        return bool(self.stream_options and self.stream_options.include_usage)


class FunctionCall(BaseModel):
    model_config = _PASS_THROUGH
    name: str
    arguments: str


class ToolCall(BaseModel):
    model_config = _PASS_THROUGH
    id: str | None = None
    type: str | None = None
    function: FunctionCall


class ChatMessage(BaseModel):
    model_config = _PASS_THROUGH
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[dict[str, Any]] | None = None
    tool_calls: list[ToolCall] | None = None  # an assistant's earlier calls, as OpenAI shapes them


class ChatCompletionRequest(_Generation):
    messages: list[ChatMessage] = Field(min_length=1)
    max_completion_tokens: int | None = Field(None, ge=1, le=MAX_TOKENS)


class CompletionRequest(_Generation):
    prompt: str | list[str] | list[int] | list[list[int]]
    best_of: int | None = Field(None, ge=1, le=128)

    @property
    def prompt_count(self) -> int:
        """A list of strings or of token lists is one generation per entry."""
        if isinstance(self.prompt, list) and self.prompt and not isinstance(self.prompt[0], int):
            return len(self.prompt)
        return 1


class ResponsesRequest(BaseModel):
    """POST /v1/responses. `input` is text or a list of items (messages, function calls and
    their outputs, reasoning); everything else passes through to the backend."""

    model_config = _PASS_THROUGH
    model: str = Field(min_length=1)
    input: str | list[dict[str, Any]]
    instructions: str | None = None
    stream: bool | None = False
    max_output_tokens: int | None = Field(None, ge=1, le=MAX_TOKENS)
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, ge=0, le=1)
    store: bool | None = None
    background: bool | None = None
    previous_response_id: str | None = Field(None, min_length=1)
    conversation: str | dict[str, Any] | None = None

    @property
    def continues_stored_state(self) -> str | None:
        """The field that needs state a backend kept from an earlier request, if any."""
        if self.previous_response_id:
            return "previous_response_id"
        if self.conversation:
            return "conversation"
        if self.background:
            return "background"
        return None


class EmbeddingRequest(BaseModel):
    model_config = _PASS_THROUGH
    model: str = Field(min_length=1)
    input: str | list[str] | list[int] | list[list[int]]


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]


@dataclass(frozen=True, slots=True)
class RequestBody:
    """A request body read and parsed once: the raw bytes (their size estimates prompt tokens)
    and the JSON object, which is what gets forwarded."""

    raw: bytes
    json: dict[str, Any]


def parse_json_object(raw: bytes, max_bytes: int) -> dict[str, Any]:
    if len(raw) > max_bytes:
        raise RequestTooLarge(f"Request body is {len(raw)} bytes; the limit is {max_bytes}.")
    if not raw:
        raise InvalidRequest("Request body is empty; expected a JSON object.")
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequest(f"Request body is not valid JSON: {exc.msg}.") from None
    if not isinstance(body, dict):
        raise InvalidRequest("Request body must be a JSON object.")
    return body


M = TypeVar("M", bound=BaseModel)


def validate(model: type[M], body: dict[str, Any]) -> M:
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        raise validation_error(list(exc.errors())) from None
