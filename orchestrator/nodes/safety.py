"""The consultation's safety order, as the graph's own steps: the red-flag screen's verdict is
its first node, before any model runs (and the place it finds, or refuses, the patient's
location: an emergency is answered without one); the escalation follows intake, when the model
saw danger signs the screen did not. Neither is ever written by a model."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from orchestrator.directory import LocationNotFound, resolve_location
from orchestrator.safety.escalation import with_model_findings
from orchestrator.safety.screen import EmergencyScreen
from orchestrator.state import ConsultationState, StageError

SafetyNode = Callable[[ConsultationState], dict[str, Any]]


def make_safety_node(screen_of: Callable[[], EmergencyScreen]) -> SafetyNode:
    """The first node. A sync function: LangGraph runs it in its executor, off the event loop
    (the learned reading takes ~2 ms). `screen_of` is called per consultation so the default
    screen can be trained at start rather than at import."""

    def safety(state: ConsultationState) -> dict[str, Any]:
        patient = state["request"].patient_data
        verdict = screen_of().assess(
            state["request"].symptoms, age_years=patient.age, age_months=patient.age_months, pregnant=patient.pregnant
        )
        update: dict[str, Any] = {"safety": verdict, "location": None}
        if patient.location:
            try:
                update["location"] = resolve_location(patient.location)
            except LocationNotFound as exc:
                if not verdict.emergency:  # an emergency is answered anyway, without providers
                    update["refusal"] = StageError(
                        message=str(exc),
                        type="invalid_request_error",
                        param="patient_data.location",
                        code="unknown_location",
                    )
        return update

    return safety


def after_safety(state: ConsultationState) -> str:
    """A refused consultation ends at its first node: no model runs for it."""
    return "refused" if "refusal" in state else "intake"


def escalation(state: ConsultationState) -> dict[str, Any]:
    """After intake: the verdict escalated by the model's red flags where it saw more; nothing
    when it changes nothing (or intake failed). `safety` stays the screen's own verdict, which
    the summary's prompt quotes."""
    if "intake" not in state:
        return {}
    escalated = with_model_findings(state["safety"], state["intake"])
    return {} if escalated is None else {"escalated": escalated}
