"""ICD-10-CM and CPT coding: the model proposes, the code sets decide."""

from __future__ import annotations

from typing import Any

from langchain_core.runnables import RunnableConfig

from orchestrator import prompts
from orchestrator.codes import CPT_TRADEMARK, IcdCodeSet, VisitContext, check_cpt
from orchestrator.llm import ask
from orchestrator.nodes.common import MissingInput, Node, models_of, stage
from orchestrator.nodes.intake import describe_patient
from orchestrator.safety.escalation import assessment_of
from orchestrator.state import (
    ConsultationState,
    CptCodeResult,
    CptProposal,
    CptResult,
    IcdCodeResult,
    IcdProposal,
    IcdResult,
)


def findings_text(state: ConsultationState) -> str:
    if "intake" not in state:
        raise MissingInput("skipped: the intake stage did not complete")
    findings = state["intake"]
    symptoms = "; ".join(f"{s.name} (onset {s.onset}, {s.duration}, {s.severity})" for s in findings.symptoms)
    return (
        f"Patient: {describe_patient(state)}\nSymptoms: {symptoms}\n"
        f"Red flags: {', '.join(findings.red_flags) or 'none'}\n"
        f"History: {', '.join(findings.relevant_history) or 'none'}\nUrgency: {findings.urgency}"
    )


def make_icd_node(code_set: IcdCodeSet) -> Node:
    @stage("icd", "Proposing and validating ICD-10-CM codes")
    async def icd(state: ConsultationState, config: RunnableConfig) -> dict[str, Any]:
        answer = await ask(
            models_of(config)("icd"), IcdProposal, system=prompts.ICD, user=findings_text(state), max_tokens=400
        )
        proposal = answer.value
        codes: list[IcdCodeResult] = []
        dropped: list[str] = []
        for proposed in proposal.codes:
            checked = code_set.check(proposed.code, f"{proposed.description} {proposed.reasoning}")
            if checked is None:
                dropped.append(proposed.code)
            elif all(c.code != checked.code for c in codes):
                codes.append(
                    IcdCodeResult(
                        code=checked.code,
                        description=checked.description,
                        billable=checked.billable,
                        status=checked.status,
                        proposed=proposed.code,
                        reasoning=proposed.reasoning,
                        confidence=proposed.confidence,
                    )
                )
        return {"icd": IcdResult(codes=codes, dropped=dropped), "usage": {"icd": answer.usage()}}

    return icd


@stage("cpt", "Proposing and checking CPT/HCPCS codes")
async def cpt(state: ConsultationState, config: RunnableConfig) -> dict[str, Any]:
    # CPT needs the findings (complexity, urgency, patient type), not the diagnoses: it runs
    # beside ICD coding, not after it.
    answer = await ask(
        models_of(config)("cpt"), CptProposal, system=prompts.CPT, user=findings_text(state), max_tokens=200
    )
    proposal = answer.value
    patient = state["request"].patient_data
    visit = VisitContext(
        new_patient=patient.new_patient, telehealth=patient.telehealth, emergency=assessment_of(state).emergency
    )
    codes = []
    for proposed in proposal.codes:
        checked = check_cpt(proposed.code, visit)
        codes.append(
            CptCodeResult(
                code=checked.code,
                status=checked.status,
                kind=checked.kind,
                label=checked.label,
                note=checked.note,
                reasoning=proposed.reasoning,
            )
        )
    return {"cpt": CptResult(codes=codes, notice=CPT_TRADEMARK), "usage": {"cpt": answer.usage()}}
