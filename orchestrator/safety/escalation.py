"""What every consultation answer carries whatever failed: escalation when the rules (or the
intake model) found danger signs, and our disclaimers. Never written by a model."""

from __future__ import annotations

from orchestrator.safety.assessment import RedFlag, SafetyAssessment
from orchestrator.state import ConsultationState, IntakeFindings

DISCLAIMERS = [
    "Decision support only: this is not a diagnosis and does not replace a clinician's judgement.",
    "Codes are proposals for review by a qualified coder before any claim.",
    "Provider matches come from a directory that may be incomplete; confirm availability directly.",
]
MODEL_ADVICE = (
    "Red flags were reported. If symptoms are severe or worsening (for example chest pain, trouble "
    "breathing, sudden weakness or confusion), call 911 or go to the nearest emergency department now."
)


def with_model_findings(rules: SafetyAssessment, intake: IntakeFindings) -> SafetyAssessment | None:
    """The assessment once the intake model has spoken: escalated if it reports red flags or an
    emergency the rules did not see; None when it changes nothing."""
    if not (intake.red_flags or intake.urgency == "emergency"):
        return None
    known = {flag.meaning for flag in rules.red_flags}
    found = [
        RedFlag(rule="model", meaning=text, advice=MODEL_ADVICE, source="intake model")
        for text in intake.red_flags or ["urgency: emergency"]
        if text not in known
    ]
    if rules.emergency and not found:
        return None
    advice = rules.advice if rules.emergency else [MODEL_ADVICE]
    return SafetyAssessment(emergency=True, red_flags=[*rules.red_flags, *found], advice=advice)


def assessment_of(state: ConsultationState) -> SafetyAssessment:
    """The rules' verdict, escalated by the intake model's red flags where it saw more."""
    rules = state.get("safety") or SafetyAssessment(emergency=False, red_flags=[], advice=[])
    if "intake" in state:
        return with_model_findings(rules, state["intake"]) or rules
    return rules
