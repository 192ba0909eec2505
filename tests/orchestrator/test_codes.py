from __future__ import annotations

import pytest
from pydantic import ValidationError

from orchestrator.codes import IcdCodeSet, VisitContext, check_cpt, normalise_icd, office_visit_code
from orchestrator.state import IntakeFindings, SummaryDraft


@pytest.fixture(scope="module")
def icd() -> IcdCodeSet:
    return IcdCodeSet()


@pytest.mark.parametrize(
    ("proposed", "code", "billable"),
    [
        ("R51.9", "R51.9", True),
        ("r519", "R51.9", True),
        ("G43.109", "G43.109", True),
        ("J45.909", "J45.909", True),
        ("R51", "R51", False),
        ("G43.1", "G43.1", False),
    ],
)
def test_valid_codes_keep_the_official_description(icd: IcdCodeSet, proposed: str, code: str, billable: bool) -> None:
    checked = icd.check(proposed, "whatever the model said")
    assert checked is not None
    assert (checked.code, checked.status, checked.billable) == (code, "valid", billable)
    assert checked.description == icd.describe(code)
    assert checked.proposed == proposed


def test_invalid_codes_are_never_returned_as_valid(icd: IcdCodeSet) -> None:
    assert not icd.is_valid("Z99.999")
    repaired = icd.check("Z99.999", "chronic headache")
    assert repaired is not None and repaired.status == "repaired"
    assert icd.is_valid(repaired.code) and "headache" in repaired.description.lower()


@pytest.mark.parametrize(
    ("proposed", "wording", "expected"),
    [
        ("G43.19999", "migraine with aura", "G43.109"),  # a child of the nearest ancestor, by wording
        ("R07.99", "chest pain", "R07.9"),  # the ancestor itself, which the wording agrees with
        ("R51.99", "", "R51.9"),  # no wording: the ancestor
        ("X00.000", "acute chest pain", "R07.89"),  # unrelated ancestor: searched by wording instead
    ],
)
def test_repairs(icd: IcdCodeSet, proposed: str, wording: str, expected: str) -> None:
    repaired = icd.check(proposed, wording)
    assert repaired is not None and (repaired.code, repaired.status) == (expected, "repaired")


def test_unrepairable_codes_are_dropped(icd: IcdCodeSet) -> None:
    assert icd.check("Q99.99", "zzzz qqqq") is None
    assert icd.check("not a code") is None


def test_search_finds_billable_codes_by_wording(icd: IcdCodeSet) -> None:
    found = icd.search("chest pain on breathing")
    assert found and all(icd.is_valid(code) for code in found)
    assert any(code.startswith("R07") for code in found)
    assert icd.search("the of and") == []


def test_normalise() -> None:
    assert normalise_icd(" g43109 ") == "G43.109"
    assert normalise_icd("R51") == "R51"


@pytest.mark.parametrize(
    ("code", "status", "kind"),
    [
        ("99213", "verified", "cpt_category_i"),
        ("99204", "verified", "cpt_category_i"),
        ("98008", "verified", "cpt_category_i"),
        ("99201", "invalid", "cpt_category_i"),  # deleted in 2021
        ("99443", "invalid", "cpt_category_i"),  # deleted in 2025
        ("71046", "unverified", "cpt_category_i"),
        ("3074F", "unverified", "cpt_category_ii"),
        ("0042T", "unverified", "cpt_category_iii"),
        ("0001U", "unverified", "cpt_pla"),
        ("A0425", "unverified", "hcpcs_level_ii"),
        ("D0120", "invalid", None),  # D codes are CDT, not HCPCS Level II here
        ("9921", "invalid", None),
    ],
)
def test_cpt_formats_and_allowlist(code: str, status: str, kind: str | None) -> None:
    checked = check_cpt(code)
    assert (checked.status, checked.kind) == (status, kind)
    assert (checked.label is not None) == (status == "verified")


def test_office_visit_levels() -> None:
    assert office_visit_code(new_patient=True, level=3) == "99203"
    assert office_visit_code(new_patient=True, level=1) == "99202"  # 99201 no longer exists
    assert office_visit_code(new_patient=False, level=1) == "99211"
    assert office_visit_code(new_patient=False, level=9) == "99215"


def test_u_codes_are_valid_icd_10_cm() -> None:
    assert IcdCodeSet.is_valid("U07.1") and IcdCodeSet.is_valid("U09.9")


@pytest.mark.parametrize(
    ("code", "visit", "status"),
    [
        ("99203", VisitContext(new_patient=True, telehealth=False, emergency=False), "verified"),
        ("99213", VisitContext(new_patient=True, telehealth=False, emergency=False), "mismatch"),
        ("99203", VisitContext(new_patient=False, telehealth=False, emergency=False), "mismatch"),
        ("99284", VisitContext(new_patient=True, telehealth=False, emergency=False), "mismatch"),
        ("99284", VisitContext(new_patient=True, telehealth=False, emergency=True), "verified"),
        ("99203", VisitContext(new_patient=True, telehealth=True, emergency=False), "verified"),  # payers allow
        ("99284", VisitContext(new_patient=True, telehealth=True, emergency=True), "mismatch"),
        ("98016", VisitContext(new_patient=False, telehealth=True, emergency=False), "verified"),
        ("98001", VisitContext(new_patient=True, telehealth=True, emergency=False), "verified"),
        ("98005", VisitContext(new_patient=True, telehealth=True, emergency=False), "mismatch"),
        ("98005", VisitContext(new_patient=False, telehealth=False, emergency=False), "mismatch"),
        ("98013", VisitContext(new_patient=False, telehealth=True, emergency=False), "verified"),
        ("71046", VisitContext(new_patient=True, telehealth=True, emergency=False), "unverified"),
    ],
)
def test_an_em_code_is_checked_against_the_visit(code: str, visit: VisitContext, status: str) -> None:
    checked = check_cpt(code, visit)
    assert checked.status == status
    assert (checked.note is not None) == (status in ("mismatch", "unverified"))


def test_stage_outputs_enforce_their_bounds_beyond_the_schema() -> None:
    with pytest.raises(ValidationError):
        IntakeFindings.model_validate(
            {
                "symptoms": [{"name": "x", "onset": "x", "duration": "x", "severity": "mild"}],
                "red_flags": ["x" * 61],
                "relevant_history": [],
                "urgency": "routine",
            }
        )
    with pytest.raises(ValidationError):
        SummaryDraft.model_validate({"summary": "s", "next_steps": ["y" * 101]})
