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

import bisect
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

from orchestrator.safety.concepts import Mention
from orchestrator.safety.lexicon import CLAUSE_MARK, SENTENCE_END

NEGATION_REACH = 5
NEGATION_CUES = frozenset(
    {
        "no",
        "not",
        "never",
        "none",
        "without",
        "denies",
        "denied",
        "deny",
        "nor",
        "neither",
        "dont",
        "doesnt",
        "didnt",
        "isnt",
        "wasnt",
        "arent",
        "werent",
        "hasnt",
        "havent",
        "hadnt",
        "aint",
        "nothing",
        "nope",
        "nobody",
        "nil",  # clinical shorthand: "nil flatus", "nil BO"
        "sin",  # Spanish, mixed into English messages: "sin fiebre, no rash"
    }
)
# Phrases that only look negative: they negate nothing after them.
PSEUDO_NEGATIONS = (
    ("isnt", "there"),  # "like sitting on a saddle that isn't there, all numb down below"
    ("arent", "there"),
    ("no", "one", "is"),
    ("no", "one", "here"),
    ("no", "one", "around"),
    ("no", "one", "else"),
    ("no", "one", "to"),
    ("no", "one", "home"),
    ("no", "one", "answers"),
    ("nobody", "is"),
    ("nobody", "here"),
    ("nobody", "home"),
    ("nobody", "else"),
    ("not", "sure"),
    ("no", "idea"),
    ("not", "only"),
    ("without", "warning"),
    ("without", "any", "warning"),
    ("dont", "know"),
    ("didnt", "know"),
    ("not", "know"),
    ("no", "matter"),
    ("not", "getting", "better"),
    ("not", "improving"),
    ("no", "better"),
    ("never", "had", "this"),
    ("never", "heard"),
    ("never", "seen"),
    ("never", "before"),
    ("never", "felt"),
    ("never", "been"),
    ("never", "had", "pain"),
    ("not", "well"),
    ("not", "feeling"),
    ("nothing", "is"),
    ("nothing", "helps"),
    ("nothing", "works"),
    ("nothing", "for"),
    ("does", "nothing"),
    ("doing", "nothing"),
    ("dont", "feel"),
    ("doesnt", "feel"),
    ("doesnt", "help"),
    ("didnt", "help"),
    ("isnt", "helping"),
    ("not", "helping"),
    ("not", "doing", "anything"),
    ("wasnt", "doing", "anything"),
    ("not", "right"),
    ("not", "himself"),
    ("not", "herself"),
    ("not", "normal"),
    ("no", "response"),
    ("not", "a", "joke"),
    ("dont", "want"),
    ("doesnt", "want"),
)
# Words that end a negation's reach: a new clause with its own subject, or a contrast.
_CONTRAST = frozenset(
    {"but", "however", "although", "though", "except", "yet", "whereas", "now", "then", "suddenly", "when", "while"}
    | {"normally", "usually"}  # "doesnt know where she lives, normally sharp as a tack"
)
_SUBJECTS = frozenset(
    {"i", "im", "ive", "he", "hes", "she", "shes", "it", "its", "they", "my", "his", "her", "we", "you"}
    | {"the", "this", "that", "people", "someone", "somebody", "everyone", "everybody"}
)
# A subject and its verb in one word starts a clause of its own, even unpunctuated ("nothing
# coming up hes going purple", "no idea why im so breathless").
_SUBJECT_AND_VERB = frozenset({"hes", "shes", "im", "ive", "theyre", "youre", "weve", "theyve"})
# After "and", "but"...: a verb that starts a predicate of its own ("no fever and is vomiting").
_NEW_PREDICATE = frozenset(
    {"is", "was", "are", "were", "has", "had", "keeps", "kept", "seems", "looks", "looked", "feels", "felt"}
    | {"cant", "wont", "started", "starts", "became", "went", "now", "suddenly"}
)
_RATE_AFTER_ABSENCE = frozenset(
    {"fast", "faster", "quick", "quickly", "rapidly", "hard", "heavily", "noisily", "loudly"}
)
_SAID_FINE_AFTER = frozenset(
    (verb, state)
    for verb in ("feel", "feels", "is", "are", "seem", "seems", "work", "works", "working", "move", "moving")
    for state in ("fine", "ok", "okay", "normal")
)
# A quantifier that says something is there ends a negation's reach ("not like contractions,
# and some dark bleeding"; "no rash but lots of vomiting").
_PRESENT = frozenset({"some", "lots", "loads", "plenty", "bit"})
_CONJUNCTIONS = frozenset({"and", "or", "so", "plus", "also", "because", "cos", "which", "who"})

