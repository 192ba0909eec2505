"""The intake model and the rules' verdict (orchestrator/safety/escalation.py): the model can add
escalation, never remove it."""

from __future__ import annotations

from typing import Any

from orchestrator.safety.escalation import assessment_of, with_model_findings
from orchestrator.safety.red_flags import default_rules
from orchestrator.state import IntakeFindings


def findings(red_flags: list[str], urgency: str) -> IntakeFindings:
    symptom = {"name": "chest pain", "onset": "today", "duration": "1 hour", "severity": "severe"}
    return IntakeFindings.model_validate(
        {"symptoms": [symptom], "red_flags": red_flags, "relevant_history": [], "urgency": urgency}
    )


EMERGENCY = default_rules().assess("crushing chest pain spreading to my left arm and sweating")
ROUTINE = default_rules().assess("a sore throat for two days")


def state(**parts: Any) -> Any:
    return parts


def test_a_model_that_sees_nothing_leaves_the_rules_emergency_standing() -> None:
    assert EMERGENCY.emergency and not ROUTINE.emergency
    for quiet in (findings([], "routine"), findings([], "soon")):
        assert with_model_findings(EMERGENCY, quiet) is None  # nothing to change
        assert assessment_of(state(safety=EMERGENCY, intake=quiet)) == EMERGENCY


def test_a_model_that_sees_a_danger_sign_escalates_a_routine_verdict() -> None:
    escalated = assessment_of(state(safety=ROUTINE, intake=findings(["stiff neck with fever"], "urgent")))
    assert escalated.emergency and [f.rule for f in escalated.red_flags] == ["model"]
    assert escalated.advice and not escalated.safety_netting
    by_urgency = assessment_of(state(safety=ROUTINE, intake=findings([], "emergency")))
    assert by_urgency.emergency


def test_the_models_findings_add_to_the_rules_and_keep_their_advice() -> None:
    both = assessment_of(state(safety=EMERGENCY, intake=findings(["shortness of breath"], "emergency")))
    assert both.emergency and both.advice == EMERGENCY.advice
    assert [f.rule for f in both.red_flags] == [*(f.rule for f in EMERGENCY.red_flags), "model"]


def test_without_an_intake_the_rules_verdict_stands() -> None:
    assert assessment_of(state(safety=EMERGENCY)) == EMERGENCY
    assert not assessment_of(state()).emergency
