"""ConsultationService when the graph itself breaks (its nodes catch their own failures)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from orchestrator.safety.red_flags import default_rules
from orchestrator.state import ConsultationRequest
from serving.consultation.service import ConsultationService
from serving.observability.metrics import Metrics
from serving.settings import ConsultationConfig


class BreaksAfterIntake:
    """The first node's update (the screen's verdict), then the graph itself fails."""

    async def astream(self, state: Any, **kwargs: Any) -> AsyncIterator[tuple[str, Any]]:
        verdict = default_rules().assess(state["request"].symptoms)
        yield "updates", {"safety": {"safety": verdict, "location": None}}
        yield "custom", {"stage": "intake", "status": "in_progress", "message": "..."}
        raise RuntimeError("checkpoint store gone")


async def test_a_broken_graph_ends_with_a_failed_event_not_a_crash() -> None:
    service = ConsultationService(graph=BreaksAfterIntake(), config=ConsultationConfig(), metrics=Metrics())
    service_request = ConsultationRequest(symptoms="headache", patient_data={"age": 30})
    opened = await service.open(service_request, api_key="k", request_id="r")
    events = [event async for event in service.events(opened)]
    assert events[0]["stage"] == "safety" and events[0]["result"]["emergency"] is False  # before the graph
    failed, closing = events[-2:]
    assert failed["status"] == "failed" and failed["stage"] == "consultation"
    assert failed["error"]["type"] == "server_error"
    assert "checkpoint" not in failed["error"]["message"]  # no internals to the client
    assert closing["stage"] == "consultation" and closing["result"]["disclaimers"]  # still the last word

    document = await service.run(await service.open(service_request, api_key="k", request_id="r"))
    assert document["status"] == "failed" and "consultation" in document["errors"]
    assert document["disclaimers"] and document["emergency"] is False


class Recorded:
    """A graph whose stream notes that it was closed."""

    def __init__(self) -> None:
        self.closed = False

    def astream(self, state: Any, **kwargs: Any) -> AsyncIterator[tuple[str, Any]]:
        graph = self

        async def stream() -> AsyncIterator[tuple[str, Any]]:
            try:
                yield "updates", {"safety": {"safety": default_rules().assess(state["request"].symptoms)}}
                yield "custom", {"stage": "intake", "status": "in_progress", "message": "..."}
            finally:
                graph.closed = True

        return stream()


async def test_a_reader_that_stops_after_the_first_event_closes_the_graphs_stream() -> None:
    graph = Recorded()
    service = ConsultationService(graph=graph, config=ConsultationConfig(), metrics=Metrics())
    opened = await service.open(ConsultationRequest(symptoms="headache", patient_data={}), api_key="k", request_id="r")
    events = service.events(opened)
    assert (await anext(events))["stage"] == "safety" and not graph.closed
    await events.aclose()  # the client hung up after the first event
    assert graph.closed
