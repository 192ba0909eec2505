"""Red-flag rules (red_flags.yaml) over lay-language concepts (concepts.yaml), applied to what
the patient wrote: deterministic, reviewable, and independent of every model and stage.

A message is read once: its words (lexicon: typos corrected), the concepts in them, each
mention's context (context.py: negated, hypothetical, past), and the patient's facts
(facts.py). A rule fires when one of its alternatives holds: its `all` concepts counted within
a few words of each other, in any order, one of its `any` concepts counted anywhere, and its
facts true. Linear in the message's length."""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any, Protocol

import yaml

from orchestrator.safety.assessment import GENERAL_NET, SAFETY_NETS, RedFlag, SafetyAssessment, SafetyNet
from orchestrator.safety.compiled import PACKAGE_DIR
from orchestrator.safety.concepts import CONCEPTS_FILE, ConceptIndex, Mention
from orchestrator.safety.context import Context, ContextEngine
from orchestrator.safety.facts import PatientFacts

RULES_FILE = PACKAGE_DIR / "red_flags.yaml"  # the package's, wherever a compiled build lives
TOGETHER_WITHIN = 20  # words: the reach of `all` (a sentence, or "my chest, it's like a weight on it")


class Positions(Protocol):
    """concept -> the ascending word positions of its mentions (only concepts with one)."""

    def __contains__(self, concept: object) -> bool: ...

    def __getitem__(self, concept: str) -> list[int]: ...


class _Counted:
    """The positions of the mentions that count, each concept's context read the first time a
    rule asks for it: a rule's alternative that fails on its first concept never pays for the
    context of the rest (about a third of the mentions of the concepts candidates name)."""

    __slots__ = ("_by_concept", "_counts", "_known")

    def __init__(self, by_concept: dict[str, list[Mention]], counts: Callable[[Mention], bool]) -> None:
        self._by_concept = by_concept
        self._counts = counts
        self._known: dict[str, list[int] | None] = {}

    def _get(self, concept: str) -> list[int] | None:
        if concept in self._known:
            return self._known[concept]
        positions = sorted(m.start for m in self._by_concept.get(concept, ()) if self._counts(m)) or None
        self._known[concept] = positions
        return positions

    def __contains__(self, concept: object) -> bool:
        return isinstance(concept, str) and self._get(concept) is not None

    def __getitem__(self, concept: str) -> list[int]:
        positions = self._get(concept)
        if positions is None:
            raise KeyError(concept)
        return positions


@dataclass(frozen=True)
class Alternative:
    together: tuple[str, ...]
    any_of: tuple[str, ...]
    facts: tuple[str, ...]
    within: int = TOGETHER_WITHIN
    # Concepts that, counted within `within` words of the anchor, keep this alternative from
    # holding ("a tiny streak of blood in my phlegm": coughing up blood, but not the A&E amount).
    unless: tuple[str, ...] = ()

    def holds(self, found: Positions, facts: PatientFacts, *, exceptions: bool = True) -> bool:
        if not all(facts.holds(fact) for fact in self.facts):
            return False
        if self.any_of and not any(concept in found for concept in self.any_of):
            return False
        unless = tuple(concept for concept in self.unless if concept in found) if exceptions else ()
        return _together(self.together, found, self.within, unless)


def _together(concepts: tuple[str, ...], found: Positions, within: int, unless: tuple[str, ...]) -> bool:
    """Each of `concepts` counted, all within `within` words of one mention of the first, and
    none of `unless` within `within` words of that mention."""
    if not all(concept in found for concept in concepts):
        return False
    first, rest = concepts[0], concepts[1:]
    return any(
        all(_near(found[other], anchor, within) for other in rest)
        and not any(_near(found[other], anchor, within) for other in unless)
        for anchor in found[first]
    )


def _near(positions: list[int], anchor: int, within: int) -> bool:
    """A position within `within` of `anchor` (positions ascend: a binary search, not a scan)."""
    at = bisect.bisect_left(positions, anchor - within)
    return at < len(positions) and positions[at] <= anchor + within


