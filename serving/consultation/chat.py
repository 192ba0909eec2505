"""The consultation as model alias `consultation` on /v1/chat/completions: a plain OpenAI SDK
client gets the summary as a (streamed) chat completion. The symptoms are the user messages.
Patient details (age, sex, pregnancy, location) are read from those messages
(orchestrator/patient_text.py); an optional `patient_data` field (extra_body in the SDK)
gives or overrides them. What is missing is said in the answer, never refused."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import orjson
from pydantic import ValidationError
from starlette.responses import Response
from starlette.types import Receive

from orchestrator.patient_text import patient_from_text
from orchestrator.state import ConsultationRequest, ConsultationState
from serving import sse
from serving.access.admission import Admission
from serving.consultation.outcome import ConsultationOutcome
from serving.consultation.service import ALIAS, ConsultationService, OpenConsultation
from serving.errors import InvalidRequest, ModelNotFound, validation_error
from serving.gateway import event_stream
from serving.gateway.disconnect import unless_disconnected
from serving.gateway.record import RequestRecord
from serving.protocol import ChatCompletionRequest, RequestBody, validate


def consultation_request(request: ChatCompletionRequest) -> ConsultationRequest:
    symptoms = "\n".join(
        m.content if isinstance(m.content, str) else " ".join(str(p.get("text", "")) for p in m.content or [])
        for m in request.messages
        if m.role == "user"
    )
    given = (request.model_extra or {}).get("patient_data")
    if given is not None and not isinstance(given, dict):
        raise InvalidRequest("`patient_data` must be an object.", param="patient_data", code="invalid_value")
    patient = {**patient_from_text(symptoms), **(given or {})}
    try:
        return ConsultationRequest(symptoms=symptoms, patient_data=patient)
    except ValidationError as exc:
        raise validation_error(list(exc.errors())) from None


def missing_details(state: ConsultationState) -> tuple[str, ...]:
    """Questions for what the conversation did not say: no providers without a location."""
    patient = state["request"].patient_data
    asks = []
    if state.get("location") is None:
        asks.append(
            "To match providers near you, tell me your ZIP code or your city and state (for example 02139 or "
            "Boston, MA)."
        )
    if patient.age is None:
        asks.append("Your age was not given: tell me how old the patient is for advice that fits.")
    return tuple(asks)


class ConsultationChatModel:
    """The consultation served as chat model `consultation` on /v1/chat/completions (the
    gateway hands it chat requests for that model: serving/gateway/endpoints.py)."""

    def __init__(self, service: ConsultationService, admission: Admission) -> None:
        self._service = service
        self._admission = admission

    async def __call__(
        self, body: RequestBody, key_hash: str, api_key: str, record: RequestRecord, receive: Receive
    ) -> Response:
        record.alias = ALIAS
        grant = await self._admission.authenticate(key_hash)
        record.key_name = grant.name
        if not grant.may_use(ALIAS):
            raise ModelNotFound(ALIAS)
        parsed = validate(ChatCompletionRequest, body.json)
        # api_key: the stages call the façade as the caller
        return await respond(self._service, parsed, api_key=api_key, record=record, receive=receive)


async def respond(
    service: ConsultationService,
    request: ChatCompletionRequest,
    *,
    api_key: str,
    record: RequestRecord,
    receive: Receive,
) -> Response:
    """A chat completion (or its stream) answered by a whole consultation."""
    # patient details read from the text (a few ms of regexes): off the loop
    parsed = await asyncio.to_thread(consultation_request, request)
    opened = await service.open(parsed, api_key=api_key, request_id=record.request_id)
    if request.stream:
        return event_stream.response(chat_stream(service, opened, include_usage=request.wants_usage_chunk))

    async def answer() -> Response:
        body = await chat_completion(service, opened)
        return Response(body, media_type="application/json")

    return await unless_disconnected(receive, record, answer())


def _completion_id(outcome: ConsultationOutcome) -> str:
    return "chatcmpl-" + outcome.id.removeprefix("consult-")


async def chat_completion(service: ConsultationService, opened: OpenConsultation) -> bytes:
    outcome = ConsultationOutcome()
    async for event in service.events(opened):
        outcome.add(event)
    body = {
        "id": _completion_id(outcome),
        "object": "chat.completion",
        "created": outcome.started,
        "model": ALIAS,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": outcome.text(missing=missing_details(opened.state))},
                "finish_reason": "stop",
                "logprobs": None,
            }
        ],
        "usage": outcome.totals(),
    }
    return orjson.dumps(body)


async def chat_stream(
    service: ConsultationService, opened: OpenConsultation, *, include_usage: bool
) -> AsyncIterator[bytes]:
    outcome = ConsultationOutcome()

    def chunk(choices: list[dict[str, Any]], **extra: Any) -> bytes:
        body = {
            "id": _completion_id(outcome),
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": ALIAS,
            "choices": choices,
            **extra,
        }
        return sse.event(body)

    def delta(content: dict[str, Any], finish: str | None = None) -> bytes:
        return chunk([{"index": 0, "delta": content, "finish_reason": finish}])

    yield delta({"role": "assistant", "content": ""})
    sent_urgent = ""
    async for event in service.events(opened):
        outcome.add(event)
        yield sse.comment(f"stage {event['stage']} {event['status']}")
        urgent = outcome.urgent_text()
        if urgent and urgent != sent_urgent:  # the escalation goes out as soon as it is known
            yield delta({"content": urgent})
            sent_urgent = urgent
    yield delta({"content": outcome.text(urgent=False, missing=missing_details(opened.state))})
    yield delta({}, "stop")
    if include_usage:
        yield chunk([], usage=outcome.totals())
    yield sse.DONE
