"""What dates a clause in the past beyond its own cue words: a month an event happened in, a time
of life before an age today, an illness two relatives shared (Context._is_past asks these)."""

from __future__ import annotations

from orchestrator.safety.clauses import Layout
from orchestrator.safety.marks import Marks
from orchestrator.safety.time_cues import AGE_TODAY_SUBJECT, DATED_LIFE, SHARED_HISTORY, SHARED_NOW, past_verb


def in_a_month(words: list[str], layout: Layout, marks: Marks, start: int, end: int) -> bool:
    """ "broke his hip in December", "my wrist fracture in June": a month the event happened
    in, a past verb before it and nothing in the present (after blind set AB; not "due in
    June", not "fell in May and now can't stand", which has its own "now")."""
    month = marks.first("month", start, end)
    if month is None or month == start or words[month - 1] not in ("in", "last"):
        return False
    sentence = layout.sentences[layout.sentence_of[start]]
    if marks.has("present", start, end) or marks.has("now", *sentence):
        return False  # "fell off his bike in January and now he has crushing pain in his head"
    # a birth or an age dated, and what happened after it, are no past event ("my daughter who
    # turned 1 in March swallowed a button battery", "born in October went floppy": a review)
    if (month >= 2 and words[month - 2] in DATED_LIFE) or any(past_verb(w) for w in words[month + 1 : end]):
        return False
    return any(past_verb(word) for word in words[start:month])


def before_age_today(
    words: list[str], layout: Layout, marks: Marks, start: int, end: int, sentence: tuple[int, int]
) -> bool:
    """ "I took an overdose when I was 19, I'm 31 now and doing well", "he had one febrile
    convulsion at 18 months, he's 5 now": a time of life, then an age today, date the clauses
    between them; the age today's clause and what follows it are now ("I'm 35 now and want to
    die" still counts). After blind sets V and W."""
    then = marks.first("time_of_life", *sentence)
    aged = marks.first("aged", *sentence)
    if then is None or (aged is not None and aged < then):
        then = aged
    if then is None or marks.has("present", start, end):
        return False  # "collapsed at 4 and isn't breathing, he's 6 now": the present is now
    # The dated event is the time of life's own clause, or the one it follows ("overdosed |
    # when I was 17"); not an earlier one ("crushing chest pain and sweating, my dad had a
    # heart attack when he was 50 and he's 70 now": the chest pain is now).
    clause, dated = layout.clause_of[start], layout.clause_of[then]
    if clause != dated and not (clause == dated - 1 and words[then] == "when"):
        return False
    # the age today may open the next sentence: "he had one febrile fit at 18 months. He's 4
    # now and fine" (after blind set AB)
    following = layout.sentence_of[sentence[0]] + 1
    until = layout.sentences[following][1] if following < len(layout.sentences) else sentence[1]
    for index in range(then + 1, until - 2):
        subject, first, second = words[index : index + 3]
        if index >= sentence[1] and (index != layout.sentences[following][0] or subject == "is"):
            continue  # the next sentence only where it opens on it ("pain is 9 now" is no age)
        # "he's 5 now", "he's now 4" (blind set Z)
        if subject in AGE_TODAY_SUBJECT and (
            (first.isdigit() and second == "now") or (first == "now" and second.isdigit())
        ):
            return end <= layout.clauses[layout.clause_of[index]][0]
    return False


def shared_illness(words: list[str], start: int, end: int) -> bool:
    """ "my mum and aunt both had pre-eclampsia": two people's shared illness is a history; not
    "my grandparents were both found unresponsive this morning" (a review)."""
    clause = words[start:end]
    return "both" in clause and SHARED_NOW.isdisjoint(clause) and not SHARED_HISTORY.isdisjoint(clause)
