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

from serving.privacy.labelled import _DATE_LIKE, _UNIT_AFTER, LabelledRecognizer, places
from serving.privacy.recognizers import SPECIES, RegexRecognizer, rule

_MONTHS = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|"
    r"oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_ORDINAL_WORD = (
    r"(?:(?:twenty|thirty)[\s-])?(?:first|second|third|fourth|fifth|sixth|seventh|eighth|ninth)|"
    r"tenth|eleventh|twelfth|thirteenth|fourteenth|fifteenth|sixteenth|seventeenth|eighteenth|nineteenth|"
    r"twentieth|thirtieth"
)
_SPANISH_MONTHS = (
    r"(?:enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|setiembre|octubre|noviembre|diciembre)"
)
_FRENCH_MONTHS = (
    r"(?:janvier|février|fevrier|mars|avril|mai|juin|juillet|août|aout|septembre|octobre|novembre|décembre)"
)
_YEAR_WORDS = r"(?:nineteen|twenty)[\s-]\w+(?:[\s-]\w+)?"
# Months as other languages write them after a day (after blind set 16: "22 iulie", "6. nóvember
# 2024", "20 Ionawr 2025", "29 października"), Portuguese, Italian, German, Dutch, the Nordic
# languages, Polish and Czech (their genitive), Romanian, Hungarian, Turkish, Finnish, Icelandic,
# Welsh, Indonesian and Malay. Only after a day in figures or before a year: alone, "mars",
# "mai", "Medi" or "Mart" are other words as often. A set, looked up for the word beside a day or
# a year a cheap pattern found: as one alternation tried at every word it cost 2 ms per 8 KB.
OTHER_MONTHS = frozenset(
    {
        # Spanish and French too (their own rules want "de" or a day: "septiembre de 2023" had none)
        "enero",
        "febrero",
        "mayo",
        "junio",
        "julio",
        "septiembre",
        "setiembre",
        "octubre",
        "noviembre",
        "diciembre",
        "janvier",
        "février",
        "fevrier",
        "avril",
        "juin",
        "juillet",
        "août",
        "aout",
        "octobre",
        "décembre",
        "decembre",
        "abril",
        "agosto",
        "agustos",
        "agustus",
        "april",
        "aprile",
        "aprilie",
        "apríl",
        "aralik",
        "aralık",
        "augusti",
        "augustus",
        "augusztus",
        "awst",
        "ağustos",
        "brezna",
        "března",
        "cervence",
        "cervna",
        "chwefror",
        "czerwca",
        "december",
        "decembrie",
        "desember",
        "dezember",
        "dezembro",
        "dicembre",
        "disember",
        "dubna",
        "ebrill",
        "ekim",
        "elokuuta",
        "eylul",
        "eylül",
        "febbraio",
        "februar",
        "februari",
        "februarie",
        "február",
        "febrúar",
        "fevereiro",
        "gennaio",
        "giugno",
        "gorffennaf",
        "grudnia",
        "haziran",
        "heinäkuuta",
        "helmikuuta",
        "huhtikuuta",
        "hydref",
        "ianuarie",
        "ionawr",
        "iulie",
        "iunie",
        "janeiro",
        "januar",
        "januari",
        "január",
        "janúar",
        "joulukuuta",
        "julai",
        "julho",
        "juli",
        "junho",
        "juni",
        "jänner",
        "július",
        "júlí",
        "június",
        "júní",
        "kasim",
        "kasım",
        "kesäkuuta",
        "kvetna",
        "května",
        "kwietnia",
        "ledna",
        "lipca",
        "listopada",
        "listopadu",
        "lokakuuta",
        "luglio",
        "lutego",
        "maaliskuuta",
        "maart",
        "maggio",
        "mai",
        "maio",
        "maj",
        "maja",
        "marca",
        "marco",
        "maret",
        "marraskuuta",
        "mars",
        "martie",
        "marzo",
        "março",
        "mawrth",
        "mayis",
        "mayıs",
        "maí",
        "medi",
        "mehefin",
        "mei",
        "május",
        "március",
        "märz",
        "nisan",
        "noiembrie",
        "november",
        "novembre",
        "novembro",
        "nóvember",
        "ocak",
        "octombrie",
        "ogos",
        "oktober",
        "október",
        "ottobre",
        "outubro",
        "pazdziernika",
        "października",
        "prosince",
        "rhagfyr",
        "rijna",
        "september",
        "septembrie",
        "setembro",
        "settembre",
        "sierpnia",
        "srpna",
        "stycznia",
        "subat",
        "syyskuuta",
        "szeptember",
        "tachwedd",
        "tammikuuta",
        "temmuz",
        "toukokuuta",
        "unora",
        "wrzesnia",
        "września",
        "zari",
        "září",
        "ágúst",
        "április",
        "února",
        "července",
        "června",
        "října",
        "şubat",
    }
)