# Hypothetical and educational questions: cue word sequences found anywhere in a sentence.
_HOW_ASKED = ("do i", "would i", "can i", "to", "do you", "would you", "can you")
HYPOTHETICAL_CUES = (
    # "I read secondary drowning is a thing, is that true?", "care plan says no 999 unless over
    # 5 mins" (after blind set W)
    ("is", "that", "true"),
    ("is", "it", "true"),
    ("is", "this", "true"),
    ("999", "unless"),  # "no 999 unless over 5 mins" (not "can't breathe unless I sit up")
    ("ambulance", "unless"),
    ("if", "over"),  # "his care plan says only call 999 if over 5 mins" (blind set Y)
    ("a", "real", "thing"),  # "is dry drowning a real thing?"
    # "agar kisi dost ko..." (Hindi "if"), "no one specific" (after blind set X)
    ("agar",),
    ("no", "one", "specific"),
    # "how do I recognise pre-eclampsia?" (after blind set V)
    *(("how", *asked.split(), verb) for asked in _HOW_ASKED for verb in ("recognise", "recognize")),
    ("how", "would", "i", "know"),
    ("how", "do", "i", "know"),
    ("how", "will", "i", "know"),
    ("how", "will", "i", "tell"),
    ("how", "would", "you", "know"),
    ("how", "do", "you", "know"),
    ("how", "can", "i", "tell"),
    ("how", "do", "i", "tell"),
    ("how", "do", "you", "tell"),
    ("how", "can", "you", "tell"),
    ("how", "would", "i", "tell"),
    ("how", "to", "tell"),
    ("how", "to", "recognise"),
    ("how", "to", "recognize"),
    ("how", "do", "you", "recognise"),
    ("how", "do", "you", "recognize"),
    ("how", "to", "spot"),
    ("how", "do", "i", "spot"),
    ("what", "are", "the", "signs"),
    ("what", "are", "the", "symptoms"),
    ("what", "are", "signs"),
    ("what", "are", "symptoms"),
    ("what", "are", "the", "warning"),
    ("warning", "signs"),
    ("signs", "of"),
    ("symptoms", "of"),
    ("signs", "to", "look"),
    ("what", "should", "i", "do", "if"),
    ("what", "do", "i", "do", "if"),
    ("what", "would", "i", "do", "if"),
    ("what", "to", "do", "if"),
    ("what", "should", "we", "do", "if"),
    ("what", "do", "we", "do", "if"),
    ("what", "happens", "if"),
    ("what", "if"),
    ("if", "i", "ever"),
    ("if", "he", "ever"),
    ("if", "she", "ever"),
    ("if", "they", "ever"),
    ("if", "we", "ever"),
    ("if", "someone"),
    ("if", "somebody"),
    ("if", "a", "person"),
    ("if", "a", "young"),
    ("if", "a", "child"),
    ("if", "a", "baby"),
    ("if", "a", "teenager"),
    ("if", "a", "friend"),
    ("if", "a", "patient"),
    ("if", "a", "pupil"),
    ("if", "a", "student"),
    ("if", "a", "colleague"),
    ("if", "a", "coworker"),
    ("if", "a", "client"),
    ("if", "someones"),
    ("if", "somebodys"),
    ("in", "case"),
    ("could", "i", "get"),
    ("can", "you", "get"),
    ("is", "it", "possible"),
    ("am", "i", "at", "risk"),
    ("at", "risk", "of"),
    ("risk", "of"),
    ("my", "risk"),
    ("chance", "of"),
    ("risk",),
    ("chances", "of"),
    ("worried", "i", "might"),
    ("worried", "about", "getting"),
    ("worried", "about", "having"),
    ("scared", "of", "getting"),
    ("afraid", "of", "getting"),
    ("should", "i", "worry", "about"),
    ("how", "common"),
    ("how", "likely"),
    ("what", "causes"),
    ("when", "should", "i", "call"),
    ("when", "should", "i", "go"),
    ("when", "to", "call"),
    ("when", "to", "go"),
    ("when", "do", "i", "need"),
    ("prevent",),
    ("preventing",),
    ("lower", "my", "risk"),
    ("reduce", "my", "risk"),
    ("hypothetically",),
    ("for", "my", "exam"),
    ("first", "aid", "course"),
    ("just", "curious"),
    ("what", "is", "the", "difference"),
    ("difference", "between"),
    ("explain",),
    ("can", "you", "overdose"),
    ("can", "you", "od"),
    ("is", "that", "too", "much"),
    ("can", "cause"),
    ("may", "cause"),
    ("could", "cause"),
    ("leaflet",),
    ("saw", "it", "on"),
    ("if", "i", "ever", "need"),
    ("more", "likely"),
    ("likely", "to", "get"),
    ("school", "project"),
    ("project",),
    ("homework",),
    ("how", "do", "you", "do"),
    ("how", "to", "do"),
    ("look", "out", "for"),
    ("watch", "out", "for"),
    ("watch", "for"),
    ("be", "aware", "of"),
    ("what", "counts", "as"),
    ("to", "teach"),
    ("refresher",),
    ("bereaved", "by"),
    ("lost", "to", "suicide"),
    ("suicide", "bereavement"),
    ("what", "count", "as"),
    ("what", "is", "classed", "as"),
    ("could", "it", "lead"),
    ("can", "it", "cause"),
    ("could", "it", "cause"),
    ("does", "it", "cause"),
    ("side", "effect"),
    ("side", "effects"),
    # questions asked ahead of time (blind sets R, S and T): "at what temperature should I worry
    # in a 2 month old? she's totally fine, just want to know for the future"
    ("at", "what", "temperature"),
    ("at", "what", "point"),
    ("for", "the", "future"),
    ("just", "want", "to", "know"),
    ("just", "wanted", "to", "know"),
)
# Worry about a condition, not a report of it: "worried about a stroke but feel fine". Their
# reach is their own clause: "I'm worried about my dad, his face is drooping" still counts.
WORRY_CUES = (
    ("worried", "about"),
    ("worried", "i"),
    ("worried", "it"),
    ("worry", "about"),
    ("worried", "that"),
    ("scared", "of"),
    ("scared", "about"),
    ("afraid", "of"),
    ("concerned", "about"),
    ("frightened", "of"),
    ("paranoid", "about"),
    ("anxious", "about"),
    ("panicking", "that"),
    ("panicking", "im"),
    ("panicking", "i"),
)
# A question about the writer's own risk: a relative's story in it is family history.
OWN_RISK_CUES = (
    ("my", "own", "risk"),
    ("lower", "my", "risk"),
    ("reduce", "my", "risk"),
    ("am", "i", "at", "risk"),
    ("be", "tested"),
    ("get", "tested"),
    ("get", "checked"),
    ("be", "checked"),
    ("get", "scanned"),
    ("be", "scanned"),
    ("screening",),
    ("affect", "me"),
    ("my", "chances"),
    ("runs", "in", "the", "family"),
    ("hereditary",),
    ("genetic",),
    ("inherit",),
    ("cholesterol", "checked"),
    ("eye", "tests"),
    ("any", "tests"),
    ("tests", "i", "can"),
    ("should", "i", "worry"),
    ("bone", "density"),
)
NOW_CUES = frozenset(
    # ("moment" only in "at the moment", a phrase: "in a bad moment last month" is then; blind set Z)
    {"now", "currently", "tonight", "today", "just", "minutes", "still", "happening", "started", "began"}
)
# History: cue word sequences that put a clause in the past.
PAST_CUES = (
    # a medicine taken since an event: "I'm on 75mg aspirin after my stroke" (blind set Y)
    *((drug, "after", "my") for drug in ("aspirin", "clopidogrel", "statins", "statin", "bloodthinners", "warfarin")),
    ("history", "of"),
    ("hx", "of"),
    ("years", "ago"),
    ("year", "ago"),
    ("months", "ago"),
    ("month", "ago"),
    ("last", "year"),
    ("last", "month"),
    ("last", "winter"),
    ("last", "summer"),
    ("last", "spring"),
    ("last", "autumn"),
    ("last", "christmas"),
    ("last", "week"),
    ("last", "weekend"),
    ("last", "monday"),
    ("last", "tuesday"),
    ("last", "wednesday"),
    ("last", "thursday"),
    ("last", "friday"),
    ("last", "saturday"),
    ("last", "sunday"),
    ("weeks", "ago"),
    ("week", "ago"),
    ("fine", "since"),
    ("ok", "since"),
    ("okay", "since"),
    ("well", "since"),
    ("normal", "all", "week"),
    ("in", "the", "spring"),
    ("in", "the", "summer"),
    ("for", "years"),
    ("over", "the", "past", "year"),
    ("in", "hospital", "with"),
    ("as", "a", "child"),
    ("as", "a", "kid"),
    ("as", "a", "baby"),
    ("as", "a", "teenager"),
    ("when", "i", "was"),
    ("when", "he", "was"),
    ("when", "she", "was"),
    ("when", "they", "were"),
    ("used", "to"),
    ("previously",),
    ("in", "the", "past"),
    ("back", "in", "the", "day"),
    *(("back", "in", month) for month in ("january", "february", "march", "april", "may", "june", "july")),
    *(("back", "in", month) for month in ("august", "september", "october", "november", "december")),
    ("year", "back"),
    ("as", "toddlers"),
    ("as", "a", "toddler"),
    ("as", "kids"),
    ("as", "children"),
    ("as", "babies"),
    ("years", "back"),
    ("long", "ago"),
    ("a", "while", "ago"),
    ("childhood",),
    ("years", "old", "when"),
    ("once", "before"),
    ("after", "my", "last"),
    ("last", "time"),
    ("family", "history"),
    ("runs", "on"),
    ("after", "my", "first", "baby"),
    ("with", "my", "first", "baby"),
    ("my", "first", "pregnancy"),
    ("last", "pregnancy"),
    ("previous", "pregnancy"),
    ("runs", "in"),
    ("run", "in"),
    ("died",),
    ("died", "of"),
    ("passed", "away"),
    ("fhx",),
)
_YEAR_RANGE = range(1940, 2100)
# "since last night", "hours ago": ongoing or recent, whatever else the clause says.
_RECENT = (("hours", "ago"), ("hour", "ago"), ("since", "last"), ("since", "yesterday"), ("since", "this"))
RELATIVES = frozenset(
    {
        "mum",
        "mom",
        "mother",
        "dad",
        "father",
        "brother",
        "sister",
        "aunt",
        "auntie",
        "uncle",
        "cousin",
        "cousins",
        "aunty",
        "papa",
        "mama",
        "niece",
        "nephew",
        "grandparents",
        "grandma",
        "grandmother",
        "grandpa",
        "grandfather",
        "nan",
        "nana",
        "gran",
        "granny",
        "grandad",
        "granddad",
        "parents",
        "parent",
        "family",
        "friend",
        "friends",
        "neighbour",
        "neighbor",
        "colleague",
        "relative",
        "relatives",
    }
)
# plurals too: "both grandmothers had strokes in their 70s" (after blind set AB)
RELATIVES |= {
    f"{word}s"
    for word in RELATIVES
    if not word.endswith("s") and word not in ("family", "granny", "aunty", "mama", "papa")
} | {"grannies", "families"}
_PAST_VERBS = frozenset({"had", "suffered", "diagnosed", "got", "died", "went", "developed", "was", "were"})
# A message that asks about the writer's own risk or care: "should I be tested?", "will I get
# it?", "does that mean...", "for me". With it, a relative's past event is family history.
_OWN_QUESTION = (
    ("will", "they"),  # "will they give me aspirin?" (after blind set W)
    ("give", "me"),
    ("should", "i"),
    ("will", "i"),
    ("am", "i"),
    ("do", "i"),
    ("does", "that", "mean"),
    ("does", "that", "make"),
    ("higher", "risk"),
    ("for", "me"),
    ("me", "too"),
    ("ill", "get"),
    ("i", "get", "it"),
    ("my", "own"),
    ("on", "me"),
    ("my", "risk"),
    ("at", "risk"),
    ("should", "we"),
    ("can", "i"),
    ("i", "should", "be"),
    ("anything", "i", "should"),
    ("what", "can", "i"),
    ("does", "that", "affect"),
    ("affect", "me"),
    ("stay", "healthy"),
)


