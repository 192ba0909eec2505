"""Precision and recall of the PHI detector per identifier type over a labelled corpus
(JSON Lines of {"text", "spans": [{"start", "end", "type"}]}), and its latency.

    python -m loadtests.evaluate_identifiers tests/serving/privacy/corpus/phi_notes.jsonl
    python -m loadtests.evaluate_identifiers --public   # Presidio's evaluator templates (MIT), filled by
                                                  # Faker: the public set, never tuned on

A labelled span counts as found when a finding of the same type covers at least half of it
(an address found without its unit still hides the street); a finding counts as correct
when it overlaps a labelled span of its type. Findings in the corpus's trap sentences
(eponyms, drugs, doses) overlap nothing and count against precision."""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import regex

from serving.privacy.detector import PhiDetector


@dataclass
class Score:
    found: Counter[str] = field(default_factory=Counter)  # labelled spans found, per type
    hidden: Counter[str] = field(default_factory=Counter)  # labelled spans hidden by a finding of any type
    labelled: Counter[str] = field(default_factory=Counter)
    correct: Counter[str] = field(default_factory=Counter)  # findings that match a label
    reported: Counter[str] = field(default_factory=Counter)
    false_positives: list[str] = field(default_factory=list)
    missed: list[str] = field(default_factory=list)

    def recall(self, kind: str) -> float:
        return self.found[kind] / self.labelled[kind] if self.labelled[kind] else 1.0

    def hidden_share(self, kind: str | None = None) -> float:
        """What a backend behind `redact` would not see: spans covered by any finding."""
        if kind is None:
            total = sum(self.labelled.values())
            return sum(self.hidden.values()) / total if total else 1.0
        return self.hidden[kind] / self.labelled[kind] if self.labelled[kind] else 1.0

    def precision(self, kind: str) -> float:
        return self.correct[kind] / self.reported[kind] if self.reported[kind] else 1.0

    def table(self) -> list[dict[str, Any]]:
        kinds = sorted(set(self.labelled) | set(self.reported))
        return [
            {
                "type": kind,
                "labelled": self.labelled[kind],
                "recall": round(self.recall(kind), 3),
                "hidden": round(self.hidden_share(kind), 3),
                "precision": round(self.precision(kind), 3),
            }
            for kind in kinds
        ]


def _overlap(a: tuple[int, int], b: tuple[int, int]) -> int:
    return max(0, min(a[1], b[1]) - max(a[0], b[0]))


def score(detector: PhiDetector, notes: list[dict[str, Any]]) -> Score:
    result = Score()
    for note in notes:
        text, labels = note["text"], note["spans"]
        findings = detector.find_uncached(text)
        for label in labels:
            span = (label["start"], label["end"])
            result.labelled[label["type"]] += 1
            covered = sum(_overlap(span, (f.start, f.end)) for f in findings if f.type == label["type"])
            if covered * 2 >= span[1] - span[0]:
                result.found[label["type"]] += 1
            if sum(_overlap(span, (f.start, f.end)) for f in findings) * 2 >= span[1] - span[0]:
                result.hidden[label["type"]] += 1
            else:
                result.missed.append(f"{label['type']}: {text[max(0, span[0] - 30) : span[1] + 10]!r}")
        for finding in findings:
            result.reported[finding.type] += 1
            if any(
                label["type"] == finding.type and _overlap((finding.start, finding.end), (label["start"], label["end"]))
                for label in labels
            ):
                result.correct[finding.type] += 1
            else:
                result.false_positives.append(f"{finding.type}: {text[finding.start : finding.end]!r}")
    return result


def latency(detector: PhiDetector, notes: list[dict[str, Any]], size: int, rounds: int = 40) -> dict[str, float]:
    """p50/p99 of one detection over `size` characters of the corpus's notes."""
    corpus = " ".join(note["text"] for note in notes)
    while len(corpus) < size:
        corpus += " " + corpus
    samples = []
    for index in range(rounds):
        offset = (index * 997) % max(1, len(corpus) - size)
        text = corpus[offset : offset + size]
        started = time.perf_counter()
        detector.find_uncached(text)  # uncached: the cost of a text never seen
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return {
        "bytes": size,
        "p50_ms": round(statistics.median(samples), 2),
        "p99_ms": round(samples[min(len(samples) - 1, int(len(samples) * 0.99))], 2),
    }


