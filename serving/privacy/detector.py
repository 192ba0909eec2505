"""Finds the HIPAA identifiers in a text: our recognizers and a few of Presidio's own pattern
recognizers, with no NER model (none installs offline from a trusted package here; what that
misses is in the README's "Patient data" section).

Presidio's scores are taken as they are. Its context enhancer is not run: without an NLP
engine it finds no context words (it boosted nothing), and it walks every token for every
match: quadratic in the text, minutes for a 256 KB prompt full of id-like numbers, which held
both screening threads and stalled every request that needed screening (#30). Labelled
identifiers are our recognizers' job ("MRN:", "SSN", "Member ID")."""

from __future__ import annotations

import functools
import hashlib
import threading
from collections import Counter, OrderedDict
from dataclasses import dataclass
from importlib import resources
from typing import Any, Protocol

import regex
from presidio_analyzer import PatternRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts
from presidio_analyzer.predefined_recognizers import (
    MedicalLicenseRecognizer,
    UsMbiRecognizer,
    UsPassportRecognizer,
    UsSsnRecognizer,
)

from serving.privacy import forms, interchange, labelled, national_ids, people, recognizers, structure, towns

# Placeholder types, and the Presidio entities each covers.
ENTITY_TYPES: dict[str, str] = {
    "NAME": "NAME",
    "DATE": "DATE",
    "AGE": "AGE",
    "PHONE": "PHONE",
    "EMAIL": "EMAIL",
    "US_SSN": "SSN",
    "MRN": "MRN",
    "NPI": "NPI",
    "HEALTH_PLAN": "HEALTH_PLAN",
    "US_MBI": "HEALTH_PLAN",
    "ACCOUNT": "ACCOUNT",
    "LICENSE": "LICENSE",
    "MEDICAL_LICENSE": "LICENSE",
    "US_PASSPORT": "LICENSE",
    "VEHICLE": "VEHICLE",
    "DEVICE": "DEVICE",
    "URL": "URL",
    "IP": "IP",
    "ADDRESS": "ADDRESS",
    "ZIP": "ZIP",
    "ID": "ID",
    "SSN": "SSN",
    "US_ITIN": "SSN",
}
SCORE_THRESHOLD = 0.4
RECENT_TEXTS = 4096


@dataclass(frozen=True, slots=True)
class Finding:
    type: str  # one of TYPES
    start: int
    end: int


class _Recognizer(Protocol):
    """Ours: Presidio recognizers that need no NLP artifacts."""

    supported_entities: list[str]

    def analyze(self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None) -> list[Any]: ...