_CLAUSE_STARTERS = _CONJUNCTIONS | _CONTRAST


@dataclass(frozen=True)
class Layout:
    """Where each word's sentence and clause begin and end (found once per message)."""

    sentence_of: list[int]
    clause_of: list[int]
    sentences: list[tuple[int, int]]  # [start, end) token ranges
    clauses: list[tuple[int, int]]
    questions: frozenset[int]  # the sentences with a question mark

    @classmethod
    def of(cls, words: list[str]) -> Layout:
        sentence_of, clause_of = [0] * len(words), [0] * len(words)
        sentences: list[tuple[int, int]] = []
        clauses: list[tuple[int, int]] = []
        sentence_start = clause_start = 0
        questions: set[int] = set()
        for index, word in enumerate(words):
            if word in SENTENCE_END:
                if word == "?":
                    questions.add(len(sentences))
                sentences.append((sentence_start, index + 1))
                clauses.append((clause_start, index + 1))
                sentence_start = clause_start = index + 1
            elif (word in CLAUSE_MARK and word not in "()") or (word in _CLAUSE_STARTERS and index > clause_start):
                clauses.append((clause_start, index))
                clause_start = index
            sentence_of[index] = len(sentences)
            clause_of[index] = len(clauses)
        sentences.append((sentence_start, len(words)))
        clauses.append((clause_start, len(words)))
        return cls(sentence_of, clause_of, sentences, clauses, frozenset(questions))


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
                words[index] in _STOP_WORDS for index in range(mention.start + 1, mention.end)
            ):
                return True  # "he's not stopping breathing, just loud": the stop is denied (blind set Z)
            return mention.concept == "stopped_breathing" and after in _RATE_AFTER_ABSENCE
        if after[:1] == "x" and after[1:].isdigit():
            return False  # counted, so present: "nil BO, vomiting x6"
        if any(i in self._negation_cues for i in range(mention.start + 1, mention.end)):
            return True  # a negation among the words between the term's own: "face isn't drooping"
        if tuple(words[mention.end + 1 : mention.end + 3]) in _SAID_FINE_AFTER:
            return True  # "both legs feel fine", "my eyes are ok"
        seen = 0
        coordinated = False
        for index in range(mention.start - 1, -1, -1):
            word = words[index]
            if word in SENTENCE_END or word in _CONTRAST or word in _PRESENT or word in _SUBJECT_AND_VERB:
                return False
            if word == "since":
                return False  # "hasn't slept since the baby came home": what came after is not denied
            if word in _DURATION_UNITS and index and words[index - 1].isdigit():
                return False  # "no poo no wind 4 days vomiting green": a duration closes the denied item (blind set Y)
            if mention.inverted and (word in CLAUSE_MARK or (word in _CONJUNCTIONS and word not in ("or", "nor"))):
                return False  # "no numbness, passed urine normally": the "no" is another clause's
            if word in CLAUSE_MARK or word in _CONJUNCTIONS:
                after = words[index + 1] if index + 1 < len(words) else ""
                if after in _SUBJECTS or after in _NEW_PREDICATE:
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
        if words[start + 1] in _THIRD_PERSON:  # "... one night and he lost sight in it"
            return end - start > 2 and _past_verb(words[start + 2])
        return words[start + 1] not in _SUBJECTS and _past_verb(words[start + 1])

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
        past_opening = any(_past_verb(word) for word in opening)
        if any(word in _PRESENT_AUXILIARY for word in opening):
            return False  # "my dad, who has a history of angina, has got crushing chest pain"
        if words[start] == "-" and any(word in ("was", "were") for word in opening):
            return True
        if not self._asks_own_risk:
            return False  # "She used to have asthma, she went blue": a present emergency, told in the past
        if opening and opening[0] in _THIRD_PERSON and past_opening:
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
        return words[after[0]] == "when" and dated and any(_past_verb(word) for word in words[start:end])

    def _is_hypothetical(self, start: int, end: int) -> bool:
        marks = self.marks
        if not (marks.has("hypothetical", start, end) or self._conditional_question(start, end)):
            return False
        if marks.has("confession", 0, len(self.words)):
            return False  # "what would happen if someone took 30 paracetamol? asking because I did"
        if "hypothetically" in self.words[start:end]:
            return True  # "Hypothetically, if I got stung and my throat started swelling...?" (blind set Y)
        if _general_question(self.words[start:end]) and self._no_now_but_durations(start, end):
            return True  # a question about no one: its "5 minutes" is how long, not now (blind set AB)
        return not (marks.has("now_meant", start, end) or marks.has("now_phrase", start, end))

    def _no_now_but_durations(self, start: int, end: int) -> bool:
        """No cue of now but a duration ("lasts more than 5 minutes") or an idle "just": "how do
        you do CPR on a baby not breathing right now?" still asks about now (a review)."""
        words = self.words
        if self.marks.has("now_phrase", start, end):
            return False
        return all(
            words[index] == "just" or (index > 0 and words[index - 1].isdigit())
            for index in range(start, end)
            if words[index] in NOW_CUES
        )

    def _in_a_month(self, start: int, end: int) -> bool:
        """ "broke his hip in December", "my wrist fracture in June": a month the event happened
        in, a past verb before it and nothing in the present (after blind set AB; not "due in
        June", not "fell in May and now can't stand", which has its own "now")."""
        month = self.marks.first("month", start, end)
        if month is None or month == start or self.words[month - 1] not in ("in", "last"):
            return False
        sentence = self.layout.sentences[self.layout.sentence_of[start]]
        if self.marks.has("present", start, end) or self.marks.has("now", *sentence):
            return False  # "fell off his bike in January and now he has crushing pain in his head"
        words = self.words
        # a birth or an age dated, and what happened after it, are no past event ("my daughter who
        # turned 1 in March swallowed a button battery", "born in October went floppy": a review)
        if (month >= 2 and words[month - 2] in _DATED_LIFE) or any(_past_verb(w) for w in words[month + 1 : end]):
            return False
        return any(_past_verb(word) for word in words[start:month])

    def _before_age_today(self, start: int, end: int, sentence: tuple[int, int]) -> bool:
        """ "I took an overdose when I was 19, I'm 31 now and doing well", "he had one febrile
        convulsion at 18 months, he's 5 now": a time of life, then an age today, date the clauses
        between them; the age today's clause and what follows it are now ("I'm 35 now and want to
        die" still counts). After blind sets V and W."""
        marks, words = self.marks, self.words
        then = marks.first("time_of_life", *sentence)
        aged = marks.first("aged", *sentence)
        if then is None or (aged is not None and aged < then):
            then = aged
        if then is None or marks.has("present", start, end):
            return False  # "collapsed at 4 and isn't breathing, he's 6 now": the present is now
        # The dated event is the time of life's own clause, or the one it follows ("overdosed |
        # when I was 17"); not an earlier one ("crushing chest pain and sweating, my dad had a
        # heart attack when he was 50 and he's 70 now": the chest pain is now).
        clause, dated = self.layout.clause_of[start], self.layout.clause_of[then]
        if clause != dated and not (clause == dated - 1 and words[then] == "when"):
            return False
        # the age today may open the next sentence: "he had one febrile fit at 18 months. He's 4
        # now and fine" (after blind set AB)
        layout = self.layout
        following = layout.sentence_of[sentence[0]] + 1
        until = layout.sentences[following][1] if following < len(layout.sentences) else sentence[1]
        for index in range(then + 1, until - 2):
            subject, first, second = words[index : index + 3]
            if index >= sentence[1] and (index != layout.sentences[following][0] or subject == "is"):
                continue  # the next sentence only where it opens on it ("pain is 9 now" is no age)
            # "he's 5 now", "he's now 4" (blind set Z)
            if subject in _AGE_TODAY_SUBJECT and (
                (first.isdigit() and second == "now") or (first == "now" and second.isdigit())
            ):
                return end <= self.layout.clauses[self.layout.clause_of[index]][0]
        return False

    def _conditional_question(self, start: int, end: int) -> bool:
        """ "what should she do if she has a fall", "if my toddler ever swallowed a battery", "how
        many ... would count as": a what-question with an if, an if with ever, a how-many question."""
        words = self.words
        if end - start > 1 and words[start] == "how" and words[start + 1] in ("many", "much", "long", "often"):
            return True  # "How many paracetamol would count as an overdose?"
        if _general_question(words[start:end]):
            return True
        # "Teacher here, preparing a lesson - why is a paracetamol overdose dangerous?": the
        # question after a clause about the writer's work (after blind set X)
        for index in range(start + 1, end - 2):
            if (
                words[index] in _WH_WORDS
                and words[index - 1] in CLAUSE_MARK
                and _OWN_PEOPLE.isdisjoint(words[start:index])
            ):
                return _general_question(words[index:end])
        at = self.marks.first("if", start, end)
        if at is None:
            return False
        after_if = words[at + 1 : min(at + 6, end)]
        if "ever" in after_if:
            return True
        # "how dangerous would it be if our toddler got hold of..." (blind set AB); not "could it be
        # sepsis if he's confused" nor "would you call 999 if your dad's face has dropped" (a review)
        supposed = any(word in ("would", "could") for word in words[max(start, at - 4) : at])
        told_now = self.marks.has("present", at, end) or any(word in ("has", "have") for word in words[at:end])
        if supposed and "?" in words[at:end] and not told_now:
            return True
        opens = at == start or words[at - 1] in CLAUSE_MARK or words[at - 1] in ("and", "but", "so")
        if opens and any(_past_verb(word) for word in after_if) and self.marks.has("asks", start, end):
            return True  # "if my waters broke at 35 weeks, should I go straight in?" (not "not sure if he took")
        return self.marks.has("what_question", start, end)

    def _is_past(self, start: int, end: int) -> bool:
        marks = self.marks
        if marks.has("now", start, end) or marks.has("recent", start, end) or marks.has("comparison", start, end):
            return False  # "the chest pain is back exactly like last time": now, like then
        if marks.has("now_phrase", start, end):
            return False  # "at the moment", "right now"
        if marks.has("past", start, end) or marks.has("year", start, end):
            return True
        if self._in_a_month(start, end):
            return True
        sentence = self.layout.sentences[self.layout.sentence_of[start]]
        if marks.has("time_of_life", *sentence) and not (
            marks.has("now", *sentence) or marks.has("present", *sentence)
        ):
            return True  # "I took an overdose when I was 17": the sentence is then, unless it says now
        if self._before_age_today(start, end, sentence):
            return True
        if marks.has("seen_already", start, sentence[1]) and not marks.has("present", start, end):
            return True  # told, then seen and sent home: "...and they discharged me"
        # Someone else's event, with an age or a past verb: "my mum had a stroke at 60"; not one
        # in the present perfect ("my dad has had a stroke, what can I do?").
        told = marks.has("past_verb", start, end) or (
            self._asks_own_risk and any(_past_verb(word) for word in self.words[start:end])
        )  # "Mum broke her hip in a fall at 78. Should I have a bone density scan?"
        if not marks.has("relative", start, end) or not told:
            return False
        if any(word in ("has", "have", "hes", "shes", "is") for word in self.words[start:end]):
            return False
        return marks.has("aged", start, end) or self._asks_for_self or self._shared_illness(start, end)

    def _shared_illness(self, start: int, end: int) -> bool:
        """ "my mum and aunt both had pre-eclampsia": two people's shared illness is a history; not
        "my grandparents were both found unresponsive this morning" (a review)."""
        clause = self.words[start:end]
        return "both" in clause and _SHARED_NOW.isdisjoint(clause) and not _SHARED_HISTORY.isdisjoint(clause)