# "22 iulie", "6. nóvember 2024", "1. maja 2023": a day, a word, perhaps a year; "settembre 2024",
# "maart 2023": a word and a year (found from the year: a pattern that opens on digits is cheap).
_DAY_THEN_WORD = regex.compile(r"(?<![\d.])\d{1,2}\.?[ ](?P<word>\p{L}{3,12})(?:[ ](?:19|20)\d\d)?(?![\p{L}\d])")
_YEAR_AFTER_WORD = regex.compile(r"(?<=(?<![\p{L}\d])\p{L}{3,12}[ ](?:de[ ])?)(?:19|20)\d\d(?!\d)")
_WORD_BEFORE_YEAR = regex.compile(r"(?<![\p{L}\d])(?P<word>\p{L}{3,12})[ ](?:de[ ])?$")
# Hungarian puts the year first: "2024. március 15.", "1950. május 3."
_YEAR_THEN_WORD = regex.compile(r"(?<![\d.])(?:19|20)\d\d\.[ ](?P<word>\p{L}{3,12})[ ]\d{1,2}\.?(?!\d)")


def _month(word: str) -> bool:
    # (a Turkish capital İ lowers to "i" and a combining dot: "NİSAN" is "nisan")
    return word.lower().replace("i\u0307", "i") in OTHER_MONTHS


class OtherLanguageDateRecognizer(RegexRecognizer):
    """Dates with a month of another language (OTHER_MONTHS) after a day or before a year: its
    patterns find a word beside a day or a year, the set says whether the word is a month."""

    entity = "DATE"

    def analyze(self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None) -> list[Any]:
        results = []
        for pattern in (_DAY_THEN_WORD, _YEAR_THEN_WORD):
            for match in pattern.finditer(text):
                if _month(match.group("word")):
                    results.append(RecognizerResult(self.entity, match.start(), match.end(), 0.8))
        for match in _YEAR_AFTER_WORD.finditer(text):
            before = _WORD_BEFORE_YEAR.search(text, max(0, match.start() - 16), match.start())
            if before is not None and _month(before.group("word")):
                results.append(RecognizerResult(self.entity, before.start(), match.end(), 0.7))
        return results


class WrittenDateRecognizer(RegexRecognizer):
    """Dates written out or packed: "21Mar24", "April third, nineteen thirty-one", "the
    twenty-second of January", "sixth July", "12 de junio"."""

    entity = "DATE"
    rules = (
        rule(rf"\b(?P<id>\d{{1,2}}{_MONTHS}\d{{2}}(?:\d\d)?)\b", 0.85),
        rule(rf"\b(?P<id>(?:the\s+)?(?:{_ORDINAL_WORD})\s+of\s+{_MONTHS})\b", 0.8),
        rule(rf"\b(?P<id>(?:{_ORDINAL_WORD})\s+{_MONTHS})\b", 0.8),
        rule(rf"\b(?P<id>{_MONTHS}\s+(?:the\s+)?(?:{_ORDINAL_WORD})(?:,?\s+{_YEAR_WORDS})?)\b", 0.8),
        rule(rf"\b(?P<id>{_MONTHS}\s+\w+(?:,|\s)\s*(?:forty|fifty|sixty|seventy|eighty|ninety)[\s-]\w+)\b", 0.6),
        rule(rf"\b(?P<id>\d{{1,2}}\s+de\s+{_SPANISH_MONTHS}(?:\s+de\s+\d{{4}})?)\b", 0.8),
        rule(
            rf"\b(?P<id>(?:(?:lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche)\s)?\d{{1,2}}(?:er)?\s+"
            rf"{_FRENCH_MONTHS}(?:\s+\d{{4}})?)\b",
            0.8,
        ),
        rule(rf"\b(?P<id>\d{{1,2}}/{_MONTHS}/\d{{2,4}})\b", 0.85),  # 15/sep/2023
        # "2024. 10. 02.", "1952. 08. 27." (Hungarian: year, month, day); "1955-Apr-02"
        rule(r"(?<![\d.])(?P<id>(?:19|20)\d\d\.[ ]?(?:0?[1-9]|1[0-2])\.[ ]?(?:0?[1-9]|[12]\d|3[01])\.?)(?![\d])", 0.8),
        rule(rf"\b(?P<id>(?:19|20)\d\d-{_MONTHS}-\d{{1,2}})\b", 0.85),
        # "29. 7. 2024" (Czech and Slovak put a space after each dot)
        rule(r"(?<![\d.])(?P<id>(?:0?[1-9]|[12]\d|3[01])\.[ ](?:0?[1-9]|1[0-2])\.[ ](?:19|20)\d\d)(?![\d])", 0.8),
        rule(r"(?<![\d.])(?P<id>(?:0?[1-9]|[12]\d|3[01])\.(?:0?[1-9]|1[0-2])\.(?:\d{4}|\d{2}))(?![\d.])", 0.8),
        rule(r"(?P<id>(?:\d{4}|(?:昭和|平成|令和|大正)\d{1,2})年\d{1,2}月\d{1,2}日)", 0.85, 0),
        rule(r"\b(?:about|around|circa|approx\.?)\s+(?P<id>the\s+\d{1,2}(?:st|nd|rd|th))\b", 0.75),
        # the Hijri calendar's months, after blind set 16 ("10 Rajab 1446"), and a date the Hijri way ("18/1/1436 H")
        rule(
            r"\b(?P<id>\d{1,2}[ ](?:Muharram|Safar|Rabi['’]?[ ]?(?:al|ul)[- ](?:Awwal|Thani|Akhir)|"
            r"Jumada[ ](?:al|ul)[- ](?:Ula|Awwal|Akhirah|Thani)|Rajab|Sha['’]?ban|Ramadh?an|Shawwal|"
            r"Dhu[ ]al[- ]Q[ai]['’]?dah|Dhu[ ]al[- ]Hijjah)[ ]1[34]\d\d)\b",
            0.8,
        ),
        rule(r"(?<![\d/])(?P<id>\d{1,2}/\d{1,2}/1[34]\d\d)[ ]?(?:H|AH|هـ)\b", 0.8, 0),
    )

    def accept(self, text: str, start: int, end: int) -> bool:
        # "may" is a verb far more often than a month: only with a day in figures or words after it
        value = text[start:end]
        if regex.search(r"(?<![A-Za-z])may(?![a-z])", value):  # lower-case "may": a verb ("may first want")
            return False
        return not value.lower().startswith("may ") or bool(regex.search(r"\d|th\b|first|second|third", value))