class PhiDetector:
    """Runs every recognizer, boosts Presidio's own by their context words, keeps what scores
    SCORE_THRESHOLD or more. Not AnalyzerEngine.analyze: it deep-copies every result and
    lemmatises the whole text for the context of recognizers that have none (170 ms for a
    32 KB prompt, against ~30 ms here)."""

    def __init__(self) -> None:
        self._names = recognizers.NameRecognizer()
        self._ours: list[_Recognizer] = [
            self._names,
            recognizers.DateRecognizer(),
            recognizers.AgeRecognizer(),
            recognizers.PhoneRecognizer(),
            recognizers.EmailRecognizer(),
            recognizers.MedicalRecordRecognizer(),
            recognizers.NpiRecognizer(),
            recognizers.HealthPlanRecognizer(),
            recognizers.AccountRecognizer(),
            recognizers.LicenseRecognizer(),
            recognizers.VehicleRecognizer(),
            recognizers.DeviceRecognizer(),
            recognizers.AddressRecognizer(),
            recognizers.ZipCodeRecognizer(),
            recognizers.UrlRecognizer(),
            recognizers.IpRecognizer(),
            labelled.LabelledMrnRecognizer(),
            labelled.LabelledSsnRecognizer(),
            labelled.LabelledPlanRecognizer(),
            labelled.LabelledAccountRecognizer(),
            labelled.LabelledLicenseRecognizer(),
            labelled.LabelledIdRecognizer(),
            labelled.LabelledVehicleRecognizer(),
            labelled.LabelledDeviceRecognizer(),
            labelled.AgeInWordsRecognizer(),
            labelled.MoreDatesRecognizer(),
            labelled.PostcodeRecognizer(),
            labelled.FacilityRecognizer(),
            labelled.PlaceRecognizer(),
            labelled.InternationalPhoneRecognizer(),
            labelled.CuedNameRecognizer(
                recognizers.common_words(), clinical_terms(), self._names.first, self._names.last
            ),
            people.PeopleByRoleRecognizer(
                recognizers.common_words(), clinical_terms(), self._names.first, self._names.last
            ),
            towns.TownRecognizer(self._names.first, self._names.last),
            national_ids.NationalIdRecognizer(),
            national_ids.NumberInProseRecognizer(),
            forms.WrittenDateRecognizer(),
            forms.OtherLanguageDateRecognizer(),
            forms.DayMonthRecognizer(),
            forms.AgeBesideNameRecognizer(),
            forms.LabelDecidesRecognizer(clinical_terms()),
            forms.PostcodeAbroadRecognizer(),
            forms.InitialsRecognizer(clinical_terms(), recognizers.common_words(), self._names.last),
            forms.StreetNameRecognizer(),
            forms.PlaceAfterCueRecognizer(clinical_terms(), self._names.first),
            forms.NameBeforeAgeRecognizer(clinical_terms(), recognizers.common_words(), self._names.first),
            forms.FacilityFirstRecognizer(recognizers.common_words()),
            forms.StreetAbroadRecognizer(),
            forms.LabelledPlaceRecognizer(clinical_terms()),
            forms.AddressLineRecognizer(),
            forms.CjkFacilityRecognizer(),
            forms.NicknameAndSpeakerRecognizer(recognizers.common_words()),
            structure.ChatSpeakerRecognizer(),
            structure.MentionRecognizer(),
            structure.BilingualNameRecognizer(clinical_terms()),
            structure.TableRecognizer(),
            structure.PedigreeRecognizer(),
            structure.ListEntryNameRecognizer(),
            structure.PrefixedNumberRecognizer(),
            structure.SpokenPhoneRecognizer(),
            structure.SpokenIdRecognizer(),
            interchange.Hl7Recognizer(),
            interchange.JsonFieldRecognizer(),
        ]
        self._clinical = clinical_terms()
        self._diagnosis = diagnosis_words(self._names.first | self._names.last)
        self._common = recognizers.common_words()
        labelled.places()  # GeoNames' table (~0.5 s): loaded with the detector, not by a request
        towns.big_towns()  # and the towns of 50,000 or more, and the countries (a first request would pay)
        towns.countries()
        self._presidio: list[PatternRecognizer] = [
            UsSsnRecognizer(),
            UsMbiRecognizer(),
            MedicalLicenseRecognizer(),
            UsPassportRecognizer(),
        ]
        self._recent: OrderedDict[bytes, list[Finding]] = OrderedDict()
        self._lock = threading.Lock()  # screening runs in worker threads

    def find(self, text: str) -> list[Finding]:
        """Non-overlapping findings in text order: where two overlap, the longer wins (a date
        inside an address, a phone number inside a URL), then the higher score.

        Remembered by a digest of the text (types and offsets only, never the text): a chat
        resends its whole history every turn, and only the newest message is new."""
        if not text.strip():
            return []
        key = hashlib.blake2b(text.encode(), digest_size=16).digest()
        with self._lock:
            known = self._recent.get(key)
            if known is not None:
                self._recent.move_to_end(key)
                return known
        found = self.find_uncached(text)
        with self._lock:
            self._recent[key] = found
            if len(self._recent) > RECENT_TEXTS:
                self._recent.popitem(last=False)
        return found

    def find_uncached(self, original: str) -> list[Finding]:
        # A scanned form's swapped letters and digits read as meant ("D0B: O7/l9/l931"): the
        # same length, so every offset found in it is the original's.
        text = structure.ocr_shadow(original)
        results: list[RecognizerResult] = []
        for ours in self._ours:
            results.extend(ours.analyze(text, ours.supported_entities))
        contextual: list[RecognizerResult] = []
        for theirs in self._presidio:
            contextual.extend(theirs.analyze(text, theirs.supported_entities))
        # Ours first on a tie: a labelled "MRN: MR9412800" is an MRN even if it is also a
        # well-formed DEA number.
        # Clinical words are never identifiers, whatever a recognizer thought ("TIA", "JAMA").
        results = [_within_paragraph(text, r) for r in results]
        results = [
            r
            for r in results
            if r.end - r.start >= 2
            and not self._clinical_phrase(text[r.start : r.end])
            and text[r.start : r.end].strip(" .,:;'’()").lower() not in self._diagnosis
            and not _clinical_reading(text, r.start, r.end)
            and not _abbreviation_as_name(text, r)
        ]
        contextual = [r for r in contextual if text[r.start : r.end].strip(" .,'’").lower() not in self._clinical]
        kept = [(r, 0) for r in results if r.score >= SCORE_THRESHOLD]
        kept += [(r, 1) for r in contextual if r.score >= SCORE_THRESHOLD]
        ranked = [
            r for r, _ in sorted(kept, key=lambda pair: (-(pair[0].end - pair[0].start), -pair[0].score, pair[1]))
        ]
        taken: list[Finding] = []
        occupied = bytearray(len(text))  # one byte a character: overlap checks in C, not O(n²)
        for result in ranked:
            if occupied.find(1, result.start, result.end) >= 0:
                continue
            occupied[result.start : result.end] = b"\x01" * (result.end - result.start)
            taken.append(Finding(ENTITY_TYPES[result.entity_type], result.start, result.end))
        taken += _other_mentions(text, taken, occupied, self._clinical | self._common)
        return sorted(taken, key=lambda f: f.start)

    def _clinical_phrase(self, found: str) -> bool:
        """A clinical word, or clinical and common words only ("SBAR HANDOVER", "ICD check")."""
        words = [word.strip(" .,:;'’()").lower() for word in found.split()]
        if " ".join(words) in self._clinical:
            return True
        named = any(w in self._clinical and len(w) >= 3 for w in words)  # not an initial: "Holly K. Reeves"
        return named and all(w in self._clinical or w in self._common for w in words)

    @staticmethod
    def counts(findings: list[Finding]) -> dict[str, int]:
        return dict(Counter(f.type for f in findings))