def _general_question(words: list[str]) -> bool:
    """ "what does green vomit in a baby mean?", "what does sepsis look like in kids?", "how do you
    use an AED?" (after blind set U and the in-use sets): a question about no one; not "what does
    it mean when my baby vomits green", which is about someone."""
    if len(words) < 3 or not _OWN_PEOPLE.isdisjoint(words):
        return False
    if words[0] == "what" and words[1] in ("does", "do"):
        return "mean" in words or "like" in words[3:]
    if words[0] == "why" and words[1] in ("are", "is", "do", "does", "can", "would"):
        return True  # "why are button batteries more dangerous than coins if a kid swallows one?"
    if tuple(words[:4]) in _GENERIC_YOU or tuple(words[:3]) in _GENERIC_YOU:
        # "is it right you call an ambulance if a seizure lasts 5 minutes?" (blind set AB); not
        # "should you call an ambulance, baby's gone blue?", which names someone (a review)
        return "if" in words and RELATIVES.isdisjoint(words) and _NAMED_PEOPLE.isdisjoint(words)
    return words[:3] == ["how", "do", "you"]


_WH_WORDS = frozenset({"why", "what", "how"})
# Questions about what one does in general, not about anyone ("should you call 999 if...")
_GENERIC_YOU = frozenset(
    {("is", "it", "right", "you"), ("is", "it", "true", "you"), ("is", "it", "correct", "you")}
    | {("do", "you", "call"), ("should", "you", "call"), ("when", "do", "you"), ("when", "should", "you")}
)
_STOP_WORDS = frozenset({"stopping", "stopped", "stop", "stops"})
_DURATION_UNITS = frozenset({"days", "day", "hours", "hrs", "hour", "weeks", "wks", "mins", "minutes"})
_AGE_TODAY_SUBJECT = frozenset({"im", "hes", "shes", "is", "theyre"})
_OWN_PEOPLE = frozenset({"i", "im", "me", "my", "we", "our", "he", "she", "hes", "shes", "his", "her", "him", "mine"})
_WHAT_QUESTION = frozenset({"should", "would", "do", "does", "can", "could", "happens", "to"})
_PRESENT_AUXILIARY = frozenset({"has", "have", "hes", "shes", "is", "are", "am", "im", "does", "do"})
_THIRD_PERSON = frozenset({"he", "she", "his", "her", "they", "their"})


