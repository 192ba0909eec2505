"""The detector's checks on what the recognizers found: a clinical reading is no date ("pain 6/10",
"2/52"), an abbreviation no name ("ACE", "CRP"), a name's other mentions in the same text are
found too, and a finding stops at its paragraph."""

from __future__ import annotations

from dataclasses import dataclass

import regex
from presidio_analyzer import RecognizerResult

from serving.privacy import (
    places,
)


@dataclass(frozen=True, slots=True)
class Finding:
    """One identifier found: its placeholder type (one of detector.TYPES) and its span."""

    type: str
    start: int
    end: int


# months or days after a word that says so ("review 3/12", "for 5/7"), a visual acuity ("VA 6/9",
# "OD 20/40"), a blood pressure ("TA 150/90", "BP 130/80"), a lab's reference range ("0.6-1.1").
_WEEKS_OR_GESTATION = regex.compile(r"\d{1,2}/(?:52|40)")
_MONTHS_OR_DAYS = regex.compile(r"\d{1,2}/(?:12|7)")
_DURATION_BEFORE = regex.compile(
    r"(?i:\b(?:review|rv|f/u|fu|tca|for|over|x|last|past|next|within|approx|about|~)\W{0,3})$"
)
_FRACTION = regex.compile(r"\d{1,3}/\d{1,3}")
_READING_BEFORE = regex.compile(
    r"(?i:\b(?:bp|ta|pa|rr|nibp|abp|blood\s+pressure|tensi[óo]n(?:\s+arterial)?|pressione|blutdruck|"
    r"press[ãa]o|va|acuity|visus|vision|od|os|ou|right\s+eye|left\s+eye)\b[\s:=]{0,3})$"
)
_TEST_BEFORE = regex.compile(r"(?<![\p{L}\d])\p{Lu}[\p{Lu}\d-]{1,8}[ ]?[:=]?[ ]?$")  # "ACE-III ", "SAT "
_DECIMAL_RANGE = regex.compile(r"\d+[.,]\d+\s?[-–]\s?\d+[.,]\d+")


def _could_be_a_day(fraction: str) -> bool:
    """ "02/05", "12/03": a day and a month in one order or the other (a date after "LMP", "CT")."""
    first, second = (int(part) for part in fraction.split("/"))
    return (1 <= first <= 31 and 1 <= second <= 12) or (1 <= first <= 12 and 1 <= second <= 31)


def _clinical_reading(text: str, start: int, end: int) -> bool:
    found = text[start:end]
    if _WEEKS_OR_GESTATION.fullmatch(found) or _DECIMAL_RANGE.fullmatch(found):
        return True
    before = text[max(0, start - 24) : start]
    if _MONTHS_OR_DAYS.fullmatch(found) and _DURATION_BEFORE.search(before):
        return True
    if _FRACTION.fullmatch(found) and _TEST_BEFORE.search(before) and not _could_be_a_day(found):
        return True  # a score or a strength after a test's or a drug's capitals: "MMSE 21/30", "AV 75/10"
    return bool(_FRACTION.fullmatch(found) and _READING_BEFORE.search(before))


# A "name" that is one word in capitals of two to six letters is far more often a clinical
# abbreviation ("AST", "PEEP", "GINA", "MMSE", "ECOG": 128 such findings against 58 names over
# blind sets 1-14): kept only where a name is expected, after a name label, a title, a greeting
# or "by"/"to" (staff initials: "handed over to JD"), in an HL7 field or a table's cell, before a
# first name ("MARTIN, Will"), in quotes (a nickname) or as a transcript's speaker ("[00:02:10] INGRID:").
_CAPS_WORD = regex.compile(r"\p{Lu}{2,6}(?:-\p{Lu}{1,3})?")
_NAME_EXPECTED_BEFORE = regex.compile(
    r"(?i:\b(?:name|surname|given|forename|pt|patient|resident|dr|mr|mrs|ms|miss|hi|hello|dear|by|to|from|"
    r"pharmacist|sonographer|scribe|nurse|rn|initials?|signed|child|son|daughter|mum|dad)\W{0,4})$"
    r"|(?i:\b(?:bed|bay|room|rm|cubicle|chair)[ ]?\d{1,3}[a-z]?[ ]?[-:,]?[ ]?)$"
    r"|[|^\t\"“]$|\]\s$|/\s?$|(?:^|\n|\.)\s?[-–]\s$"
)
# a relative, or another name and age of the same list, before it: "wife Mwanaisha 38, children
# Fatuma 11, Juma 7" are people and their ages
_PERSON_BEFORE = regex.compile(
    rf"(?i:\b(?:{places.RELATIVE_WORDS}|lady|gentleman|man|woman)\W{{0,3}})"
    r"(?:\p{Lu}\p{Ll}+[ ]\d{1,3}[a-z]{0,3},[ ]){0,3}$"
)
# (not an age, a phone number's first digits, nor a chat's speaker: "Deb: 129, they said")
_SCORE_AFTER = regex.compile(
    r"(?:[ ]?=|[ ]?(?<!^[\p{L}-]*+):)?[ ]?\d{1,3}(?:[.,]\d+)?(?![\d/:-]|[ ]\d|[ ]?(?:y|yo|yrs?|years?|wks?|M|F|m|f)\b)",
    regex.MULTILINE,
)
_NAME_EXPECTED_AFTER = regex.compile(r"[|^\t]|,\s?\p{Lu}\p{Ll}|:")


