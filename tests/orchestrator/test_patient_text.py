"""Patient details from a plain conversation (the consultation chat model without patient_data)."""

from __future__ import annotations

from typing import Any

import pytest

from orchestrator.patient_text import patient_from_text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "I am a 45-year-old woman in Boston, MA with chest pain",
            {"age": 45, "gender": "female", "location": "Boston, MA"},
        ),
        ("My 2 month old has a fever, we live near 02139", {"age": 0, "age_months": 2, "location": "02139"}),
        ("My 3 week old son is feverish", {"age": 0, "age_months": 0}),
        ("34F, headache since yesterday, zip 10001", {"age": 34, "gender": "female", "location": "10001"}),
        (
            "67 yo male, visiting New York, NY, short of breath",
            {"age": 67, "gender": "male", "location": "New York, NY"},
        ),
        (
            "I'm 30 and pregnant, in Austin, TX",
            {"age": 30, "gender": "female", "location": "Austin, TX", "pregnant": True},
        ),
        ("Aged 52, not pregnant, cough", {"age": 52}),
        ("I took 10000 steps; I am 5 feet tall and 70 kg", {}),
        ("I'm 12 weeks along", {}),
        ("Headache for 3 days, took 400 mg ibuprofen at 10:30", {}),
        ("Pain since 2019, lives in Atlantis, ZZ", {}),
        ("I'm 30 and have had a fever of 101F", {"age": 30}),  # a temperature, not an age and sex
        ("My baby has a fever of 100.4 F", {}),
        ("temp 99 F, 34F otherwise well", {"age": 34, "gender": "female"}),
        ("I live at 12345 Main St", {}),  # a house number, not a ZIP code
    ],
)
def test_details_found_and_only_those(text: str, expected: dict[str, Any]) -> None:
    assert patient_from_text(text) == expected


def test_an_age_out_of_range_is_not_an_age() -> None:
    assert "age" not in patient_from_text("I am 150 years old")