# What a d/m fraction is when it is no date: a dose, a portion, a score.
_NOT_A_DATE_AFTER = regex.compile(
    r"^\s?(?i:tab|tabs|tablet|tablets|of\b|dose|strength|cup|glass|full|power|mg|ml|units?|pill|pills|"
    r"inch|in\b|mile|miles|score|scale|motor|strength)"
)


_SCALE_BEFORE = regex.compile(
    r"(?i:power|strength|mrc|snellen|acuity|\bva\b|vision|visual|murmur|grade|reflex\w*|score|gcs|pain|mmt|"
    r"sats|spo2|\bbp\b|apgar|scale|rated|out\s+of|\br\b|\bl\b|ratio|dilat\w*|station|effacement)"
    r"(?:\W*+[\w/]++){0,3}\W*$"
)


class DayMonthRecognizer(RegexRecognizer):
    """A day and month in figures without a year ("seen 3/4, 10/4, 17/4", "next change 17/5",
    "Mon 3/18"): the day at most 31 and the month at most 12 in one of the two orders, never a
    reading (120/80), a half (1/2 tablet) or a fraction of something."""

    entity = "DATE"
    rules = (
        rule(r"(?<![\d/.,:-]|\d\s)(?P<id>(?:0?[1-9]|[12]\d|3[01])/(?:0?[1-9]|[12]\d|3[01]))(?![\d/]|\.\d|\s?%)", 0.7),
    )

    def accept(self, text: str, start: int, end: int) -> bool:
        first, second = (int(part) for part in text[start:end].split("/"))
        if not (first <= 12 or second <= 12):
            return False
        if second in (7, 52) or first == second:  # "x 3/7", "2/52": days and weeks; "5/5" power
            return False
        if _SCALE_BEFORE.search(text[max(0, start - 24) : start]):
            return False  # "power 4/5", "VA 6/9", "murmur 2/6", "reflexes 2/4", "pain 6/10"
        if first == 1 and second in (2, 3, 4, 8):  # 1/2, 1/3, 1/4, 1/8: portions before dates
            return False
        if second == 10:  # "pain 6/10": a score out of ten, far more often than a day in October
            return False
        return not _NOT_A_DATE_AFTER.match(text[end : end + 10])


_OVER_89 = r"(?:9\d|1[01]\d)"
_OVER_89_WORD = (
    r"(?:nin(?:e)?ty(?:[\s-](?:one|two|three|four|five|six|seven|eight|nine))?|one\s+hundred(?:\s+and\s+\w+)?)"
)


