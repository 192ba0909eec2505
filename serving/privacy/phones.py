"""Phones in international formats (phonenumbers, Google's libphonenumber in Python), after a cue."""

from __future__ import annotations

from typing import Any

import phonenumbers
import regex
from presidio_analyzer import EntityRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

_REGIONS = ("GB", "US", "IN", "AU")
_DIGIT_RUN = regex.compile(r"\+?\(?\d[\d\s().-]{6,22}\d")
_PHONE_CUE = regex.compile(r"(?i:tel|phone|call|mob|mobile|cell|fax|ring|text|contact|number|on)\W*$")


class InternationalPhoneRecognizer(EntityRecognizer):
    """Phone numbers as libphonenumber reads them: international (+44 20 7946 0958, +84 28 3822
    4417) and national formats of the regions this product serves (07700 900418)."""

    entity = "PHONE"

    def __init__(self) -> None:
        super().__init__(supported_entities=[self.entity], name="InternationalPhoneRecognizer", supported_language="en")

    def load(self) -> None:
        return None

    def analyze(self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None) -> list[Any]:
        seen: set[tuple[int, int]] = set()
        results = []
        # libphonenumber's matcher is thorough and slow (30 ms for 8 KB in six regions): it reads
        # only the windows that hold enough digits to be a phone number.
        for window in _DIGIT_RUN.finditer(text):
            offset = window.start()
            piece = text[offset : window.end()]
            for region in _REGIONS:
                for match in phonenumbers.PhoneNumberMatcher(piece, region, leniency=phonenumbers.Leniency.POSSIBLE):
                    start, end = offset + match.start, offset + match.end
                    raw = match.raw_string
                    cued = bool(_PHONE_CUE.search(text[max(0, start - 24) : start]))
                    # Ten bare digits may be an NPI or an account number; a number that is only
                    # possible (not valid) counts when written as a phone is: with a + or after
                    # a word that says so (fictional and new ranges included).
                    if raw.isdigit() and not cued:
                        continue
                    if not (raw.startswith("+") or cued or phonenumbers.is_valid_number(match.number)):
                        continue
                    if (start, end) not in seen:
                        seen.add((start, end))
                        results.append(RecognizerResult(self.entity, start, end, 0.7))
        return results
