"""Identifiers as scans and speech render them: forms whose letters and digits an OCR pass swapped
("D0B: O7/l9/l9"), pedigree members, phone numbers and ids read out digit by digit ("oh seven
seven..."), names in numbered list entries, and numbers with a letter prefix."""

from __future__ import annotations

import regex
from wordfreq import zipf_frequency

from serving.privacy.recognizers import RegexRecognizer, rule

# A run of digits with letters an OCR pass reads for digits in it: "O7/l9/l931", "(6l7)", "2l66".
_DIGITS_READ_AS_LETTERS = regex.compile(r"(?<![\p{L}\d])[\dOoIl]+(?:[-/.:][\dOoIl]+)*(?![\p{L}\d])")
# A capitalised word with a digit or a small l for its letters: "D0B", "PATlENT", "0'BRIEN", "lD".
# (possessive, and a capital checked after the match: one pass, whatever follows the run)
_LETTERS_READ_AS_DIGITS = regex.compile(r"(?<![\p{L}\d])[A-Z0l'’]++(?![\p{L}\d])")
_SMALL_L_IN_CAPITALS = regex.compile(r"(?<=[A-Z])l|l(?=[A-Z])")  # "PATlENT", "lD"; not "I'll"
_AS_DIGITS = str.maketrans({"O": "0", "o": "0", "I": "1", "l": "1"})
_AS_LETTERS = str.maketrans({"0": "O", "l": "I"})


_POSTCODE_INWARD = regex.compile(r"^\d[A-Z]{2}$")
_POSTCODE_OUTWARD = regex.compile(r"(?<![A-Za-z\d])[A-Z]{1,2}\d[A-Z\d]?\s$")


def ocr_shadow(text: str) -> str:
    """The text as an OCR pass meant it, character for character (offsets unchanged): letters
    inside a run of digits read as digits, digits and small l's inside capitals as letters."""

    def digits(match: regex.Match[str]) -> str:
        run = match.group()
        mixed = any(c.isdigit() for c in run) and any(c in "OoIl" for c in run)
        return run.translate(_AS_DIGITS) if mixed else run

    def letters(match: regex.Match[str]) -> str:
        word = match.group()
        if not any("A" <= c <= "Z" for c in word) or word in ("El", "Al"):
            return word  # "El-Sayed", "Al Hashimi": a name's particle, not "EI"
        misread = "0" in word or _SMALL_L_IN_CAPITALS.search(word) is not None
        if _POSTCODE_INWARD.match(word) and _POSTCODE_OUTWARD.search(text, max(0, match.start() - 8), match.start()):
            return word  # "HG2 0NA": a UK postcode's second half, not "ONA"
        return word.translate(_AS_LETTERS) if misread and len(word) >= 2 else word

    shadow = _DIGITS_READ_AS_LETTERS.sub(digits, text)
    return _LETTERS_READ_AS_DIGITS.sub(letters, shadow)


# ---- pedigrees ----

_PEDIGREE_MEMBER = (
    r"(?m)^[ \t]*+(?:[-*•][ \t]*+)?[IVX1]{1,4}[-.:]\d{1,2}[ \t:]++"  # " I-1 ", "II-2 ", "III.1:"
    r"(?P<id>\p{Lu}[\p{L}'’\-]+(?:[ ](?:\p{Lu}[\p{L}'’\-]+|(?:Ó|Ní|Nic|Mac|de|da|van|von|bin|binti)(?=[ ]\p{Lu})))*)"
)


class PedigreeRecognizer(RegexRecognizer):
    """A family tree's members by generation and place (an OCR-read "1-1" too): "I-1 Pádraig Kavanagh (maternal
    grandfather)", "II-1 Máire (mother)"."""

    entity = "NAME"
    rules = (rule(_PEDIGREE_MEMBER, 0.8, 0),)

    def accept(self, text: str, start: int, end: int) -> bool:
        # "II-2 Breast cancer at 45": a lone common word is a finding, not a relative, unless a
        # relationship in brackets follows ("II-1 Mary (mother)")
        words = text[start:end].split()
        bracket = text[end : end + 2].lstrip().startswith("(")
        return len(words) > 1 or bracket or zipf_frequency(words[0].lower(), "en") < 4.0


# ---- numbers said aloud (dictation, voicemail transcripts) ----

_SPOKEN_DIGIT = (
    r"(?:zero|oh|one|two|three|four|five|six|seven|eight|nine|hundred|thousand|double|triple|\d"
    r"|alpha|bravo|charlie|delta|echo|foxtrot|golf|hotel|india|juliet|kilo|lima|mike|oscar|papa|quebec"
    r"|romeo|sierra|tango|uniform|victor|whiskey|x-ray|xray|yankee|zulu"
    r"|\p{Lu}[ ]as[ ]in[ ]\p{L}+)"
)
_SPOKEN_RUN = rf"(?P<id>{_SPOKEN_DIGIT}(?:[ ,\-]{{1,2}}{_SPOKEN_DIGIT}){{4,}})"


class SpokenPhoneRecognizer(RegexRecognizer):
    """A phone number dictated in words: "can be reached on oh seven seven hundred nine hundred
    three four two", "five one zero, five five five, zero one nine one"."""

    entity = "PHONE"
    rules = (
        rule(
            rf"(?i:\b(?:phone|mobile|cell|number|reached[ ]on|contacted[ ]on|call(?:ed)?(?:[ ]on)?)\b)"
            rf"\W{{1,3}}{_SPOKEN_RUN}",
            0.75,
        ),
    )


class SpokenIdRecognizer(RegexRecognizer):
    """An identifier dictated in words after its label: "hospital number K as in kilo seven
    seven one two zero", "MRN eight eight four one"."""

    entity = "ID"
    rules = (
        rule(
            rf"(?i:\b(?:mrn|nhs|hospital[ ]number|number|policy|member|account|id|medicare)\b)\W{{1,3}}{_SPOKEN_RUN}",
            0.75,
        ),
    )


# ---- lists of patients ----

_LIST_ENTRY = regex.compile(
    r"(?m)^[ \t]*(?:\d{1,2}[.)]|\d{1,2}:\d{2})[ \t]+"  # "1. ", "09:00  "
    # "PATEL Harish", "O'SULLIVAN Bridget"
    r"(?P<id>\p{Lu}[\p{Lu}'’\-]+(?:[ ]\p{Lu}[\p{Lu}'’\-]+)?,?[ ]\p{Lu}\p{Ll}[\p{L}'’\-]*"
    r"|\p{Lu}\p{Ll}[\p{L}'’\-]*,[ ]\p{Lu}\p{Ll}[\p{L}'’\-]*)"  # "Hughes, Bill"
    r"(?=[ \t]*(?:,|\(|$|[ \t]{2}))"
)
_PREFIXED_NUMBER = r"(?<![\w\-/.])(?P<id>[A-Z]{1,3}\d{6,10})(?![\w\-/])"


class ListEntryNameRecognizer(RegexRecognizer):
    """A patient list's entry: a number or a clinic time, then the patient's name as a list puts
    it ("1. PATEL Harish, A4417820", "09:00  Hughes, Bill (S1123345)")."""

    entity = "NAME"
    rules = (rule(_LIST_ENTRY.pattern, 0.75, 0),)


class PrefixedNumberRecognizer(RegexRecognizer):
    """A hospital's number shape: one to three capitals and six to ten digits ("A4417820",
    "S1123345", "RH0048213"), an identifier wherever it stands."""

    entity = "ID"
    rules = (rule(_PREFIXED_NUMBER, 0.6, 0),)