_VITALS_BEFORE = regex.compile(
    r"(?i:\bhr\b|heart|pulse|sats?\b|spo2|o2|oxygen|\bbp\b|\brr\b|resp\w*|temp\w*|glucose|sugar|\bbm\b|"
    r"weight|\bkg\b|score|rate|level|iq|mmhg|bpm|answers?|percent|%|elevated|low|high)\W*\w*\W*$"
)


class AgeBesideNameRecognizer(RegexRecognizer):
    """An age over 89 where a note puts one beside a name: "Mabel (101)", "Mrs Hoa, 95, from",
    "Gordon MacLeod, ninety", "(ninety-six)", "at ninety-nine", "hes ninty five"."""

    entity = "AGE"

    def accept(self, text: str, start: int, end: int) -> bool:
        if _VITALS_BEFORE.search(text[max(0, start - 24) : start]):
            return False  # "HR elevated (110)", "Sats low, 92,"
        return not regex.match(r"\s*(?:%|percent|per\s+cent|mmhg|bpm|kg|answers?)", text[end : end + 12], regex.I)

    rules = (
        rule(rf"(?<=\p{{L}}\s?)\(\s*(?P<id>{_OVER_89}|{_OVER_89_WORD})\s*\)", 0.75),
        rule(rf"(?<=\p{{L}}),\s+(?P<id>{_OVER_89}|{_OVER_89_WORD})(?=\s*(?:[,;)\n]|$|[MF]\b|y\b|from|and))", 0.75),
        rule(rf"\b(?:at|hes|shes|he\s+is|she\s+is|aged|youre|you['’]re|age)\W{{0,3}}(?P<id>{_OVER_89_WORD})\b", 0.75),
        rule(rf"(?<![\d.])(?P<id>{_OVER_89})\s?(?:(?:años|anos|ans|jaar|jahre|y|yrs|yo)\b|歳|岁|Y/)", 0.75),
        # after blind sets 16 and 17: "(101 år)", "101-åring", "95 lat", "92 yaşında", "94 tuổi"; "Doris is 91,"
        rule(rf"(?<![\d.])(?P<id>{_OVER_89})[ -]?(?:år|åring|lat|yaş\w*|éves|vuotias|tuổi|tahun)(?!\p{{L}})", 0.75),
        rule(
            # (the number first, what is before it looked at behind: a pattern that opens on a word
            # is tried at every one; pronouns and relatives only: "Haemoglobin was 98" is a reading)
            r"(?<=\b(?:who|he|she|mum|mom|mother|dad|father|nan|nana|gran|granny|grandma|grandmother|grandpa|"
            r"grandfather|grandad)[ ](?:is|was|turned|turns)[ ])"
            rf"(?P<id>{_OVER_89})"
            r"(?=[ ]?(?:[,;.)\n]|$|and\b|on\b|with\b|years?\b))",
            0.7,
        ),
        rule(rf"\b(?:age|age/sex|âge|edad|idade|alter|leeftijd)\W{{1,3}}(?P<id>{_OVER_89})\b", 0.75),
    )


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
_MONTH_WORDS = frozenset(
    {"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec"}
    | {"january", "february", "march", "april", "june", "july", "august", "september", "october"}
    | {"november", "december"}
)


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


# A place word a note puts before a town it does not expect readers to need spelt out.
_PLACE_CUE_STRONG = (
    r"(?:lives\s+in|living\s+in|resides\s+in|residing(?:\s+in)?|resident\s+of|moved\s+to|based\s+in|"
    r"from|near|in|to|at|location:|residence:|address:)"
)


class PlaceAfterCueRecognizer(RegexRecognizer):
    """A town or suburb no gazetteer lists, after a word that introduces a place: "in
    Khayelitsha", "from Footscray", "residing Thunder Bay", "near Shirur", "Work location: Jebel
    Ali". Its first word must be rare in English and no clinical term or first name."""

    entity = "ADDRESS"
    rules = (
        rule(
            rf"(?i:\b{_PLACE_CUE_STRONG})\s+(?P<id>(?-i:\p{{Lu}}[\p{{Ll}}'’-]+(?:\s\p{{Lu}}[\p{{Ll}}'’-]+){{0,2}}))",
            0.6,
        ),
    )

    def __init__(self, clinical: frozenset[str], first_names: frozenset[str]) -> None:
        super().__init__()
        self._not_places = clinical | first_names | _MONTH_WORDS

    def accept(self, text: str, start: int, end: int) -> bool:
        first = text[start:end].split()[0].lower()
        if _DRUG_VERB_BEFORE.search(text[max(0, start - 20) : start]):
            return False  # "allergic to Augmentin", "switched to Sertraline"
        return first not in self._not_places and zipf_frequency(first, "en") < _RARE_FOR_A_PLACE


