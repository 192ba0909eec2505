"""The PHI detector against the labelled corpus (tests/serving/privacy/corpus): the issue's
targets on both the development set and the held-out set of phrasings it was not tuned on,
and the clinical words it must leave alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from loadtests.evaluate_identifiers import load, score
from serving.privacy.detector import PhiDetector, shared_detector
from serving.privacy.recognizers import vin_is_valid

CORPUS = Path(__file__).with_name("corpus")


@pytest.fixture(scope="module")
def detector() -> PhiDetector:
    return shared_detector()


@pytest.mark.parametrize("corpus", ["phi_notes.jsonl", "phi_notes_heldout.jsonl"])
def test_recall_and_precision_meet_the_targets(detector: PhiDetector, corpus: str) -> None:
    """Every one of the 17 types the template corpus labels, not a chosen few: recall 0.98 (names
    0.90) and precision 0.95 each. The template corpus is development data: blind sets are the
    README's figures, not a test."""
    result = score(detector, load(CORPUS / corpus))
    assert len(result.labelled) == 17 and all(count >= 10 for count in result.labelled.values()), result.labelled
    for kind in result.labelled:
        target = 0.90 if kind == "NAME" else 0.98
        assert result.recall(kind) >= target, (kind, result.missed)
    for row in result.table():
        assert row["precision"] >= 0.95, (row, result.false_positives)


@pytest.mark.parametrize(
    "text",
    [
        "History of Parkinson's disease and Graves disease.",
        "Graves' ophthalmopathy; Hashimoto thyroiditis; Crohn disease; Bell's palsy.",
        "Started metformin 500 mg; continue lisinopril 10 mg and Eliquis 5 mg BID.",
        "Will continue atorvastatin. May increase sertraline. Grace period ends.",
        "BP 128/84, HR 72, pain 6/10, INR 2.4, glucose 110-140 mg/dL.",
        "Diagnosed with type 2 diabetes in 2019; ICD-10 E11.9, CPT 99213.",
        "A 67-year-old man with COPD. Apgar 8 and 9. Glasgow Coma Scale 15.",
        "Murphy sign negative; McBurney point tender; Babinski sign negative.",
    ],
)
def test_clinical_words_are_not_identifiers(detector: PhiDetector, text: str) -> None:
    assert [text[f.start : f.end] for f in detector.find(text)] == []


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("Dr. Graves will see her", "NAME", "Graves"),
        ("A 93-year-old woman", "AGE", "93"),
        ("aged 101", "AGE", "101"),
        ("seen on 3/14 for follow-up", "DATE", "3/14"),
        ("DOB: 1957-03-14", "DATE", "1957-03-14"),
        ("Fax: (617) 555-0199", "PHONE", "(617) 555-0199"),
        ("MRN: MR9412800", "MRN", "MR9412800"),
        ("NPI 1234567893", "NPI", "1234567893"),
        ("Medicare member ID: 1EG4-TE5-MK73", "HEALTH_PLAN", "1EG4-TE5-MK73"),
        ("lives at 42 Elm Street, Apt 3B", "ADDRESS", "42 Elm Street, Apt 3B"),
        ("Springfield, MA 01103", "ZIP", "01103"),
        ("from 192.168.1.20", "IP", "192.168.1.20"),
        ("VIN 1HGCM82633A004352", "VEHICLE", "1HGCM82633A004352"),
        ("my son jake has a fever", "NAME", "jake"),
        ("Smith, John presented", "NAME", "Smith, John"),
    ],
)
def test_each_kind_of_identifier(detector: PhiDetector, text: str, kind: str, value: str) -> None:
    found = {(f.type, text[f.start : f.end]) for f in detector.find(text)}
    assert (kind, value) in found, found


def test_check_digits() -> None:
    assert vin_is_valid("1HGCM82633A004352") and not vin_is_valid("1HGCM82633A004353")


def test_empty_and_blank_text(detector: PhiDetector) -> None:
    assert detector.find("") == [] and detector.find("   \n") == []


def test_texts_seen_before_are_remembered_by_digest_only() -> None:
    detector = PhiDetector()
    text = "Patient Rosalind Okafor, MRN: 00482913."
    first = detector.find(text)
    assert detector.find(text) is first  # the history a chat resends is not screened again
    assert first == detector.find_uncached(text)
    assert all(isinstance(key, bytes) and len(key) == 16 for key in detector._recent)
    assert not any(text in repr(value) for value in detector._recent.values())
