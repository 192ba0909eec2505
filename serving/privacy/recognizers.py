"""Recognizers for the HIPAA identifiers Presidio has no (offline) recognizer for, or none
that fits clinical text: names without an NER model, dates in the forms notes use, ages over
89, medical record numbers, US addresses and ZIP codes, phone and fax numbers, emails, plan,
account, vehicle and device identifiers.

Each is a Presidio EntityRecognizer over a few compiled patterns whose named group `id` is
the span reported (so "MRN: 00123456" masks the number, not the label). The patterns are
case-sensitive where case carries meaning (names), case-insensitive elsewhere."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import regex
from presidio_analyzer import EntityRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from orchestrator.npi import npi_is_valid

_I = regex.IGNORECASE


@dataclass(frozen=True, slots=True)
class Rule:
    pattern: regex.Pattern[str]
    score: float


def rule(pattern: str, score: float, flags: int = _I) -> Rule:
    return Rule(regex.compile(pattern, flags | regex.VERBOSE), score)


class RegexRecognizer(EntityRecognizer):
    """Reports the `id` group (or the whole match) of each rule, at the rule's score."""

    rules: tuple[Rule, ...] = ()
    entity = ""

    def __init__(self) -> None:
        super().__init__(supported_entities=[self.entity], name=type(self).__name__, supported_language="en")

    def load(self) -> None:
        return None

    def analyze(self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None) -> list[Any]:
        results = []
        for each in self.rules:
            for match in each.pattern.finditer(text):
                start, end = match.span("id") if "id" in each.pattern.groupindex else match.span()
                if start < end and self.accept(text, start, end):
                    results.append(RecognizerResult(self.entity, start, end, each.score))
        return results

    def accept(self, text: str, start: int, end: int) -> bool:
        return True


_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_DAY = r"(?:0?[1-9]|[12]\d|3[01])(?:st|nd|rd|th)?"
_MM = r"(?:0?[1-9]|1[0-2])"
_DD = r"(?:0?[1-9]|[12]\d|3[01])"
_YEAR = r"(?:19|20)\d\d"


class DateRecognizer(RegexRecognizer):
    """Every date element finer than the year (HIPAA keeps the year): numeric dates in US, ISO
    and European orders, written months with or without a day, ISO timestamps. A bare month
    and day ("3/14") counts after a word that introduces a date, so that ratios and blood
    pressures (120/80) do not."""

    entity = "DATE"
    rules = (
        rule(rf"\b(?P<id>{_YEAR}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])(?:[T\s]\d\d:\d\d(?::\d\d)?)?)\b", 0.9),
        rule(rf"\b(?P<id>{_YEAR}/(?:0?[1-9]|1[0-2])/{_DD})\b", 0.85),
        rule(rf"(?<![\d/.-])(?P<id>{_MM}[/-]{_DD}[/-](?:{_YEAR}|\d\d))(?![\d/-])", 0.85),
        rule(rf"(?<![\d.])(?P<id>{_DD}\.{_MM}\.{_YEAR})(?![\d.])", 0.8),
        rule(rf"\b(?P<id>{_MONTH}\s+{_DAY}(?:,?\s+{_YEAR})?)\b", 0.85),
        rule(rf"\b(?P<id>{_DAY}\s+(?:of\s+)?{_MONTH},?(?:\s+{_YEAR})?)\b", 0.85),
        rule(rf"\b(?P<id>{_MONTH},?\s+{_YEAR})\b", 0.8),
        rule(
            rf"\b(?:on|dated?|since|from|until|till|to|by|dob|d\.o\.b\.|born|admitted|discharged|seen|visit)"
            rf"[:\s]+(?P<id>{_MM}/{_DD})(?![\d/])",
            0.7,
        ),
    )

    def accept(self, text: str, start: int, end: int) -> bool:
        # "may 5" is a date; "may" alone, or "March" as a name, never reaches here (a day or
        # year is required); "Mar 3" in "MAR 3 units" (a medication record) is rare enough.
        return True


class AgeRecognizer(RegexRecognizer):
    """Ages over 89 (HIPAA aggregates them into "90 or older"); younger ages are not identifiers."""

    entity = "AGE"
    _AGE = r"(?P<id>(?:9\d|1[01]\d))"
    rules = (
        rule(rf"\b{_AGE}(?:\s*|-)(?:years?|yrs?|y)(?:\s*|-)(?:old|o\.?)\b", 0.85),
        rule(rf"\b{_AGE}\s?(?:yo|y/o|y\.o\.)(?!\w)", 0.85),
        rule(rf"\b(?:aged?|age\s*:)\s*{_AGE}\b", 0.85),
        rule(rf"\b{_AGE}[-\s]?(?:year|yr)[-\s]old\b", 0.85),
        rule(rf"\b{_AGE}\s?(?:M|F)\b(?=[\s,.;])", 0.6, 0),
    )