_RARE_FOR_A_PLACE = 2.5
_DRUG_VERB_BEFORE = regex.compile(
    r"(?i:allerg\w*|switch\w*|chang\w*|mov\w*|increas\w*|reduc\w*|titrat\w*|convert\w*|start\w*|"
    r"stepped\s+up|stepped\s+down|sensitive|intoleran\w*|react\w*)\s+(?:to|on|in)\s*$"
)
# Drug and organism word endings: a single capitalised word with one is no name or place.
_DRUG_LIKE = regex.compile(
    r"(?i:(?:ine|ol|pril|sartan|statin|mab|azole|cillin|mycin|pam|lam|ide|one|ate|xin|vir|tide|fen|dine|"
    r"parin|gliptin|flozin|oxacin|cycline|zepam|triptan|prazole|lukast|semide|thiazide|olol|dipine|ium))$"
)


class NameBeforeAgeRecognizer(RegexRecognizer):
    """A person named where a list puts an age and sex after them: "Małgorzata Nowak, 38, says",
    "Summer, 27, with", "Will B., 68M", "Lê Thị Hương, 52F"."""

    entity = "NAME"
    rules = (
        rule(
            r"(?<![\w'’-])(?P<id>(?-i:\p{Lu}[\p{L}'’-]+(?:\s(?:\p{Lu}\.|\p{Lu}[\p{L}'’-]+)){0,2}))"
            r"(?=,?\s\(?\d{1,3}\)?(?:\s?[MF]\b|,|\s(?:yo|y/o|yrs?|years?)\b))",
            0.65,
        ),
    )

    def __init__(self, clinical: frozenset[str], common: frozenset[str], first_names: frozenset[str]) -> None:
        super().__init__()
        self._not_names = clinical | _NOT_BEFORE_AGE
        self._common = common
        self._first_names = first_names

    def accept(self, text: str, start: int, end: int) -> bool:
        words = [w.strip(".").lower() for w in text[start:end].split()]
        if any(w in self._not_names or w in _MONTH_WORDS or w in _LAB_WORDS for w in words):
            return False  # "Admitted October 9, 1985" is a date; "The 91 y/o patient" no one
        if len(words) == 1 and words[0] not in self._first_names and _DRUG_LIKE.search(words[0]):
            return False  # "Sertraline 100, Mirtazapine 15,": doses
        # One word: a first name, or a word English does not use ("Summer" is both).
        return len(words) > 1 or words[0] in self._first_names or words[0] not in self._common


_LAB_WORDS = frozenset(
    {"sodium", "potassium", "creatinine", "urea", "glucose", "calcium", "magnesium", "phosphate", "albumin", "wcc"}
    | {"wbc", "hb", "platelets", "crp", "esr", "inr", "bilirubin", "lactate", "troponin", "ferritin", "hba1c", "tsh"}
)
_NOT_BEFORE_AGE = frozenset(
    {"bed", "room", "bay", "ward", "age", "aged", "patient", "pt", "male", "female", "man", "woman", "boy", "girl"}
    | {"mr", "mrs", "ms", "dr", "miss", "son", "daughter", "total", "score", "day", "week", "weeks", "visit", "arm"}
    | {"the", "a", "an", "this", "our", "your", "his", "her", "their", "admitted", "discharged", "seen", "born"}
    | {"mon", "tue", "tues", "wed", "thu", "thur", "thurs", "fri", "sat", "sun", "monday", "tuesday", "wednesday"}
    | {"thursday", "friday", "saturday", "sunday"}
)


# A facility named after its kind, as many languages and systems write it: "Hospital Kuala
# Lumpur", "Hospital das Clínicas", "Hôpital général juif", "Klinik Kesihatan Seksyen 7",
# "Centro de Salud T-III", "Ysbyty Gwynedd", "Zorgcentrum De Lindehof", "Golden Age Home".
_FACILITY_FIRST = (
    r"(?:Hospital|Hôpital|Hopital|Ospedale|Klinik(?:\s+Kesihatan)?|Clínica|Clinica|Centro\s+de\s+Salud|"
    r"Centro\s+Médico|Ysbyty|Zorgcentrum|Huisartsenpraktijk|Krankenhaus|Ziekenhuis|Rumah\s+Sakit|Puskesmas|"
    r"Universitätsklinikum|Policlínica|Sanatorio|Maison|Résidence|Residencia|Casa|"
    # after blind set 13: a health centre, a hospital and a clinic in Swedish, Polish, Portuguese,
    # French, Italian and Turkish; Spanish and French hospitals in capitals
    r"Vårdcentral(?:en)?|Szpital|Przychodnia|UBS|Centre\s+Hospitalier|Polyclinique|Policlinico|Poliklinik|"
    r"HOSPITAL|HÔPITAL|"  # (not "CLÍNICA MÉDICA": Brazil's internal-medicine service)
    # after blind set 16: "Clinique Al Amal", "Centro di Riabilitazione Don Orione", "Puesto de Salud
    # Chinchero", "USF Bom Porto", "RSUD Dr. Soetomo", "HMP Durham", "FN Brno-Bohunice", "AZ Sint-Lucas"
    r"Clinique|Centro\s+di\s+Riabilitazione|Puesto\s+de\s+Salud|Posto\s+de\s+Sa[úu]de|"
    r"Centro\s+de\s+Sa[úu]de|Centre\s+Léon|USF|RSUD|RSUP|HMP|HMYOI|FN|AZ|Universitätsspital|Kantonsspital)"
)
# (up to two particles: "Hôpital de la Croix-Rousse")
_NAMING_WORD = (
    r"(?:(?:de|del|la|el|das|do|dos|da|of|the|des|du|général|general|st\.?)\s+){0,2}\p{Lu}[\p{L}'’.-]*+|\d{1,3}"
)


