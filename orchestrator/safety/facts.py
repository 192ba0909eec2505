"""What the rules need to know about the patient, from the form (patient_data) and from the
message itself: age band, pregnancy (stated or inferred: "I'm 32 weeks", "my bump", "the baby
hasn't moved"), having just given birth, and conditions that change what a sign means
(diabetes, blood thinners, cancer and chemotherapy, sickle cell). A fact is taken from any
mention that is not negated ("I'm not pregnant"): tense and person do not matter ("I had my
baby 5 days ago" is the postpartum fact)."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable

from orchestrator.safety.concepts import HOURS, Mention
from orchestrator.safety.context import ContextEngine

_WORD_NUMBERS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
}
_UNIT_MONTHS = {"day": 1 / 30, "days": 1 / 30, "week": 0.25, "weeks": 0.25, "wk": 0.25, "wks": 0.25}
_UNIT_MONTHS.update({"month": 1.0, "months": 1.0, "mth": 1.0, "mths": 1.0, "mo": 1.0, "mos": 1.0})
_UNIT_MONTHS.update({"year": 12.0, "years": 12.0, "yr": 12.0, "yrs": 12.0, "yo": 12.0})
# "our 11-weeker", and the months and days of other languages ("7 mahine ka", "4 miesiace", "5 din ka")
_UNIT_MONTHS.update({"weeker": 0.25, "weekers": 0.25, "mahine": 1.0, "mahina": 1.0, "miesiace": 1.0})
_UNIT_MONTHS.update({"miesiecy": 1.0, "meses": 1.0, "mes": 1.0, "din": 1 / 30, "dias": 1 / 30})


def _aged_unit(unit: str, before: str, after: str) -> bool:
    """A unit that says an age by itself or with its language's own word: "11-weeker", "7 mahine
    ka" (not "2 din se", for 2 days), "ma 4 miesiace" (not "od 2 miesiecy", for 2 months), "bebé
    de 2 meses" (not "hace 2 meses", 2 months ago)."""
    if unit in ("weeker", "weekers"):
        return True
    if unit in ("mahine", "mahina", "din"):
        return after in ("ka", "ki", "ke")
    if unit in ("miesiace", "miesiecy"):
        return before not in ("od", "przez")
    return unit in ("meses", "mes", "dias") and before == "de"


_AGE_OF = frozenset(
    {"is", "hes", "shes", "baby", "babys", "son", "daughter", "boy", "girl", "infant", "newborn", "aged", "age"}
    | {"niece", "nephew", "grandson", "granddaughter", "toddler", "bebe"}
)
# "mum 85 fell", "dad 67 sat down", "my son 13 said": a person and a bare number is an age in
# years, unless the number has a unit of its own ("dad 2 days ago", "mum 5 mg").
_PERSON = frozenset(
    {"mum", "mom", "mother", "mam", "ma", "dad", "father", "pa", "nan", "nana", "gran", "granny", "grandma"}
    | {"grandad", "grandpa", "grandmother", "grandfather", "husband", "wife", "partner", "son", "daughter"}
    | {"brother", "sister", "aunt", "auntie", "uncle", "neighbour", "neighbor", "friend", "patient", "pt"}
    | {"man", "woman", "lady", "gentleman", "boy", "girl", "kid", "child", "teen", "teenager"}
)
_NOT_YEARS_AFTER = frozenset(
    {"minutes", "mins", "min", "hours", "hrs", "hr", "hour", "seconds", "secs", "times", "x", "mg", "ml", "g", "kg"}
    | {"lbs", "lb", "stone", "st", "units", "tablets", "tabs", "pills", "puffs", "percent", "degrees", "c", "f"}
    | {"feet", "ft", "metres", "meters", "m", "cm", "inches", "miles", "km", "am", "pm", "oclock", "weeks", "wks"}
    | {"days", "day", "months", "month", "mths", "floor", "storey", "stories", "steps", "stairs"}
)
_AGE_AFTER = re.compile(r"^(?:im|i am|aged?|age|hes|shes|he is|she is)$")
# A number and its unit in one word: "2yo", "18mo", "6mths old", "3wk old".
_COMPACT_AGE = re.compile(r"^(\d{1,3})(yo|yr|yrs|mo|mos|mth|mths|wk|wks)$")
PREGNANCY_WEEKS = range(4, 43)