class UrlRecognizer(RegexRecognizer):
    """Web addresses with a scheme or www., and bare domains under common TLDs. Presidio's own
    tries every TLD in one pattern: 230 ms for 32 KB, against 1 ms here."""

    entity = "URL"
    rules = (
        rule(r"(?P<id>\b(?:https?|ftp)://[^\s<>\"'()\[\]]+|\bwww\.[^\s<>\"'()\[\]]+)(?<![.,;:!?])", 0.9),
        rule(
            r"(?<![@\w.-])(?P<id>(?:[a-z0-9-]+\.)+(?:com|org|net|edu|gov|io|us|info|biz|health|care|me|co)"
            r"(?:/[^\s<>\"'()]*)?)(?<![.,;:!?])(?![\w@])",
            0.6,
        ),
    )


class IpRecognizer(RegexRecognizer):
    entity = "IP"
    _OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
    rules = (
        rule(rf"(?<![\d.])(?P<id>{_OCTET}(?:\.{_OCTET}){{3}})(?![\d.]*\d)", 0.8),
        rule(
            r"(?<![\w:])(?P<id>(?:[0-9a-f]{1,4}:){7}[0-9a-f]{1,4}|(?:[0-9a-f]{1,4}:){1,6}:[0-9a-f]{1,4})(?![\w:])", 0.8
        ),
    )


class PhoneRecognizer(RegexRecognizer):
    """North American numbers in the usual spellings, with or without +1 and an extension,
    and phone or fax numbers written any way after a label. Presidio's phonenumbers-based
    recognizer is also registered for international numbers."""

    entity = "PHONE"
    rules = (
        rule(
            r"(?<![\w+])(?P<id>(?:\+?1[\s.-]?)?(?:\(\d{3}\)\s?|\d{3}[\s.-])\d{3}[\s.-]\d{4}"
            r"(?:\s?(?:x|ext\.?)\s?\d{1,5})?)(?!\d)",
            0.75,
        ),
        rule(
            r"\b(?:phone|tel|telephone|cell|mobile|fax|pager|call|text|contact|ph)\b[.#:\s]*(?:no\.?|number|\#)?[:\s]*"
            r"(?P<id>\+?[\d(][\d\s().-]{6,18}\d)",
            0.85,
        ),
    )


class EmailRecognizer(RegexRecognizer):
    """Presidio's own validates with tldextract, which fetches the suffix list from the
    network on first use: this one needs nothing."""

    entity = "EMAIL"
    rules = (rule(r"(?<![\w.+-])(?P<id>[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})\b", 0.95),)


# Between a label and its value: spaces, punctuation, and JSON's quotes ({"mrn": "00482913"}).
# (possessive and bounded: two unbounded runs of the same class side by side made a long run of
# separators after a label quadratic, 8 s for 30 KB of tab-quote pairs)
_ID_LABEL_SEP = r"[\s.:#=\"'_-]{0,8}+(?:(?:number|num|no\.?|\#|id)[\s.:#=\"'_-]{0,8}+)?"


class MedicalRecordRecognizer(RegexRecognizer):
    """MRNs: the formats hospitals print (digits, a site prefix, dashes) after any of their
    labels; long digit runs after "record", "chart" or "patient id"."""

    entity = "MRN"
    rules = (
        rule(
            rf"\b(?:mrn|mr|med\s*rec|medical\s+record|hospital\s+(?:number|no|id)|chart|patient\s+id|pt\s+id|"
            rf"encounter|acct\s+mrn|record){_ID_LABEL_SEP}(?P<id>[A-Z]{{0,4}}[-\s]?\d[\d-]{{4,12}}\d|[A-Z]{{1,4}}\d{{4,12}})\b",
            1.0,
        ),
    )


class NpiRecognizer(RegexRecognizer):
    """NPIs with a valid check digit; with a label, any ten digits starting with 1 or 2."""

    entity = "NPI"
    rules = (rule(r"(?<![\d-])(?P<id>[12]\d{9})(?![\d-])", 0.6),)

    def accept(self, text: str, start: int, end: int) -> bool:
        # the label decides: "(NPI 1437219856)" whatever its check digit (made-up and mistyped ones too)
        return npi_is_valid(text[start:end]) or bool(_NPI_LABEL.search(text[max(0, start - 12) : start]))


