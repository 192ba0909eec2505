"""The clinician-facing summary. Disclaimers and emergency advice are ours, never the model's."""

from __future__ import annotations

from typing import Any

from langchain_core.runnables import RunnableConfig

from orchestrator import prompts
from orchestrator.llm import ask
from orchestrator.nodes.common import models_of, stage
from orchestrator.state import ConsultationState, SummaryDraft, SummaryResult

DISCLAIMERS = [
    "Decision support only: this is not a diagnosis and does not replace a clinician's judgement.",
    "Codes are proposals for review by a qualified coder before any claim.",
    "Provider matches come from a directory that may be incomplete; confirm availability directly.",
]
EMERGENCY_ADVICE = (
    "Red flags were reported. If symptoms are severe or worsening (for example chest pain, trouble "
    "breathing, sudden weakness or confusion), call 911 or go to the nearest emergency department now."
)


def case_text(state: ConsultationState) -> str:
    lines = [f"Presenting complaint (patient's words): {state['request'].symptoms}"]
    if "intake" in state:
        intake = state["intake"]
        lines.append(f"Urgency: {intake.urgency}; red flags: {', '.join(intake.red_flags) or 'none'}")
        lines.append("Symptoms: " + "; ".join(f"{s.name} ({s.severity})" for s in intake.symptoms))
    if "icd" in state:
        lines.append("ICD-10-CM: " + "; ".join(f"{c.code} {c.description}" for c in state["icd"].codes))
    if "cpt" in state:
        lines.append("CPT/HCPCS: " + ", ".join(c.code for c in state["cpt"].codes))
    if "providers" in state and state["providers"].providers:
        best = state["providers"].providers[0]
        lines.append(f"Suggested provider: {best.specialty}, {best.distance_miles} miles")
    failed = sorted(state.get("errors", {}))
    if failed:
        lines.append(f"Stages that failed: {', '.join(failed)}")
    return "\n".join(lines)


@stage("summary", "Writing the clinician summary")
async def summary(state: ConsultationState, config: RunnableConfig) -> dict[str, Any]:
    answer = await ask(
        models_of(config)("summary"), SummaryDraft, system=prompts.SUMMARY, user=case_text(state), max_tokens=400
    )
    urgent = "intake" in state and (state["intake"].red_flags or state["intake"].urgency == "emergency")
    draft = answer.value
    return {
        "usage": {"summary": answer.usage()},
        "summary": SummaryResult(
            summary=draft.summary,
            next_steps=draft.next_steps,
            emergency_advice=EMERGENCY_ADVICE if urgent else None,
            disclaimers=DISCLAIMERS,
        ),
    }
