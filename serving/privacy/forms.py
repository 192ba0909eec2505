"""Identifiers in the forms notes write them that the other recognizers do not read: compact and
spoken dates ("21Mar24", "the fourteenth of March", "12 de junio"), day/month without a year
("seen 3/4, 10/4"), ages over 89 beside a name ("Mabel (101)", "Mrs Hoa, 95,"), any value after
an identifier's label ("UR: 0934412", "NHI PRS8871", "Session ID TH-5581930": the label decides,
whatever the value's shape), postcodes abroad (Eircodes, Australian and Indian ones) and
initials ("J.M.K.", "J. Sato", "signed KB")."""

from __future__ import annotations

from typing import Any

import regex
from presidio_analyzer import RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts
from wordfreq import zipf_frequency

from serving.privacy.labelled import _DATE_LIKE, _UNIT_AFTER, LabelledRecognizer
from serving.privacy.month_words import _MONTH_WORDS
from serving.privacy.names import SPECIES
from serving.privacy.places import places
from serving.privacy.places_abroad import _RARE_FOR_A_PLACE
from serving.privacy.recognizers import RegexRecognizer, rule

# A label of an identifier: an acronym ("UR", "NHI", "UHID", "PPSN", "IMC"), or any word before
# "ID", "No." or "#" ("Session ID", "Provider No.", "Rx#", "card no."). The value after it is the
# identifier whatever its shape ("labels decide"): a run of letters and digits with four digits.
_ID_VALUE = (
    r"(?P<id>(?-i:(?=[A-Z0-9/ -]{0,24}\d)[A-Z0-9](?:[A-Z0-9]|[-/.](?=[A-Z0-9])|[ ](?=[A-Z]*\d[A-Z0-9]*\b)){2,24}+))"
)
_ACRONYM_LABEL = rf"(?<![\w/])(?P<label>(?-i:\p{{Lu}}{{2,6}}))(?:\s?(?:No\.?|\#|ID))?(?:\s?[:\#]\s?|\s){_ID_VALUE}"
# (a header's columns align their values before a colon: "Lab No.      : KOL2409"; "Fall-Nr.")
_ALIGNED = r"(?:[ \t]{2,12}+:[ \t]{0,3}+|\s?[:.\#]?\s?)"
_WORD_LABEL = rf"\b(?P<label>\w+)[\s-](?:id|no\.?|nr\.?|n[°º]\.?|nro\.?|number|nummer|code){_ALIGNED}{_ID_VALUE}"
# one word that ends in its number: "Personnummer:", "polisnr.", "Versichertennr.", "Fallnummer"
# (bounded: an unbroken word gives back at most thirty letters looking for its "nr": a review found
# "NR" * n quadratic with an open count)
_COMPOUND_LABEL = rf"\b(?P<label>\w{{2,30}}(?:nummer|nr\.?|number)){_ALIGNED}{_ID_VALUE}"
_HASH_LABEL = rf"\b(?P<label>\w+)\s?\#\s?:?\s?{_ID_VALUE}"
# A number's label in scripts without spaces: "住院号:", "등록번호:", "身份证号:" (number, in
# Chinese, Japanese and Korean); "AMKA" and other capitals in any script above.
_CJK_LABEL = rf"(?P<label>\p{{Lo}}{{0,8}}(?:号|號|番号|번호|号码|號碼|码))\s?[:：]\s?{_ID_VALUE}"


class LabelDecidesRecognizer(LabelledRecognizer):
    """Any value of four digits or more after an identifier's label, whatever its shape; never
    after a clinical abbreviation ("eGFR 30", "HbA1c 48", "BP 120/80"), a dose or a date."""

    entity = "ID"
    rules = (
        rule(_ACRONYM_LABEL, 0.7),
        rule(_WORD_LABEL, 0.7),
        rule(_COMPOUND_LABEL, 0.7),
        rule(_HASH_LABEL, 0.7),
        rule(_CJK_LABEL, 0.7),
    )

    def __init__(self, clinical: frozenset[str]) -> None:
        super().__init__()
        self._clinical = clinical

    def analyze(self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None) -> list[Any]:
        results = []
        for each in self.rules:
            for match in each.pattern.finditer(text):
                label = match.group("label").lower()
                if label in self._clinical or label in _NOT_LABELS or any(ch.isdigit() for ch in label):
                    continue  # ("ICD-10 code I21.4", "ICD10 code: E11.65": a code system's code, no one's)
                start, end = match.span("id")
                value = text[start:end].rstrip()
                end = start + len(value)
                if sum(ch.isdigit() for ch in value) >= 4 and self.accept(text, start, end):
                    results.append(RecognizerResult(self.entity, start, end, each.score))
        return results

    def accept(self, text: str, start: int, end: int) -> bool:
        value = text[start:end]
        if _DATE_LIKE.fullmatch(value) or _UNIT_AFTER.match(text[end : end + 8]):
            return False
        return not (end < len(text) and (text[end].isalpha() or text[end] == "-"))


# Words before "No."/"#"/"ID" that are not an identifier's label ("page no. 2024", "room # ...").
_NOT_LABELS = frozenset(
    {"page", "pg", "step", "the", "a", "and", "or", "of", "in", "at", "to", "is", "was", "no", "dob", "dod", "doa"}
    | {"date", "dated", "year", "since", "from", "until", "born", "tel", "ph", "phone", "fax", "mob", "cell"}
    | {"icd", "cpt", "hcpcs", "code", "codes", "dx", "snomed", "loinc", "ndc", "rxnorm", "version", "v"}
    | {"atc", "procedure", "diagnosis", "diagnostic", "billing", "drug", "opcs", "read", "ctv3"}
    | {"npi"}  # a provider's public number, not the patient's (the NPI recognizer reads valid ones)
    # lab tests, vital signs and times: "CK 2500", "ALT 1250", "AM 0800"
    | {"ck", "alt", "ast", "alp", "ggt", "ldh", "crp", "esr", "wcc", "wbc", "hb", "hgb", "plt", "tsh", "psa", "bnp"}
    | {"ldl", "hdl", "am", "pm", "hr", "rr", "bp", "gcs", "fev", "fvc", "pef", "abg", "vbg", "ecg", "ekg", "iu"}
    | {"ca", "mg", "po", "iv", "im", "sc", "amylase", "lipase", "trop", "ddimer", "pct", "lft", "ue", "fbc"}
)


