"""medspaCy's ConText as the red-flag rules' context engine: the clinical NLP library's answer to
"is this mention negated, hypothetical, historical or someone else's", measured against ours
(context.py) on the same rules and sets:

    make medspacy          # its own virtualenv: medspaCy pins spaCy < 3.8 and NumPy 1.x
    $(make -s medspacy-python) -m loadtests.evaluate_red_flags --rule-sets --context medspacy

It reads the words the concept layer reads (contractions split back the way spaCy's tokenizer
splits them, "dont" -> "do n't", so that ConText's own rules match), one sentence per sentence
mark, and asks ConText about one mention at a time. An absence stated by the concept's own words
("not breathing") is never negated, as in ours: that is the concept layer's, not the engine's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from orchestrator.safety.concepts import Mention
from orchestrator.safety.lexicon import SENTENCE_END

_NEGATED_VERBS = ("do", "does", "did", "is", "was", "has", "have", "had", "are", "were", "could", "would", "should")
CONTRACTIONS = {f"{verb}nt": (verb, "n't") for verb in _NEGATED_VERBS} | {
    "cant": ("ca", "n't"),
    "wont": ("wo", "n't"),
    "aint": ("ai", "n't"),
    "im": ("i", "'m"),
    "ive": ("i", "'ve"),
}


class MedspacyContext:
    """ConText's reading of one message's mentions."""

    def __init__(self, words: list[str], nlp: Any, context: Any, *, family_cancels: bool) -> None:
        from spacy.tokens import Doc

        tokens: list[str] = []
        self._first: list[int] = []  # our word index -> its first spaCy token
        for word in words:
            self._first.append(len(tokens))
            tokens.extend(CONTRACTIONS.get(word, (word,)))
        self._first.append(len(tokens))
        starts: list[bool | int | None] = [i == 0 or tokens[i - 1] in SENTENCE_END for i in range(len(tokens))]
        self._doc = Doc(nlp.vocab, words=tokens, sent_starts=starts)
        self._context = context
        self._family_cancels = family_cancels
        self._read: dict[tuple[int, int], tuple[bool, bool, bool]] = {}  # negated, set aside, past

    def _reading(self, mention: Mention) -> tuple[bool, bool, bool]:
        key = (mention.start, mention.end)
        known = self._read.get(key)
        if known is None:
            from spacy.tokens import Span

            span = Span(self._doc, self._first[mention.start], self._first[mention.end + 1], label="FINDING")
            self._doc.spans["medspacy_spans"] = [span]
            self._context(self._doc)
            found = self._doc.spans["medspacy_spans"][0]
            aside = found._.is_hypothetical or (self._family_cancels and found._.is_family)
            known = self._read[key] = (bool(found._.is_negated), bool(aside), bool(found._.is_historical))
        return known

    def past(self, mention: Mention) -> bool:
        return self._reading(mention)[2]

    def negated(self, mention: Mention) -> bool:
        return not mention.absence and self._reading(mention)[0]

    def counts(self, mention: Mention) -> bool:
        _, aside, past = self._reading(mention)
        return not (aside or past) and self.negated(mention) == mention.inverted


def medspacy_engine(*, family_cancels: bool = True) -> Callable[[list[str]], MedspacyContext]:
    """A context engine for RedFlagRules: ConText with medspaCy's default rules."""
    import spacy
    from medspacy.context import ConText  # type: ignore[import-not-found]  # its own virtualenv

    nlp = spacy.blank("en")
    context = ConText(nlp, input_span_type="group", span_group_name="medspacy_spans")
    return lambda words: MedspacyContext(words, nlp, context, family_cancels=family_cancels)
