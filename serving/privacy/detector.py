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

from serving.privacy import (
    addresses,
    ages_beside_names,
    cued_names,
    dates_and_ages,
    form_fields,
    forms,
    interchange,
    labelled,
    names,
    national_ids,
    people,
    phones,
    places,
    places_abroad,
    recognizers,
    spoken_and_scanned,
    spoken_dates,
    structure,
    towns,
)
from serving.privacy.finding_checks import (
    Finding,
    _abbreviation_as_name,
    _clinical_reading,
    _other_mentions,
    _within_paragraph,
)

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
        self._names = names.NameRecognizer()
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
            addresses.AddressRecognizer(),
            addresses.ZipCodeRecognizer(),
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
            dates_and_ages.AgeInWordsRecognizer(),
            dates_and_ages.MoreDatesRecognizer(),
            places.PostcodeRecognizer(),
            places.FacilityRecognizer(),
            places.PlaceRecognizer(),
            phones.InternationalPhoneRecognizer(),
            cued_names.CuedNameRecognizer(names.common_words(), clinical_terms(), self._names.first, self._names.last),
            people.PeopleByRoleRecognizer(names.common_words(), clinical_terms(), self._names.first, self._names.last),
            towns.TownRecognizer(self._names.first, self._names.last),
            national_ids.NationalIdRecognizer(),
            national_ids.NumberInProseRecognizer(),
            spoken_dates.WrittenDateRecognizer(),
            spoken_dates.OtherLanguageDateRecognizer(),
            spoken_dates.DayMonthRecognizer(),
            ages_beside_names.AgeBesideNameRecognizer(),
            forms.LabelDecidesRecognizer(clinical_terms()),
            forms.PostcodeAbroadRecognizer(),
            forms.InitialsRecognizer(clinical_terms(), names.common_words(), self._names.last),
            forms.StreetNameRecognizer(),
            places_abroad.PlaceAfterCueRecognizer(clinical_terms(), self._names.first),
            ages_beside_names.NameBeforeAgeRecognizer(clinical_terms(), names.common_words(), self._names.first),
            places_abroad.FacilityFirstRecognizer(names.common_words()),
            places_abroad.StreetAbroadRecognizer(),
            form_fields.LabelledPlaceRecognizer(clinical_terms()),
            form_fields.AddressLineRecognizer(),
            form_fields.CjkFacilityRecognizer(),
            form_fields.NicknameAndSpeakerRecognizer(names.common_words()),
            structure.ChatSpeakerRecognizer(),
            structure.MentionRecognizer(),
            structure.BilingualNameRecognizer(clinical_terms()),
            structure.TableRecognizer(),
            spoken_and_scanned.PedigreeRecognizer(),
            spoken_and_scanned.ListEntryNameRecognizer(),
            spoken_and_scanned.PrefixedNumberRecognizer(),
            spoken_and_scanned.SpokenPhoneRecognizer(),
            spoken_and_scanned.SpokenIdRecognizer(),
            interchange.Hl7Recognizer(),
            interchange.JsonFieldRecognizer(),
        ]
        self._clinical = clinical_terms()
        self._diagnosis = diagnosis_words(self._names.first | self._names.last)
        self._common = names.common_words()
        places.places()  # GeoNames' table (~0.5 s): loaded with the detector, not by a request
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
        text = spoken_and_scanned.ocr_shadow(original)
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
    return _diagnosis_vocabulary() - names - places.places_lowered()


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
