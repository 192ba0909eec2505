"""Concepts (concepts.yaml) found in a message's words: each term is words in order, up to two
other words between them, inside one sentence; `word*` matches words it begins. Terms are
indexed by their first word (and first-word prefix), so a message costs a few dictionary
look-ups a word: linear in its length."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from orchestrator.safety.compiled import PACKAGE_DIR
from orchestrator.safety.lexicon import CLAUSE_MARK, JOINED_PHRASES, SENTENCE_END, Lexicon, normalise, tokens

CONCEPTS_FILE = PACKAGE_DIR / "concepts.yaml"  # the package's, wherever a compiled build lives
# Concepts read from numbers rather than listed words: a duration of 5 minutes or more ("fitting
# for 7 mins", "2 hours"), weeks of a pregnancy before 37 ("only 29 wks"), a blood pressure of
# 160/110 or more ("BP at home 165/110": NHS and ACOG's severe range), a systolic of 90 or less
# ("BP 85/50 on the home machine": with an infection, a sign of septic shock), and an oxygen saturation
# of 92% or less ("sats 84%": the NHS pulse-oximeter advice to get help now).
DERIVED = ("over_5_minutes", "preterm_weeks", "very_high_bp", "very_low_bp", "low_oxygen", "low_peak_flow")
_PRESSURE_CUES = frozenset({"bp", "pressure", "bps"})
_OXYGEN_CUES = frozenset({"sats", "sat", "spo2", "saturation", "saturations", "saturating", "oxygen", "o2", "sp02"})
_OXYGEN_CUES |= {"ox", "oximeter", "oxymeter", "oximetre"}  # "pulse ox says 86"
_OXYGEN_FILLER = frozenset({"is", "was", "of", "at", "are", "now", "only", "down", "to", "level", "levels", "reading"})
_OXYGEN_FILLER |= {"says", "said", "reads", "shows", "showing", "showed"}
_MINUTES = frozenset({"minutes", "minute", "mins", "min", "mns"})
HOURS = frozenset({"hours", "hour", "hrs", "hr", "h"})
_WEEKS = frozenset(
    {"weeks", "week", "wks", "wk", "w", "semanas", "semana", "tygodni", "tydzien", "hafta", "haftalik", "savaites"}
)
_GAP = 2  # other words allowed between two words of a term
_MEMO_WORDS = 50_000
# The negation words a term may carry itself (context.NEGATION_CUES, and near-absences).
NEGATION_WORDS = frozenset(
    {"no", "not", "never", "none", "without", "dont", "doesnt", "didnt", "isnt", "wasnt", "arent", "werent"}
    | {"hasnt", "havent", "hadnt", "wont", "cant", "cannot", "nothing", "unable", "stopped", "nil"}
    | {"hardly", "barely"}  # a term's own near-absence ("hardly any wee"), never a cue for others
)
_MIN_PREFIX = 2


@dataclass(frozen=True, slots=True)
class Pattern:
    word: str
    prefix: bool

    def matches(self, token: str) -> bool:
        return token.startswith(self.word) if self.prefix else token == self.word


@dataclass(frozen=True, slots=True)
class Term:
    concept: str
    patterns: tuple[Pattern, ...]
    gap: int = _GAP


@dataclass(frozen=True, slots=True)
class Mention:
    concept: str
    start: int  # token indices, inclusive
    end: int
    absence: bool = False  # its term's own words negate ("not breathing"): a danger sign, never negated
    inverted: bool = False  # a term that names the concept when negated ("hasn't passed wind")


def _term(concept: str, text: str, gap: int) -> Term:
    words = tokens(text)
    return Term(concept, tuple(Pattern(w.rstrip("*"), w.endswith("*")) for w in _starred(text, words)), gap)


def _starred(text: str, words: list[str]) -> list[str]:
    """tokens() drops the `*` of a prefix pattern: put it back on the words that had one."""
    starred = {w.rstrip("*") for w in normalise(text).split() if w.endswith("*")}
    # a set phrase is one word ("blood thinner*" reads "bloodthinner*"): starred by its last word
    return [
        f"{w}*" if w in starred or (w in JOINED_PHRASES and any(w.endswith(s) for s in starred)) else w for w in words
    ]


@dataclass
class Node:
    """A trie of terms: the next word, exact or as a prefix; the concepts a term ending here names."""

    exact: dict[str, Node] = field(default_factory=dict)
    prefixed: dict[str, Node] = field(default_factory=dict)
    ends: list[tuple[str, bool, bool]] = field(default_factory=list)  # (concept, words negate, inverted)
    branches: bool = False  # a term goes on past this word
    _seen: dict[str, list[Node]] = field(default_factory=dict, repr=False)  # word -> next nodes

    def child(self, pattern: Pattern) -> Node:
        self.branches = True
        children = self.prefixed if pattern.prefix else self.exact
        return children.setdefault(pattern.word, Node())

    def next(self, word: str) -> list[Node]:
        known = self._seen.get(word)
        if known is not None:
            return known
        if len(self._seen) > _MEMO_WORDS:  # bounded: a stream of invented words can't grow it
            self._seen.clear()
        found = self._seen[word] = self._next(word)
        return found

    def _next(self, word: str) -> list[Node]:
        found = [self.exact[word]] if word in self.exact else []
        if self.prefixed:  # a look-up per prefix of the word, not a scan of the patterns
            prefixed = self.prefixed
            # a set phrase read as one word is no prefix of its first word's ("faintpink": "faint*")
            shortest = JOINED_PHRASES.get(word, _MIN_PREFIX - 1) + 1
            found.extend(prefixed[word[:n]] for n in range(shortest, len(word) + 1) if word[:n] in prefixed)
        return found


@dataclass
class ConceptIndex:
    roots: dict[int, Node] = field(default_factory=dict)  # one trie per gap a concept allows
    absences: frozenset[str] = frozenset()
    asked: frozenset[str] = frozenset()  # concepts a question still counts ("how many would it take")
    lexicon: Lexicon = field(default_factory=lambda: Lexicon.of(()))
    listed: frozenset[str] = frozenset()
    # word -> the (gap, node) pairs it starts a term at, over every root (memoised, bounded)
    _starts: dict[str, tuple[tuple[int, Node], ...]] = field(default_factory=dict, repr=False)

    @classmethod
    def load(cls, path: Path = CONCEPTS_FILE) -> ConceptIndex:
        raw: dict[str, Any] = yaml.safe_load(path.read_text())["concepts"]
        index = cls()
        vocabulary: set[str] = set()
        for concept, entry in raw.items():
            gap = int(entry.get("gap", _GAP))
            terms = [(text, False) for text in entry["terms"]]
            terms += [(text, True) for text in entry.get("when_negated", ())]
            for text, inverted in terms:
                term = _term(concept, str(text), gap)
                if not term.patterns:
                    raise ValueError(f"{path}: concept {concept} has an empty term {text!r}")
                node = index.roots.setdefault(gap, Node())
                for pattern in term.patterns:
                    node = node.child(pattern)
                absence = not inverted and any(p.word in NEGATION_WORDS for p in term.patterns)
                if (concept, absence, inverted) not in node.ends:
                    node.ends.append((concept, absence, inverted))
                vocabulary.update(p.word for p in term.patterns)  # a prefix's stem too: "preg" stays
        index.absences = frozenset(c for c, entry in raw.items() if entry.get("absence"))
        index.asked = frozenset(c for c, entry in raw.items() if entry.get("counts_in_questions"))
        index.lexicon = Lexicon.of(vocabulary)
        index.listed = frozenset(raw)
        return index

    @property
    def concepts(self) -> set[str]:
        return set(self.listed) | set(DERIVED)

    def find(self, words: list[str]) -> list[Mention]:
        """Every concept mention in `words` (as Lexicon.read returns them): one per concept and
        start, ending at the term's furthest word."""
        # The hot loop of the rules (about a third of their cost): look-ups, few calls.
        found: dict[tuple[str, int, bool], tuple[int, bool]] = {}
        starts = self._starts
        for start, word in enumerate(words):
            hits = starts.get(word)
            if hits is None:
                hits = self._starting(word)
            for gap, node in hits:
                if node.ends:  # (most words start terms only: "my", "in", "a")
                    _record(node, start, start, found)
                if node.branches:
                    _walk(node, words, start, start, gap, found)
        mentions = [Mention(c, start, end, absence, inverted) for (c, start, inverted), (end, absence) in found.items()]
        return mentions + derived(words)

    def _starting(self, word: str) -> tuple[tuple[int, Node], ...]:
        if len(self._starts) > _MEMO_WORDS:  # bounded: a stream of invented words can't grow it
            self._starts.clear()
        hits: tuple[tuple[int, Node], ...] = ()
        if word not in SENTENCE_END:
            hits = tuple((gap, node) for gap, root in self.roots.items() for node in root.next(word))
        self._starts[word] = hits
        return hits