class FacilityFirstRecognizer(RegexRecognizer):
    entity = "ADDRESS"
    rules = (
        rule(rf"(?P<id>(?-i:{_FACILITY_FIRST})(?:[ ](?-i:{_NAMING_WORD})){{1,4}})", 0.75, 0),  # (one line)
        rule(
            r"(?<![\p{L}'’-])(?P<id>(?:\p{Lu}[\p{L}'’-]++[ ]){1,3}+"
            r"(?-i:Home|Primary|School|High[ ]School|Academy|College|Sanatorium|Hospice|Estate))\b",
            0.7,
            0,
        ),
    )

    def __init__(self, common: frozenset[str]) -> None:
        super().__init__()
        self._common = common

    def accept(self, text: str, start: int, end: int) -> bool:
        words = text[start:end].split()
        if words[-1] in ("Home", "Primary", "School", "Academy", "College", "Estate", "Hospice", "Sanatorium"):
            naming = [w.lower().strip(".'’s") for w in words[:-1]]
            return any(w not in self._common and zipf_frequency(w, "en") < _RARE_FOR_A_PLACE_NAME for w in naming)
        # "Hospital Kuala Lumpur", "Hospital General de México"; not "Hospital Course", "Hospital Anxiety"
        naming = [w for w in words[1:] if w[:1].isupper()]
        known = places()
        return any(w in known or zipf_frequency(w.lower(), "en") < _RARE_FOR_A_PLACE_NAME - 0.5 for w in naming)


_RARE_FOR_A_PLACE_NAME = 4.0  # "Erskine Home", "St Ninian's Primary"; not "Nursing Home", "High School"


# Streets as much of the world writes them: the name, then the number ("Lindenstraße 7",
# "Ferdinand Bolstraat 88"), or a street word first ("Rua Cincinato Braga 282", "Av. Patria
# 1891", "rue Saint-Denis", "Jalan Pahang"); a postcode with its town ("53111 Bonn", "1072 LM
# Amsterdam", "05426-100 São Paulo").
class StreetAbroadRecognizer(RegexRecognizer):
    entity = "ADDRESS"
    rules = (
        rule(
            r"(?<![\p{L}'’-])(?P<id>(?-i:\p{Lu}\p{Ll}*+(?:-\p{Lu}\p{Ll}*+)*+(?<=straße|strasse|allee|gasse|straat|"
            r"laan|gracht|plein|kade|gatan|gade))(?:[ ]\d{1,4}[a-z]?)?)\b",
            0.75,
            0,
        ),
        # Suffixes English words end with too ("Referring", "Spring"): only with a house number.
        rule(r"(?<![\p{L}'’-])(?P<id>(?-i:\p{Lu}\p{Ll}++(?<=weg|platz|ring|damm|vej))[ ]\d{1,4}[a-z]?)\b", 0.7, 0),
        rule(
            r"(?P<id>(?-i:Rua|Av\.|Avenida|Calle|Carrera|Rue|rue|Via|Viale|Jalan|Jl\.|Calzada|Paseo|Travessa|Ch\.|"
            r"chemin)\s+(?:(?-i:\p{Lu}[\p{L}.'’-]*|de|da|do|del|la|des|du)\s*){1,5}(?:,?\s*\d{1,5})?)",
            0.75,
            0,
        ),
        rule(r"(?<![\w-])(?P<id>(?-i:\d{5}[ ]\p{Lu}\p{Ll}+(?:[ -]\p{Lu}\p{Ll}+)?))\b", 0.65, 0),
        rule(r"\b(?P<id>(?-i:\d{4}\s?[A-Z]{2}\s+\p{Lu}\p{Ll}+))\b", 0.7, 0),
        rule(r"\b(?P<id>\d{5}-\d{3})\b", 0.7, 0),  # a Brazilian CEP
        rule(r"(?P<id>〒\d{3}-\d{4})", 0.85, 0),
    )

    def accept(self, text: str, start: int, end: int) -> bool:
        value = text[start:end]
        town = None
        if value[:5].isdigit() and value[5:6] == " ":  # "53111 Bonn": a town, not "17762 Admit"
            town = value[6:].split()[0]
        elif value[:4].isdigit() and len(value.split()) >= 2 and value.split()[-1][:1].isupper():
            town = value.split()[-1]  # "1072 LM Amsterdam", not "1000 IU Daily"
        if town is not None:
            return town in places() or zipf_frequency(town.lower(), "en") < _RARE_FOR_A_PLACE_NAME - 0.5
        return True