# The public set: Presidio's evaluator templates (MIT; serving/privacy/data/presidio_templates.txt)
# filled with Faker's values. Each placeholder -> (the Safe Harbor type it is, or None, and how to
# fill it). Countries, nationalities, organisations, jobs, years and weekdays are no identifiers.
PUBLIC_TEMPLATES = Path(__file__).resolve().parents[1] / "serving" / "privacy" / "data" / "presidio_templates.txt"
_FILLS: dict[str, tuple[str | None, str]] = {
    "person": ("NAME", "name"),
    "name": ("NAME", "name"),
    "name_female": ("NAME", "name_female"),
    "name_male": ("NAME", "name_male"),
    "first_name": ("NAME", "first_name"),
    "first_name_female": ("NAME", "first_name_female"),
    "first_name_male": ("NAME", "first_name_male"),
    "first_name_nonbinary": ("NAME", "first_name_nonbinary"),
    "last_name": ("NAME", "last_name"),
    "last_name_female": ("NAME", "last_name_female"),
    "last_name_male": ("NAME", "last_name_male"),
    "address": ("ADDRESS", "address"),
    "street_name": ("ADDRESS", "street_name"),
    "building_number": ("ADDRESS", "building_number"),
    "secondary_address": ("ADDRESS", "secondary_address"),
    "city": ("ADDRESS", "city"),
    "postcode": ("ZIP", "postcode"),
    "zipcode": ("ZIP", "zipcode"),
    "phone_number": ("PHONE", "phone_number"),
    "email": ("EMAIL", "email"),
    "url": ("URL", "url"),
    "ip_address": ("IP", "ipv4"),
    "ssn": ("SSN", "ssn"),
    "us_driver_license": ("LICENSE", "license_plate"),
    "credit_card_number": ("ACCOUNT", "credit_card_number"),
    "iban": ("ACCOUNT", "iban"),
    "date_of_birth": ("DATE", "date_of_birth"),
    "date_time": ("DATE", "date_time"),
    "age": ("AGE", "age"),
}


def public_corpus(seed: int = 20261206, copies: int = 2) -> list[dict[str, Any]]:
    """Each template filled `copies` times, spans where the identifiers went (an age only over 89)."""
    from faker import Faker  # a dev dependency: the public set is built where it is scored

    fake = Faker("en_US")
    fake.seed_instance(seed)
    lines = PUBLIC_TEMPLATES.read_text().splitlines()
    templates = [line.replace("\\n", "\n") for line in lines if line.strip() and not line.startswith("#")]
    notes = []
    for _ in range(copies):
        for template in templates:
            text, spans, at = "", [], 0
            for placeholder in regex.finditer(r"\{\{(\w+)\}\}", template):
                text += template[at : placeholder.start()]
                kind, value = _fill(fake, placeholder.group(1))
                if kind is not None:
                    spans.append({"start": len(text), "end": len(text) + len(value), "type": kind})
                text += value
                at = placeholder.end()
            notes.append({"text": text + template[at:], "spans": spans, "style": "presidio_template"})
    return notes


def _fill(fake: Any, key: str) -> tuple[str | None, str]:
    kind, method = _FILLS.get(key, (None, ""))
    if key == "age":
        age = fake.random_int(18, 104)
        return ("AGE" if age > 89 else None), str(age)
    if key == "address":
        return kind, fake.address().replace("\n", ", ")
    if key == "date_of_birth":
        return kind, fake.date_of_birth().strftime("%m/%d/%Y")
    if key == "date_time":
        return kind, fake.date_time().strftime("%B %d, %Y %H:%M")
    if kind is None:  # a country, a nationality, an organisation, a job: text, not an identifier
        provider = {"nation_plural": "country", "nation_woman": "country", "nationality": "country"}.get(key, key)
        return None, str(getattr(fake, provider, fake.word)())
    return kind, str(getattr(fake, method)())


def load(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", type=Path, nargs="?", help="a labelled JSON Lines corpus")
    parser.add_argument("--public", action="store_true", help="score the public set (Presidio's templates)")
    parser.add_argument("--show-errors", action="store_true", help="print missed spans and false findings")
    args = parser.parse_args()
    if (args.corpus is None) == (not args.public):
        parser.error("give a corpus or --public, not both")
    detector = PhiDetector()
    notes = public_corpus() if args.public else load(args.corpus)
    result = score(detector, notes)
    print(f"{'type':<12} {'labelled':>8} {'recall':>7} {'hidden':>7} {'precision':>9}")
    for row in result.table():
        shares = f"{row['recall']:>7.3f} {row['hidden']:>7.3f} {row['precision']:>9.3f}"
        print(f"{row['type']:<12} {row['labelled']:>8} {shares}")
    print(f"overall: {result.hidden_share():.3f} of {sum(result.labelled.values())} labelled spans hidden")
    for size in (1024, 8192, 32768):
        figures = latency(detector, notes, size)
        print(f"detection {size // 1024:>2} KB: p50 {figures['p50_ms']} ms, p99 {figures['p99_ms']} ms")
    if args.show_errors:
        print("\nmissed:", *result.missed, sep="\n  ")
        print("\nfalse findings:", *result.false_positives, sep="\n  ")


if __name__ == "__main__":
    main()
