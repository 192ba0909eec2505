"""Intake: free text and patient data -> structured findings."""

from __future__ import annotations

from typing import Any

from langchain_core.runnables import RunnableConfig

from orchestrator import prompts
from orchestrator.llm import ask
from orchestrator.nodes.common import models_of, stage
from orchestrator.state import ConsultationState, IntakeFindings


def describe_patient(state: ConsultationState) -> str:
    patient = state["request"].patient_data
    parts = [f"Age: {patient.age if patient.age is not None else 'not given'}"]
    if patient.gender:
        parts.append(f"Gender: {patient.gender}")
    parts.append("New patient" if patient.new_patient else "Established patient")
    if patient.history:
        parts.append(f"History: {patient.history}")
    return "; ".join(parts)


def intake_question(state: ConsultationState) -> str:
    return f"Patient: {describe_patient(state)}\nSymptoms (patient's words): {state['request'].symptoms}"


@stage("intake", "Extracting symptoms, red flags and urgency")
async def intake(state: ConsultationState, config: RunnableConfig) -> dict[str, Any]:
    user = intake_question(state)
    answer = await ask(models_of(config)("intake"), IntakeFindings, system=prompts.INTAKE, user=user, max_tokens=400)
    return {"intake": answer.value, "usage": {"intake": answer.usage()}}
