"""The red-flag rules on their own: no model. Sensitivity and specificity on the vignettes,
negation and other people's history, age and pregnancy, and a reviewable rule file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from orchestrator.safety.red_flags import RULES_FILE, RedFlagRules, default_rules

VIGNETTES: list[dict[str, Any]] = yaml.safe_load((Path(__file__).parent / "vignettes.yaml").read_text())


def assess(case: dict[str, Any]) -> bool:
    patient = case["patient_data"]
    verdict = default_rules().assess(
        case["symptoms"],
        age_years=patient.get("age"),
        age_months=patient.get("age_months"),
        pregnant=patient.get("pregnant"),
    )
    return verdict.emergency


def test_the_vignettes_cover_what_the_evaluation_needs() -> None:
    emergencies = [case for case in VIGNETTES if case["red_flags"]]
    routine = [case for case in VIGNETTES if not case["red_flags"]]
    assert len(VIGNETTES) >= 40 and len(emergencies) >= 20 and len(routine) >= 15
    assert all(case["expected_icd_categories"] for case in VIGNETTES)


def test_every_emergency_vignette_escalates_and_no_routine_one_does() -> None:
    missed = [case["id"] for case in VIGNETTES if case["red_flags"] and not assess(case)]
    false_alarms = [case["id"] for case in VIGNETTES if not case["red_flags"] and assess(case)]
    assert (missed, false_alarms) == ([], [])  # sensitivity 100%, no false escalation


@pytest.mark.parametrize(
    "text",
    [
        "No chest pain today, just a cough.",
        "I deny any shortness of breath or chest pain.",
        "Denies shortness of breath.",
        "My aunt had a stroke last year.",
        "Family history of heart attacks; I feel fine.",
        "No thoughts of self-harm.",
        "I am not suicidal, just tired.",
        "She has no rash and no stiff neck.",
        "Never had a seizure.",
    ],
)
def test_negated_or_someone_elses_findings_do_not_fire(text: str) -> None:
    assert not default_rules().assess(text).emergency


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("No fever, but I can't breathe and my lips are blue.", "breathing_difficulty"),
        ("My aunt had a stroke. Now my own face is drooping and my speech is slurred.", "stroke"),
        ("Chest pain with sweating for 20 minutes, no cough.", "cardiac_chest_pain"),
        ("I want to kill myself.", "suicide_self_harm"),
    ],
)
def test_a_finding_fires_beside_negated_or_other_ones(text: str, rule: str) -> None:
    assert rule in [flag.rule for flag in default_rules().assess(text).red_flags]


def test_age_and_pregnancy_where_the_rule_needs_them() -> None:
    rules = default_rules()
    assert rules.assess("She has a fever of 38.1", age_years=0, age_months=1).emergency
    assert not rules.assess("She has a fever of 38.1", age_years=0, age_months=7).emergency
    assert rules.assess("My 3 week old has a temperature").emergency
    assert not rules.assess("Some spotting after exercise").emergency
    assert rules.assess("Some spotting after exercise", pregnant=True).emergency
    assert rules.assess("I'm 12 weeks pregnant with some bleeding").emergency
    assert not rules.assess("Not pregnant. Light bleeding from a paper cut.").emergency


def test_several_rules_give_distinct_advice_most_urgent_first() -> None:
    verdict = default_rules().assess("I took too many pills and now I can't breathe")
    assert {flag.rule for flag in verdict.red_flags} == {"poisoning_overdose", "breathing_difficulty"}
    assert verdict.advice[0].startswith("Call 911") and "Poison Control" in verdict.advice[1]


def test_the_rule_file_is_complete_and_reviewable() -> None:
    raw = yaml.safe_load(RULES_FILE.read_text())
    ids = {rule["id"] for rule in raw["rules"]}
    assert {
        "cardiac_chest_pain",
        "stroke",
        "thunderclap_headache",
        "breathing_difficulty",
        "anaphylaxis",
        "suicide_self_harm",
        "pregnancy_bleeding",
        "gastrointestinal_bleeding",
        "heavy_bleeding",
        "meningitis_sepsis",
        "infant_fever",
        "poisoning_overdose",
        "aortic_dissection",
        "seizure",
        "acute_abdomen",
        "testicular_torsion",
        "sudden_vision_loss",
    } <= ids
    for rule in raw["rules"]:
        assert rule["meaning"] and rule["source"] and rule["advice"] in raw["advice"], rule["id"]
        assert rule.get("any") or rule.get("all"), rule["id"]
    assert "988" in raw["advice"]["crisis_988"] and "1-800-222-1222" in raw["advice"]["poison_control"]


def test_a_rule_file_naming_unknown_advice_is_refused(tmp_path: Path) -> None:
    broken = tmp_path / "rules.yaml"
    broken.write_text("advice: {a: x}\nrules: [{id: r, meaning: m, advice: b, source: s, any: [x]}]")
    with pytest.raises(ValueError, match="unknown advice"):
        RedFlagRules.load(broken)


def test_the_context_comparison_runs_with_our_engine_alone(capsys: pytest.CaptureFixture[str]) -> None:
    from orchestrator.safety import compare_context

    assert compare_context.main() == 0
    out = capsys.readouterr().out
    assert out.startswith("negex-style (ours)   sensitivity 23/23, specificity 20/20")


def test_another_context_engine_can_be_plugged_in() -> None:
    never_counts = RedFlagRules.load(counts=lambda text, start: False)
    assert not never_counts.assess("I can't breathe and my lips are blue").emergency


PHRASINGS: dict[str, Any] = yaml.safe_load((Path(__file__).parent / "red_flag_phrasings.yaml").read_text())


@pytest.mark.parametrize("case", PHRASINGS["emergencies"], ids=[c["text"][:40] for c in PHRASINGS["emergencies"]])
def test_reviewed_emergency_phrasings_escalate(case: dict[str, Any]) -> None:
    patient = case.get("patient", {})
    assert default_rules().assess(case["text"], **patient).emergency


@pytest.mark.parametrize("text", PHRASINGS["routine"], ids=[t[:40] for t in PHRASINGS["routine"]])
def test_reviewed_routine_phrasings_do_not(text: str) -> None:
    verdict = default_rules().assess(text)
    assert not verdict.emergency, [flag.rule for flag in verdict.red_flags]


def test_a_long_adversarial_text_is_assessed_in_linear_time() -> None:
    # Thousands of negated findings in one phrase: each check reads a bounded window.
    rules = default_rules()
    for text, needs in (("no hot " * 1150, {"age_months": 1}), ("no blood " * 880, {"pregnant": True})):
        assert not rules.assess(text[:8000], **needs).emergency