class PostcodeAbroadRecognizer(RegexRecognizer):
    """Eircodes (Ireland: "V95 T2X4"), Australian postcodes after a state ("NSW 2022") and
    Indian PIN codes after a place ("Bengaluru 560017", "Noida 201301")."""

    entity = "ZIP"
    rules = (
        rule(r"\b(?P<id>[AC-FHKNPRTV-Y]\d{2}\s?[AC-FHKNPRTV-Y0-9]{4})\b", 0.75, 0),
        rule(r"\b(?:NSW|VIC|QLD|SA|WA|TAS|ACT|NT)\s+(?P<id>\d{4})\b", 0.8, 0),
        rule(r"(?<=\p{Lu}\p{Ll}+,?\s)(?P<id>[1-9]\d{2}\s?\d{3})\b(?!\s?(?:mg|ml|%|kg|units?))", 0.7, 0),
    )

    def accept(self, text: str, start: int, end: int) -> bool:
        value = text[start:end].replace(" ", "")
        if value.isdigit() and len(value) == 6:  # a PIN code follows a town: "Noida 201301", not "Platelets 250000"
            before = regex.search(r"(\p{Lu}\p{Ll}+),?\s$", text[max(0, start - 30) : start])
            town = before.group(1) if before else ""
            return town in places() or zipf_frequency(town.lower(), "en") < _RARE_FOR_A_PLACE
        # An Eircode's last four mix letters and digits; a bare run of digits there is no postcode.
        return not (value[0].isalpha() and (value[3:].isdigit() or value[3:].isalpha()))


_NOT_INITIALS = frozenset(
    {"u.s.", "u.k.", "a.m.", "p.m.", "e.r.", "n.b.", "p.s.", "i.e.", "e.g.", "d.o.b.", "b.d.", "m.d.", "d.o."}
    | {"r.n.", "n.p.", "p.a.", "b.s.", "m.s.", "ph.d.", "d.d.s.", "o.d.", "b.a.", "m.a.", "q.d.", "b.i.d.", "t.i.d."}
    | {"i.v.", "p.o.", "p.r.", "p.r.n.", "s.c.", "i.m.", "s.l.", "t.d.s.", "q.d.s.", "n.b.m.", "o.n.", "b.d.s."}
)


class InitialsRecognizer(RegexRecognizer):
    """A person written as initials: "J.M.K.", "H.L., 72F", "J. Sato", "Dr. R. Gupta", and two or
    three capitals where a note signs or hands over ("Signed T.N. RN / KB HCA", "handed over to
    JD", "- RM (dentist)")."""

    entity = "NAME"
    rules = (
        rule(r"(?<![\w.])(?P<id>(?:\p{Lu}\.\s?){2,3})(?![\w])", 0.7, 0),
        rule(r"(?<![\w.])(?P<id>\p{Lu}\.\s?\p{Lu}[\p{Ll}'’-]+)(?![\w])", 0.65, 0),
        rule(
            r"(?i:\b(?:signed|by|to|handed\s+over\s+to|per|cc|from)|[/–-])\s+(?P<id>(?-i:[A-Z]{2,3}))"
            r"(?=\s*(?:[:(),.]|\bat\b|\bRN\b|\bHCA\b|\bRM\b|$|\n))",
            0.65,
        ),
    )

    def __init__(self, clinical: frozenset[str], common: frozenset[str], surnames: frozenset[str]) -> None:
        super().__init__()
        self._not_names = clinical | common
        self._surnames = surnames

    def accept(self, text: str, start: int, end: int) -> bool:
        value = text[start:end].strip()
        if value.lower() in _NOT_INITIALS or value.lower().rstrip(".") in self._not_names:
            return False
        if "." in value and not value.endswith("."):  # "J. Sato": the surname is no word
            surname = value.split(".")[-1].strip().lower()
            before = text[max(0, start - 12) : start].lower()
            if value[0] in "MF" and (regex.search(r"(?:sex|gender)\W*$|[\d/]\s*$", before)):
                return False  # "Sex: F. Spoke to..."
            if surname in self._not_names or surname in _MONTH_WORDS or surname in SPECIES:
                return False
            return surname in self._surnames or zipf_frequency(surname, "en") < _RARE_FOR_A_WORD
        return True


_RARE_FOR_A_WORD = 3.5  # wordfreq's Zipf: "Sato", "Iyer", "Ferreira" under it; "Spoke", "Next" over


class StreetNameRecognizer(RegexRecognizer):
    """A street named without a number where a note says where something is: "the CVS on
    Mission Street", "Banner Rehab on Oracle Rd", "a salon on Bellaire Blvd"."""

    entity = "ADDRESS"
    rules = (
        rule(
            r"\b(?:on|at|off|along|near)\s+(?P<id>(?-i:\p{Lu}[\p{Ll}'’]+(?:\s\p{Lu}[\p{Ll}'’]+)?)\s+"
            r"(?-i:Street|St|Road|Rd|Avenue|Ave|Boulevard|Blvd|Lane|Ln|Drive|Way|Highway|Hwy|Parkway|Pkwy)\b)",
            0.7,
        ),
    )