# Readings that look like dates or ids: a duration or gestation in weeks ("6/52", "12/40"), in
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
    rf"(?i:\b(?:{labelled.RELATIVE_WORDS}|lady|gentleman|man|woman)\W{{0,3}})"
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


@functools.cache
def clinical_terms() -> frozenset[str]:
    """data/medical_terms.txt: abbreviations, eponyms and units detection never removes."""
    text = resources.files("serving.privacy").joinpath("data", "medical_terms.txt").read_text()
    return frozenset(word.lower() for line in text.splitlines() if not line.startswith("#") for word in line.split())


def diagnosis_words(names: frozenset[str]) -> frozenset[str]:
    """The words of ICD-10-CM's diagnosis descriptions (simple_icd_10_cm, the code set the
    consultation codes with), of four letters or more, that no name list or town knows: found
    alone, "Klebsiella", "Nephropathy", "Dialysis" are clinical words, never a name or a place
    ("Bell", "Stone", "Young" stay names; "West China Hospital" is no single word)."""
    return _diagnosis_vocabulary() - names - labelled.places_lowered()


@functools.cache
def _diagnosis_vocabulary() -> frozenset[str]:
    import simple_icd_10_cm as icd  # (its 98,000 descriptions: read once a process, ~0.5 s)

    words: set[str] = set()
    for code in icd.get_all_codes(with_dots=False):
        words.update(regex.findall(r"[a-z]{4,}+", icd.get_description(code).lower()))
    return frozenset(words)


@functools.cache
def shared_detector() -> PhiDetector:
    """One detector per process: building Presidio's registry takes ~0.3 s."""
    return PhiDetector()
