"""Ages over 89 written in words ("ninety-three-year-old", "aged ninety", "one hundred and
one") and more written dates ("12-Mar-21", "15/03/21", "Tuesday 4/16", "Thursday 14th")."""

from __future__ import annotations

from serving.privacy.labelled import _MON
from serving.privacy.recognizers import RegexRecognizer, rule

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