# A nickname in quotes beside a name ("Guadalupe Ramírez ('Lupita')", "goes by 'Maa Akua'",
# "known as 'Dare'"), and a name at the start of a chat line ("[14:03] Catriona:").
class NicknameAndSpeakerRecognizer(RegexRecognizer):
    entity = "NAME"
    rules = (
        rule(r"\(\s*['\"“‘](?P<id>\p{Lu}[\p{L}'’ -]{1,24}?)['\"”’]\s*\)", 0.7, 0),
        rule(r"(?i:goes\s+by|known\s+as|called|roepnaam|nickname)\s+['\"“‘](?P<id>[\p{L}'’ -]{2,24}?)['\"”’]", 0.75, 0),
        rule(
            r"(?i:resident|patient|pt|name|client|usager|patiente|paciente|participant)\s*:\s*['\"“‘]"
            r"(?P<id>\p{Lu}[\p{L}'’ -]{1,24}?)['\"”’]",
            0.75,
            0,
        ),
        rule(r"(?m:^)\s*\[?\d{1,2}:\d{2}\]?\s+(?P<id>\p{Lu}[\p{L}'’-]+(?:\s\p{Lu}[\p{L}'’-]+){0,2}):", 0.7, 0),
    )

    def __init__(self, common: frozenset[str]) -> None:
        super().__init__()
        self._not_names = common | _ROLES

    def accept(self, text: str, start: int, end: int) -> bool:
        words = text[start:end].split()
        if len(words) == 1 and text[end : end + 1] == ":":  # a chat line's speaker: "[10:02] Patient:" is a role
            return words[0].lower() not in self._not_names
        return words[0].lower() not in _ROLES


_ROLES = frozenset(
    {"patient", "pt", "caller", "agent", "nurse", "doctor", "dr", "operator", "parent", "mum", "dad", "gp", "me", "you"}
)


_PLACE_PARTICLES = frozenset(
    {"of", "de", "la", "del", "the", "and", "&", "for", "y", "e", "di", "du", "des", "on", "upon"}
)


class LabelledPlaceRecognizer(RegexRecognizer):
    """The place a form's label names, whatever its words: "Hospital: Amrita Institute of
    Medical Sciences", "Facility: The Queen's Medical Center", "Employer: Maple Leaf Foods"
    (to the line's end, a comma, a bracket or a column's gap)."""

    entity = "ADDRESS"

    def __init__(self, clinical: frozenset[str] = frozenset()) -> None:
        super().__init__()
        self._clinical = clinical

    rules = (
        rule(
            r"(?m:^[ \t]*+|(?<![ \t])[ \t]{2,}+)"
            r"(?i:hospital|facility|clinic|employer|school|venue|institution|practice|"
            r"surgery|care[ ]home|nursing[ ]home|pharmacy|club|workplace|place[ ]of[ ]work|treating[ ]hospital|"
            r"residence|domicilio|adres|adresse|adresa|endere[çc]o|direcci[óo]n|"
            # after blind set 14: a form's town and an ambulance's agency (not its destination: "Dest: AMU")
            r"city|town|village|suburb|county|district|municipality|agency|"
            r"住所|住址|주소|[đd][ịi]a[ ]ch[ỉi])"
            r"[ \t]*:[ \t]*(?P<id>(?-i:\p{Lu})[^\n,()\t]*?)(?=[ \t]*(?:$|\n|,|\(|\t|[ ]{2}))",
            0.7,
            0,
        ),
    )

    def accept(self, text: str, start: int, end: int) -> bool:
        raw = text[start:end].split()
        words = [word.lower() for word in raw]
        if words[0] in ("yes", "no", "none", "not", "n/a", "na", "unknown", "see", "as", "same", "tbc", "other"):
            return False  # "Hospital: Yes", "Clinic: see below"
        if any(word[:1].islower() and word not in _PLACE_PARTICLES for word in raw[1:]):
            return False  # "Surgery: Laparoscopic cholecystectomy", "Clinic: Cardiology follow up"
        if words[0] in self._clinical or all(zipf_frequency(w, "en") >= 4.0 or w.isdigit() for w in words):
            return False  # "School: Year 10"
        return len(words) > 1 or zipf_frequency(words[0], "en") < _RARE_FOR_A_WORD


