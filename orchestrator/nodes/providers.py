"""Provider matching: specialty from the codes and findings, ranked by fit and distance. No model."""

from __future__ import annotations

from typing import Any

from langchain_core.runnables import RunnableConfig

from orchestrator.directory import TAXONOMY, ProviderDirectory, specialties_for
from orchestrator.nodes.common import MissingInput, Node, stage
from orchestrator.safety.escalation import assessment_of
from orchestrator.state import ConsultationState, ProviderResult, ProvidersResult

NOTICE = (
    "Synthetic provider directory for development. Taxonomy: NUCC (c) AMA on behalf of NUCC; "
    "ZIP data: GeoNames, CC BY 4.0."
)


def make_providers_node(directory: ProviderDirectory) -> Node:
    @stage("providers", "Matching providers by specialty and distance")
    async def providers(state: ConsultationState, config: RunnableConfig) -> dict[str, Any]:
        location = state.get("location")
        if location is None:
            raise MissingInput("skipped: no patient location was given")
        patient = state["request"].patient_data
        codes = [code.code for code in state["icd"].codes] if "icd" in state else []
        # Emergency care first whenever the rules or the intake model found danger signs.
        emergency = assessment_of(state).emergency
        specialties = specialties_for(codes, age=patient.age, emergency=emergency)
        matches = directory.rank(
            specialties, location, new_patient=patient.new_patient, telehealth_only=patient.telehealth
        )
        return {
            "providers": ProvidersResult(
                location=location.label,
                specialties=[TAXONOMY[t] for t in specialties],
                providers=[
                    ProviderResult(
                        npi=m.provider.npi,
                        name=m.provider.name,
                        specialty=m.provider.specialty,
                        taxonomy=m.provider.taxonomy,
                        city=m.provider.city,
                        state=m.provider.state,
                        zip=m.provider.zip,
                        distance_miles=m.distance_miles,
                        specialty_fit=m.fit,
                        accepting_new_patients=m.provider.accepting_new_patients,
                        telehealth=m.provider.telehealth,
                    )
                    for m in matches
                ],
                notice=NOTICE,
            )
        }

    return providers