# The concepts a fact is read from (a mention of any other concept is not looked at here).
FACT_CONCEPTS = frozenset(
    {"infant_words", "child_words", "pregnancy", "postpartum", "older", "diabetes", "bleeding_thinner"}
    | {"cancer", "chemotherapy", "sickle", "brain_surgery"}
)

ADULT_FROM_YEARS = 16
EARLY_PREGNANCY_WEEKS = 14
MOVEMENTS_FROM_WEEKS = 24
OLDER_FROM_YEARS = 65


def age_in_months(words: list[str]) -> float | None:
    """The youngest age the message states ("my 3 week old", "6 month old", "58 year old",
    "I'm 58"): a caregiver writes about the younger person."""
    ages: list[float] = []
    for index, word in enumerate(words):
        compact = _COMPACT_AGE.match(word) if word[:1].isdigit() and not word.isdigit() else None
        if compact:
            after = words[index + 1] if index + 1 < len(words) else ""
            before = words[index - 1] if index else ""
            in_months = compact[2] in ("mo", "mos", "mth", "mths") and before not in _NOT_PREGNANCY_BEFORE
            if compact[2] == "yo" or after == "old" or before in _AGE_OF or (in_months and after != "ago"):
                ages.append(int(compact[1]) * _UNIT_MONTHS[compact[2]])
            continue
        if word == "born" and words[index + 1 : index + 2] in (["yesterday"], ["today"], ["tonight"], ["last"]):
            ages.append(1 / 30)  # "born yesterday", "born last night": a day old
            continue
        number = int(word) if word.isdigit() else _WORD_NUMBERS.get(word)
        if number is None or index + 1 >= len(words):
            continue
        unit, after = words[index + 1], words[index + 2] if index + 2 < len(words) else ""
        before = words[index - 1] if index else ""
        if unit in HOURS and (after == "old" or before == "born"):
            ages.append(number / (24 * 30))  # "20 hours old", "born 20 hrs ago": a newborn
            continue
        # "is 5 months", "baby 5 months", "son 3 weeks", "my niece (10 months)"
        said_of = unit != "years" and (
            before in _AGE_OF or (before in ("(", ",") and index > 1 and words[index - 2] in _AGE_OF)
        )
        if unit in _UNIT_MONTHS and (after == "old" or unit == "yo" or _aged_unit(unit, before, after) or said_of):
            ages.append(number * _UNIT_MONTHS[unit])
        elif _years_stated(words, index, number):
            ages.append(number * 12.0)
    return min(ages) if ages else None


def _years_stated(words: list[str], index: int, number: int) -> bool:
    """ "I'm 58", "she is 70", "mum 85 fell": a number that is an age in years."""
    before, unit = words[index - 1] if index else "", words[index + 1]
    if _AGE_AFTER.match(before):
        return 16 <= number <= 110 and unit not in _UNIT_MONTHS
    return before in _PERSON and 1 <= number <= 110 and unit not in _NOT_YEARS_AFTER and not unit.isdigit()


_NOT_PREGNANCY_BEFORE = frozenset(
    {"for", "last", "past", "in", "every", "after", "within", "over", "next", "few", "couple", "than", "the", "a"}
)


_TENS = {"twenty": 20, "thirty": 30, "forty": 40}
_UNITS = {**_WORD_NUMBERS, "too": 2, "to": 2}  # "thirty too weeks": a voice typist's "two"
_ABOUT = frozenset({"about", "around", "nearly", "almost", "roughly", "approximately", "like", "only", "just"})


def _weeks_number(words: list[str], index: int) -> tuple[int, int] | None:
    """The number of weeks ending at `index` ("32", "thirty two", "twenty") and where it starts."""
    word = words[index]
    if word.isdigit():
        return int(word), index
    if word in _TENS:
        return _TENS[word], index
    if word in _UNITS and index > 0 and words[index - 1] in _TENS:
        return _TENS[words[index - 1]] + _UNITS[word], index - 1
    return None


