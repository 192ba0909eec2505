"""The words of negation (NegEx-style): the cues, the phrases that only look negative, and the
words that end a cue's reach (a contrast, a new subject or predicate, a conjunction)."""

from __future__ import annotations

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
CONTRAST = frozenset(
    {"but", "however", "although", "though", "except", "yet", "whereas", "now", "then", "suddenly", "when", "while"}
    | {"normally", "usually"}  # "doesnt know where she lives, normally sharp as a tack"
)
SUBJECTS = frozenset(
    {"i", "im", "ive", "he", "hes", "she", "shes", "it", "its", "they", "my", "his", "her", "we", "you"}
    | {"the", "this", "that", "people", "someone", "somebody", "everyone", "everybody"}
)
# A subject and its verb in one word starts a clause of its own, even unpunctuated ("nothing
# coming up hes going purple", "no idea why im so breathless").
SUBJECT_AND_VERB = frozenset({"hes", "shes", "im", "ive", "theyre", "youre", "weve", "theyve"})
# After "and", "but"...: a verb that starts a predicate of its own ("no fever and is vomiting").
NEW_PREDICATE = frozenset(
    {"is", "was", "are", "were", "has", "had", "keeps", "kept", "seems", "looks", "looked", "feels", "felt"}
    | {"cant", "wont", "started", "starts", "became", "went", "now", "suddenly"}
)
RATE_AFTER_ABSENCE = frozenset(
    {"fast", "faster", "quick", "quickly", "rapidly", "hard", "heavily", "noisily", "loudly"}
)
SAID_FINE_AFTER = frozenset(
    (verb, state)
    for verb in ("feel", "feels", "is", "are", "seem", "seems", "work", "works", "working", "move", "moving")
    for state in ("fine", "ok", "okay", "normal")
)
# A quantifier that says something is there ends a negation's reach ("not like contractions,
# and some dark bleeding"; "no rash but lots of vomiting").
PRESENT_QUANTIFIERS = frozenset({"some", "lots", "loads", "plenty", "bit"})
CONJUNCTIONS = frozenset({"and", "or", "so", "plus", "also", "because", "cos", "which", "who"})
STOP_WORDS = frozenset({"stopping", "stopped", "stop", "stops"})
DURATION_UNITS = frozenset({"days", "day", "hours", "hrs", "hour", "weeks", "wks", "mins", "minutes"})

# "don't want to live" says the wish; "don't want to die", "don't want to hurt myself" deny it
# (after blind set U): there "don't want" negates what follows.
_DENIED_WISHES = frozenset({"die", "hurt", "harm", "kill"})


def denied_wish(words: list[str], start: int) -> bool:
    return (
        words[start] in ("dont", "doesnt")
        and words[start + 1 : start + 3] in (["want", "to"], ["wanna", "to"])
        and start + 3 < len(words)
        and words[start + 3] in _DENIED_WISHES
    )
