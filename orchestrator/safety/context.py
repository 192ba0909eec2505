"""Is a finding the patient's, present, and now? NegEx-style context for short patient narratives.

- A negation cue shortly before a finding in the same phrase ("no chest pain", "denies shortness
  of breath") means it does not count; a phrase ends at . , ; : ! ? a line break, and at "but",
  "however", "although", "though", "except", "yet", "and", "because", "when", "now", "so". Ending
  phrases early errs towards escalating ("no fever, cough") rather than missing a danger sign.
- Phrases that only look negative ("no one is home", "without warning", "never had this before",
  "no longer", "don't know", "not sure") negate nothing.
- Someone else's past ("my aunt had a stroke last year", "family history of ...", "my father died of
  a heart attack") and the patient's own distant past ("had a seizure as a child") do not count;
  a relative's emergency now ("my dad just had a stroke", "my mum is having a seizure") does.
"""

from __future__ import annotations

import bisect
import re
from functools import lru_cache

_PSEUDO_NEGATION = re.compile(
    r"\b(no one|nobody|no longer|no matter|not sure|not certain|not only|not ok|not okay|not well|not feeling|"
    r"don'?t know|didn'?t know|do not know|without warning|without any warning|never had (this|anything like)|"
    r"never felt|never been this|no idea|can'?t tell|doesn'?t help|don'?t help|isn'?t helping|not helping|"
    r"didn'?t help|wasn'?t doing)\b"
)
# Cues that negate what follows within a few words (Chapman et al.'s NegEx, trimmed to what
# patients write).
_NEGATION = re.compile(
    r"\b(no|not|never|none|nor|without|denies|denied|deny|denying|negative for|free of|absence of|"
    r"ruled out|doesn'?t have|don'?t have|didn'?t have|haven'?t had|hasn'?t had|isn'?t|wasn'?t|"
    r"haven'?t|hasn'?t|neither)\b"
)
_NEGATION_REACH_WORDS = 4
_LOOK_BACK = 160  # characters: further back than any cue, relative or time a check looks for
_PHRASE_BREAK = re.compile(r"[.,;:!?\n]|\b(but|however|although|though|except|yet|and|because|when|now|so|then)\b")
# Someone else's past, or a family history.
_OTHER_PERSON = re.compile(
    r"\b(family history|runs in (the|my|our) family|(my|his|her|our) (mother|mom|mum|father|dad|aunt|uncle|"
    r"grandmother|grandfather|grandma|grandpa|granny|cousin|parents?|grandparents?|brother|sister|neighbou?r|"
    r"friend|colleague)s?\b.{0,40}\b(died|passed away|history of|was diagnosed|suffered))"
)
_RELATIVE_HAD = re.compile(
    r"\b(my|his|her|our) (mother|mom|mum|father|dad|aunt|uncle|grandmother|grandfather|grandma|grandpa|granny|"
    r"cousin|brother|sister)s?\b.{0,30}\bhad\b"
)
# The past, as opposed to now: it makes a relative's "had" history, and the patient's own too.
_PAST = re.compile(
    r"\b(\d+ years ago|years ago|last year|a year ago|as a (child|kid|baby|teen\w*)|when (i|he|she) was "
    r"(young|little|a child|a kid)|in the past|back in \d{4}|in \d{4})\b"
)
_NOW = re.compile(r"\b(just|now|today|tonight|this (morning|evening|afternoon)|minutes? ago|an hour ago|right now)\b")


@lru_cache(maxsize=64)
def _phrase_starts(text: str) -> list[int]:
    """Where each phrase of the text begins (found once per text, not once per finding)."""
    return [0, *(match.end() for match in _PHRASE_BREAK.finditer(text))]


def phrase_start(text: str, position: int) -> int:
    starts = _phrase_starts(text)
    return starts[bisect.bisect_right(starts, position) - 1]


def counts(text: str, start: int) -> bool:
    """Whether the finding at `start` (in lowercased text) is the patient's, present, and now."""
    # Bounded look-back: every check reads a few words around the finding, so a long text with
    # many findings costs linear time, not quadratic.
    phrase = text[max(phrase_start(text, start), start - _LOOK_BACK) : start]
    cleared = _PSEUDO_NEGATION.sub(" ", phrase)
    cues = list(_NEGATION.finditer(cleared))
    if cues and len(cleared[cues[-1].end() :].split()) <= _NEGATION_REACH_WORDS:
        return False
    sentence = _sentence_around(text, start)
    before = sentence[: start - _sentence_start(text, start)]
    if _OTHER_PERSON.search(before):
        return False
    after = text[start : start + 80]
    if _RELATIVE_HAD.search(before) and not _NOW.search(sentence) and _PAST.search(sentence):
        return False  # "my aunt had a stroke last year"
    return not _PAST.search(after.split(".")[0])  # "had a seizure as a child"


def _sentence_start(text: str, position: int) -> int:
    floor = max(0, position - _LOOK_BACK)
    return max(text.rfind(".", floor, position), text.rfind("\n", floor, position), floor - 1) + 1


def _sentence_around(text: str, position: int) -> str:
    ceiling = min(len(text), position + _LOOK_BACK)
    ends = (text.find(".", position, ceiling), text.find("\n", position, ceiling))
    end = min((i for i in ends if i >= 0), default=ceiling)
    return text[_sentence_start(text, position) : end]