@dataclass(frozen=True)
class Rule:
    id: str
    condition: str
    meaning: str
    advice: str
    source: str
    alternatives: tuple[Alternative, ...]
    safety_net: str | None = None  # the warning signs in lay words, when `meaning` is not enough

    @property
    def concepts(self) -> frozenset[str]:
        return frozenset(c for a in self.alternatives for c in (*a.together, *a.any_of, *a.unless))

    def fires(self, found: Positions, facts: PatientFacts, *, exceptions: bool = True) -> bool:
        return any(alternative.holds(found, facts, exceptions=exceptions) for alternative in self.alternatives)

    def nearness(self, mentioned: set[str], facts: PatientFacts) -> int:
        """How much of the rule the message already names (its concepts in any context, facts
        held): the complaints whose warning signs a routine answer lists."""
        best = 0
        for alternative in self.alternatives:
            if not all(facts.holds(fact) for fact in alternative.facts):
                continue
            if alternative.together[0] in mentioned:  # its core (a site, the sign itself) is named
                best = max(best, sum(concept in mentioned for concept in alternative.together))
        return best


@dataclass(frozen=True)
class Reading:
    """One message as the rules see it, every mention's context read (assess reads only what a
    rule could use): for tests and for explaining a verdict."""

    words: list[str]
    mentions: list[Mention]
    counted: dict[str, list[int]]  # concept -> word positions of the mentions that count
    facts: PatientFacts