_STOPS = SENTENCE_END | CLAUSE_MARK  # a term's words stay in one clause ("not drooling, breathing's normal")


def _record(node: Node, start: int, position: int, found: dict[tuple[str, int, bool], tuple[int, bool]]) -> None:
    """The concepts of the terms that end at `node`, read from `start` to `position`: one
    mention per concept and start, ending at the furthest word (an absence wins a tie)."""
    for concept, absence, inverted in node.ends:
        key = (concept, start, inverted)
        known = found.get(key)
        if known is None or known[0] < position or (known[0] == position and absence and not known[1]):
            found[key] = (position, absence)


def _walk(
    node: Node,
    words: list[str],
    start: int,
    position: int,
    gap: int,
    found: dict[tuple[str, int, bool], tuple[int, bool]],
) -> None:
    """The terms that go on from `node` (read up to `position`), up to `gap` words skipped."""
    seen = node._seen
    for candidate in range(position + 1, min(len(words), position + 2 + gap)):
        token = words[candidate]
        if token in _STOPS:
            return
        children = seen.get(token)
        for child in node.next(token) if children is None else children:
            if child.ends:
                _record(child, start, candidate, found)
            if child.branches:
                _walk(child, words, start, candidate, gap, found)


def derived(words: list[str]) -> list[Mention]:
    found: list[Mention] = []
    for index, word in enumerate(words):
        if word in _PEAK_FLOW and _low_peak_flow(words, index):
            found.append(Mention("low_peak_flow", index, index + 2))
        if not word.isdigit() or len(word) > 4:
            continue
        number, unit = int(word), words[index + 1] if index + 1 < len(words) else ""
        if unit and _very_high_bp(words, index, number):
            found.append(Mention("very_high_bp", index, index + 1))
        elif unit and _very_low_bp(words, index, number):
            found.append(Mention("very_low_bp", index, index + 1))
        if _low_oxygen(words, index, number):
            found.append(Mention("low_oxygen", index - 1, index))
        after = words[index + 2] if index + 2 < len(words) else ""
        if ((unit in _MINUTES and number >= 5) or unit in HOURS) and words[index - 1 : index] != ["within"]:
            # ("came round within 15 min" is how soon it ended, not how long: after blind set W)
            found.append(Mention("over_5_minutes", index, index + 1))
        elif unit in _WEEKS and 20 <= number <= 36 and after not in ("old", "ago"):
            found.append(Mention("preterm_weeks", index, index + 1))
    return found


