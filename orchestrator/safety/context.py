"""Is a finding the patient's, and present? NegEx-style context for short patient narratives:
a negation cue shortly before a finding in the same clause ("no chest pain", "denies shortness
of breath", "not thinking of hurting myself"), or a relative's past ("my aunt had a stroke",
"family history of ...") means it does not count. A clause ends at . ; ! ? and at "but",
"however", "although", "except", "though", and at a comma: a negation reaches the rest of its own
phrase only ("no fever, I can't breathe" counts the breathing). Erring that way over-escalates a
list ("no fever, cough") rather than missing a danger sign."""

from __future__ import annotations

import re

# Cues that negate what follows within a few words (Chapman et al.'s NegEx, trimmed to what
# patients write).
_NEGATION = re.compile(
    r"\b(no|not|never|none|nor|without|denies|denied|deny|denying|negative for|free of|absence of|"
    r"ruled out|no signs? of|no history of|doesn'?t|don'?t|didn'?t|isn'?t|wasn'?t|haven'?t|hasn'?t|"
    r"hadn'?t|can'?t say|neither)\b"
)
_NEGATION_REACH_WORDS = 6
# Someone else's past: a relative with had/died/history, or a family history.
_OTHER_PERSON = re.compile(
    r"\b(family history|runs in (the|my) family|(my|his|her|our) (mother|mom|mum|father|dad|aunt|uncle|"
    r"grandmother|grandfather|grandma|grandpa|granny|cousin|parents?|grandparents?|brother|sister|neighbou?r|"
    r"friend|colleague)s?\b.{0,40}\b(had|died|passed away|history|was diagnosed|suffered))"
)
_CLAUSE_BREAK = re.compile(r"[.,;!?\n]|\b(but|however|although|though|except|yet)\b")


def clause_start(text: str, position: int) -> int:
    """Where the clause holding `position` begins."""
    start = 0
    for match in _CLAUSE_BREAK.finditer(text, 0, position):
        start = match.end()
    return start


def counts(text: str, start: int) -> bool:
    """Whether the finding at `start` (in lowercased text) is the patient's, and present."""
    clause = text[clause_start(text, start) : start]
    cues = list(_NEGATION.finditer(clause))
    if cues and len(clause[cues[-1].end() :].split()) <= _NEGATION_REACH_WORDS:  # the last cue before it
        return False
    return _OTHER_PERSON.search(clause) is None
