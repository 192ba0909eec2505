"""Does a concept mention count: is it the patient's (or the person they write about), present,
and now? Read over the message's words (lexicon.tokens), NegEx-style, in linear time.

- Negation: a cue ("no", "not", "denies", "without", "hasn't"...) up to five words before a
  mention, in the same clause, cancels it ("no chest pain", "no fever, cough or chest pain").
  A mention whose own words carry the cue is an absence that is itself a danger sign ("he
  isn't responding", "no wet nappy since this morning") and is never cancelled.
- Hypothetical or educational questions ("how would I know if I was having a heart attack?",
  "what are the signs of a stroke?") do not count, unless the sentence also says it is
  happening now ("what do I do, my dad is having chest pain right now").
- The past: a clause with a history cue ("history of", "years ago", "as a child", "in 2019")
  and no sign of now does not count ("I had a stent 3 years ago" leaves "crushing chest pain
  and sweating" in its own clause alone). Someone else's past ("my dad died of a heart attack",
  "family history of stroke", "my mum had a stroke at 60") does not count; someone else's
  present does ("my dad, who has a history of angina, has crushing chest pain now").

Ambiguity resolves toward counting: a cue must be there for a mention to be cancelled.
"""

from __future__ import annotations

from typing import Protocol

from orchestrator.safety.clauses import Layout
from orchestrator.safety.concepts import Mention
from orchestrator.safety.dating import before_age_today, in_a_month, shared_illness
from orchestrator.safety.lexicon import CLAUSE_MARK, SENTENCE_END
from orchestrator.safety.marks import Marks
from orchestrator.safety.negation_cues import (
    CONJUNCTIONS,
    CONTRAST,
    DURATION_UNITS,
    NEGATION_REACH,
    NEW_PREDICATE,
    PRESENT_QUANTIFIERS,
    RATE_AFTER_ABSENCE,
    SAID_FINE_AFTER,
    STOP_WORDS,
    SUBJECT_AND_VERB,
    SUBJECTS,
)
from orchestrator.safety.questions import conditional_question, general_question, no_now_but_durations
from orchestrator.safety.time_cues import PRESENT_AUXILIARY, THIRD_PERSON, past_verb


class ContextEngine(Protocol):
    """What the rules ask of a context engine about one message's mentions (ours below;
    context_medspacy.py wraps medspaCy's ConText as the alternative the evaluation measures)."""

    def negated(self, mention: Mention) -> bool: ...

    def past(self, mention: Mention) -> bool: ...

    def counts(self, mention: Mention) -> bool: ...


