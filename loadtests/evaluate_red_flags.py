"""Score the consultation on the clinical vignettes: red-flag escalation (rules alone, the
intake model alone, and both as the façade combines them) and ICD-10-CM category hits.

    python -m loadtests.evaluate_red_flags --rules-only            # offline: the rule layer (CI runs it too)
    python -m loadtests.evaluate_red_flags --coverage > orchestrator/safety/coverage.md   # the coverage table
    python -m loadtests.evaluate_red_flags --rule-sets             # the rules on every development and blind
                                                            # set, by condition group (a model that
                                                            # reports nothing: only the rules escalate)
                                                            # and with the learned reading too
    python -m loadtests.evaluate_red_flags --leave-one-out         # each condition without its own rule
    python -m loadtests.evaluate_red_flags --learned-sets          # the learned reading on each case set,
                                                            # trained on all the others
    ... --rule-sets --context medspacy                      # medspaCy's ConText as the context engine
                                                            # (run with `make -s medspacy-python`)
    python -m loadtests.evaluate_red_flags --base-url http://127.0.0.1:8000/v1 --api-key sk-... \\
        [--intake-only] [--vignettes tests/orchestrator/vignettes.yaml] [--limit N]

--intake-only asks only the intake model (the model's own red flags; faster on a CPU); without
it every vignette runs as a whole consultation, which also scores ICD categories.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from orchestrator.safety.case_sets import read_cases
from orchestrator.safety.red_flags import RedFlagRules, default_rules

if TYPE_CHECKING:  # scikit-learn is imported where the learned reading is used: medspaCy's
    # virtualenv runs the rule reports (--context medspacy) without it
    from orchestrator.safety.learned import LearnedScreen
    from orchestrator.safety.screen import EmergencyScreen

TESTS = Path(__file__).resolve().parent.parent / "tests" / "orchestrator"
SAFETY = Path(__file__).resolve().parent.parent / "orchestrator" / "safety"
CASES_DIR = SAFETY / "cases"  # as orchestrator/safety/learned.py
DEFAULT_VIGNETTES = TESTS / "vignettes.yaml"
# Development sets: written beside the rules or used to fix them. Blind sets: written by helpers
# who never saw the rules or earlier sets, each committed before any rule change it could
# inspire (README: "Emergency detection"); a blind set used for fixes moves up here.
# Blind sets C to P were scored once each (README), then used for fixes: development data since,
# kept in orchestrator/safety/cases/, where the learned reading is trained on them.
DEVELOPMENT_SETS = (
    CASES_DIR / "redflags_dev.yaml",
    TESTS / "vignettes.yaml",
    CASES_DIR / "redflags_blind_c.yaml",
    CASES_DIR / "redflags_blind_d.yaml",
    CASES_DIR / "redflags_blind_e.yaml",
    CASES_DIR / "redflags_blind_f.yaml",
    CASES_DIR / "redflags_blind_g.yaml",
    CASES_DIR / "redflags_blind_h.yaml",
    CASES_DIR / "redflags_blind_i.yaml",
    CASES_DIR / "redflags_blind_j.yaml",
    CASES_DIR / "redflags_blind_k.yaml",
    CASES_DIR / "redflags_blind_l.yaml",
    CASES_DIR / "redflags_blind_m.yaml",
    CASES_DIR / "redflags_blind_n.yaml",
    CASES_DIR / "redflags_blind_o.yaml",
    CASES_DIR / "redflags_blind_p.yaml",
)
# Blind sets scored once (README), then used for some fixes but not yet worked through: R set the
# learned reading's threshold, S to Z and AB rule fixes. Trained on and reported apart ("in
# use"); their remaining misses are not in the rules' accepted lists (test_red_flags.py).
IN_USE_SETS: tuple[Path, ...] = tuple(CASES_DIR / f"redflags_blind_{name}.yaml" for name in (*"rstuvwxyz", "ab"))
# Q was scored by the rules alone at cc789c2 and with the learned reading at b6963f8 and 9953fab,
# never read; AA once, at 7edb07f (its errors never read); AC and AD once each, at the same
# commit (README). AB, scored beside AA, has been used for fixes since (in use above).
BLIND_SETS: tuple[Path, ...] = tuple(
    TESTS / "blind" / f"redflags_blind_{name}.yaml" for name in ("q", "aa", "ac", "ad")
)


@dataclass
class Tally:
    """Escalation against expectation: sensitivity on emergencies, specificity on the rest."""

    true_pos: int = 0
    false_neg: int = 0
    true_neg: int = 0
    false_pos: int = 0

    def add(self, expected: bool, escalated: bool) -> None:
        if expected:
            self.true_pos += escalated
            self.false_neg += not escalated
        else:
            self.false_pos += escalated
            self.true_neg += not escalated

    def line(self, name: str) -> str:
        positives, negatives = self.true_pos + self.false_neg, self.true_neg + self.false_pos
        sensitivity = self.true_pos / positives if positives else float("nan")
        specificity = self.true_neg / negatives if negatives else float("nan")
        return (
            f"{name:<14} sensitivity {sensitivity:.0%} ({self.true_pos}/{positives}), "
            f"specificity {specificity:.0%} ({self.true_neg}/{negatives})"
        )


def rules_escalate(case: dict[str, Any], rules: RedFlagRules | EmergencyScreen | None = None) -> bool:
    patient = case.get("patient_data") or {}
    return (
        (rules or default_rules())
        .assess(
            case["symptoms"],
            age_years=patient.get("age"),
            age_months=patient.get("age_months"),
            pregnant=patient.get("pregnant"),
        )
        .emergency
    )


def rule_sets_report(
    development: tuple[Path, ...],
    blind: tuple[Path, ...],
    rules: RedFlagRules | None = None,
    learned: LearnedScreen | None = None,
    in_use: tuple[Path, ...] = (),
) -> list[str]:
    """Sensitivity and specificity of the rules alone on each set, overall and by condition group,
    and of the rules with the learned reading (which is trained on the development sets but the
    vignettes: its development figures are on its own training data)."""
    rules = rules or default_rules()
    screen = None
    if learned is not None:  # not in medspaCy's virtualenv, which has no scikit-learn
        from orchestrator.safety.screen import EmergencyScreen

        screen = EmergencyScreen(rules, learned)
    lines = []
    for kind, paths in (("development", development), ("blind", blind), ("in use", in_use)):
        for path in paths:
            cases = read_cases(path)
            overall, groups, both = Tally(), dict[str, Tally](), Tally()
            missed = []
            for case in cases:
                escalated = rules_escalate(case, rules)
                if screen is not None:
                    both.add(case["red_flags"], escalated or rules_escalate(case, screen))
                overall.add(case["red_flags"], escalated)
                groups.setdefault(case.get("group", "adult"), Tally()).add(case["red_flags"], escalated)
                if case["red_flags"] and not escalated:
                    missed.append(case.get("condition", case["id"]))
            lines.append(f"{kind} {path.name}: {overall.line('rules').split(maxsplit=1)[1]}")
            if screen is not None:
                lines.append(f"  with the learned reading: {both.line('both').split(maxsplit=1)[1]}")
            lines.extend(f"  {tally.line(group)}" for group, tally in sorted(groups.items()))
            if missed:
                lines.append(f"  missed: {', '.join(sorted(missed))}")
    return lines


def leave_one_condition_out(paths: tuple[Path, ...], rules: RedFlagRules | None = None) -> list[str]:
    """For each condition, its emergencies escalated by all the rules and by the rules less its
    own: what the concept layer and the other conditions' rules catch of a condition no rule was
    written or tuned for."""
    rules = rules or default_rules()
    cases: dict[str, list[dict[str, Any]]] = {}
    for path in paths:
        for case in read_cases(path):
            if case["red_flags"] and "condition" in case:
                cases.setdefault(case["condition"], []).append(case)
    lines, with_own, without_own, total = [], 0, 0, 0
    for condition in sorted(cases):
        held_out = rules.without(condition)
        own = sum(rules_escalate(case, rules) for case in cases[condition])
        other = sum(rules_escalate(case, held_out) for case in cases[condition])
        count = len(cases[condition])
        with_own, without_own, total = with_own + own, without_own + other, total + count
        share = f"{own / count:4.0%} with its rule, {other / count:4.0%} without"
        lines.append(f"  {condition:<28} {count:>3} cases: {share}")
    lines.insert(
        0,
        f"leave one condition out ({', '.join(p.name for p in paths)}): {with_own}/{total} "
        f"({with_own / total:.1%}) with each condition's own rule, {without_own}/{total} "
        f"({without_own / total:.1%}) with it left out",
    )
    return lines


def learned_sets_report(paths: tuple[Path, ...]) -> list[str]:
    """The learned reading on each case set, trained on all the other sets: what it does on words
    it was not trained on."""
    from orchestrator.safety.learned import LearnedScreen

    sets = {path: read_cases(path) for path in paths}
    lines, total = [], Tally()
    for path, held_out in sets.items():
        learned = LearnedScreen.train(case for other, cases in sets.items() if other != path for case in cases)
        tally = Tally()
        for case in held_out:
            escalated = learned.read(case["symptoms"]).probability >= learned.threshold
            tally.add(case["red_flags"], escalated)
            total.add(case["red_flags"], escalated)
        lines.append(f"  {tally.line(path.stem)}")
    overall = total.line("x").split(maxsplit=1)[1]
    return [f"learned reading, each set held out in turn ({len(sets)} sets): {overall}", *lines]


def context_engine(name: str) -> RedFlagRules:
    """The rules with the named context engine: ours, or medspaCy's ConText (its own virtualenv:
    `make medspacy`), with another person's mentions set aside (ConText's default) or counted
    (as ours counts the person a caregiver writes about)."""
    rules = default_rules()
    if name == "ours":
        return rules
    from orchestrator.safety.context_medspacy import medspacy_engine

    return replace(rules, context=medspacy_engine(family_cancels=name == "medspacy"))


def coverage_table(development: tuple[Path, ...], blind: tuple[Path, ...]) -> str:
    """Condition -> group -> public source -> rule -> test cases: what a clinician reviews."""
    raw = yaml.safe_load((SAFETY / "red_flags.yaml").read_text())
    counts: dict[str, dict[str, int]] = {}
    for kind, paths in (("development", development), ("blind", blind)):
        for path in paths:
            for case in read_cases(path):
                if case["red_flags"] and "condition" in case:
                    row = counts.setdefault(case["condition"], {"development": 0, "blind": 0})
                    row[kind] += 1
    lines = [
        "# Red-flag coverage",
        "",
        "Generated by `python -m loadtests.evaluate_red_flags --coverage` from `red_flags.yaml` and the case sets",
        "(`tests/orchestrator`); a test keeps it in step. Each condition is one for which public guidance tells",
        "a lay person to call 911/999 or go to the emergency department now. *Development cases*: emergencies",
        "worded for that condition in the development sets (the rules were written or fixed on them); *blind",
        "cases*: in sets not yet used for any fix.",
        "",
        "| condition | group | public source | rule | development cases | blind cases |",
        "|---|---|---|---|---|---|",
    ]
    for rule in sorted(raw["rules"], key=lambda r: (r["group"], r["condition"])):
        row = counts.get(rule["condition"], {"development": 0, "blind": 0})
        lines.append(
            f"| {rule['condition']} | {rule['group']} | {rule['source']} | `{rule['id']}` | "
            f"{row['development']} | {row['blind']} |"
        )
    return "\n".join(lines) + "\n"


def model_escalates(intake: dict[str, Any] | None) -> bool:
    return bool(intake) and bool(intake["red_flags"] or intake["urgency"] == "emergency")  # type: ignore[index]


def score(case: dict[str, Any], result: dict[str, Any]) -> dict[str, Any]:
    """One whole consultation against its vignette."""
    stages = result["stages"]
    codes = [c["code"] for c in (stages.get("icd") or {}).get("codes", [])]
    return {
        "id": case["id"],
        "status": result["status"],
        "codes": codes,
        "category_hit": any(code.startswith(tuple(case["expected_icd_categories"])) for code in codes),
        "expected_escalation": case["red_flags"],
        "rules": rules_escalate(case),
        "model": model_escalates(stages.get("intake")),
        "combined": bool(result.get("emergency")),
        "timings": result["timings"],
    }


async def intake_findings(cases: list[dict[str, Any]], base_url: str, api_key: str) -> list[dict[str, Any] | None]:
    """The intake model's own findings for each case, asked as the intake stage asks them."""
    from langchain_openai import ChatOpenAI

    from orchestrator import prompts
    from orchestrator.llm import StageModelError, ask
    from orchestrator.nodes.intake import intake_question
    from orchestrator.state import ConsultationRequest, IntakeFindings

    model = ChatOpenAI(model="gpt-5", api_key=api_key, base_url=base_url, max_retries=0, timeout=600)
    found: list[dict[str, Any] | None] = []
    for case in cases:
        request = ConsultationRequest(symptoms=case["symptoms"], patient_data=case["patient_data"])
        try:
            answer = await ask(
                model, IntakeFindings, system=prompts.INTAKE, user=intake_question({"request": request}), max_tokens=400
            )
            found.append(answer.value.model_dump())
        except StageModelError:
            found.append(None)  # the model gave no usable findings: it escalated nothing
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m loadtests.evaluate_red_flags",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--base-url")
    parser.add_argument("--api-key")
    parser.add_argument("--rules-only", action="store_true")
    parser.add_argument("--rule-sets", action="store_true")
    parser.add_argument("--coverage", action="store_true")
    parser.add_argument("--leave-one-out", action="store_true")
    parser.add_argument("--learned-sets", action="store_true")
    parser.add_argument("--context", choices=("ours", "medspacy", "medspacy-persons"), default="ours")
    parser.add_argument("--intake-only", action="store_true")
    parser.add_argument("--limit", type=int)
    parser.add_argument("--vignettes", type=Path, default=DEFAULT_VIGNETTES)
    args = parser.parse_args(argv)
    if args.coverage:
        print(coverage_table(DEVELOPMENT_SETS, BLIND_SETS), end="")
        return 0
    if args.rule_sets:
        learned = None
        if args.context == "ours":  # medspaCy's virtualenv has no scikit-learn
            from orchestrator.safety.learned import default_learned

            learned = default_learned()
        rules = context_engine(args.context)
        print(*rule_sets_report(DEVELOPMENT_SETS, BLIND_SETS, rules, learned, IN_USE_SETS), sep="\n")
        return 0
    if args.learned_sets:
        print(*learned_sets_report(tuple(sorted(CASES_DIR.glob("*.yaml")))), sep="\n")
        return 0
    if args.leave_one_out:
        print(*leave_one_condition_out(DEVELOPMENT_SETS, context_engine(args.context)), sep="\n")
        return 0
    cases = yaml.safe_load(args.vignettes.read_text())[: args.limit]
    tallies = {name: Tally() for name in ("rules", "model", "combined")}
    if args.rules_only:
        for case in cases:
            tallies["rules"].add(case["red_flags"], rules_escalate(case))
        print(tallies["rules"].line("rules"))
        return 0
    if not (args.base_url and args.api_key):
        parser.error("--base-url and --api-key are needed unless --rules-only")
    import httpx  # the online evaluation only (the rule reports run where only the rules are installed)

    hits = 0
    findings = asyncio.run(intake_findings(cases, args.base_url, args.api_key)) if args.intake_only else []
    with httpx.Client(base_url=args.base_url, headers={"authorization": f"Bearer {args.api_key}"}, timeout=600) as http:
        for index, case in enumerate(cases):
            if args.intake_only:
                row = {"id": case["id"], "expected_escalation": case["red_flags"], "rules": rules_escalate(case)}
                row["model"] = model_escalates(findings[index])
                row["combined"] = row["rules"] or row["model"]
            else:
                response = http.post(
                    "/consultations", json={"symptoms": case["symptoms"], "patient_data": case["patient_data"]}
                )
                response.raise_for_status()
                row = score(case, response.json())
                hits += row["category_hit"]
            for name in tallies:
                tallies[name].add(case["red_flags"], row[name])
            print(json.dumps(row), flush=True)
    for name, tally in tallies.items():
        print(tally.line(name))
    if not args.intake_only:
        print(f"ICD category hit rate: {hits}/{len(cases)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