@dataclass(frozen=True)
class RedFlagRules:
    advice_texts: dict[str, str]
    rules: tuple[Rule, ...]
    concepts: ConceptIndex
    # Reads one message's words and answers, per mention, whether it counts (a parameter so that
    # another engine can be measured on the same rules: python -m loadtests.evaluate_red_flags --context).
    context: Callable[[list[str]], ContextEngine] = Context

    # concept -> the rules (by index) with an alternative whose `all` begins with it: no rule can
    # fire on a message without one of its anchors, so a message asks only those. A field set once
    # (not a cached_property: a compiled class has no instance __dict__ to cache in).
    _by_anchor: dict[str, tuple[int, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        anchors: dict[str, set[int]] = defaultdict(set)
        for index, rule in enumerate(self.rules):
            for alternative in rule.alternatives:
                anchors[alternative.together[0]].add(index)
        object.__setattr__(self, "_by_anchor", {concept: tuple(sorted(at)) for concept, at in anchors.items()})

    def _counts(self, context: ContextEngine, mention: Mention) -> bool:
        if mention.concept in self.concepts.asked:  # "how many would it take so I don't wake up"
            return context.negated(mention) == mention.inverted and not context.past(mention)
        return context.counts(mention)

    def without(self, condition: str) -> RedFlagRules:
        """These rules less the named condition's (leave-one-condition-out)."""
        return replace(self, rules=tuple(rule for rule in self.rules if rule.condition != condition))

    @classmethod
    def load(cls, path: Path = RULES_FILE, concepts_path: Path = CONCEPTS_FILE) -> RedFlagRules:
        raw: dict[str, Any] = yaml.safe_load(path.read_text())
        concepts = ConceptIndex.load(concepts_path)
        known = concepts.concepts
        rules = tuple(_rule(entry) for entry in raw["rules"])
        for rule in rules:
            if rule.concepts - known:
                raise ValueError(f"{path}: rule {rule.id} names unknown concepts {sorted(rule.concepts - known)}")
            if rule.advice not in raw["advice"]:
                raise ValueError(f"{path}: rule {rule.id} names unknown advice {rule.advice!r}")
        return cls(advice_texts=dict(raw["advice"]), rules=rules, concepts=concepts)

    def read(
        self, text: str, *, age_years: int | None = None, age_months: int | None = None, pregnant: bool | None = None
    ) -> Reading:
        words = self.concepts.lexicon.read(text)
        mentions = self.concepts.find(words)
        context = self.context(words)
        counted = _positions(m for m in mentions if self._counts(context, m))
        facts = PatientFacts(words, mentions, context, age_years=age_years, age_months=age_months, pregnant=pregnant)
        return Reading(words, mentions, counted, facts)

    def assess(
        self, text: str, *, age_years: int | None = None, age_months: int | None = None, pregnant: bool | None = None
    ) -> SafetyAssessment:
        words = self.concepts.lexicon.read(text)
        mentions = self.concepts.find(words)
        context = self.context(words)
        facts = PatientFacts(words, mentions, context, age_years=age_years, age_months=age_months, pregnant=pregnant)
        # Counting only removes mentions and a rule, its exceptions set aside, only needs more of
        # them to fire, so a rule that does not fire on every mention cannot fire on those that
        # count: context (most of the cost) is read only for the concepts of the rules that would.
        every = _positions(mentions)
        anchored = sorted({index for concept in every for index in self._by_anchor.get(concept, ())})
        rules = map(self.rules.__getitem__, anchored)
        candidates = [rule for rule in rules if rule.fires(every, facts, exceptions=False)]
        fired: list[Rule] = []
        if candidates:
            by_concept: dict[str, list[Mention]] = defaultdict(list)
            for mention in mentions:
                by_concept[mention.concept].append(mention)
            counted = _Counted(by_concept, lambda mention: self._counts(context, mention))
            fired = [rule for rule in candidates if rule.fires(counted, facts)]
        order = list(self.advice_texts)  # as red_flags.yaml lists them: the most urgent first
        advice_keys = sorted({r.advice for r in fired}, key=order.index)
        return SafetyAssessment(
            emergency=bool(fired),
            red_flags=[
                RedFlag(rule=r.id, meaning=r.meaning, advice=self.advice_texts[r.advice], source=r.source)
                for r in fired
            ],
            advice=[self.advice_texts[key] for key in advice_keys],
            safety_netting=[] if fired else self.safety_netting(mentions, facts),
        )

    def safety_netting(self, mentions: Iterable[Mention], facts: PatientFacts) -> list[SafetyNet]:
        """The warning signs of the conditions nearest the complaint (its concepts named, even
        negated or hypothetical: "no chest pain" still earns the chest-pain warning signs)."""
        mentioned = {m.concept for m in mentions}
        near = sorted(
            ((rule.nearness(mentioned, facts), index, rule) for index, rule in enumerate(self.rules)),
            key=lambda item: (-item[0], item[1]),
        )
        nets: list[SafetyNet] = []
        seen: set[str] = set()
        for score, _, rule in near:
            if score == 0 or len(nets) == SAFETY_NETS:
                break
            if rule.condition not in seen:
                seen.add(rule.condition)
                nets.append(
                    SafetyNet(
                        condition=rule.condition,
                        warning_signs=rule.safety_net or rule.meaning,
                        advice=self.advice_texts[rule.advice],
                    )
                )
        return nets or [GENERAL_NET]


def _positions(mentions: Iterable[Mention]) -> dict[str, list[int]]:
    """concept -> the word positions of its mentions, ascending."""
    found: dict[str, list[int]] = defaultdict(list)
    for mention in mentions:
        found[mention.concept].append(mention.start)
    for at in found.values():
        at.sort()
    return dict(found)


def _rule(entry: dict[str, Any]) -> Rule:
    alternatives = tuple(
        Alternative(
            together=tuple(alt.get("all", ())),
            any_of=tuple(alt.get("any", ())),
            facts=tuple(alt.get("facts", ())),
            within=int(alt.get("within", TOGETHER_WITHIN)),
            unless=tuple(alt.get("unless", ())),
        )
        for alt in entry["when"]
    )
    if any(not a.together for a in alternatives):
        raise ValueError(f"rule {entry['id']}: every alternative needs `all`")
    return Rule(
        id=entry["id"],
        condition=entry["condition"],
        meaning=entry["meaning"],
        advice=entry["advice"],
        source=entry["source"],
        alternatives=alternatives,
        safety_net=entry.get("safety_net"),
    )


@cache
def default_rules() -> RedFlagRules:
    return RedFlagRules.load()
