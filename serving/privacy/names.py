"""Names: capitalised runs after a title or a cue ("Dr Okafor", "my daughter Aisha"), "Last,
First", and the first-name and surname lists (US Census and SSA) with wordfreq's common words that
decide whether a capitalised run is a name."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from importlib import resources
from typing import Any

import regex
from presidio_analyzer import EntityRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts
from wordfreq import zipf_frequency


@functools.cache
def _names(resource: str) -> frozenset[str]:
    text = resources.files("serving.privacy").joinpath("data", resource).read_text()
    return frozenset(line.strip().lower() for line in text.splitlines() if line.strip())


@functools.cache
def common_words() -> frozenset[str]:
    text = resources.files("serving.privacy").joinpath("data", "not_names.txt").read_text()
    return frozenset(word.lower() for line in text.splitlines() if not line.startswith("#") for word in line.split())


_TITLE = r"(?:mr|mrs|ms|miss|mx|dr|prof|sr|sra|srta|nurse|rn|np|pa|smt|shri|sri|herr|frau|dhr|mevr|mme|mlle|matron)\.?"
_RARE_NAME_ZIPF = 2.5  # wordfreq's Zipf: two capitalised words both rarer than this are a name
# Species names: after a genus ("Klebsiella Pneumoniae") or an initial ("E. coli"), an organism, no person.
SPECIES = frozenset(
    {"pneumoniae", "aureus", "coli", "pylori", "difficile", "influenzae", "faecalis", "aeruginosa", "albicans"}
    | {"tuberculosis", "meningitidis", "pyogenes", "agalactiae", "gonorrhoeae", "trachomatis", "vulgaris", "fumigatus"}
)
# Words after which a capitalised word is a person: roles, relations, sign-offs.
_CUE = (
    r"(?:patient|pt|name|named|called|son|daughter|wife|husband|mother|mom|father|dad|brother|sister|spouse|"
    r"partner|fianc[eé]e?|grandson|granddaughter|grandmother|grandfather|aunt|uncle|niece|nephew|cousin|friend|"
    r"neighbou?r|caregiver|guardian|contact|attending|resident|physician|surgeon|provider|pcp|referred\s+by|"
    r"seen\s+by|care\s+of|signed|signed\s+by|dictated\s+by|accompanied\s+by|spoke\s+(?:with|to)|discussed\s+with|cc|dear|"
    r"nurse|doctor|therapist|pharmacist|colleague|roommate|boyfriend|girlfriend|baby|child|infant|toddler|"
    r"teen|kid|twin|stepson|stepdaughter|i\s+am|i'm|this\s+is|name\s+is)"
)
_PARTICLE = r"(?:van|von|de|del|della|da|di|la|le|du|bin|ibn|al|st\.?|Ní|Ó|Ó|Mac|Nic|Ua|dos|das)"
# Possessive (++, *+): a run like "Aaa-Aaa-Aaa-…" must not backtrack (quadratic or worse).
# Any script's capitals and small letters (José, Ciarán, Wróblewski, Ōkubo, Nguyễn).
_CAP = r"(?:\p{Lu}\p{Ll}++(?:['’-]\p{Lu}?\p{Ll}++)*+|\p{Lu}'\p{Lu}\p{Ll}++|Mc\p{Lu}\p{Ll}++|\p{Lu}{2,}+)"
_NAME_RUN = regex.compile(
    rf"(?<![\w'’-])(?P<run>{_CAP}(?:\s+(?:[A-Z]\.?|{_PARTICLE})(?=\s))?(?:\s+{_PARTICLE})?(?:[ ]{_CAP}){{0,2}})"
    rf"(?![\w'’-])"
)
_CUE_WORD = regex.compile(_CUE.replace(r"\s+", " "))
_LABEL_WORDS = frozenset({"id", "mrn", "dob", "ssn", "npi", "dea", "nhs", "sex", "age", "ward", "bed", "rm", "room"})
_TITLE_WORD = regex.compile(
    r"(?:mr|mrs|ms|miss|mx|dr|prof|sr|sra|srta|rev|sister|nurse|smt|shri|sri|herr|frau|dhr|mevr|mme|mlle|matron)"
)
_TITLED = regex.compile(rf"(?i:\b{_TITLE})\s*(?:\p{{Lu}}\.\s*){{0,2}}$")  # "Dr. R. Gupta": initials between
_CUED = regex.compile(rf"(?i:\b{_CUE}\b)[\s:,-]*(?:(?i:my|our|his|her|their|the)\s+)?$")
_LAST_FIRST = regex.compile(rf"(?<![\w'-])(?P<last>{_CAP}),\s*(?P<first>[A-Z][a-z]+)(?:\s+[A-Z]\.?)?(?![\w'-])")
_LOWER_CUED = regex.compile(
    r"(?i:\b(?:my|our|his|her)\s+(?:son|daughter|wife|husband|mother|mom|father|dad|brother|sister|baby|child|"
    r"partner|friend)|name\s+is|named|called|i\s+am|i'm|this\s+is)\s+(?P<first>[a-z]{2,})(?:\s+(?P<last>[a-z]{2,}))?\b"
)
# What a capitalised word before it says it is not a person (an eponym: "Graves disease").
_EPONYM_AFTER = regex.compile(
    r"^(?:['’]s?)?\s+(?i:disease|syndrome|sign|signs|test|score|scale|criteria|palsy|phenomenon|reflex|"
    r"maneuver|manoeuvre|procedure|operation|fracture|ulcer|lymphoma|sarcoma|tumou?r|classification|"
    r"ophthalmopathy|thyroiditis|encephalopathy|disorder|protocol|catheter|bag|tube|law|formula|equation|"
    r"stage|grade|type|node|nodes|duct|point|position|triad|method|index|coma\s+scale|hospital|clinic|"
    r"center|centre|medical|health|university|county|street|avenue|road|pharmacy|insurance|health\s+plan)\b"
)


class NameRecognizer(EntityRecognizer):
    """Person names without an NER model: capitalised runs scored by who they look like.

    A run counts when a title or a cue word ("patient", "daughter", "seen by") comes before
    it, when it is a known first name followed by another capitalised word, or when it is
    "Last, First" from the census lists. A single known name with no cue counts only if it
    is not also a common or clinical word (not_names.txt). Eponyms ("Graves disease",
    "Parkinson's") are not names. Lowercase names count only after "my son", "name is".
    The lists are the 1990 US Census first names and the surnames covering 85% of people."""

    entity = "NAME"

    def __init__(self) -> None:
        super().__init__(supported_entities=[self.entity], name="NameRecognizer", supported_language="en")
        self.first = _names("first_names.txt")
        self.last = _names("surnames.txt")
        self.common = common_words()

    def load(self) -> None:
        return None

    def analyze(self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None) -> list[Any]:
        results = [RecognizerResult(self.entity, start, end, score) for start, end, score in self._runs(text)]
        for match in _LAST_FIRST.finditer(text):
            last, first = match.group("last").lower(), match.group("first").lower()
            if first in self.first and first not in self.common and last in self.last:
                results.append(RecognizerResult(self.entity, match.start(), match.end(), 0.8))
        for match in _LOWER_CUED.finditer(text):
            if match.group("first") in self.first and match.group("first") not in self.common:
                end = match.end("last") if match.group("last") in self.last else match.end("first")
                results.append(RecognizerResult(self.entity, match.start("first"), end, 0.7))
        return results

    def _runs(self, text: str) -> Iterable[tuple[int, int, float]]:
        for match in _NAME_RUN.finditer(text):
            start, end = match.span("run")
            if _EPONYM_AFTER.match(text[end : end + 40]):
                continue
            # A run may begin with capitalised words that are not names ("Patient John Smith",
            # "Called Maria"): they move into the context before the name.
            words = match.group("run").split()
            while words and self._not_a_name(words[0]):
                start = text.index(words[0], start) + len(words[0])
                words = words[1:]
            if not words:
                continue
            start = text.index(words[0], start)
            before = text[max(0, start - 40) : start]
            score = self._score(words, titled=bool(_TITLED.search(before)), cued=bool(_CUED.search(before)))
            if score:
                yield start, end, score

    def _not_a_name(self, word: str) -> bool:
        lowered = word.lower().rstrip(".:,")
        if _CUE_WORD.fullmatch(lowered) or _TITLE_WORD.fullmatch(lowered) or lowered in _LABEL_WORDS:
            return True
        return lowered in self.common and lowered not in self.first and lowered not in self.last

    def _score(self, words: list[str], *, titled: bool, cued: bool) -> float:
        lowered = [w.lower().rstrip(".") for w in words]
        names = [w for w in lowered if len(w) > 1]
        if not names:
            return 0.0
        common = [w in self.common for w in names]
        if all(common) and not (titled or cued):
            return 0.0
        if titled:
            return 0.9
        known_first = names[0] in self.first and not common[0]
        if cued and (len(names) > 1 or names[0] in self.first or names[0] in self.last):
            return 0.85
        if known_first and len(names) > 1 and (names[-1] in self.last or names[-1] in self.first):
            return 0.85
        if known_first and len(names) > 1 and not any(common[1:]):
            return 0.7
        if len(names) > 1 and names[0] in self.first and names[-1] in self.last and not common[-1]:
            return 0.6
        if (
            len(names) > 1
            and not any(common)
            and all(len(w) > 2 and zipf_frequency(w, "en") < _RARE_NAME_ZIPF for w in names)
            and all(not w.isupper() for w in words)  # "Hx HTN": abbreviations, not a name
            and names[-1] not in SPECIES  # "Klebsiella Pneumoniae": an organism
        ):
            return 0.6  # "Grzegorz Brzęczyszczykiewicz", "Oluwadamilare Babatunde": no English reads so
        if known_first and len(names) == 1:
            return 0.5
        return 0.0
