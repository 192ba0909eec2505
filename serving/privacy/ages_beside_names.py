"""Ages over 89 beside a name ("Mabel (101)", "Mrs Hoa, 95,"), and a person named where a list puts
an age and sex after them ("Małgorzata Nowak, 38, says")."""

from __future__ import annotations

import regex

from serving.privacy.month_words import _MONTH_WORDS
from serving.privacy.places_abroad import _DRUG_LIKE
from serving.privacy.recognizers import RegexRecognizer, rule

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
