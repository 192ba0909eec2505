"""Measure the red-flag rules with two context engines on the vignettes: ours (NegEx-style cues,
orchestrator/safety/context.py) and medspaCy's ConText (the clinical NLP library).

    pip install medspacy        # not a project dependency: ~280 MB with spaCy, and an older NumPy
    python -m orchestrator.safety.compare_context

Each engine decides, for every regex finding of every rule, whether it is negated or someone
else's; the rules and the vignettes are the same for both.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from orchestrator.safety import context, red_flags

VIGNETTES = Path(__file__).resolve().parents[2] / "tests" / "orchestrator" / "vignettes.yaml"


def medspacy_counts() -> Callable[[str, int], bool]:
    """`counts(text, start)` answered by medspaCy's ConText on the finding's span."""
    import medspacy  # type: ignore[import-not-found]
    from spacy.tokens import Span

    nlp = medspacy.load(medspacy_enable=["medspacy_pyrush", "medspacy_context"])
    sentencizer = nlp.get_pipe("medspacy_pyrush")
    ctx = nlp.get_pipe("medspacy_context")
    cache: dict[str, Any] = {}

    def counts(text: str, start: int) -> bool:
        doc = cache.get(text)
        if doc is None:
            doc = cache[text] = sentencizer(nlp.make_doc(text))
        token = next((t for t in doc if t.idx <= start < t.idx + len(t.text) + 1), None)
        if token is None:
            return True
        doc.ents = [Span(doc, token.i, token.i + 1, label="FINDING")]
        ctx(doc)
        span = doc.ents[0]
        return not (span._.is_negated or span._.is_family or span._.is_hypothetical)

    return counts


def measure(cases: list[dict[str, Any]], counts: red_flags.Counts) -> tuple[int, int, int, int, float]:
    rules = red_flags.RedFlagRules.load(counts=counts)
    tp = fn = tn = fp = 0
    started = time.perf_counter()
    for case in cases:
        patient = case["patient_data"]
        escalated = rules.assess(
            case["symptoms"],
            age_years=patient.get("age"),
            age_months=patient.get("age_months"),
            pregnant=patient.get("pregnant"),
        ).emergency
        if case["red_flags"]:
            tp, fn = tp + escalated, fn + (not escalated)
        else:
            fp, tn = fp + escalated, tn + (not escalated)
    return tp, fn, tn, fp, (time.perf_counter() - started) / len(cases)


def main() -> int:
    cases = yaml.safe_load(VIGNETTES.read_text())
    engines: dict[str, Callable[[str, int], bool]] = {"negex-style (ours)": context.counts}
    try:
        engines["medspaCy ConText"] = medspacy_counts()
    except ImportError:
        print("medspaCy is not installed: pip install medspacy", file=sys.stderr)
    for name, engine in engines.items():
        tp, fn, tn, fp, per_case = measure(cases, engine)
        print(f"{name:<20} sensitivity {tp}/{tp + fn}, specificity {tn}/{tn + fp}, {per_case * 1000:.1f} ms a case")
    return 0


if __name__ == "__main__":
    sys.exit(main())
