"""One request's redaction: identifiers replaced by typed, numbered placeholders ([NAME_1],
[DATE_2]) on the way out, the originals put back in what comes back.

The same identifier gets the same placeholder everywhere in the request (every message,
every turn), so the model can still tell two people apart. A placeholder that already
appears in the client's own text is never issued, so restoring cannot change their words."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable

import orjson
from presidio_anonymizer import AnonymizerEngine
from presidio_anonymizer.entities import OperatorConfig, RecognizerResult

from serving.privacy.finding_checks import Finding
from serving.privacy.placeholders import PLACEHOLDER

_ANONYMIZER = AnonymizerEngine()  # type: ignore[no-untyped-call]


def _normal(value: str) -> str:
    return " ".join(value.casefold().split())


class Redaction:
    def __init__(self) -> None:
        self._issued: dict[tuple[str, str], str] = {}
        self._originals: dict[str, str] = {}
        self._numbers: Counter[str] = Counter()
        self.counts: Counter[str] = Counter()  # identifiers found, per type (occurrences)
        self._clients: set[str] = set()  # placeholders the client wrote itself

    def __bool__(self) -> bool:
        return bool(self._originals)

    def placeholder(self, kind: str, value: str) -> str:
        key = (kind, _normal(value))
        issued = self._issued.get(key)
        if issued is None:
            while True:
                self._numbers[kind] += 1
                issued = f"[{kind}_{self._numbers[kind]}]"
                if issued not in self._clients:
                    break
            self._issued[key] = issued
            self._originals[issued] = value
        return issued

    def reserve(self, texts: list[str]) -> None:
        """Placeholders the client wrote in any of its texts: never issued for an identifier."""
        for text in texts:
            if "[" in text:
                self._clients.update(match.group() for match in PLACEHOLDER.finditer(text))

    def replace(self, text: str, findings: list[Finding]) -> str:
        """text with each finding replaced (presidio-anonymizer, one operator per type)."""
        if not findings:
            return text
        self._clients.update(match.group() for match in PLACEHOLDER.finditer(text))
        self.counts.update(f.type for f in findings)
        operators = {
            kind: OperatorConfig("custom", {"lambda": self._operator(kind)}) for kind in {f.type for f in findings}
        }
        results = [RecognizerResult(f.type, f.start, f.end, 1.0) for f in findings]
        return str(_ANONYMIZER.anonymize(text=text, analyzer_results=results, operators=operators).text)

    def _operator(self, kind: str) -> Callable[[str], str]:
        return lambda value: self.placeholder(kind, value)

    def restore(self, text: str, *, json_string: bool = False) -> str:
        """Placeholders back to the identifiers; inside a JSON document's string (tool-call
        arguments, structured output) the identifier is escaped as JSON."""
        if "[" not in text or not self._originals:
            return text

        def original(match: re.Match[str]) -> str:
            value = self._originals.get(match.group())
            if value is None:
                return match.group()
            return orjson.dumps(value).decode()[1:-1] if json_string else value

        return PLACEHOLDER.sub(original, text)

    def values(self) -> list[str]:
        """The identifiers themselves (for tests that check none of them left)."""
        return list(self._originals.values())