_NPI_LABEL = regex.compile(r"(?i:\bnpi)(?:\s*(?:no\.?|number|\#))?[\s:#.(]{0,6}+$")


class HealthPlanRecognizer(RegexRecognizer):
    """Health plan beneficiary numbers: Medicare MBIs (Presidio too), and member, subscriber,
    policy or group ids after their label."""

    entity = "HEALTH_PLAN"
    rules = (
        rule(
            rf"\b(?:member|subscriber|policy|group|plan(?=\s+(?:id|number|no\.?|\#))|insurance|medicaid|medicare|"
            rf"beneficiary|mbi|hicn|ins)(?:\s+(?:id|number|no\.?|\#))?{_ID_LABEL_SEP}(?P<id>(?=[A-Z-]*\d)[A-Z0-9]{{1,5}}[-\s]?[A-Z0-9]{{3,14}}"
            rf"(?:-[A-Z0-9]{{2,6}})?)\b",
            1.0,
        ),
    )

    def accept(self, text: str, start: int, end: int) -> bool:
        return any(char.isdigit() for char in text[start:end])


class AccountRecognizer(RegexRecognizer):
    entity = "ACCOUNT"
    rules = (
        rule(
            rf"\b(?:account|acct|billing|invoice|claim|card){_ID_LABEL_SEP}(?P<id>[A-Z]{{0,4}}[-\s]?\d[\d-]{{4,18}}\d)\b",
            1.0,
        ),
    )


class LicenseRecognizer(RegexRecognizer):
    """Certificate and licence numbers after their label (driver's licence, DEA, state licence)."""

    entity = "LICENSE"
    rules = (
        rule(
            rf"\b(?:licen[cs]e|lic|dl|dea|certificate|cert|passport){_ID_LABEL_SEP}(?P<id>[A-Z]{{0,3}}[-\s]?\d{{4,12}}|"
            rf"[A-Z]{{1,3}}\d{{5,10}})\b",
            1.0,
        ),
    )


_VIN_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)
_VIN_VALUES = {**{str(d): d for d in range(10)}, **dict(zip("ABCDEFGH", range(1, 9), strict=True))}
_VIN_VALUES.update(dict(zip("JKLMNPR", (1, 2, 3, 4, 5, 7, 9), strict=True)))
_VIN_VALUES.update(dict(zip("STUVWXYZ", range(2, 10), strict=True)))


def vin_is_valid(vin: str) -> bool:
    vin = vin.upper()
    if len(vin) != 17 or any(char not in _VIN_VALUES for char in vin):
        return False
    total = sum(_VIN_VALUES[char] * weight for char, weight in zip(vin, _VIN_WEIGHTS, strict=True))
    check = total % 11
    return vin[8] == ("X" if check == 10 else str(check))


class VehicleRecognizer(RegexRecognizer):
    """VINs by their check digit; plates after their label."""

    entity = "VEHICLE"
    rules = (
        rule(r"\b(?P<id>[A-HJ-NPR-Z0-9]{17})\b", 0.85),
        rule(
            r"\b(?:licen[cs]e\s+plate|plate|tag|vin)[\s.:#\"'_]*(?:number|no\.?|\#)?[\s.:#\"'_]*(?P<id>(?=[A-Z-]*\d)[A-Z0-9-]{4,17})\b",
            0.8,
        ),
    )

    def accept(self, text: str, start: int, end: int) -> bool:
        value = text[start:end]
        return vin_is_valid(value) if len(value) == 17 else any(char.isdigit() for char in value)


class DeviceRecognizer(RegexRecognizer):
    """Device identifiers and serial numbers (pacemakers, pumps, CGMs) after their label, and
    GS1 UDIs."""

    entity = "DEVICE"
    rules = (
        rule(
            r"\b(?:serial|s/n|sn|device\s+id|udi|imei|lot)[\s.:#\"'_]*(?:number|no\.?|\#)?[\s.:#\"'_]*"
            r"(?P<id>(?=[A-Z-]*\d)[A-Z0-9][A-Z0-9-]{4,24}[A-Z0-9])\b",
            0.85,
        ),
        rule(r"(?P<id>\(01\)\d{14}(?:\(\d{2}\)[A-Z0-9]{1,20}){1,4})", 0.9),
    )

    def accept(self, text: str, start: int, end: int) -> bool:
        return any(char.isdigit() for char in text[start:end])
