"""The consultation's input, each stage's typed output, and the graph state.

Model-facing schemas bound every string and list (maxLength, maxItems): vLLM enforces them
with xgrammar, so even a small model finishes a stage within its max_tokens with valid JSON.
"""

from __future__ import annotations

import operator
from typing import Annotated, Any, Literal, TypedDict

from pydantic import BaseModel, ConfigDict, Field

from orchestrator.directory import Location
from orchestrator.safety.assessment import SafetyAssessment

STAGES = ("intake", "icd", "cpt", "providers", "summary")
Severity = Literal["mild", "moderate", "severe"]
Urgency = Literal["routine", "soon", "urgent", "emergency"]


class PatientData(BaseModel):
    model_config = ConfigDict(extra="allow")
    age: int | None = Field(None, ge=0, le=120, description="absent: the answer says it was not given")
    gender: str | None = Field(None, max_length=40)
    location: str | None = Field(None, max_length=100, description='US ZIP code or "City, ST"')
    new_patient: bool = True
    telehealth: bool = False
    history: str | None = Field(None, max_length=2000)
    age_months: int | None = Field(None, ge=0, le=36, description="for a baby: age in months (fever under 3 months)")
    pregnant: bool | None = None


class ConsultationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    symptoms: str = Field(min_length=3, max_length=8000)
    patient_data: PatientData
    stream: bool = False


# --- what the models return (bounded) ----------------------------------------------------


class Symptom(BaseModel):
    name: str = Field(max_length=40)
    onset: str = Field(max_length=24)
    duration: str = Field(max_length=24)
    severity: Severity


class IntakeFindings(BaseModel):
    symptoms: list[Symptom] = Field(min_length=1, max_length=3)
    red_flags: list[Annotated[str, Field(max_length=60)]] = Field(max_length=2)
    relevant_history: list[Annotated[str, Field(max_length=60)]] = Field(max_length=2)
    urgency: Urgency


class ProposedIcd(BaseModel):
    code: str = Field(max_length=8)
    description: str = Field(max_length=60)
    reasoning: str = Field(max_length=100)
    confidence: float = Field(ge=0, le=1)


class IcdProposal(BaseModel):
    codes: list[ProposedIcd] = Field(min_length=1, max_length=3)


class ProposedCpt(BaseModel):
    code: str = Field(max_length=5)
    reasoning: str = Field(max_length=100)


class CptProposal(BaseModel):
    codes: list[ProposedCpt] = Field(min_length=1, max_length=2)


class SummaryDraft(BaseModel):
    summary: str = Field(max_length=500)
    next_steps: list[Annotated[str, Field(max_length=100)]] = Field(max_length=3)


# --- what the stages produce (validated) -------------------------------------------------


class IcdCodeResult(BaseModel):
    code: str
    description: str  # the official description from the code set
    billable: bool
    status: Literal["valid", "repaired"]
    proposed: str
    reasoning: str
    confidence: float


class IcdResult(BaseModel):
    codes: list[IcdCodeResult]
    dropped: list[str]  # proposed codes that were invalid and could not be repaired


class CptCodeResult(BaseModel):
    code: str
    status: Literal["verified", "unverified", "invalid", "mismatch"]
    kind: str | None
    label: str | None
    note: str | None
    reasoning: str


class CptResult(BaseModel):
    codes: list[CptCodeResult]
    notice: str


class ProviderResult(BaseModel):
    npi: str
    name: str
    specialty: str
    taxonomy: str
    city: str
    state: str
    zip: str
    distance_miles: float
    specialty_fit: float
    accepting_new_patients: bool
    telehealth: bool


class ProvidersResult(BaseModel):
    location: str
    specialties: list[str]
    providers: list[ProviderResult]
    notice: str


class SummaryResult(BaseModel):
    summary: str
    next_steps: list[str]
    emergency_advice: str | None
    disclaimers: list[str]


class StageError(BaseModel):
    message: str
    type: str
    param: str | None = None
    code: str | None = None


def merge(left: dict[str, Any] | None, right: dict[str, Any] | None) -> dict[str, Any]:
    return {**(left or {}), **(right or {})}


class ConsultationState(TypedDict, total=False):
    request: ConsultationRequest
    location: Location | None
    safety: SafetyAssessment  # the screen's verdict (the first node), made before any model runs
    escalated: SafetyAssessment  # the verdict once the intake model saw more (the escalation node)
    refusal: StageError  # the first node declined the consultation (unknown location, no emergency)
    intake: IntakeFindings
    icd: IcdResult
    cpt: CptResult
    providers: ProvidersResult
    summary: SummaryResult
    errors: Annotated[dict[str, StageError], merge]
    timings: Annotated[dict[str, float], merge]
    completed: Annotated[list[str], operator.add]
    usage: Annotated[dict[str, dict[str, int]], merge]  # tokens per model stage
