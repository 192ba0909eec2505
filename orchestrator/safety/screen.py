"""The emergency screen every consultation starts with: the red-flag rules first, then the learned
reading for what no rule fired on. Both are independent of every generating model."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from orchestrator.safety.assessment import RedFlag, SafetyAssessment
from orchestrator.safety.learned import LearnedScreen, default_learned
from orchestrator.safety.red_flags import RedFlagRules, default_rules

LEARNED = "learned"  # the rule id prefix of an escalation by the learned reading ("learned:stroke")


@dataclass(frozen=True)
class EmergencyScreen:
    rules: RedFlagRules
    learned: LearnedScreen | None = None

    def assess(
        self, text: str, *, age_years: int | None = None, age_months: int | None = None, pregnant: bool | None = None
    ) -> SafetyAssessment:
        assessment = self.rules.assess(text, age_years=age_years, age_months=age_months, pregnant=pregnant)
        if assessment.emergency or self.learned is None:
            return assessment
        reading = self.learned.read(text)
        if reading.probability < self.learned.threshold:
            return assessment
        flag = self._flag(reading.condition)
        # The nearest case's condition is a guess (about one learned escalation in eight names
        # another condition than the case's own): the most urgent advice comes first whatever it
        # names, the condition's own after it when it differs.
        urgent = self._most_urgent_advice()
        return SafetyAssessment(emergency=True, red_flags=[flag], advice=list(dict.fromkeys([urgent, flag.advice])))

    def _most_urgent_advice(self) -> str:
        return next(iter(self.rules.advice_texts.values()))  # red_flags.yaml lists the most urgent first

    def _flag(self, condition: str | None) -> RedFlag:
        """The escalation in the words of the nearest condition's first rule: its meaning, advice
        and source, named as the learned reading's."""
        rule = next((rule for rule in self.rules.rules if rule.condition == condition), None)
        if rule is None:  # a case set's condition no rule names: the most urgent advice
            advice = self._most_urgent_advice()
            return RedFlag(
                rule=LEARNED,
                meaning="Worded like the emergencies in the reviewed case sets",
                advice=advice,
                source="Learned from the development case sets",
            )
        return RedFlag(
            rule=f"{LEARNED}:{rule.condition}",
            meaning=f"Possibly: {rule.meaning[:1].lower()}{rule.meaning[1:]} (worded like the reviewed cases)",
            advice=self.rules.advice_texts[rule.advice],
            source=rule.source,
        )


@cache
def default_screen() -> EmergencyScreen:
    return EmergencyScreen(rules=default_rules(), learned=default_learned())
