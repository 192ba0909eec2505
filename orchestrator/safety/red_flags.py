"""Red-flag rules (red_flags.yaml) applied to what the patient wrote: deterministic, reviewable,
and independent of every model and stage. A finding counts only if it is the patient's own and
not negated (safety/context.py)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel

from orchestrator.safety import context

Counts = Callable[[str, int], bool]  # is the finding at this offset the patient's, and present?

RULES_FILE = Path(__file__).with_name("red_flags.yaml")
Needs = Literal["infant", "pregnant"]

# A baby's age in the patient's words ("3-week-old", "6 weeks old", "2 months old", "newborn").
_INFANT_AGE = re.compile(
    r"\b(newborn|neonate|(\d{1,2}|one|two|three|four|five|six|seven|eight|nine|ten)[- ](day|days)[- ]old|"
    r"([1-9]|1[0-2]|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)[- ](week|weeks)[- ]old|"
    r"([12]|one|two)[- ](month|months)[- ]old|(baby|infant|newborn|son|daughter) is ([1-9]|1[0-2]) weeks)\b"
)
_SPACES = re.compile(r"[ \t\r\f\v]+")
_PREGNANT = re.compile(r"\b(pregnant|pregnancy|weeks along|expecting( a baby)?|trimester)\b")


class RedFlag(BaseModel):
    rule: str
    meaning: str
    advice: str
    source: str


class SafetyAssessment(BaseModel):
    """What the rules found; `emergency` is the top-level flag every response carries."""

    emergency: bool
    red_flags: list[RedFlag]
    advice: list[str]  # distinct, most urgent first


@dataclass(frozen=True)
class Rule:
    id: str
    meaning: str
    advice: str
    source: str
    any: tuple[re.Pattern[str], ...] = ()
    all: tuple[tuple[re.Pattern[str], ...], ...] = ()
    needs: Needs | None = None

    def fires(self, text: str, counts: Counts) -> bool:
        if any(_found(pattern, text, counts) for pattern in self.any):
            return True
        return bool(self.all) and all(any(_found(p, text, counts) for p in group) for group in self.all)


def _found(pattern: re.Pattern[str], text: str, counts: Counts) -> bool:
    return any(counts(text, match.start()) for match in pattern.finditer(text))


def _compile(pattern: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![\w-])(?:{pattern})", re.IGNORECASE)


@dataclass(frozen=True)
class RedFlagRules:
    advice_texts: dict[str, str]
    rules: tuple[Rule, ...]
    counts: Counts = context.counts

    @classmethod
    def load(cls, path: Path = RULES_FILE, *, counts: Counts = context.counts) -> RedFlagRules:
        raw: dict[str, Any] = yaml.safe_load(path.read_text())
        rules = tuple(
            Rule(
                id=entry["id"],
                meaning=entry["meaning"],
                advice=entry["advice"],
                source=entry["source"],
                any=tuple(_compile(p) for p in entry.get("any", [])),
                all=tuple(tuple(_compile(p) for p in group) for group in entry.get("all", [])),
                needs=entry.get("needs"),
            )
            for entry in raw["rules"]
        )
        unknown = {rule.advice for rule in rules} - set(raw["advice"])
        if unknown:
            raise ValueError(f"{path}: rules name unknown advice {sorted(unknown)}")
        return cls(advice_texts=dict(raw["advice"]), rules=rules, counts=counts)

    def assess(
        self, text: str, *, age_years: int | None = None, age_months: int | None = None, pregnant: bool | None = None
    ) -> SafetyAssessment:
        lowered = _SPACES.sub(" ", text.lower())  # line breaks stay: they end phrases
        # Under 3 months; an age of 0 years without months could be, and is read that way (safer).
        infant = (age_months < 3 if age_months is not None else age_years == 0) or bool(_INFANT_AGE.search(lowered))
        mention = _PREGNANT.search(lowered)
        # The patient's own words count even when a form says otherwise: the safer reading.
        expecting = bool(pregnant) or (mention is not None and self.counts(lowered, mention.start()))
        situation = {"infant": infant, "pregnant": expecting}
        fired = [r for r in self.rules if (r.needs is None or situation[r.needs]) and r.fires(lowered, self.counts)]
        order = list(self.advice_texts)  # as red_flags.yaml lists them: the most urgent first
        advice_keys = sorted({r.advice for r in fired}, key=order.index)
        return SafetyAssessment(
            emergency=bool(fired),
            red_flags=[
                RedFlag(rule=r.id, meaning=r.meaning, advice=self.advice_texts[r.advice], source=r.source)
                for r in fired
            ],
            advice=[self.advice_texts[key] for key in advice_keys],
        )


@cache
def default_rules() -> RedFlagRules:
    return RedFlagRules.load()
