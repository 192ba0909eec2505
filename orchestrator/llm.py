"""Ask a chat model for one pydantic-typed answer through `response_format` JSON schema.

Binding response_format (rather than with_structured_output) keeps nodes testable with
langchain's scripted fake chat models, and sends the same request to vLLM and OpenAI.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage
from openai import LengthFinishReasonError
from pydantic import BaseModel, ValidationError

T = TypeVar("T", bound=BaseModel)


class StageModelError(RuntimeError):
    """The model's answer did not fit the stage's schema."""


class ModelProvider(Protocol):
    """The chat model for a stage (each stage names a model alias)."""

    def __call__(self, stage: str) -> BaseChatModel: ...


def response_format(schema: type[BaseModel]) -> dict[str, object]:
    return {
        "type": "json_schema",
        "json_schema": {"name": schema.__name__, "schema": schema.model_json_schema(), "strict": False},
    }


@dataclass(frozen=True, slots=True)
class Answer(Generic[T]):
    value: T
    prompt_tokens: int
    completion_tokens: int

    def usage(self) -> dict[str, int]:
        return {"prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens}


async def ask(model: BaseChatModel, schema: type[T], *, system: str, user: str, max_tokens: int) -> Answer[T]:
    bound = model.bind(response_format=response_format(schema), max_tokens=max_tokens)
    try:
        answer = await bound.ainvoke([SystemMessage(system), HumanMessage(user)])
    except LengthFinishReasonError as exc:
        raise StageModelError(f"the model used all {max_tokens} tokens before finishing its answer") from exc
    usage = getattr(answer, "usage_metadata", None) or {}
    content = answer.content if isinstance(answer.content, str) else str(answer.content)
    try:
        value = schema.model_validate_json(content)
    except ValidationError as exc:
        raise StageModelError(f"the model's answer did not match the {schema.__name__} schema") from exc
    return Answer(value, int(usage.get("input_tokens", 0)), int(usage.get("output_tokens", 0)))