def _very_high_bp(words: list[str], index: int, systolic: int) -> bool:
    """ "BP 165/110" (read as "165 110"): two numbers, a pressure cue within four words before."""
    diastolic = words[index + 1]
    if not diastolic.isdigit() or len(diastolic) > 3 or not 70 <= systolic <= 260:
        return False
    if not 40 <= int(diastolic) < systolic or not any(w in _PRESSURE_CUES for w in words[max(0, index - 4) : index]):
        return False
    return systolic >= 160 or int(diastolic) >= 110


def _very_low_bp(words: list[str], index: int, systolic: int) -> bool:
    """ "BP 85/50" (read as "85 50"): a systolic of 50 to 90 over a lower diastolic, a pressure cue
    within four words before."""
    diastolic = words[index + 1]
    if not diastolic.isdigit() or len(diastolic) > 2 or not 50 <= systolic <= 90:
        return False
    return 20 <= int(diastolic) < systolic and any(w in _PRESSURE_CUES for w in words[max(0, index - 4) : index])


_NOT_PEAK_FLOW_UNITS = frozenset(
    {"kg", "kgs", "lb", "lbs", "st", "stone", "mg", "ml", "mcg", "g", "years", "yrs", "yr", "y", "yo", "percent"}
    | {"bpm", "mins", "min", "minutes", "hours", "hrs", "days", "weeks", "cm", "mm", "m", "ft", "feet", "x", "times"}
)


_PEAK_FLOW = frozenset({"peak", "pef", "pefr"})


def _low_peak_flow(words: list[str], index: int) -> bool:
    """ "peak flow normally 450, it's 150 now", "PEF 150 (best 550)": two readings in the sentence
    after "peak flow" (or PEF), the lower under half the higher (BTS/NHS: a severe attack)."""
    if words[index] == "peak" and words[index + 1 : index + 2] != ["flow"]:
        return False
    readings = []
    first = index + 2 if words[index] == "peak" else index + 1
    window = words[first : first + 12]
    for at, word in enumerate(window):
        if word in SENTENCE_END:
            break
        unit = window[at + 1] if at + 1 < len(window) else ""
        if word.isdigit() and len(word) <= 3 and 80 <= int(word) <= 900 and unit not in _NOT_PEAK_FLOW_UNITS:
            readings.append(int(word))  # not "I weigh 70 kg", "age 65 years"
    return len(readings) >= 2 and min(readings) * 2 < max(readings)


def _low_oxygen(words: list[str], index: int, number: int) -> bool:
    """ "sats 84", "spo2 is 88", "O2 sat of 89": a saturation of 92 or less after its cue."""
    if not 50 <= number <= 92 or index == 0:
        return False
    at = index - 1
    while at > 0 and words[at] in _OXYGEN_FILLER and index - at < 4:
        at -= 1
    return words[at] in _OXYGEN_CUES
