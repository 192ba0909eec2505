"""Runs the consultation graph for a caller: each stage's model is ChatOpenAI talking to this
very façade, in-process (an ASGI transport, no network hop), with the caller's own key, so the
stages get the same translation, fallback, limits and usage accounting as any other request.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from orchestrator.safety.assessment import SafetyAssessment
from orchestrator.safety.escalation import DISCLAIMERS
from orchestrator.safety.screen import LEARNED
from orchestrator.state import ConsultationRequest, ConsultationState, StageError
from serving.consultation.outcome import ConsultationOutcome
from serving.errors import InvalidRequest
from serving.observability.metrics import Metrics
from serving.observability.tracing import Tracing
from serving.settings import ConsultationConfig

if TYPE_CHECKING:
    import httpx2
    from langchain_core.language_models import BaseChatModel

log = logging.getLogger(__name__)

INTERNAL_BASE_URL = "http://pearcare.internal/v1"
ALIAS = "consultation"  # the model name callers use, on /v1/chat/completions and in key grants


@dataclass(frozen=True)
class OpenConsultation:
    """A consultation its first node accepted: the state the answer needs (request, location,
    the screen's verdict) and the graph's event stream, paused before intake."""

    state: ConsultationState
    stream: AsyncGenerator[tuple[str, Any], None]


class ConsultationService:
    """The adapter between the façade and the graph: the graph orders the consultation (safety
    first, orchestrator/nodes/safety.py); this turns its updates into events, metrics and errors."""

    def __init__(self, *, graph: Any, config: ConsultationConfig, metrics: Metrics) -> None:
        self._graph = graph
        self._stages = config.stages
        self._metrics = metrics
        self._client: httpx2.AsyncClient | None = None

    @classmethod
    def from_config(
        cls, config: ConsultationConfig | None, metrics: Metrics, tracing: Tracing | None = None
    ) -> ConsultationService | None:
        """The graph, its code set (~2 s, ~200 MB) and directory, loaded and validated at start;
        None when the config has no consultation section."""
        if config is None:
            return None
        from orchestrator.codes import IcdCodeSet
        from orchestrator.directory import ProviderDirectory
        from orchestrator.graph import build_graph

        graph = build_graph(
            code_set=IcdCodeSet(),
            directory=ProviderDirectory.load(config.providers_file),
            tracer=tracing.tracer if tracing is not None else None,
        )
        return cls(graph=graph, config=config, metrics=metrics)

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
                # Stage requests queue behind interactive chat when a backend is at capacity (each
                # stage's instructions are a shared prefix: prefix affinity keeps them together).
                default_headers={"x-request-id": f"{request_id}-{stage}", "x-pearcare-priority": "consultation"},
            )

        return model_for

    async def open(self, request: ConsultationRequest, *, api_key: str, request_id: str) -> OpenConsultation:
        """Start the graph and run its first node, the safety screen, before any answer begins:
        a consultation it refuses is a 400 here; one it accepts carries the verdict and the
        location its answer needs, with the graph paused before intake."""
        config = {"configurable": {"models": self._models(api_key, request_id)}}
        stream = self._graph.astream({"request": request}, config=config, stream_mode=["custom", "updates"])
        opening: dict[str, Any] = {}
        async for mode, chunk in stream:
            if mode == "updates" and "safety" in chunk:
                opening = chunk["safety"]
                break
        refusal: StageError | None = opening.get("refusal")
        if refusal is not None or "safety" not in opening:
            await stream.aclose()
            if refusal is None:  # the graph ended without its first node: a defect, not the caller's
                raise RuntimeError("the consultation graph did not run its safety node")
            raise InvalidRequest(refusal.message, param=refusal.param, code=refusal.code)
        safety: SafetyAssessment = opening["safety"]
        if safety.emergency:
            learned = safety.red_flags[0].rule.startswith(LEARNED)
            self._metrics.red_flags.labels(LEARNED if learned else "rules").inc()
        return OpenConsultation(
            state={"request": request, "location": opening.get("location"), "safety": safety}, stream=stream
        )

    async def events(self, opened: OpenConsultation) -> AsyncIterator[dict[str, Any]]:
        """Stage events as the graph makes them: the screen's verdict first, then in_progress and
        completed (or failed) per stage, an escalation after intake, and the closing verdict."""
        final: SafetyAssessment = opened.state["safety"]
        try:  # from the first event on: a reader that stops early still closes the graph's stream
            yield {"stage": "safety", "status": "completed", "result": final.model_dump()}
            async for mode, chunk in opened.stream:
                if mode == "custom":
                    yield chunk
                    continue
                for stage, update in chunk.items():
                    if stage == "escalation":
                        if update and "escalated" in update:  # the model saw danger signs the screen did not
                            final = update["escalated"]
                            self._metrics.red_flags.labels("model").inc()
                            yield {"stage": "safety", "status": "escalated", "result": final.model_dump()}
                        continue
                    yield self._stage_event(stage, update)
        except Exception as exc:  # nodes catch their own failures; this is the graph itself failing
            log.exception("consultation graph failed", extra={"error_type": type(exc).__name__})
            error = StageError(message="The consultation failed unexpectedly.", type="server_error")
            yield {"stage": "consultation", "status": "failed", "error": error.model_dump()}
        finally:
            await opened.stream.aclose()
        # The last event, whatever failed: the verdict as it finally stands, and the disclaimers.
        yield {
            "stage": "consultation",
            "status": "completed",
            "result": {
                "emergency": final.emergency,
                "emergency_advice": final.advice,
                "red_flags": [flag.model_dump() for flag in final.red_flags],
                "safety_netting": [net.model_dump() for net in final.safety_netting],
                "disclaimers": DISCLAIMERS,
            },
        }

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

    async def run(self, opened: OpenConsultation) -> dict[str, Any]:
        """The whole consultation as one document."""
        outcome = ConsultationOutcome()
        async for event in self.events(opened):
            outcome.add(event)
        return outcome.document()


def _dump(result: Any) -> Any:
    return result.model_dump() if isinstance(result, BaseModel) else result
