"""Identifiers in health data interchange formats, found by where they sit rather than by how
they look: HL7 v2 segments (PID-5 is a name, PID-7 a birth date, PID-11 an address, PV1-7 the
attending doctor) and FHIR-like JSON ("family", "given", "birthDate", a practitioner's
"display"). A pasted message is text too, and its fields hold a person's identifiers whatever
their shape ("DE LA CRUZ HERNÁNDEZ^MARÍA", "004417829^^^MRN^MR", "19580412").

Hand-split rather than parsed with python-hl7 or a JSON parser: detection needs each value's
character offsets in the text as written, and a pasted message is often cut short or invalid."""

from __future__ import annotations

from typing import Any

import regex
from presidio_analyzer import EntityRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

# ---- HL7 v2 ----

# A segment starts a line; HL7's own separator is a carriage return, a pasted one a newline.
_SEGMENT = regex.compile(r"(?:^|(?<=[\r\n]))(?P<name>[A-Z][A-Z0-9]{2})\|[^\r\n]*+")
# Field number -> what it holds, per segment (HL7 v2.5). XPN: a person's name (family^given^
# middle^suffix^prefix); XCN: a staff member (id^family^given^...); XAD: an address (street^
# other^city^state^zip^country); CX: an identifier (id^^^authority^type); TS: a date and time.
_FIELDS: dict[str, dict[int, str]] = {
    "MSH": {4: "PLACE", 6: "PLACE", 7: "TS"},  # the sending and receiving facilities
    "EVN": {2: "TS", 6: "TS"},
    "PID": {2: "CX", 3: "CX", 4: "CX", 5: "XPN", 6: "XPN", 7: "TS", 9: "XPN", 11: "XAD", 13: "XTN", 14: "XTN"}
    | {18: "CX", 19: "SSN", 20: "LICENSE", 21: "CX", 29: "TS"},
    "PD1": {4: "XCN"},
    "NK1": {2: "XPN", 4: "XAD", 5: "XTN", 6: "XTN", 30: "XPN", 32: "XTN", 33: "CX"},
    "PV1": {7: "XCN", 8: "XCN", 9: "XCN", 17: "XCN", 19: "CX", 44: "TS", 45: "TS", 50: "CX"},
    "PV2": {13: "XCN"},
    "ORC": {9: "TS", 10: "XCN", 11: "XCN", 12: "XCN", 15: "TS", 19: "XCN"},
    "OBR": {3: "CX", 7: "TS", 8: "TS", 14: "TS", 16: "XCN", 22: "TS", 28: "XCN", 32: "XCN", 34: "XCN"},
    "OBX": {14: "TS", 16: "XCN"},
    "GT1": {3: "XPN", 5: "XAD", 6: "XTN", 7: "XTN", 8: "TS", 12: "SSN"},
    "IN1": {2: "CX", 16: "XPN", 18: "TS", 19: "XAD", 36: "HEALTH_PLAN", 49: "CX"},
    "IN2": {1: "CX", 2: "SSN", 8: "CX"},
    "MRG": {1: "CX", 2: "CX", 3: "CX", 7: "XPN"},
}
# An identifier's type code (CX.5) -> what it is.
_ID_TYPES = {"MR": "MRN", "MRN": "MRN", "PI": "MRN", "NH": "HEALTH_PLAN", "NI": "HEALTH_PLAN", "HC": "HEALTH_PLAN"}
_ID_TYPES |= {"SS": "SSN", "SB": "SSN", "DL": "LICENSE", "PPN": "LICENSE", "AN": "ACCOUNT", "VN": "ACCOUNT"}
_NAME_PREFIXES = frozenset({"mr", "mrs", "ms", "miss", "dr", "prof", "md", "do", "rn", "np", "jr", "sr", "ii", "iii"})


def _pieces(value: str, offset: int, separator: str) -> list[tuple[str, int]]:
    found, at = [], offset
    for piece in value.split(separator):
        found.append((piece, at))
        at += len(piece) + 1
    return found


