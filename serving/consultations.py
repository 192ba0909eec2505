"""Runs the consultation graph for a caller: each stage's model is ChatOpenAI talking to this
very façade, in-process (an ASGI transport, no network hop), with the caller's own key, so the
stages get the same translation, fallback, limits and usage accounting as any other request.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from orchestrator.directory import LocationNotFound, resolve_location
from orchestrator.state import STAGES, ConsultationRequest, ConsultationState, StageError
from serving.errors import InvalidRequest
from serving.metrics import Metrics
from serving.settings import ConsultationConfig

if TYPE_CHECKING:
    import httpx2
    from langchain_core.language_models import BaseChatModel

log = logging.getLogger(__name__)

INTERNAL_BASE_URL = "http://pearcare.internal/v1"


class ConsultationService:
    def __init__(self, *, graph: Any, config: ConsultationConfig, metrics: Metrics) -> None:
        self._graph = graph
        self._stages = config.stages
        self._metrics = metrics
        self._client: httpx2.AsyncClient | None = None

    def connect(self, app: Any) -> None:
        """Give the stages a client that calls the façade app in-process."""
        import httpx2  # with langchain, only loaded when consultations are configured

        self._client = httpx2.AsyncClient(
            transport=httpx2.ASGITransport(app=app), base_url=INTERNAL_BASE_URL, timeout=httpx2.Timeout(600.0)
        )

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()

    def _models(self, api_key: str, request_id: str) -> Any:
        from langchain_openai import ChatOpenAI  # ~1 s and ~80 MB: only where consultations run

        client = self._client

        def model_for(stage: str) -> BaseChatModel:
            return ChatOpenAI(
                model=self._stages[stage],
                api_key=api_key,
                base_url=INTERNAL_BASE_URL,
                http_async_client=client,
                max_retries=0,
                default_headers={"x-request-id": f"{request_id}-{stage}"},
            )

        return model_for

    def start_state(self, request: ConsultationRequest) -> ConsultationState:
        location = None
        if request.patient_data.location:
            try:
                location = resolve_location(request.patient_data.location)
            except LocationNotFound as exc:
                raise InvalidRequest(str(exc), param="patient_data.location", code="unknown_location") from None
        return {"request": request, "location": location}

    async def events(self, state: ConsultationState, *, api_key: str, request_id: str) -> AsyncIterator[dict[str, Any]]:
        """Stage events as they happen: in_progress, then completed with the result or failed."""
        config = {"configurable": {"models": self._models(api_key, request_id)}}
        try:
            async for mode, chunk in self._graph.astream(state, config=config, stream_mode=["custom", "updates"]):
                if mode == "custom":
                    yield chunk
                    continue
                for stage, update in chunk.items():
                    yield self._stage_event(stage, update)
        except Exception as exc:  # nodes catch their own failures; this is the graph itself failing
            log.exception("consultation graph failed", extra={"error_type": type(exc).__name__})
            error = StageError(message="The consultation failed unexpectedly.", type="server_error")
            yield {"stage": "consultation", "status": "failed", "error": error.model_dump()}

    def _stage_event(self, stage: str, update: dict[str, Any]) -> dict[str, Any]:
        seconds = update.get("timings", {}).get(stage, 0.0)
        self._metrics.stage_duration.labels(stage).observe(seconds)
        error: StageError | None = update.get("errors", {}).get(stage)
        if error is not None:
            self._metrics.stage_failures.labels(stage).inc()
            return {"stage": stage, "status": "failed", "error": error.model_dump(), "seconds": seconds}
        return {
            "stage": stage,
            "status": "completed",
            "result": _dump(update.get(stage)),
            "usage": update.get("usage", {}).get(stage),
            "seconds": seconds,
        }

    async def run(self, state: ConsultationState, *, api_key: str, request_id: str) -> dict[str, Any]:
        """The whole consultation as one document."""
        outcome = Outcome()
        async for event in self.events(state, api_key=api_key, request_id=request_id):
            outcome.add(event)
        return outcome.document()


class Outcome:
    """Stage events added up into the consultation's result document."""

    def __init__(self) -> None:
        self.started = int(time.time())
        self.id = f"consult-{uuid.uuid4().hex}"
        self.results: dict[str, Any] = dict.fromkeys(STAGES)
        self.errors: dict[str, Any] = {}
        self.usage: dict[str, Any] = {}
        self.timings: dict[str, float] = {}

    def add(self, event: dict[str, Any]) -> None:
        stage = event["stage"]  # "consultation" when the graph itself failed
        if event["status"] == "completed":
            self.results[stage] = event["result"]
            if event.get("usage"):
                self.usage[stage] = event["usage"]
        elif event["status"] == "failed":
            self.errors[stage] = event["error"]
        if "seconds" in event:
            self.timings[stage] = event["seconds"]

    def totals(self) -> dict[str, int]:
        prompt = sum(u["prompt_tokens"] for u in self.usage.values())
        completion = sum(u["completion_tokens"] for u in self.usage.values())
        return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}

    def document(self) -> dict[str, Any]:
        status = "completed" if not self.errors else ("failed" if self.results.get("summary") is None else "partial")
        return {
            "id": self.id,
            "object": "consultation",
            "created": self.started,
            "status": status,
            "stages": self.results,
            "errors": self.errors,
            "timings": self.timings,
            "usage": {**self.totals(), "by_stage": self.usage},
        }

    def text(self) -> str:
        """The consultation as a chat answer: the summary first, then codes, providers, disclaimers."""
        summary, icd, cpt, providers = (self.results[s] for s in ("summary", "icd", "cpt", "providers"))
        lines: list[str] = []
        if summary and summary["emergency_advice"]:
            lines += [f"URGENT: {summary['emergency_advice']}", ""]
        if summary:
            lines.append(summary["summary"])
            lines += [f"- {step}" for step in summary["next_steps"]]
        else:
            lines.append("The consultation could not write a summary; the completed stages follow.")
        if icd and icd["codes"]:
            lines += ["", "ICD-10-CM:"] + [f"- {c['code']} {c['description']}" for c in icd["codes"]]
        if cpt and cpt["codes"]:
            lines += ["", "CPT/HCPCS:"] + [f"- {c['code']} ({c['status']})" for c in cpt["codes"]]
            lines.append(cpt["notice"])
        if providers and providers["providers"]:
            lines += ["", f"Providers near {providers['location']}:"]
            lines += [f"- {p['name']}, {p['specialty']}, {p['distance_miles']} mi" for p in providers["providers"][:3]]
        if self.errors:
            lines += ["", "Stages that failed: " + ", ".join(sorted(self.errors))]
        if summary:
            lines += [""] + summary["disclaimers"]
        return "\n".join(lines)


def _dump(result: Any) -> Any:
    return result.model_dump() if isinstance(result, BaseModel) else result