def _abbreviation_as_name(text: str, result: RecognizerResult) -> bool:
    if result.entity_type != "NAME":
        return False
    if _SCORE_AFTER.match(text, result.end) and regex.fullmatch(r"\p{L}[\p{L}-]*+", text[result.start : result.end]):
        # one word and then a reading is a score or a test ("Braden 14", "MoCA 23", "Calprotectin 1,240"),
        # unless a name is expected there (after blind set 15)
        before = text[max(0, result.start - 64) : result.start]
        return not (_NAME_EXPECTED_BEFORE.search(before[-24:]) or _PERSON_BEFORE.search(before))
    if not _CAPS_WORD.fullmatch(text, result.start, result.end):
        return False
    if _NAME_EXPECTED_BEFORE.search(text[max(0, result.start - 24) : result.start]):
        return False
    return not _NAME_EXPECTED_AFTER.match(text, result.end)


_NAME_PART = regex.compile(r"(?<![\p{L}\p{M}'’-])\p{Lu}\p{Ll}[\p{Ll}\p{M}'’-]++(?![\p{L}\p{M}])")
# (a hyphen and a letter after a name's other mention make it another word: "Kaplan-Meier")
_EPONYM_AFTER = regex.compile(
    r"(?:['’]s)?[ ]++(?i:disease|syndrome|sign|test|scale|score|criteria|classification|procedure|operation|"
    r"fracture|palsy|phenomenon|reflex|manoeuvre|maneuver|ulcer|lymphoma|sarcoma|tumou?r|node|oesophagus|"
    r"esophagus|monitor|curves?|cyst|catheter|pouch|space|line|tube|method|estimator|index)\b"
)
_MOST_NAMES_PROPAGATED = 64  # names in one text whose other mentions are looked for (one pass)


def _other_mentions(text: str, taken: list[Finding], occupied: bytearray, not_names: frozenset[str]) -> list[Finding]:
    """A name found once is the same person wherever else the text writes it: "Guadalupe Treviño
    de la Garza. Guadalupe's sugar...", "his pal Mark. Mark made us laugh". Capitalised words of
    three letters or more from the names found, not common or clinical, looked for again in one
    pass (case-sensitive, whole words, a possessive's 's left out)."""
    parts: set[str] = set()
    for finding in taken:
        if finding.type == "NAME":
            for match in _NAME_PART.finditer(text, finding.start, finding.end):
                word = match.group().rstrip("'’-")
                if word.lower() not in not_names and len(word) >= 3:
                    parts.add(word)
    if not parts:
        return []
    names = sorted(parts, key=lambda word: (-len(word), word))[:_MOST_NAMES_PROPAGATED]
    pattern = regex.compile(
        r"(?<![\p{L}\p{M}'’-])(?:" + "|".join(map(regex.escape, names)) + r")(?![\p{L}\p{M}]|-\p{L})"
    )
    found = []
    for match in pattern.finditer(text):
        if _EPONYM_AFTER.match(text, match.end()):
            continue  # "Wilson disease" beside a Mr Wilson: the eponym is no one
        if occupied.find(1, match.start(), match.end()) < 0:
            occupied[match.start() : match.end()] = b"\x01" * (match.end() - match.start())
            found.append(Finding("NAME", match.start(), match.end()))
    return found


def _within_paragraph(text: str, result: RecognizerResult) -> RecognizerResult:
    """An identifier never runs over a blank line: a pattern whose spaces matched one ("0113 496
    0873\n\n7", "2024\n\nDear Dr") keeps what came before it."""
    cut = text.find("\n\n", result.start, result.end)
    if cut < 0:
        return result
    return RecognizerResult(result.entity_type, result.start, cut, result.score)
