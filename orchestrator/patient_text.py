"""Patient details read from a plain conversation: age, sex, pregnancy and location, when a
client sends only chat messages (model `consultation` without `patient_data`).

Rules, not a model: they run before any model does (the red-flag rules need the age: a fever
under 3 months is an emergency), they are exact about what they found, and a small model
misreads numbers. What is not found stays unset; the answer then says what it lacks.
"""

from __future__ import annotations

import re
from typing import Any

from orchestrator.directory import LocationNotFound, resolve_location

# Most reliable first. Clinical shorthand (45M, 32 F) last: "a fever of 101F" is a temperature.
_SHORTHAND = re.compile(r"(?<![\d.,°])\b(\d{1,3}) ?([MF])\b")
_AGE_PATTERNS = (
    re.compile(r"\b(\d{1,3})[- ]?(?:years?|yrs?)[- ]?old\b", re.IGNORECASE),
    re.compile(r"\b(\d{1,3}) ?(?:y/?o|yo)\b", re.IGNORECASE),
    re.compile(r"\baged? (?:is )?(\d{1,3})\b", re.IGNORECASE),
    re.compile(
        r"\bI(?:'m| am) (\d{1,3})\b(?! ?(?:%|lbs?|pounds?|kg|cm|ft|feet|inches|degrees|weeks?|days?|hours?|"
        r"minutes?|times?|mg|ml|months?|miles?))",
        re.IGNORECASE,
    ),
)
_TEMPERATURE_CUE = re.compile(
    r"(?:fever|temp(?:erature)?|°|degrees?)\W*(?:of|is|was|at|to|around|about)?\W*$", re.IGNORECASE
)
_MONTHS = re.compile(r"\b(\d{1,2})[- ]?(?:months?|mos?)[- ]?old\b", re.IGNORECASE)
_WEEKS = re.compile(r"\b(\d{1,2})[- ]?(?:weeks?|wks?)[- ]?old\b", re.IGNORECASE)
_FEMALE = re.compile(r"\b(?:female|woman|girl|lady)\b", re.IGNORECASE)
_MALE = re.compile(r"\b(?:male|man|boy|gentleman)\b", re.IGNORECASE)
_PREGNANT = re.compile(r"\bpregnan(?:t|cy)\b", re.IGNORECASE)
_NOT_PREGNANT = re.compile(r"\bnot pregnant\b", re.IGNORECASE)
# A house number is not a ZIP code: "12345 Main St".
_NOT_STREET = r"(?! [A-Za-z]+ (?:st|street|ave|avenue|rd|road|blvd|ln|lane|dr|drive|way|ct|court|pl|place)\b)"
_ZIP_ANY = re.compile(r"(?<![\d.,/-])(\d{5})(?:-\d{4})?(?![\d.,/])" + _NOT_STREET, re.IGNORECASE)
_ZIP_CUED = re.compile(
    r"\b(?:zip(?: code)?|postcode|in|near|at|from|around)\s*:?\s*(\d{5})(?:-\d{4})?\b" + _NOT_STREET, re.IGNORECASE
)
_CITY_STATE = re.compile(r"\b([A-Z][A-Za-z.'-]+(?: [A-Z][A-Za-z.'-]+){0,3}), ?([A-Z]{2})\b")


def _age(text: str) -> tuple[int | None, int | None]:
    """(years, months): months only for a baby, where it matters (fever under 3 months)."""
    if match := _WEEKS.search(text):
        return 0, int(match.group(1)) // 4
    if match := _MONTHS.search(text):
        months = int(match.group(1))
        return months // 12, months if months <= 36 else None
    for pattern in _AGE_PATTERNS:
        for match in pattern.finditer(text):
            years = int(match.group(1))
            if 0 < years <= 120:
                return years, None
    for match in _shorthand(text):
        return int(match.group(1)), None
    return None, None


def _shorthand(text: str) -> list[re.Match[str]]:
    """45M / 32 F, but not a temperature ("fever of 101F", "temp 99.5 F")."""
    return [
        match
        for match in _SHORTHAND.finditer(text)
        if 0 < int(match.group(1)) <= 120
        and not _TEMPERATURE_CUE.search(text[max(0, match.start() - 24) : match.start()])
    ]


def _sex(text: str) -> str | None:
    for match in _shorthand(text):
        return "female" if match.group(2) == "F" else "male"
    female, male = _FEMALE.search(text), _MALE.search(text)
    if female and not male:
        return "female"
    if male and not female:
        return "male"
    return None


def _resolves(place: str) -> bool:
    try:
        resolve_location(place)
    except LocationNotFound:
        return False
    return True


def _location(text: str) -> str | None:
    """A ZIP code or "City, ST" that the offline gazetteer knows: a cued ZIP first ("zip
    02139", "near 02139"), then a city and state, then any ZIP-shaped number that is one."""
    for match in _ZIP_CUED.finditer(text):
        if _resolves(match.group(1)):
            return match.group(1)
    for match in _CITY_STATE.finditer(text):
        words, state = match.group(1).split(" "), match.group(2)
        for start in range(len(words)):  # "Visiting New York, NY": the longest city name that exists
            place = f"{' '.join(words[start:])}, {state}"
            if _resolves(place):
                return place
    for match in _ZIP_ANY.finditer(text):
        if _resolves(match.group(1)):
            return match.group(1)
    return None


def patient_from_text(text: str) -> dict[str, Any]:
    """The patient details found in the text, as PatientData fields (absent when not found)."""
    years, months = _age(text)
    pregnant = True if _PREGNANT.search(text) and not _NOT_PREGNANT.search(text) else None
    found: dict[str, Any] = {
        "age": years,
        "age_months": months,
        "gender": _sex(text) or ("female" if pregnant else None),
        "location": _location(text),
        "pregnant": pregnant,
    }
    return {field: value for field, value in found.items() if value is not None}
