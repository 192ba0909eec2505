"""The words of a patient's message as the concept layer reads them: lower case, apostrophes
dropped ("can't" is "cant"), hyphens as spaces, sentence and clause marks kept as tokens, and
typos corrected toward the concepts' own vocabulary.

A word is corrected only when it is not in that vocabulary and not common English (wordfreq's
Zipf frequency under 2.5: "chess" and "breast" stay, "cheast" and "breth" do not), to the closest
vocabulary word within one edit (two for words of nine letters or more; rapidfuzz's
Damerau-Levenshtein, so a swapped pair is one edit). Corrections are cached per word, so a
message costs one dictionary look-up a word after the first time a word is seen."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz import process
from rapidfuzz.distance import DamerauLevenshtein
from wordfreq import zipf_frequency

SENTENCE_END = frozenset({".", "!", "?", ";", "\n"})
CLAUSE_MARK = frozenset({",", ":", "(", ")", "-"})
_TOKEN = re.compile(r"[a-z0-9]+(?:\.[0-9]+)?|[.!?;\n,:()]|(?<= )-(?= )")
_APOSTROPHE = re.compile(r"['’‘`´]")
# light-headed, chest/arm: two words (the mark first, its letters looked at after: a pattern that
# opens on a look-behind is tried at every position, four times the cost)
_JOINED = re.compile(r"[-/](?<=[a-z][-/])(?=[a-z])")
COMMON_ZIPF = 2.5
# Between this and COMMON_ZIPF a word is read as itself unless it is a form of a vocabulary word:
# rarer than this, a typo ("breth", "sentance") is likelier than a word.
KNOWN_ZIPF = 2.0
_MIN_CORRECTED = 4


# Set phrases whose words would read as something else: "hay fever" is not a fever. Joined into
# one word after tokenising ("blood pressure" reads "bloodpressure"): a dictionary look-up a word
# where one regex alternation over the text cost more than the rest of the reading.
_FOLLOWED_BY = {
    "hay": ("fever",),
    "blood": (
        *("pressure", "test", "tests", "sugar", "sugars", "thinner", "thinners", "count", "counts"),
        *("results", "work", "type", "group", "donation", "glucose", "level", "levels", "draw"),
    ),
    "falls": ("assessment", "clinic", "risk", "prevention", "team", "service"),
    # "a faint pink rash" is pale, not fainting; "skin barely broken" is no broken bone
    "faint": ("pink", "red", "line", "lines", "mark", "marks", "smell", "taste", "tinge"),
    # after blind set U: a school's first aider is no adder, food poisoning no poisoning, a sick
    # note no vomiting, a teenager who grunts at his parents no grunting baby, and shattered
    # after a day's work no broken bone
    "first": ("aider", "aiders"),
    "food": ("poisoning",),
    "sick": ("note", "notes", "leave", "day", "days", "pay", "certificate", "cert", "line"),
    "grunts": ("at",),
    "grunting": ("at",),
    "grunted": ("at",),
    "absolutely": ("shattered",),
    "totally": ("shattered",),
    "feel": ("shattered",),
    "feeling": ("shattered",),
    "shattered": ("at work", "after work", "after a long"),
    "zu": ("viel",),  # German "too much", no "veil" over the eyes
    # after blind set V: a static shock off a car door, a collapsed lung in June, a chest sore
    # from the bench press that hurts when pressed, "fit and well"
    "static": ("shock", "shocks"),
    "collapsed": ("lung",),
    "bench": ("press", "pressing"),
    "press": ("on it",),
    "pressed": ("on it",),
    "pressing": ("on it",),
    "heavy": ("bench press", "lifting", "weights", "box", "boxes", "shopping", "bags"),
    "broken": ("glass", "bottle", "plate", "mirror", "window", "mug", "cup"),
    "nic": ("od",),  # Polish "nothing since", no overdose
    # after blind set W: a fit note (the UK's sick note) is no fit; a limp is no floppy child
    "fit": ("and well", "and healthy", "healthy", "note", "notes"),
    "a": ("limp",),
    "slight": ("limp",),
    "stuck": ("together",),  # crusty eyes stuck together are no object stuck in one (blind set X)
    "need": ("antibiotics",),  # asked for, not taken: no allergen (blind set Y)
    "dribbling": ("loads", "lots"),  # a teething baby's, no large amount swallowed
    "chewing": ("everything", "on everything"),  # a teething baby's, nothing swallowed
    # after blind set Z: a frozen shoulder is no cold exposure; "came round within 10 minutes"
    # is how soon a seizure ended, not how long it lasted
    "frozen": ("shoulder",),
    "within": tuple(f"{n} {unit}" for n in (5, 10, 15, 20, 30) for unit in ("minutes", "mins", "min")),
    # after blind set AB: a TIA clinic is a place, no stroke; heat stroke is heat illness, no
    # stroke; a hot water bottle or an ice pack for an ache is no burn and no cold exposure; the
    # acid of a medicine's name no chemical; finishing a course or a bottle of eye drops no overdose
    "tia": ("clinic", "clinics"),
    "stroke": ("clinic", "clinics", "unit", "ward", "nurse", "nurses", "team", "service", "association"),
    "heat": ("stroke", "strokes", "or ice", "pack", "packs", "pad", "pads"),
    "hot": ("water bottle", "water bottles"),
    "ice": ("pack", "packs", "or heat", "cube", "cubes", "lolly", "lollies", "cream"),
    **{drug: ("acid", "acids") for drug in ("mefenamic", "folic", "tranexamic", "salicylic", "hyaluronic")},
    **{drug: ("acid", "acids") for drug in ("valproic", "fusidic", "azelaic", "glycolic", "amino", "omega")},
    # (not "finish the whole packet of my sleeping tablets tonight": a review)
    "finish": ("the course", "the whole course", "the whole bottle of eye drops", "the bottle of eye drops"),
}


def _set_phrases() -> dict[str, tuple[tuple[tuple[str, ...], str], ...]]:
    phrases: list[tuple[str, ...]] = [(first, *more.split()) for first, words in _FOLLOWED_BY.items() for more in words]
    phrases += [("skin", "broken"), ("broken", "skin"), ("broke", "the", "skin")]
    phrases += [("skin", word, "broken") for word in ("is", "was", "barely", "just", "slightly", "not")]
    by_first: dict[str, list[tuple[tuple[str, ...], str]]] = {}
    for phrase in phrases:
        by_first.setdefault(phrase[0], []).append((phrase[1:], "".join(phrase)))
    return {first: tuple(sorted(rest, key=lambda item: -len(item[0]))) for first, rest in by_first.items()}


_SET_PHRASES = _set_phrases()
# A joined phrase is a word of its own, never a typo ("faintpink" is no "fainting"): by the length
# of its first word, which no prefix pattern may stop at ("faint*" names no "faintpink"; a concept's
# own "blood thinner*" does name "bloodthinners").
JOINED_PHRASES = {phrase: len(first) for first, rests in _SET_PHRASES.items() for _, phrase in rests}


def _join_set_phrases(words: list[str]) -> list[str]:
    starts = [index for index, word in enumerate(words) if word in _SET_PHRASES]
    if not starts:
        return words
    joined: list[str] = []
    last = 0  # the first word not yet copied
    for index in starts:
        if index < last:
            continue  # inside a phrase joined already
        for rest, phrase in _SET_PHRASES[words[index]]:
            if tuple(words[index + 1 : index + 1 + len(rest)]) == rest:
                joined.extend(words[last:index])
                joined.append(phrase)
                last = index + 1 + len(rest)
                break
    if not last:
        return words
    joined.extend(words[last:])
    return joined


# "temp normal", "temperature is fine", "temp 37.2", "temp of 98.9F": a reading that says there
# is no fever (36-37.4 °C, 97-99.4 °F; a low one, "temp 35.4", is no normal reading).
# (The word opens the pattern and its boundary is looked at after: a pattern that opens on \b
# is tried at every position of the message, a literal only where it occurs: 20 times cheaper.)
_NORMAL_READING = re.compile(
    r"temp(?<!\wtemp)(?:erature)?(?: is| was| has been| of| at)? "
    # a normal reading: 36 to 37.4 °C, 97 to 99.4 °F (37.5 and up is a fever on chemotherapy)
    r"(?:normal|fine|ok|okay|down|(?:36(?:\.\d+)?|37(?:\.[0-4]\d*)?|9[78](?:\.\d+)?|99(?:\.[0-4]\d*)?)"
    r"(?: ?°? ?[cf]\b| degrees)?)(?!\.?\d)"
)
# 37.5 to 37.9 °C (99.5 to 99.9 °F; 100 °F is read as a fever, as people mean it): no fever for
# a child (NICE: 38), one on chemotherapy (Macmillan, NHS: 37.5): read as a word of its own that
# only the chemotherapy rule names.
_BORDERLINE_READING = re.compile(
    r"temp(?<!\wtemp)(?:erature)?(?: is| was| has been| of| at)? "
    r"(?:37\.[5-9]\d*|99\.[5-9]\d*)(?: ?°? ?[cf]\b| degrees)?(?!\.?\d)"
)
# "33/40": weeks of a pregnancy as maternity notes write them (not "140/40", a blood pressure).
_OBSTETRIC_WEEKS = re.compile(r"(?<![\d/.])\b([4-9]|[1-3]\d|4[0-2]) ?/ ?40\b(?![/.]?\d)")
# A number of weeks in one word, read as two: "34wks", "28wk", "31w".
_COMPACT_WEEKS = re.compile(r"\b(\d{1,2})(wks|wk|weeks|week|w)\b")
_DIGIT_W = re.compile(r"\dw")  # its cheap test: a third of the pass
# "can not", "cannot": the concepts spell it "cant".
_CANNOT = re.compile(r"can ?not\b(?<!\wcannot)(?<!\wcan not)")  # (literal first, as above)
# "36+2", "31 + 5": weeks and days of a pregnancy, as midwives write them.
_GESTATION = re.compile(
    r"\b([4-9]|[1-3]\d|4[0-2]) ?\+ ?[0-6]\b(?! ?(?:units?|iu|mg|mcg|ml|g\b|tablets?|tabs?|doses?|puffs?|x\b))"
)


# "neck's so stiff", "my wife's waters": a noun's 's (possessive or "is") is the noun; a pronoun's
# stays ("he's" reads "hes", as the concepts spell it). A scan for the apostrophe, then a look back
# at its word: a regex that tried a word at every position cost five times as much.
_APOSTROPHE_S = re.compile(r"['’]s\b")
_KEEPS_S = frozenset({"he", "she", "it", "that", "what", "who", "there", "here", "where", "let", "how", "when"})
_KEEPS_S |= {"why", "this"}


def _drop_noun_s(text: str) -> str:
    kept: list[str] = []
    last = 0
    for match in _APOSTROPHE_S.finditer(text):
        end = begin = match.start()
        while begin > 0 and "a" <= text[begin - 1] <= "z":
            begin -= 1
        if begin == end or (begin > 0 and (text[begin - 1].isalnum() or text[begin - 1] == "_")):
            continue  # no word of letters before it ("3pm's", "'s")
        if text[begin:end] in _KEEPS_S:
            continue
        kept.append(text[last:end])
        last = match.end()
    if not kept:
        return text
    kept.append(text[last:])
    return "".join(kept)


# Letters a decomposition does not strip ("odeszły", "Søren"); accents are dropped ("tragó" is "trago").
_PLAIN_LETTERS = str.maketrans({"ł": "l", "ø": "o", "đ": "d", "ß": "ss", "æ": "ae", "œ": "oe", "ı": "i"})


def _plain(text: str) -> str:
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text.translate(_PLAIN_LETTERS))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


# Each rewrite is a regex pass over the whole message (about 25 µs a pass for 2 KB): a substring
# test (memchr-fast) first skips the passes that cannot match, most of them for most messages.


def normalise(text: str) -> str:
    text = _plain(text.lower())
    if "'" in text or "’" in text:
        text = _APOSTROPHE.sub("", _drop_noun_s(text))
    elif "`" in text or "´" in text or "‘" in text:
        text = _APOSTROPHE.sub("", text)
    if "-" in text or "/" in text:
        text = _JOINED.sub(" ", text)
    if "temp" in text:
        text = _NORMAL_READING.sub("normaltemperature", _BORDERLINE_READING.sub("borderlinetemperature", text))
    if "cannot" in text or "can not" in text:
        text = _CANNOT.sub("cant", text)
    if "+" in text:
        text = _GESTATION.sub(r"\1 weeks", text)
    if "/" in text and "40" in text:
        text = _OBSTETRIC_WEEKS.sub(r"\1 weeks", text)
    if _DIGIT_W.search(text):
        text = _COMPACT_WEEKS.sub(r"\1 \2", text)
    return text


_LONGEST_NUMBER = 9  # digits; a longer run is no count or reading (and int() refuses 4,300+ digits)


# Text speak, read as the words it stands for ("how do u know if ur waters have gone").
_TEXT_SPEAK = {"u": "you", "ur": "your", "coz": "because", "cos": "because", "cuz": "because"}


def tokens(text: str) -> list[str]:
    """Words and marks of `text`, in order (one regex pass: linear in the length)."""
    return _join_set_phrases(
        [
            "longnumber" if len(token) > _LONGEST_NUMBER and token.isdigit() else _TEXT_SPEAK.get(token, token)
            for token in _TOKEN.findall(normalise(text))
        ]
    )


@dataclass(frozen=True, eq=False)
class Lexicon:
    """The concept vocabulary, and the typo corrector toward it."""

    words: frozenset[str]
    by_initial: dict[str, tuple[str, ...]]  # a typo rarely hits the first letter: candidates

    @classmethod
    def of(cls, words: Iterable[str]) -> Lexicon:
        vocabulary = frozenset(w for w in words if w.isalpha())
        initials: dict[str, list[str]] = {}
        for word in sorted(vocabulary):
            initials.setdefault(word[0], []).append(word)
        return cls(vocabulary, {k: tuple(v) for k, v in initials.items()})

    def correct(self, word: str) -> str:
        if word in self.words or len(word) < _MIN_CORRECTED or not word.isalpha() or word in JOINED_PHRASES:
            return word
        return _corrected(word, self)

    def read(self, text: str) -> list[str]:
        known = self.words  # inline of correct()'s first test: most words are known or short
        return [t if t in known or len(t) < _MIN_CORRECTED else self.correct(t) for t in tokens(text)]


@lru_cache(maxsize=65_536)
def _corrected(word: str, lexicon: Lexicon) -> str:
    if zipf_frequency(word, "en") >= COMMON_ZIPF:
        return word
    limit = 2 if len(word) >= 9 else 1
    candidates = [w for w in lexicon.by_initial.get(word[0], ()) if abs(len(w) - len(word)) <= limit]
    found = process.extractOne(word, candidates, scorer=DamerauLevenshtein.distance, score_cutoff=limit)
    if found is None:
        return word
    correction = str(found[0])
    if zipf_frequency(word, "en") >= KNOWN_ZIPF and not _form_of(word, correction):
        return word  # a word of its own ("stubbed" is no "stabbed", "gunk" no "gun")
    return correction


_SUFFIXES = ("s", "es", "y", "ey", "ed", "d", "ing", "er", "ly", "ie")


def _form_of(word: str, stem: str) -> bool:
    """ "inhalers", "bluey", "blistered", "headachy": a form of the vocabulary's word."""
    bare = stem[:-1] if stem.endswith("e") else stem
    return any(word in (stem + suffix, bare + suffix) for suffix in _SUFFIXES)