_IRREGULAR_PAST = frozenset(
    {"broke", "fell", "had", "was", "were", "went", "got", "took", "came", "hit", "cut", "bled", "ran", "lost", "found"}
    | {"said", "told", "felt", "saw", "knew", "thought", "became", "began", "gave", "kept", "lay", "spent"}
)


def _past_verb(word: str) -> bool:
    return word in _IRREGULAR_PAST or (word.endswith("ed") and len(word) > 3)


def _idle_just(words: list[str], index: int) -> bool:
    """ "just curious", "just wondering": a "just" that says nothing about now."""
    if words[index] != "just":
        return False
    if index and words[index - 1] in ("its", "thats"):
        return True  # "or it's just wee": merely, not now
    return index + 1 < len(words) and words[index + 1] in _IDLE_AFTER_JUST


_IDLE_AFTER_JUST = frozenset({"curious", "wondering", "asking", "checking", "want", "wanted", "a", "in", "general"})


# "when I was little", "when she was a teenager": a time of life that is over ("when I was 17": Marks).
_TIME_OF_LIFE = tuple(
    ("when", person, "was", *what.split())
    for person in ("i", "he", "she")
    for what in ("younger", "little", "small", "pregnant", "young", "a child", "a kid", "a baby", "a teenager")
)
# Cue phrases, each family looked for once per message (Marks), by their first word.
# Seen and sent home already: what the sentence told before it is over (blind set Y: "got a small
# shock off a plug last night, seen at urgent care, ECG normal and they discharged me").
_SEEN_ALREADY = (
    *(("discharged", person) for person in ("me", "him", "her", "us", "them")),
    *(("sent", person, "home") for person in ("me", "him", "her", "us", "them")),
    *(("checked", person, "over") for person in ("me", "him", "her", "us", "them")),
    ("and", "discharged"),
    ("they", "discharged"),
    ("was", "discharged"),
    ("discharged", "after"),
    # after blind set W: "went to triage yesterday for reduced movements, monitor was fine",
    # "was admitted for a sickle crisis in March"
    ("went", "to", "triage"),
    ("was", "admitted"),
    ("were", "admitted"),
    ("got", "admitted"),
    ("seen", "at", "urgent", "care"),
    ("seen", "at", "a", "e"),
    ("kept", "in", "a", "e"),
    ("kept", "in", "hospital"),
    ("kept", "in", "overnight"),
    *(("kept", person, "in") for person in ("me", "him", "her", "us", "them")),
    ("all", "clear"),
    # after blind set Z: "was treated in hospital", "got stitches in A&E", "they removed it at
    # the children's hospital", "she's home now"
    ("treated", "in", "hospital"),
    ("was", "treated"),
    ("got", "stitches"),
    ("had", "stitches"),
    ("they", "removed", "it"),
    ("home", "now"),
)
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
    "time_of_life": _TIME_OF_LIFE,
    "recent": _RECENT,
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
    "own_question": _OWN_QUESTION,
    "what_question": tuple((wh, word) for wh in ("what", "who", "where", "how") for word in _WHAT_QUESTION),
    "asks": (("should", "i"), ("should", "we"), ("would", "i"), ("would", "you"), ("do", "i"), ("?",)),
    "pseudo_negation": PSEUDO_NEGATIONS,
    "seen_already": _SEEN_ALREADY,
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
        pseudo = {start for start, _ in found.get("pseudo_negation", ()) if not _denied_wish(words, start)}
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


