"""The words of time: now, the past (history cues, past verbs, a time of life, seen and sent home
already), months and years, and the relatives whose past is family history."""

from __future__ import annotations

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
YEAR_RANGE = range(1940, 2100)
# "since last night", "hours ago": ongoing or recent, whatever else the clause says.
RECENT = (("hours", "ago"), ("hour", "ago"), ("since", "last"), ("since", "yesterday"), ("since", "this"))
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
PAST_VERBS = frozenset({"had", "suffered", "diagnosed", "got", "died", "went", "developed", "was", "were"})

_IRREGULAR_PAST = frozenset(
    {"broke", "fell", "had", "was", "were", "went", "got", "took", "came", "hit", "cut", "bled", "ran", "lost", "found"}
    | {"said", "told", "felt", "saw", "knew", "thought", "became", "began", "gave", "kept", "lay", "spent"}
)


def past_verb(word: str) -> bool:
    return word in _IRREGULAR_PAST or (word.endswith("ed") and len(word) > 3)


# "when I was little", "when she was a teenager": a time of life that is over ("when I was 17": Marks).
TIME_OF_LIFE = tuple(
    ("when", person, "was", *what.split())
    for person in ("i", "he", "she")
    for what in ("younger", "little", "small", "pregnant", "young", "a child", "a kid", "a baby", "a teenager")
)
# Cue phrases, each family looked for once per message (Marks), by their first word.
# Seen and sent home already: what the sentence told before it is over (blind set Y: "got a small
# shock off a plug last night, seen at urgent care, ECG normal and they discharged me").
SEEN_ALREADY = (
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

WHEN_WAS = (["i", "was"], ["he", "was"], ["she", "was"])
# (months are a time of life: "when he was 18 months"; days and weeks may be this baby's now)
AGE_UNITS = frozenset({"day", "days", "week", "weeks", "wk", "wks", "hours", "hour", "hrs"})
# Words that say a sentence speaks of the present: a time of life elsewhere in it dates nothing.
PRESENT_TENSE = frozenset({"is", "are", "am", "im", "isnt", "arent", "hes", "shes", "keeps", "cant", "wont", "doesnt"})

DATED_LIFE = frozenset({"born", "turned", "due"})
SHARED_HISTORY = frozenset({"had", "suffered", "diagnosed", "died", "developed"})
SHARED_NOW = frozenset({"found", "collapsed", "unresponsive", "unconscious", "bitten", "confused", "stung"})

MONTHS = frozenset(
    {"january", "february", "march", "april", "may", "june", "july", "august", "september", "october"}
    | {"november", "december", "jan", "feb", "sept", "oct", "nov", "dec"}
)

AGE_TODAY_SUBJECT = frozenset({"im", "hes", "shes", "is", "theyre"})
PRESENT_AUXILIARY = frozenset({"has", "have", "hes", "shes", "is", "are", "am", "im", "does", "do"})
THIRD_PERSON = frozenset({"he", "she", "his", "her", "they", "their"})
