"""The clinician-facing summary. Disclaimers and emergency advice are ours, never the model's."""

from __future__ import annotations

from typing import Any

from langchain_core.runnables import RunnableConfig

from orchestrator import prompts
from orchestrator.llm import ask
from orchestrator.nodes.common import models_of, stage
from orchestrator.safety.escalation import DISCLAIMERS, assessment_of
from orchestrator.state import ConsultationState, SummaryDraft, SummaryResult


def case_text(state: ConsultationState) -> str:
    lines = [f"Presenting complaint (patient's words): {state['request'].symptoms}"]
    if "safety" in state and state["safety"].emergency:  # the rules' findings, whatever the model saw
        lines.append("Red flags found: " + "; ".join(flag.meaning for flag in state["safety"].red_flags))
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
    draft = answer.value
    safety = assessment_of(state)
    return {
        "usage": {"summary": answer.usage()},
        "summary": SummaryResult(
            summary=draft.summary,
            next_steps=draft.next_steps,
            emergency_advice=" ".join(safety.advice) if safety.emergency else None,
            disclaimers=DISCLAIMERS,
        ),
    }
