"""Where one message's sentences and clauses begin and end: the scopes the context rules read in."""

from __future__ import annotations

from dataclasses import dataclass

from orchestrator.safety.lexicon import CLAUSE_MARK, SENTENCE_END
from orchestrator.safety.negation_cues import CONJUNCTIONS, CONTRAST

_CLAUSE_STARTERS = CONJUNCTIONS | CONTRAST


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
