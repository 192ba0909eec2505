"""What the red-flag rules answer: the verdict every response carries, as pydantic models (kept
apart from the rules so that the rules' modules compile: mypyc builds no pydantic models)."""

from __future__ import annotations

from pydantic import BaseModel


class RedFlag(BaseModel):
    rule: str
    meaning: str
    advice: str
    source: str


class SafetyNet(BaseModel):
    """What would make a routine complaint an emergency, and what to do then: never an escalation."""

    condition: str
    warning_signs: str
    advice: str


class SafetyAssessment(BaseModel):
    """What the rules found; `emergency` is the top-level flag every response carries. A routine
    answer carries `safety_netting` instead: the warning signs near the complaint's own words."""

    emergency: bool
    red_flags: list[RedFlag]
    advice: list[str]  # distinct, most urgent first
    safety_netting: list[SafetyNet] = []


SAFETY_NETS = 3  # the most warning-sign paragraphs a routine answer lists
# When a routine complaint names nothing any rule is built on: the signs public guidance lists first.
GENERAL_NET = SafetyNet(
    condition="general",
    warning_signs=(
        "chest pain or pressure, severe difficulty breathing, a face drooping or an arm going weak, "
        "sudden confusion, fainting or a seizure, heavy bleeding, or thoughts of harming yourself"
    ),
    advice="Call 911 (or your local emergency number, 999 in the UK) now if any of these start.",
)
