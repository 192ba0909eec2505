"""Where each cue of one message is, found in one pass over its words (Marks): the phrase families
of the cue tables and the cue words (now, a year, a relative, a past verb, an "if")."""

from __future__ import annotations

import bisect
from functools import lru_cache

from orchestrator.safety.negation_cues import NEGATION_CUES, PSEUDO_NEGATIONS, denied_wish
from orchestrator.safety.question_cues import (
    HYPOTHETICAL_CUES,
    OWN_QUESTION,
    OWN_RISK_CUES,
    WHAT_QUESTION,
    WORRY_CUES,
)
from orchestrator.safety.time_cues import (
    AGE_UNITS,
    MONTHS,
    NOW_CUES,
    PAST_CUES,
    PAST_VERBS,
    PRESENT_TENSE,
    RECENT,
    RELATIVES,
    SEEN_ALREADY,
    TIME_OF_LIFE,
    WHEN_WAS,
    YEAR_RANGE,
)


def _idle_just(words: list[str], index: int) -> bool:
    """ "just curious", "just wondering": a "just" that says nothing about now."""
    if words[index] != "just":
        return False
    if index and words[index - 1] in ("its", "thats"):
        return True  # "or it's just wee": merely, not now
    return index + 1 < len(words) and words[index + 1] in _IDLE_AFTER_JUST


_IDLE_AFTER_JUST = frozenset({"curious", "wondering", "asking", "checking", "want", "wanted", "a", "in", "general"})

_PHRASE_FAMILIES: dict[str, tuple[tuple[str, ...], ...]] = {
    "hypothetical": HYPOTHETICAL_CUES,
    "worry": WORRY_CUES,
    "own_risk": OWN_RISK_CUES,
    "comparison": (
        ("like", "last", "time"),
        ("as", "last", "time"),
        ("like", "the", "last", "time"),
        ("exactly", "like"),
    ),
    "past": PAST_CUES,
    "time_of_life": TIME_OF_LIFE,
    "recent": RECENT,
    "now_phrase": (("right", "now"), ("at", "the", "moment"), ("having", "one")),
    # The question was about the writer all along: it asks about now.
    "confession": (
        ("because", "i", "did"),
        ("cause", "i", "did"),
        ("as", "i", "did"),
        ("because", "ive", "done", "it"),
        ("i", "just", "did", "it"),
        ("asking", "for", "myself"),
        ("the", "someone", "is", "me"),
        ("that", "someone", "is", "me"),
    ),
    "own_question": OWN_QUESTION,
    "what_question": tuple((wh, word) for wh in ("what", "who", "where", "how") for word in WHAT_QUESTION),
    "asks": (("should", "i"), ("should", "we"), ("would", "i"), ("would", "you"), ("do", "i"), ("?",)),
    "pseudo_negation": PSEUDO_NEGATIONS,
    "seen_already": SEEN_ALREADY,
}
_BY_FIRST_WORD: dict[str, list[tuple[str, list[str]]]] = {}
for _family, _phrases in _PHRASE_FAMILIES.items():
    for _phrase in _phrases:
        _BY_FIRST_WORD.setdefault(_phrase[0], []).append((_family, list(_phrase)))


class Marks:
    """Where each cue of one message is: its phrases (by family) and its cue words (now, a
    year, a relative, a past verb, an "if"), found in one pass. A clause or sentence then asks
    "is there a cue between `start` and `end`" with a binary search, not a scan of its words
    (which, asked per clause of every mention, was most of the rules' cost)."""

    def __init__(self, words: list[str]) -> None:
        found: dict[str, list[tuple[int, int]]] = {}
        negations: set[int] = set()
        count = len(words)
        for index, word in enumerate(words):  # the hot loop of Context: look-ups, few calls
            phrases = _BY_FIRST_WORD.get(word)
            if phrases:
                for family, phrase in phrases:
                    # word by word, no slice: most phrases fail on their second word
                    length = len(phrase)
                    matched = index + length <= count
                    at = 1
                    while matched and at < length:
                        matched = words[index + at] == phrase[at]
                        at += 1
                    if matched:
                        found.setdefault(family, []).append((index, index + length))
            kinds = _word_kinds(words, index) if word in _NEIGHBOURED else _static_kinds(word)
            for kind in kinds:
                found.setdefault(kind, []).append((index, index + 1 + (kind == "aged")))
            if word in NEGATION_CUES:
                negations.add(index)
        pseudo = {start for start, _ in found.get("pseudo_negation", ()) if not denied_wish(words, start)}
        self.negations = negations - pseudo
        self._found = found

    def has(self, kind: str, start: int, end: int) -> bool:
        """A `kind` mark wholly inside [start, end)."""
        return self.first(kind, start, end) is not None

    def first(self, kind: str, start: int, end: int) -> int | None:
        marks = self._found.get(kind)
        if not marks:
            return None
        at = bisect.bisect_left(marks, (start, start))
        while at < len(marks) and marks[at][0] < end:
            if marks[at][1] <= end:
                return marks[at][0]
            at += 1
        return None


_NEIGHBOURED = frozenset({"when", "just", "at", "aged"})  # the words _word_kinds reads around


def _word_kinds(words: list[str], index: int) -> tuple[str, ...]:
    word = words[index]
    kinds = _static_kinds(word)
    if word == "when" and words[index + 1 : index + 3] in WHEN_WAS and words[index + 3 : index + 4] != []:
        unit = words[index + 4] if index + 4 < len(words) else ""
        aged = words[index + 3].isdigit() and unit not in AGE_UNITS  # "when I was 17", not "3 days old"
        return (*kinds, "time_of_life") if aged else kinds
    if word == "just" and _idle_just(words, index):
        return ("now",)
    if word in ("at", "aged") and index + 1 < len(words) and words[index + 1].isdigit():
        return (*kinds, "aged")
    return kinds


@lru_cache(maxsize=65_536)
def _static_kinds(word: str) -> tuple[str, ...]:
    """The kinds a word has whatever its neighbours (cached: a message costs a look-up a word)."""
    kinds = []
    if word in NOW_CUES:
        kinds += ["now", "now_meant"]
    if word.isdigit():
        if int(word) in YEAR_RANGE:
            kinds.append("year")
    elif word in RELATIVES:
        kinds.append("relative")
    elif word == "if":
        kinds.append("if")
    if word in PAST_VERBS:
        kinds.append("past_verb")
    if word in PRESENT_TENSE:
        kinds.append("present")
    if word in MONTHS:
        kinds.append("month")
    return tuple(kinds)
