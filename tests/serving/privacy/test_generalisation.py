"""Detection that generalises (#30): labels decide, names in the positions notes put them,
places, international phones, ages over 89 in words, more written dates, and clinical words
that are never identifiers. Each case is a shape the template corpus never had."""

from __future__ import annotations

import pytest

from serving.privacy.detector import PhiDetector, clinical_terms


@pytest.fixture(scope="module")
def detector() -> PhiDetector:
    return PhiDetector()


def found(detector: PhiDetector, text: str) -> list[tuple[str, str]]:
    return [(f.type, text[f.start : f.end]) for f in detector.find_uncached(text)]


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("SSN: 000-12-3456 (fails the validity rules, still an SSN)", "SSN", "000-12-3456"),
        ("my ssn last 4 is 4471 if u need", "SSN", "4471"),
        ("MRN: A-44918, admitted", "MRN", "A-44918"),
        ("Hosp# 77120-B | Adm 11", "MRN", "77120-B"),
        ("member id is W8812 40673 under my husband", "HEALTH_PLAN", "W8812 40673"),
        ("Medicaid ID TX 501 829 334 is active", "HEALTH_PLAN", "TX 501 829 334"),
        ("claim number is WC-88-214907. Regards", "ACCOUNT", "WC-88-214907"),
        ("Passport no. 19FR44721 provided", "ID", "19FR44721"),
        ("Accession S23-40918 — Surgeon", "ID", "S23-40918"),
        ("Patient: OKONKWO, CHIDINMA  MRN: A-44918", "NAME", "OKONKWO, CHIDINMA"),
        ("Pt: Ōkubo Haruka  Sex: F", "NAME", "Ōkubo Haruka"),
        ("GP: Dr Ciarán Walsh, tel +353 91 555 0101", "NAME", "Ciarán Walsh"),
        ("Discharged home with her daughter Ngozi.", "NAME", "Ngozi"),
        ("Pt states husband Vikram will drive her", "NAME", "Vikram"),
        ("Parents Lucía and Andrés consent", "NAME", "Andrés"),
        ("Ms Summer Bell, 34, was admitted", "NAME", "Summer Bell"),
        ("a ninety-three-year-old man from Hialeah", "AGE", "ninety-three"),
        ("She turns ninety-five next month", "AGE", "ninety-five"),
        ("a ninety-three-year-old man from Hialeah", "ADDRESS", "Hialeah"),
        ("discharged to St Aidan's Infirmary on Monday", "ADDRESS", "St Aidan's Infirmary"),
        ("Flat 3, 27 Harcourt Road, Leeds LS6 2QF", "ZIP", "LS6 2QF"),
        ("Niece Lan is the contact on +84 28 3822 4417.", "PHONE", "+84 28 3822 4417"),
        ("best reached on 07700 900418.", "PHONE", "07700 900418"),
        ("admitted 12-Mar-21 with pneumonia", "DATE", "12-Mar-21"),
        ("Discharged 15/03/21, OK to drive", "DATE", "15/03/21"),
        ("can i come in friday the 9th instead", "DATE", "friday the 9th"),
    ],
)
def test_shapes_our_templates_never_had(detector: PhiDetector, text: str, kind: str, value: str) -> None:
    assert (kind, value) in found(detector, text), found(detector, text)


TRAPS = [
    "Recommend ADA diet; TIA last year; on ASA 81 mg; RA flare; see the JAMA review.",
    "OK to discharge, BID dosing, PRN for pain, NKDA, COPD and CKD stage 3.",
    "History of Parkinson's, Crohn's disease and Hodgkin lymphoma; Apgar 9 at 5 minutes.",
    "Babinski negative, Glasgow Coma Scale 15, Bell's palsy resolved, GCS 15.",
    "NSAIDs avoided; SSRI started; HbA1c 7.2; eGFR 48; INR 2.4.",
    "Graves disease on methimazole; Murphy sign negative; Foley removed.",
]


@pytest.mark.parametrize("text", TRAPS)
def test_clinical_words_are_never_removed(detector: PhiDetector, text: str) -> None:
    assert found(detector, text) == []


def test_the_allowlist_holds_the_issues_examples() -> None:
    assert {"ada", "jama", "tia", "asa", "ra", "ok", "parkinson's"} <= clinical_terms()
