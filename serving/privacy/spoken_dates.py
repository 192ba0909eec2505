"""Dates as notes write them beyond the usual numeric forms: other languages' month words ("22
iulie", "12 de junio", "2024. március 15."), compact and spoken dates ("21Mar24", "the
fourteenth of March"), and day/month without a year ("seen 3/4, 10/4")."""

from __future__ import annotations

from typing import Any

import regex
from presidio_analyzer import RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from serving.privacy.month_words import (
    _FRENCH_MONTHS,
    _MONTHS,
    _ORDINAL_WORD,
    _SPANISH_MONTHS,
    _YEAR_WORDS,
    OTHER_MONTHS,
)
from serving.privacy.recognizers import RegexRecognizer, rule

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