class Context:
    """The context of every mention in one message."""

    def __init__(self, words: list[str]) -> None:
        self.words = words
        self.layout = Layout.of(words)
        self.marks = Marks(words)
        self._negation_cues = self.marks.negations
        self._asks_for_self = self.marks.has("own_question", 0, len(words))
        # Family-history questions ("what can I do to lower my own risk?", "should I get
        # tested?"): only then is a relative's story told on past its first clause (_tells_on).
        self._asks_own_risk = self.marks.has("own_risk", 0, len(words))
        self._negated: dict[tuple[int, int], bool] = {}
        # Per sentence and clause, found on first need: most have no mention at all.
        self._hypothetical: dict[tuple[int, int], bool] = {}  # by the scope it covers
        self._past: dict[int, bool] = {}
        self._own_past: dict[int, bool] = {}  # a clause's past by its own cues (asked twice)
        self._set_aside: dict[int, bool] = {}  # by clause: hypothetical, a worry, or the past

    def negated(self, mention: Mention) -> bool:
        key = (mention.start, mention.end)
        known = self._negated.get(key)
        if known is None:
            known = self._negated[key] = self._is_negated(mention)
        return known

    def _is_negated(self, mention: Mention) -> bool:
        words = self.words
        after = words[mention.end + 1] if mention.end + 1 < len(words) else ""
        if mention.absence:
            # An absence stated by the concept's own words is a danger sign, unless a rate or
            # manner follows: "not breathing fast" denies the fast breathing, not the breathing;
            # "not weeing more (than usual)" denies more weeing (but "hasn't weed more than once"
            # is the absence: after blind set U).
            if after == "more":
                than = words[mention.end + 2 : mention.end + 4]
                return not than or than[0] != "than" or than[1:] in (["usual"], ["normal"], ["before"])
            if mention.concept == "stopped_breathing" and any(
                words[index] in STOP_WORDS for index in range(mention.start + 1, mention.end)
            ):
                return True  # "he's not stopping breathing, just loud": the stop is denied (blind set Z)
            return mention.concept == "stopped_breathing" and after in RATE_AFTER_ABSENCE
        if after[:1] == "x" and after[1:].isdigit():
            return False  # counted, so present: "nil BO, vomiting x6"
        if any(i in self._negation_cues for i in range(mention.start + 1, mention.end)):
            return True  # a negation among the words between the term's own: "face isn't drooping"
        if tuple(words[mention.end + 1 : mention.end + 3]) in SAID_FINE_AFTER:
            return True  # "both legs feel fine", "my eyes are ok"
        seen = 0
        coordinated = False
        for index in range(mention.start - 1, -1, -1):
            word = words[index]
            if word in SENTENCE_END or word in CONTRAST or word in PRESENT_QUANTIFIERS or word in SUBJECT_AND_VERB:
                return False
            if word == "since":
                return False  # "hasn't slept since the baby came home": what came after is not denied
            if word in DURATION_UNITS and index and words[index - 1].isdigit():
                return False  # "no poo no wind 4 days vomiting green": a duration closes the denied item (blind set Y)
            if mention.inverted and (word in CLAUSE_MARK or (word in CONJUNCTIONS and word not in ("or", "nor"))):
                return False  # "no numbness, passed urine normally": the "no" is another clause's
            if word in CLAUSE_MARK or word in CONJUNCTIONS:
                after = words[index + 1] if index + 1 < len(words) else ""
                if after in SUBJECTS or after in NEW_PREDICATE:
                    return False  # a new clause with its own subject, or a predicate of its own
                # "no thoughts of harming myself or ending my life" (blind set Y): the second
                # gerund is as far from the negation as the first
                coordinated = coordinated or (word in ("or", "nor") and after.endswith("ing"))
                continue
            if coordinated and word.endswith("ing"):
                coordinated, seen = False, 0
            if index in self._negation_cues:
                return True
            seen += 1
            if seen > NEGATION_REACH:
                return False
        return False

    def hypothetical(self, mention: Mention) -> bool:
        """A question's cue covers its sentence ("how would I know if I was having a heart
        attack?"); a statement's cue covers its own clause only ("signs of a stroke, her face is
        drooping" still counts the drooping face)."""
        return self._clause_hypothetical(self.layout.clause_of[mention.start])

    def _clause_hypothetical(self, clause: int) -> bool:
        layout = self.layout
        sentence = layout.sentence_of[layout.clauses[clause][0]]
        scope = layout.sentences[sentence] if sentence in layout.questions else layout.clauses[clause]
        known = self._hypothetical.get(scope)
        if known is None:
            known = self._hypothetical[scope] = self._is_hypothetical(*scope)
        return known or self.marks.has("worry", *layout.clauses[clause])

    def past(self, mention: Mention) -> bool:
        return self._clause_past(self.layout.clause_of[mention.start])

    def _clause_past(self, clause: int) -> bool:
        """ "fell last winter and broke his hip": one event, one time. Walks back over the
        clauses that continue one another (a loop: a run-on message has thousands)."""
        chain = []
        current = clause
        while current not in self._past:
            span = self.layout.clauses[current]
            own = self._clause_own_past(current) or self._past_by_next(current)
            if own or current == 0 or not (self._continues(*span) or self._tells_on(current)):
                self._past[current] = own
                break
            chain.append(current)
            current -= 1
        known = self._past[current]
        for index in chain:
            self._past[index] = known
        return self._past[clause]

    def counts(self, mention: Mention) -> bool:
        """The patient's (or the person written about), present, and now."""
        clause = self.layout.clause_of[mention.start]
        set_aside = self._set_aside.get(clause)
        if set_aside is None:
            set_aside = self._set_aside[clause] = self._clause_hypothetical(clause) or self._clause_past(clause)
        return not set_aside and self.negated(mention) == mention.inverted

    def _continues(self, start: int, end: int) -> bool:
        """A clause that goes on with the one before: "and ..." with no subject of its own."""
        words = self.words
        if end - start < 2 or words[start] not in ("and", "then") or self.marks.has("now", start, end):
            return False
        if self.marks.has("present", start, end):
            return False  # "had a baby 2 weeks ago and told me she's having thoughts of harming it"
        if words[start + 1] in THIRD_PERSON:  # "... one night and he lost sight in it"
            return end - start > 2 and past_verb(words[start + 2])
        return words[start + 1] not in SUBJECTS and past_verb(words[start + 1])

    def _tells_on(self, clause: int) -> bool:
        """Someone else's story told on in the same sentence: "my mum had a stroke last year, her
        face drooped", "Grandpa had a detached retina - he said it was like a curtain", "my dad
        had a heart attack at 52 - crushing chest pain, collapsed in the kitchen". A clause after
        a comma or dash that opens on a third person and a past verb, or that follows a clause
        naming a relative, only in a message that asks about the writer's own risk (a family-history
        question); or a dash and "was" ("broke my wrist 8 months ago - the bone was sticking out").
        Never a clause that says now or speaks in the present."""
        layout, words, marks = self.layout, self.words, self.marks
        start, end = layout.clauses[clause]
        before = layout.clauses[clause - 1]
        if end - start < 2 or before[1] <= before[0]:
            return False
        if words[start] not in (",", "-", ":") or layout.sentence_of[start] != layout.sentence_of[before[0]]:
            return False
        if marks.has("now", start, end) or marks.has("present", start, end) or marks.has("recent", start, end):
            return False
        opening = words[start + 1 : min(start + 4, end)]
        past_opening = any(past_verb(word) for word in opening)
        if any(word in PRESENT_AUXILIARY for word in opening):
            return False  # "my dad, who has a history of angina, has got crushing chest pain"
        if words[start] == "-" and any(word in ("was", "were") for word in opening):
            return True
        if not self._asks_own_risk:
            return False  # "She used to have asthma, she went blue": a present emergency, told in the past
        if opening and opening[0] in THIRD_PERSON and past_opening:
            return True
        sentence_start = layout.sentences[layout.sentence_of[start]][0]
        return marks.has("relative", sentence_start, start) and (past_opening or words[start] == "-")

    def _clause_own_past(self, clause: int) -> bool:
        known = self._own_past.get(clause)
        if known is None:
            known = self._own_past[clause] = self._is_past(*self.layout.clauses[clause])
        return known

    def _past_by_next(self, clause: int) -> bool:
        """ "cousin collapsed and died playing football at 23", "my daughter was in resus with DKA
        when she was diagnosed last year": the clause after dates this one."""
        layout, words = self.layout, self.words
        if clause + 1 >= len(layout.clauses):
            return False
        start, end = layout.clauses[clause]
        after = layout.clauses[clause + 1]
        if after[1] - after[0] < 2 or end <= start:
            return False
        if layout.sentence_of[after[0]] != layout.sentence_of[start] or not self._clause_own_past(clause + 1):
            return False
        if self._continues(*after):
            return True
        # A "when" clause dated by its own cue ("last year", "in 2019"), not by "when he was"
        dated = self.marks.has("past", after[0] + 1, after[1]) or self.marks.has("year", *after)
        return words[after[0]] == "when" and dated and any(past_verb(word) for word in words[start:end])

    def _is_hypothetical(self, start: int, end: int) -> bool:
        marks = self.marks
        if not (marks.has("hypothetical", start, end) or conditional_question(self.words, marks, start, end)):
            return False
        if marks.has("confession", 0, len(self.words)):
            return False  # "what would happen if someone took 30 paracetamol? asking because I did"
        if "hypothetically" in self.words[start:end]:
            return True  # "Hypothetically, if I got stung and my throat started swelling...?" (blind set Y)
        if general_question(self.words[start:end]) and no_now_but_durations(self.words, marks, start, end):
            return True  # a question about no one: its "5 minutes" is how long, not now (blind set AB)
        return not (marks.has("now_meant", start, end) or marks.has("now_phrase", start, end))

    def _is_past(self, start: int, end: int) -> bool:
        marks = self.marks
        if marks.has("now", start, end) or marks.has("recent", start, end) or marks.has("comparison", start, end):
            return False  # "the chest pain is back exactly like last time": now, like then
        if marks.has("now_phrase", start, end):
            return False  # "at the moment", "right now"
        if marks.has("past", start, end) or marks.has("year", start, end):
            return True
        if in_a_month(self.words, self.layout, marks, start, end):
            return True
        sentence = self.layout.sentences[self.layout.sentence_of[start]]
        if marks.has("time_of_life", *sentence) and not (
            marks.has("now", *sentence) or marks.has("present", *sentence)
        ):
            return True  # "I took an overdose when I was 17": the sentence is then, unless it says now
        if before_age_today(self.words, self.layout, marks, start, end, sentence):
            return True
        if marks.has("seen_already", start, sentence[1]) and not marks.has("present", start, end):
            return True  # told, then seen and sent home: "...and they discharged me"
        # Someone else's event, with an age or a past verb: "my mum had a stroke at 60"; not one
        # in the present perfect ("my dad has had a stroke, what can I do?").
        told = marks.has("past_verb", start, end) or (
            self._asks_own_risk and any(past_verb(word) for word in self.words[start:end])
        )  # "Mum broke her hip in a fall at 78. Should I have a bone density scan?"
        if not marks.has("relative", start, end) or not told:
            return False
        if any(word in ("has", "have", "hes", "shes", "is") for word in self.words[start:end]):
            return False
        return marks.has("aged", start, end) or self._asks_for_self or shared_illness(self.words, start, end)
