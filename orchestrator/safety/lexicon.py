"""The words of a patient's message as the concept layer reads them: lower case, apostrophes
dropped ("can't" is "cant"), hyphens as spaces, sentence and clause marks kept as tokens, and
typos corrected toward the concepts' own vocabulary.

A word is corrected only when it is not in that vocabulary and not common English (wordfreq's
Zipf frequency under 2.5: "chess" and "breast" stay, "cheast" and "breth" do not), to the closest
vocabulary word within one edit (two for words of nine letters or more; rapidfuzz's
Damerau-Levenshtein, so a swapped pair is one edit). Corrections are cached per word, so a
message costs one dictionary look-up a word after the first time a word is seen."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz import process
from rapidfuzz.distance import DamerauLevenshtein
from wordfreq import zipf_frequency

SENTENCE_END = frozenset({".", "!", "?", ";", "\n"})
CLAUSE_MARK = frozenset({",", ":", "(", ")", "-"})
_TOKEN = re.compile(r"[a-z0-9]+(?:\.[0-9]+)?|[.!?;\n,:()]|(?<= )-(?= )")
_APOSTROPHE = re.compile(r"['’‘`´]")
_JOINED = re.compile(r"(?<=[a-z])[-/](?=[a-z])")  # light-headed, chest/arm: two words
COMMON_ZIPF = 2.5
_MIN_CORRECTED = 4


# Set phrases whose words would read as something else: "hay fever" is not a fever.
_SET_PHRASES = re.compile(
    r"\b(hay) (fever)\b|\b(heart)(burn)\b|\b(blood) (pressure|tests?|sugars?|thinners?|counts?|results|work|"
    r"type|group|donation|glucose|levels?|draw)\b"
)


# "temp normal", "temperature is fine": a reading that says there is no fever.
_NORMAL_READING = re.compile(r"\b(?:temp|temperature)(?: is| was| has been)? (?:normal|fine|ok|okay|down)\b")


def normalise(text: str) -> str:
    joined = _JOINED.sub(" ", _APOSTROPHE.sub("", text.lower()))
    joined = _NORMAL_READING.sub("normaltemperature", joined)
    return _SET_PHRASES.sub(lambda m: "".join(g for g in m.groups() if g), joined)


_LONGEST_NUMBER = 9  # digits; a longer run is no count or reading (and int() refuses 4,300+ digits)


def tokens(text: str) -> list[str]:
    """Words and marks of `text`, in order (one regex pass: linear in the length)."""
    return [
        "longnumber" if len(token) > _LONGEST_NUMBER and token.isdigit() else token
        for token in _TOKEN.findall(normalise(text))
    ]


@dataclass(frozen=True, eq=False)
class Lexicon:
    """The concept vocabulary, and the typo corrector toward it."""

    words: frozenset[str]
    by_initial: dict[str, tuple[str, ...]]  # a typo rarely hits the first letter: candidates

    @classmethod
    def of(cls, words: Iterable[str]) -> Lexicon:
        vocabulary = frozenset(w for w in words if w.isalpha())
        initials: dict[str, list[str]] = {}
        for word in sorted(vocabulary):
            initials.setdefault(word[0], []).append(word)
        return cls(vocabulary, {k: tuple(v) for k, v in initials.items()})

    def correct(self, word: str) -> str:
        if word in self.words or len(word) < _MIN_CORRECTED or not word.isalpha():
            return word
        return _corrected(word, self)

    def read(self, text: str) -> list[str]:
        known = self.words  # inline of correct()'s first test: most words are known or short
        return [t if t in known or len(t) < _MIN_CORRECTED else self.correct(t) for t in tokens(text)]


@lru_cache(maxsize=65_536)
def _corrected(word: str, lexicon: Lexicon) -> str:
    if zipf_frequency(word, "en") >= COMMON_ZIPF:
        return word
    limit = 2 if len(word) >= 9 else 1
    candidates = [w for w in lexicon.by_initial.get(word[0], ()) if abs(len(w) - len(word)) <= limit]
    found = process.extractOne(word, candidates, scorer=DamerauLevenshtein.distance, score_cutoff=limit)
    return word if found is None else str(found[0])