def weeks_pregnant(words: list[str]) -> int | None:
    """ "I'm 32 weeks", "36 weeks, splitting headache", "only 29 wks", "I think I'm about 7
    weeks", "shes only thirty two weeks": weeks of a pregnancy, not a duration ("for 3 weeks",
    "2 weeks ago") nor an age ("6 weeks old"); the fewest if several ("6 weeks pregnant ... my
    son was born at 39 weeks" is an early pregnancy)."""
    stated: int | None = None
    for index in range(len(words) - 1):
        if words[index + 1] not in ("weeks", "wks", "wk", "w", "semanas", "tygodniu", "tygodni", "hafte"):
            continue
        found = _weeks_number(words, index)
        if found is None or found[0] not in PREGNANCY_WEEKS:
            continue
        weeks, start = found
        after = words[index + 2] if index + 2 < len(words) else ""
        before = words[start - 1] if start else ""
        if before in _ABOUT and start > 1:
            before = words[start - 2]  # "im about 7 weeks", "shes only 29"
        if after in ("old", "ago", "now", "later") or before in _NOT_PREGNANCY_BEFORE:
            continue
        if after in ("pregnant", "gone", "along", "preg", "gestation") or weeks >= 10 or before in ("im", "shes"):
            stated = weeks if stated is None else min(weeks, stated)  # the earliest: the safe side
    return stated


class PatientFacts:
    def __init__(
        self,
        words: list[str],
        mentions: Iterable[Mention],
        context: ContextEngine,
        *,
        age_years: int | None = None,
        age_months: int | None = None,
        pregnant: bool | None = None,
    ) -> None:
        stated = {m.concept for m in mentions if m.concept in FACT_CONCEPTS and context.negated(m) == m.inverted}
        months = float(age_months) if age_months is not None else None
        if months is None and age_years is not None:
            months = age_years * 12.0
        stated_months = age_in_months(words)
        if months is None or (months == 0 and stated_months is not None and stated_months < 12):
            months = stated_months  # a form's "age 0" says under one; "4 months old" says how far
        infant_words = "infant_words" in stated
        child_words = "child_words" in stated or infant_words
        weeks = weeks_pregnant(words)
        self.pregnant = bool(pregnant) or "pregnancy" in stated or weeks is not None
        # An ectopic pregnancy shows in the first trimester: "20 weeks, a sharp twinge low on one
        # side" is not one. No weeks stated reads as early, the safe side.
        self.early_pregnancy = self.pregnant and (weeks is None or weeks < EARLY_PREGNANCY_WEEKS)
        # A baby's movements are felt from 16 to 24 weeks (NHS); reduced movements are the
        # maternity unit's now from 24 weeks (RCOG), or when no weeks are said (the safe side):
        # "17 weeks with my first, haven't felt the baby move yet" is not one (after blind set V).
        self.movements_expected = self.pregnant and (weeks is None or weeks >= MOVEMENTS_FROM_WEEKS)
        self.postpartum = "postpartum" in stated
        # A baby the patient is carrying is not the patient: "baby" alone says nothing of age then.
        if self.pregnant and months is None:
            infant_words = child_words = False
        # A baby of no stated age is read as under 3 months: the safer reading for a fever.
        self.infant = months < 3 if months is not None else infant_words
        self.baby = months < 12 if months is not None else infant_words
        self.child = months < ADULT_FROM_YEARS * 12 if months is not None else child_words
        self.adult = not self.child
        self.older = months >= OLDER_FROM_YEARS * 12 if months is not None else "older" in stated
        self.diabetic = "diabetes" in stated
        self.blood_thinners = "bleeding_thinner" in stated
        self.cancer = "cancer" in stated or "chemotherapy" in stated
        self.chemotherapy = "chemotherapy" in stated
        self.sickle_cell = "sickle" in stated
        self.brain_surgery = "brain_surgery" in stated

    def holds(self, fact: str) -> bool:
        if fact == "pregnant_or_postpartum":
            return self.pregnant or self.postpartum
        value = getattr(self, fact, None)
        if not isinstance(value, bool):
            raise ValueError(f"unknown patient fact {fact!r}")
        return value


def _newborn(words: list[str]) -> bool:
    return any(w in ("newborn", "neonate") for w in words) or any(
        a == "new" and b == "born" for a, b in itertools.pairwise(words)
    )