_TRAILING_ZIP = regex.compile(r"[ ,]*+(?:\d{5}(?:-\d{4})?|(?-i:[A-Z]{1,2}\d[A-Z\d]?[ ]?\d[A-Z]{2}))$")


class AddressLineRecognizer(RegexRecognizer):
    """A home address after its label, commas and numbers included, to the line's end, a
    column's gap or the phone label that follows: "Address: 3901 Calle del Sol, Las Cruces NM",
    "Adresse : 8 rue des Ajoncs, 44600 Saint-Nazaire", "住址：北京市朝阳区望京西园三区312号楼",
    "العنوان: حي الفيصلية، شارع الأمير نايف، الدمام". Bounded: 150 characters at most."""

    entity = "ADDRESS"
    rules = (
        rule(
            r"(?:(?i:\b(?:home[ ]|postal[ ]|mailing[ ]|residential[ ]|permanent[ ]|current[ ])?"
            r"(?:address|addr|adresse|anschrift|wohnort|wohnadresse|adres|adresa|adresă|adress|endere[çc]o|morada|"
            r"direcci[óo]n|domicilio|indirizzo|residenza|διεύθυνση|адрес|adresi|[đd][ịi]a[ ]ch[ỉi]|alamat|"
            r"tirahan)\b)|住址|住所|地址|주소|पता|ठेगाना|ที่อยู่|العنوان|כתובת|آدرس|ঠিকানা|پتہ)"
            r"[ \t]*[:：][ \t]*(?P<id>[^\s:：][^\n\t]{2,150}?)"
            # the line's end, a column's gap, a sentence's end ("... PA 57486. Started metformin";
            # not an abbreviation's stop: "14 Mt. Vernon road"), or the phone label after it
            r"(?=[ \t]*(?:(?m:$)|\t|[ ]{2}|[;|][ ]|(?<=\d)\.(?:[ ]|$)|(?<=\p{Ll}{3})\.[ ]++\p{Lu}\p{Ll}*+[ ]++\p{Ll}|"
            r"[.,;]?[ ]*(?i:tel|phone|ph|telefon|t[ée]l|tel[ée]fono|"
            r"telem[óo]vel|mobile|mob|cell|contact|email|e-mail|dob|pin)\b))",
            0.75,
            0,
        ),
    )

    def analyze(self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None) -> list[Any]:
        """A trailing US ZIP or UK postcode is left to the ZIP recognizer: the line is the
        address before it."""
        results = super().analyze(text, entities, nlp_artifacts)
        for result in results:
            trailing = _TRAILING_ZIP.search(text, result.start, result.end)
            if trailing is not None and trailing.start() > result.start:
                result.end = trailing.start()
        return results

    def accept(self, text: str, start: int, end: int) -> bool:
        words = text[start:end].lower().split()
        if any(ch.isdigit() for ch in text[start:end]) or any(not w.isascii() for w in words):
            return True  # "No. 12, Adeola Odeku Street"
        if words[0].strip(".,") in ("yes", "no", "none", "not", "n/a", "na", "unknown", "see", "as", "same", "nfa"):
            return False  # "Address: see above", "Address: NFA"
        return len(words) > 1 and not all(zipf_frequency(w.strip(".,"), "en") >= 4.0 for w in words)


class CjkFacilityRecognizer(RegexRecognizer):
    """A hospital or clinic named in Chinese, Japanese or Korean, or in Vietnamese: "北京协和医院",
    "東京大学医学部附属病院", "さくら内科クリニック", "서울대학교병원", "Bệnh viện Chợ Rẫy"."""

    entity = "ADDRESS"
    rules = (
        rule(
            r"(?P<id>[\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}ー]{2,24}(?:病院|医院|醫院|병원|의원|クリニック|诊所|診療所|卫生院))",
            0.75,
            0,
        ),
        rule(r"(?P<id>(?:Bệnh|BỆNH)[ ](?:viện|VIỆN)(?:[ ]\p{Lu}[\p{L}]*){1,4})", 0.75, 0),
    )

    def accept(self, text: str, start: int, end: int) -> bool:
        # "他胸痛需要去医院吗" (he has chest pain, must he go to hospital?): a sentence, not a name
        return not any(c in _CJK_SENTENCE_WORDS for c in text[start:end])


_CJK_SENTENCE_WORDS = frozenset("去到在送住需要吗了我他她你们的是")