def _hl7_field(kind: str, value: str, offset: int) -> list[tuple[str, int, int]]:
    """The identifiers of one field, each repetition (~) and component (^) on its own."""
    found: list[tuple[str, int, int]] = []
    for repetition, at in _pieces(value, offset, "~"):
        components = _pieces(repetition, at, "^")
        texts = [text for text, _ in components]
        if kind == "TS":
            text, start = components[0]
            if regex.fullmatch(r"\d{8}(?:\d{2,6})?(?:\.\d+)?(?:[+-]\d{4})?", text):
                found.append(("DATE", start, start + len(text)))
        elif kind in ("XPN", "XCN"):
            names = components[:3] if kind == "XPN" else components[1:4]
            found += [("NAME", s, s + len(t)) for t, s in names if _is_name(t)]
            if kind == "XCN" and texts[0].strip():
                # the staff id; a sender that leaves it out puts the family name there ("PATEL^RAJESH")
                staff = "ID" if any(c.isdigit() for c in texts[0]) else "NAME"
                found.append((staff, components[0][1], components[0][1] + len(texts[0])))
        elif kind == "XAD":
            for index, (text, start) in enumerate(components[:5]):
                if text.strip() and index != 3:  # the state (index 3) is not below a state
                    found.append(("ZIP" if index == 4 else "ADDRESS", start, start + len(text)))
        elif kind == "PLACE":
            text, start = components[0]
            if regex.search(r"\p{L}{2}", text):
                found.append(("ADDRESS", start, start + len(text)))
        elif kind == "XTN":
            text, start = components[0]
            if sum(c.isdigit() for c in text) >= 5:
                found.append(("PHONE", start, start + len(text)))
        else:  # CX, SSN, LICENSE, HEALTH_PLAN: the identifier is the first component
            text, start = components[0]
            if any(c.isalnum() for c in text):
                code = texts[4].strip().upper() if len(texts) > 4 else ""
                named = _ID_TYPES.get(code, "ID") if kind == "CX" else kind
                found.append((named, start, start + len(text)))
    return found


def _is_name(text: str) -> bool:
    stripped = text.strip(" .")
    return bool(regex.search(r"\p{L}{2}", stripped)) and stripped.lower() not in _NAME_PREFIXES


class Hl7Recognizer(EntityRecognizer):
    """The fields of HL7 v2 segments that hold a person's identifiers (_FIELDS)."""

    def __init__(self) -> None:
        entities = ["NAME", "DATE", "ADDRESS", "ZIP", "PHONE", "MRN", "ID", "SSN", "HEALTH_PLAN", "LICENSE", "ACCOUNT"]
        super().__init__(supported_entities=entities, name=type(self).__name__, supported_language="en")

    def load(self) -> None:
        return None

    def analyze(self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None) -> list[Any]:
        if "|" not in text:
            return []
        results: list[Any] = []
        for segment in _SEGMENT.finditer(text):
            fields = _FIELDS.get(segment.group("name"))
            if fields is None:
                continue
            # MSH-1 is the separator itself: MSH's fields are one further along than others'.
            shift = 1 if segment.group("name") == "MSH" else 0
            for number, (value, at) in enumerate(_pieces(segment.group(), segment.start(), "|")):
                kind = fields.get(number + shift)
                if kind and value:
                    for entity, start, end in _hl7_field(kind, value, at):
                        results.append(RecognizerResult(entity, start, end, 0.8))
        return results


# ---- FHIR-like JSON ----

