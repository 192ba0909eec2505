"""The consultation as model alias `consultation` on /v1/chat/completions: a plain OpenAI SDK
client gets the summary as a (streamed) chat completion. The symptoms are the user messages;
patient data comes in the request's `patient_data` field (extra_body in the SDK)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import orjson
from pydantic import ValidationError

from orchestrator.state import ConsultationRequest, ConsultationState
from serving.consultations import ConsultationService, Outcome
from serving.errors import InvalidRequest, validation_error
from serving.protocol import ChatCompletionRequest

MODEL = "consultation"


def consultation_state(service: ConsultationService, request: ChatCompletionRequest) -> ConsultationState:
    symptoms = "\n".join(
        m.content if isinstance(m.content, str) else " ".join(str(p.get("text", "")) for p in m.content or [])
        for m in request.messages
        if m.role == "user"
    )
    patient = (request.model_extra or {}).get("patient_data")
    if not isinstance(patient, dict):
        raise InvalidRequest(
            "The consultation model needs `patient_data` (at least `age`, ideally `location`) in the request body.",
            param="patient_data",
        )
    try:
        parsed = ConsultationRequest(symptoms=symptoms, patient_data=patient)
    except ValidationError as exc:
        raise validation_error(list(exc.errors())) from None
    return service.start_state(parsed)


def _completion_id(outcome: Outcome) -> str:
    return "chatcmpl-" + outcome.id.removeprefix("consult-")


async def chat_completion(
    service: ConsultationService, state: ConsultationState, *, api_key: str, request_id: str
) -> bytes:
    outcome = Outcome()
    async for event in service.events(state, api_key=api_key, request_id=request_id):
        outcome.add(event)
    body = {
        "id": _completion_id(outcome),
        "object": "chat.completion",
        "created": outcome.started,
        "model": MODEL,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": outcome.text()},
                "finish_reason": "stop",
                "logprobs": None,
            }
        ],
        "usage": outcome.totals(),
    }
    return orjson.dumps(body)


async def chat_stream(
    service: ConsultationService, state: ConsultationState, *, api_key: str, request_id: str, include_usage: bool
) -> AsyncIterator[bytes]:
    outcome = Outcome()

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> bytes:
        body = {
            "id": _completion_id(outcome),
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": MODEL,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            **extra,
        }
        return b"data: " + orjson.dumps(body) + b"\n\n"

    yield chunk({"role": "assistant", "content": ""})
    async for event in service.events(state, api_key=api_key, request_id=request_id):
        outcome.add(event)
        # SSE comments: progress for those who read the raw stream, ignored by SDKs.
        yield f": stage {event['stage']} {event['status']}\n\n".encode()
    yield chunk({"content": outcome.text()})
    yield chunk({}, "stop")
    if include_usage:
        usage = {
            "id": _completion_id(outcome),
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": MODEL,
            "choices": [],
            "usage": outcome.totals(),
        }
        yield b"data: " + orjson.dumps(usage) + b"\n\n"
    yield b"data: [DONE]\n\n"
