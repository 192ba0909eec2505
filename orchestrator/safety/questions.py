"""Questions about no one, and questions about what would happen: what Context sets aside as
hypothetical ("what does green vomit in a baby mean?", "what should she do if she has a fall",
"how many paracetamol would count as an overdose?")."""

from __future__ import annotations

from orchestrator.safety.lexicon import CLAUSE_MARK
from orchestrator.safety.marks import Marks
from orchestrator.safety.question_cues import GENERIC_YOU, NAMED_PEOPLE, OWN_PEOPLE, WH_WORDS
from orchestrator.safety.time_cues import NOW_CUES, RELATIVES, past_verb


def general_question(words: list[str]) -> bool:
    """ "what does green vomit in a baby mean?", "what does sepsis look like in kids?", "how do you
    use an AED?" (after blind set U and the in-use sets): a question about no one; not "what does
    it mean when my baby vomits green", which is about someone."""
    if len(words) < 3 or not OWN_PEOPLE.isdisjoint(words):
        return False
    if words[0] == "what" and words[1] in ("does", "do"):
        return "mean" in words or "like" in words[3:]
    if words[0] == "why" and words[1] in ("are", "is", "do", "does", "can", "would"):
        return True  # "why are button batteries more dangerous than coins if a kid swallows one?"
    if tuple(words[:4]) in GENERIC_YOU or tuple(words[:3]) in GENERIC_YOU:
        # "is it right you call an ambulance if a seizure lasts 5 minutes?" (blind set AB); not
        # "should you call an ambulance, baby's gone blue?", which names someone (a review)
        return "if" in words and RELATIVES.isdisjoint(words) and NAMED_PEOPLE.isdisjoint(words)
    return words[:3] == ["how", "do", "you"]


def conditional_question(words: list[str], marks: Marks, start: int, end: int) -> bool:
    """ "what should she do if she has a fall", "if my toddler ever swallowed a battery", "how
    many ... would count as": a what-question with an if, an if with ever, a how-many question."""
    if end - start > 1 and words[start] == "how" and words[start + 1] in ("many", "much", "long", "often"):
        return True  # "How many paracetamol would count as an overdose?"
    if general_question(words[start:end]):
        return True
    # "Teacher here, preparing a lesson - why is a paracetamol overdose dangerous?": the
    # question after a clause about the writer's work (after blind set X)
    for index in range(start + 1, end - 2):
        if words[index] in WH_WORDS and words[index - 1] in CLAUSE_MARK and OWN_PEOPLE.isdisjoint(words[start:index]):
            return general_question(words[index:end])
    at = marks.first("if", start, end)
    if at is None:
        return False
    after_if = words[at + 1 : min(at + 6, end)]
    if "ever" in after_if:
        return True
    # "how dangerous would it be if our toddler got hold of..." (blind set AB); not "could it be
    # sepsis if he's confused" nor "would you call 999 if your dad's face has dropped" (a review)
    supposed = any(word in ("would", "could") for word in words[max(start, at - 4) : at])
    told_now = marks.has("present", at, end) or any(word in ("has", "have") for word in words[at:end])
    if supposed and "?" in words[at:end] and not told_now:
        return True
    opens = at == start or words[at - 1] in CLAUSE_MARK or words[at - 1] in ("and", "but", "so")
    if opens and any(past_verb(word) for word in after_if) and marks.has("asks", start, end):
        return True  # "if my waters broke at 35 weeks, should I go straight in?" (not "not sure if he took")
    return marks.has("what_question", start, end)


def no_now_but_durations(words: list[str], marks: Marks, start: int, end: int) -> bool:
    """No cue of now but a duration ("lasts more than 5 minutes") or an idle "just": "how do
    you do CPR on a baby not breathing right now?" still asks about now (a review)."""
    if marks.has("now_phrase", start, end):
        return False
    return all(
        words[index] == "just" or (index > 0 and words[index - 1].isdigit())
        for index in range(start, end)
        if words[index] in NOW_CUES
    )