_JSON_TEXT = r'"(?:[^"\\\n]|\\.)*+"'
# A key and its string, or its array of strings ("given": ["Hodan", "Ali"]); never an array of
# objects, whose own keys are read in turn.
_JSON_VALUE = regex.compile(
    rf'"(?P<key>[A-Za-z_]\w{{0,40}})"\s*:\s*(?P<value>{_JSON_TEXT}|\[\s*{_JSON_TEXT}(?:\s*,\s*{_JSON_TEXT})*+\s*\])'
)
_JSON_STRING = regex.compile(r'"(?P<text>(?:[^"\\\n]|\\.)*)"')
_JSON_KEYS: dict[str, str] = {
    "family": "NAME",
    "given": "NAME",
    "prefix_name": "NAME",
    "line": "ADDRESS",
    "city": "ADDRESS",
    "district": "ADDRESS",
    "postalcode": "ZIP",
    "birthdate": "DATE",
    "deceaseddatetime": "DATE",
    "dob": "DATE",
    "id": "ID",
}
# The object a "display" sits in says what it names ("individual": {"display": "Sven-Erik
# Lindqvist, RN"}); a "reference" names a resource by its id ("Patient/88120").
_DISPLAY_OF = {
    "NAME": frozenset(
        {"individual", "practitioner", "performer", "participant", "author", "requester", "recorder", "asserter"}
        | {"patient", "subject", "generalpractitioner", "attender", "informant", "beneficiary", "subscriber"}
    ),
    "ADDRESS": frozenset({"serviceprovider", "location", "organization", "managingorganization", "custodian"}),
}
_OPEN_OBJECT = regex.compile(r'"(?P<key>\w+)"\s*:\s*\[?\s*\{[^{}]*$')
_REFERENCE = regex.compile(r"^(?:Patient|Practitioner|RelatedPerson|Person|Encounter|Coverage)/(?P<id>[\w.\-]+)$")


class JsonFieldRecognizer(EntityRecognizer):
    """Values under keys that name a person's identifiers in FHIR-like JSON: names, address
    lines, cities, postal codes, birth dates, a person's or a place's "display", a resource's
    id in a "reference", and an identifier's "value"."""

    def __init__(self) -> None:
        super().__init__(
            supported_entities=["NAME", "ADDRESS", "ZIP", "DATE", "ID"],
            name=type(self).__name__,
            supported_language="en",
        )

    def load(self) -> None:
        return None

    def analyze(self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None) -> list[Any]:
        if '":' not in text and '" :' not in text:
            return []
        results: list[Any] = []
        for match in _JSON_VALUE.finditer(text):
            key = match.group("key").lower()
            kind = _JSON_KEYS.get(key) or self._contextual(text, match, key)
            if kind is None:
                continue
            for value in _JSON_STRING.finditer(match.group("value")):
                start = match.start("value") + value.start("text")
                found = value.group("text")
                if key == "reference":
                    reference = _REFERENCE.match(found)
                    if reference is None:
                        continue
                    start, found = start + reference.start("id"), reference.group("id")
                if kind == "ID" and not any(c.isdigit() for c in found):
                    continue
                if kind == "NAME" and not _looks_like_a_name(found):
                    continue  # {"given": "Morphine 10mg IV"}, {"family": "Mother had breast cancer"}
                if regex.search(r"[\p{L}\d]", found):
                    results.append(RecognizerResult(kind, start, start + len(found), 0.8))
        return results

    @staticmethod
    def _contextual(text: str, match: regex.Match[str], key: str) -> str | None:
        if key in ("reference", "value"):
            before = text[max(0, match.start() - 200) : match.start()]
            identified = key == "reference" or any(cue in before for cue in ('"system"', '"identifier"', '"type"'))
            return "ID" if identified else None
        if key != "display":
            return None
        opened = _OPEN_OBJECT.search(text, max(0, match.start() - 200), match.start())
        owner = opened.group("key").lower() if opened else ""
        return next((kind for kind, owners in _DISPLAY_OF.items() if owner in owners), None)


def _looks_like_a_name(value: str) -> bool:
    """A person's name in a JSON value: no digits, at most four words, each capitalised or in a
    script without case ("Sven-Erik Lindqvist, RN" passes; "Morphine 10mg IV" does not)."""
    words = value.replace(",", " ").split()
    if not words or len(words) > 4 or any(c.isdigit() for c in value):
        return False
    return all(word[:1].isupper() or word.upper() == word.lower() for word in words)
