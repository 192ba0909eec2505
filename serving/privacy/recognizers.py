"""Recognizers for the HIPAA identifiers Presidio has no (offline) recognizer for, or none
that fits clinical text: names without an NER model, dates in the forms notes use, ages over
89, medical record numbers, US addresses and ZIP codes, phone and fax numbers, emails, plan,
account, vehicle and device identifiers.

Each is a Presidio EntityRecognizer over a few compiled patterns whose named group `id` is
the span reported (so "MRN: 00123456" masks the number, not the label). The patterns are
case-sensitive where case carries meaning (names), case-insensitive elsewhere."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from typing import Any

import regex
from presidio_analyzer import EntityRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts
from wordfreq import zipf_frequency

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


# USPS Publication 28, C1 street suffixes (the common ones, with their abbreviations).
_STREET_SUFFIX = (
    r"(?:street|st|streets|avenue|ave|av|road|rd|roads|boulevard|blvd|lane|ln|drive|dr|drives|court|ct|courts|"
    r"place|pl|way|ways|terrace|ter|circle|cir|circles|parkway|pkwy|parkways|highway|hwy|square|sq|squares|"
    r"trail|trl|loop|row|alley|aly|pike|plaza|plz|path|alley|annex|arcade|bayou|beach|bend|bluffs?|bottom|"
    r"branch|bridge|brg|brooks?|burgs?|bypass|camp|canyon|cape|causeway|center|ctr|cliffs?|club|commons?|"
    r"corners?|course|coves?|creek|crk|crescent|crest|crossing|xing|crossroad|curve|dale|dam|divide|estates?|"
    r"expressway|expy|extensions?|ext|falls?|ferry|fields?|flats?|fords?|forest|forges?|forks?|fort|freeway|"
    r"fwy|gardens?|gdns|gateway|glens?|greens?|groves?|harbors?|haven|heights|hts|hills?|hollow|inlet|islands?|"
    r"isle|junctions?|jct|keys?|knolls?|lakes?|land|landing|lights?|loaf|locks?|lodge|mall|manors?|meadows?|"
    r"mews|mills?|mission|motorway|mount|mountains?|mtn|neck|orchard|oval|overpass|parks?|pass|passage|pines?|"
    r"plains?|point|points|pt|ports?|prairie|radial|ramp|ranch|rapids?|rest|ridges?|river|route|rte|rue|run|"
    r"shoals?|shores?|skyway|springs?|spurs?|station|sta|stravenue|stream|summit|throughway|trace|track|"
    r"trafficway|trailer|tunnel|turnpike|tpke|underpass|unions?|valleys?|viaduct|views?|villages?|ville|vista|"
    r"walks?|wall|wells?|close|rise|chase|parade|gate|wynd|grove|lines|nagar|marg)\.?"
)
_STATES = (
    "AL|AK|AZ|AR|CA|CO|CT|DE|DC|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT|NE|NV|NH|NJ|NM|NY|NC|ND|OH|OK|"
    "OR|PA|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY|PR"
)


# The town, suburb and county that follow a street or a facility: ", Headington, Oxford",
# ", Old Airport Road, Bengaluru", ", Co. Galway" (capitalised, up to three parts).
# (a word ends at a word's end: "Aberystwyth SY23 1DE" leaves the postcode whole)
PLACE_TAIL = r"(?:,[ ](?-i:(?:Co\.[ ])?\p{Lu}[\p{L}'’-]+\b(?:[ ]\p{Lu}[\p{L}'’.-]+\b(?!\d)){0,2})){0,3}"


class AddressRecognizer(RegexRecognizer):
    """Street addresses: a house number, one to four words and a street type, with a unit;
    PO boxes."""

    entity = "ADDRESS"
    rules = (
        rule(
            rf"\b(?P<id>\d{{1,6}}[A-Z]?\s+(?:[NSEW]\.?\s+)?(?-i:(?:(?:[A-Z][\w'-]*|\d+(?:st|nd|rd|th))\s+){{1,4}}){_STREET_SUFFIX}"
            rf"(?:\s+(?:[NSEW]|NE|NW|SE|SW)\b\.?)?(?:,?\s+(?:apt|apartment|unit|suite|ste|\#)\.?\s*[\w-]+)?{PLACE_TAIL})(?!\w)",
            0.85,
        ),
        rule(r"\b(?P<id>p\.?\s?o\.?\s+box\s+\d{1,6})\b", 0.85),
        # A city before a state's abbreviation (geographic units smaller than a state).
        rule(rf"\b(?P<id>[A-Z][a-z]+(?:\s[A-Z][a-z]+){{0,2}}),\s(?:{_STATES})\s+\d{{5}}\b", 0.85, 0),
        # Without a ZIP, not before MD or PA: "Bob Reed, MD" is a doctor.
        rule(
            rf"\b(?P<id>[A-Z][a-z]+(?:\s[A-Z][a-z]+){{0,2}}),\s(?:{_STATES.replace('MD|', '').replace('PA|', '')})\b",
            0.7,
            0,
        ),
    )


class ZipCodeRecognizer(RegexRecognizer):
    """ZIP codes after a state, or after their label."""

    entity = "ZIP"
    rules = (
        rule(rf"\b(?:{_STATES}),?\s+(?P<id>\d{{5}}(?:-\d{{4}})?)\b", 0.85, 0),
        rule(r"\b(?:zip|zip\s*code|postal\s*code)[\s.:#\"'_]*(?P<id>\d{5}(?:-\d{4})?)\b", 0.9),
    )


@functools.cache
def _names(resource: str) -> frozenset[str]:
    text = resources.files("serving.privacy").joinpath("data", resource).read_text()
    return frozenset(line.strip().lower() for line in text.splitlines() if line.strip())


@functools.cache
def common_words() -> frozenset[str]:
    text = resources.files("serving.privacy").joinpath("data", "not_names.txt").read_text()
    return frozenset(word.lower() for line in text.splitlines() if not line.startswith("#") for word in line.split())


_TITLE = r"(?:mr|mrs|ms|miss|mx|dr|prof|sr|sra|srta|nurse|rn|np|pa|smt|shri|sri|herr|frau|dhr|mevr|mme|mlle|matron)\.?"
_RARE_NAME_ZIPF = 2.5  # wordfreq's Zipf: two capitalised words both rarer than this are a name
# Species names: after a genus ("Klebsiella Pneumoniae") or an initial ("E. coli"), an organism, no person.
SPECIES = frozenset(
    {"pneumoniae", "aureus", "coli", "pylori", "difficile", "influenzae", "faecalis", "aeruginosa", "albicans"}
    | {"tuberculosis", "meningitidis", "pyogenes", "agalactiae", "gonorrhoeae", "trachomatis", "vulgaris", "fumigatus"}
)
# Words after which a capitalised word is a person: roles, relations, sign-offs.
_CUE = (
    r"(?:patient|pt|name|named|called|son|daughter|wife|husband|mother|mom|father|dad|brother|sister|spouse|"
    r"partner|fianc[eé]e?|grandson|granddaughter|grandmother|grandfather|aunt|uncle|niece|nephew|cousin|friend|"
    r"neighbou?r|caregiver|guardian|contact|attending|resident|physician|surgeon|provider|pcp|referred\s+by|"
    r"seen\s+by|care\s+of|signed|signed\s+by|dictated\s+by|accompanied\s+by|spoke\s+(?:with|to)|discussed\s+with|cc|dear|"
    r"nurse|doctor|therapist|pharmacist|colleague|roommate|boyfriend|girlfriend|baby|child|infant|toddler|"
    r"teen|kid|twin|stepson|stepdaughter|i\s+am|i'm|this\s+is|name\s+is)"
)
_PARTICLE = r"(?:van|von|de|del|della|da|di|la|le|du|bin|ibn|al|st\.?|Ní|Ó|Ó|Mac|Nic|Ua|dos|das)"
# Possessive (++, *+): a run like "Aaa-Aaa-Aaa-…" must not backtrack (quadratic or worse).
# Any script's capitals and small letters (José, Ciarán, Wróblewski, Ōkubo, Nguyễn).
_CAP = r"(?:\p{Lu}\p{Ll}++(?:['’-]\p{Lu}?\p{Ll}++)*+|\p{Lu}'\p{Lu}\p{Ll}++|Mc\p{Lu}\p{Ll}++|\p{Lu}{2,}+)"
_NAME_RUN = regex.compile(
    rf"(?<![\w'’-])(?P<run>{_CAP}(?:\s+(?:[A-Z]\.?|{_PARTICLE})(?=\s))?(?:\s+{_PARTICLE})?(?:[ ]{_CAP}){{0,2}})"
    rf"(?![\w'’-])"
)
_CUE_WORD = regex.compile(_CUE.replace(r"\s+", " "))
_LABEL_WORDS = frozenset({"id", "mrn", "dob", "ssn", "npi", "dea", "nhs", "sex", "age", "ward", "bed", "rm", "room"})
_TITLE_WORD = regex.compile(
    r"(?:mr|mrs|ms|miss|mx|dr|prof|sr|sra|srta|rev|sister|nurse|smt|shri|sri|herr|frau|dhr|mevr|mme|mlle|matron)"
)
_TITLED = regex.compile(rf"(?i:\b{_TITLE})\s*(?:\p{{Lu}}\.\s*){{0,2}}$")  # "Dr. R. Gupta": initials between
_CUED = regex.compile(rf"(?i:\b{_CUE}\b)[\s:,-]*(?:(?i:my|our|his|her|their|the)\s+)?$")
_LAST_FIRST = regex.compile(rf"(?<![\w'-])(?P<last>{_CAP}),\s*(?P<first>[A-Z][a-z]+)(?:\s+[A-Z]\.?)?(?![\w'-])")
_LOWER_CUED = regex.compile(
    r"(?i:\b(?:my|our|his|her)\s+(?:son|daughter|wife|husband|mother|mom|father|dad|brother|sister|baby|child|"
    r"partner|friend)|name\s+is|named|called|i\s+am|i'm|this\s+is)\s+(?P<first>[a-z]{2,})(?:\s+(?P<last>[a-z]{2,}))?\b"
)
# What a capitalised word before it says it is not a person (an eponym: "Graves disease").
_EPONYM_AFTER = regex.compile(
    r"^(?:['’]s?)?\s+(?i:disease|syndrome|sign|signs|test|score|scale|criteria|palsy|phenomenon|reflex|"
    r"maneuver|manoeuvre|procedure|operation|fracture|ulcer|lymphoma|sarcoma|tumou?r|classification|"
    r"ophthalmopathy|thyroiditis|encephalopathy|disorder|protocol|catheter|bag|tube|law|formula|equation|"
    r"stage|grade|type|node|nodes|duct|point|position|triad|method|index|coma\s+scale|hospital|clinic|"
    r"center|centre|medical|health|university|county|street|avenue|road|pharmacy|insurance|health\s+plan)\b"
)


class NameRecognizer(EntityRecognizer):
    """Person names without an NER model: capitalised runs scored by who they look like.

    A run counts when a title or a cue word ("patient", "daughter", "seen by") comes before
    it, when it is a known first name followed by another capitalised word, or when it is
    "Last, First" from the census lists. A single known name with no cue counts only if it
    is not also a common or clinical word (not_names.txt). Eponyms ("Graves disease",
    "Parkinson's") are not names. Lowercase names count only after "my son", "name is".
    The lists are the 1990 US Census first names and the surnames covering 85% of people."""

    entity = "NAME"

    def __init__(self) -> None:
        super().__init__(supported_entities=[self.entity], name="NameRecognizer", supported_language="en")
        self.first = _names("first_names.txt")
        self.last = _names("surnames.txt")
        self.common = common_words()

    def load(self) -> None:
        return None

    def analyze(self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None) -> list[Any]:
        results = [RecognizerResult(self.entity, start, end, score) for start, end, score in self._runs(text)]
        for match in _LAST_FIRST.finditer(text):
            last, first = match.group("last").lower(), match.group("first").lower()
            if first in self.first and first not in self.common and last in self.last:
                results.append(RecognizerResult(self.entity, match.start(), match.end(), 0.8))
        for match in _LOWER_CUED.finditer(text):
            if match.group("first") in self.first and match.group("first") not in self.common:
                end = match.end("last") if match.group("last") in self.last else match.end("first")
                results.append(RecognizerResult(self.entity, match.start("first"), end, 0.7))
        return results

    def _runs(self, text: str) -> Iterable[tuple[int, int, float]]:
        for match in _NAME_RUN.finditer(text):
            start, end = match.span("run")
            if _EPONYM_AFTER.match(text[end : end + 40]):
                continue
            # A run may begin with capitalised words that are not names ("Patient John Smith",
            # "Called Maria"): they move into the context before the name.
            words = match.group("run").split()
            while words and self._not_a_name(words[0]):
                start = text.index(words[0], start) + len(words[0])
                words = words[1:]
            if not words:
                continue
            start = text.index(words[0], start)
            before = text[max(0, start - 40) : start]
            score = self._score(words, titled=bool(_TITLED.search(before)), cued=bool(_CUED.search(before)))
            if score:
                yield start, end, score

    def _not_a_name(self, word: str) -> bool:
        lowered = word.lower().rstrip(".:,")
        if _CUE_WORD.fullmatch(lowered) or _TITLE_WORD.fullmatch(lowered) or lowered in _LABEL_WORDS:
            return True
        return lowered in self.common and lowered not in self.first and lowered not in self.last

    def _score(self, words: list[str], *, titled: bool, cued: bool) -> float:
        lowered = [w.lower().rstrip(".") for w in words]
        names = [w for w in lowered if len(w) > 1]
        if not names:
            return 0.0
        common = [w in self.common for w in names]
        if all(common) and not (titled or cued):
            return 0.0
        if titled:
            return 0.9
        known_first = names[0] in self.first and not common[0]
        if cued and (len(names) > 1 or names[0] in self.first or names[0] in self.last):
            return 0.85
        if known_first and len(names) > 1 and (names[-1] in self.last or names[-1] in self.first):
            return 0.85
        if known_first and len(names) > 1 and not any(common[1:]):
            return 0.7
        if len(names) > 1 and names[0] in self.first and names[-1] in self.last and not common[-1]:
            return 0.6
        if (
            len(names) > 1
            and not any(common)
            and all(len(w) > 2 and zipf_frequency(w, "en") < _RARE_NAME_ZIPF for w in names)
            and all(not w.isupper() for w in words)  # "Hx HTN": abbreviations, not a name
            and names[-1] not in SPECIES  # "Klebsiella Pneumoniae": an organism
        ):
            return 0.6  # "Grzegorz Brzęczyszczykiewicz", "Oluwadamilare Babatunde": no English reads so
        if known_first and len(names) == 1:
            return 0.5
        return 0.0