# "don't want to live" says the wish; "don't want to die", "don't want to hurt myself" deny it
# (after blind set U): there "don't want" negates what follows.
_DENIED_WISHES = frozenset({"die", "hurt", "harm", "kill"})


def _denied_wish(words: list[str], start: int) -> bool:
    return (
        words[start] in ("dont", "doesnt")
        and words[start + 1 : start + 3] in (["want", "to"], ["wanna", "to"])
        and start + 3 < len(words)
        and words[start + 3] in _DENIED_WISHES
    )


_WHEN_WAS = (["i", "was"], ["he", "was"], ["she", "was"])
# (months are a time of life: "when he was 18 months"; days and weeks may be this baby's now)
_AGE_UNITS = frozenset({"day", "days", "week", "weeks", "wk", "wks", "hours", "hour", "hrs"})
# Words that say a sentence speaks of the present: a time of life elsewhere in it dates nothing.
_PRESENT_TENSE = frozenset({"is", "are", "am", "im", "isnt", "arent", "hes", "shes", "keeps", "cant", "wont", "doesnt"})


_NEIGHBOURED = frozenset({"when", "just", "at", "aged"})  # the words _word_kinds reads around


def _word_kinds(words: list[str], index: int) -> tuple[str, ...]:
    word = words[index]
    kinds = _static_kinds(word)
    if word == "when" and words[index + 1 : index + 3] in _WHEN_WAS and words[index + 3 : index + 4] != []:
        unit = words[index + 4] if index + 4 < len(words) else ""
        aged = words[index + 3].isdigit() and unit not in _AGE_UNITS  # "when I was 17", not "3 days old"
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
        if int(word) in _YEAR_RANGE:
            kinds.append("year")
    elif word in RELATIVES:
        kinds.append("relative")
    elif word == "if":
        kinds.append("if")
    if word in _PAST_VERBS:
        kinds.append("past_verb")
    if word in _PRESENT_TENSE:
        kinds.append("present")
    if word in _MONTHS:
        kinds.append("month")
    return tuple(kinds)


_DATED_LIFE = frozenset({"born", "turned", "due"})
_SHARED_HISTORY = frozenset({"had", "suffered", "diagnosed", "died", "developed"})
_SHARED_NOW = frozenset({"found", "collapsed", "unresponsive", "unconscious", "bitten", "confused", "stung"})
# Someone named in a question ("should you call an ambulance, baby's gone blue?")
_NAMED_PEOPLE = frozenset(
    {"baby", "babys", "son", "sons", "daughter", "daughters", "child", "childs", "kid", "kids", "toddler"}
    | {"husband", "husbands", "wife", "wifes", "partner", "partners", "boy", "girl"}  # (pronouns: _OWN_PEOPLE)
)
_MONTHS = frozenset(
    {"january", "february", "march", "april", "may", "june", "july", "august", "september", "october"}
    | {"november", "december", "jan", "feb", "sept", "oct", "nov", "dec"}
)
