"""The evaluation script's arithmetic and its offline mode (the rule layer, as CI runs it)."""

from __future__ import annotations

import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from loadtests.evaluate_red_flags import BLIND_SETS, Tally, leave_one_condition_out, main, score
from orchestrator.safety.red_flags import default_rules


def test_sensitivity_and_specificity() -> None:
    tally = Tally()
    for expected, escalated in [(True, True), (True, False), (False, False), (False, False), (False, True)]:
        tally.add(expected, escalated)
    assert tally.line("model") == "model          sensitivity 50% (1/2), specificity 67% (2/3)"


def test_a_consultation_is_scored_for_each_layer() -> None:
    case = {
        "id": "c",
        "symptoms": "Crushing chest pain with sweating for 30 minutes",
        "patient_data": {"age": 60},
        "expected_icd_categories": ["I21", "R07"],
        "red_flags": True,
    }
    result = {
        "status": "completed",
        "stages": {"icd": {"codes": [{"code": "R07.9"}]}, "intake": {"red_flags": [], "urgency": "routine"}},
        "emergency": True,
        "timings": {},
    }
    row = score(case, result)
    assert (row["rules"], row["model"], row["combined"], row["category_hit"]) == (True, False, True, True)


def test_the_rule_layer_alone_offline(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--rules-only"]) == 0
    assert capsys.readouterr().out.strip() == "rules          sensitivity 100% (23/23), specificity 100% (20/20)"


def test_every_set_is_scored_by_group(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--rule-sets"]) == 0
    out = capsys.readouterr().out
    assert (
        "development redflags_dev.yaml: sensitivity 100% (236/236), specificity 100% (150/150)\n"
        "  with the learned reading: sensitivity 100% (236/236), specificity 100% (150/150)\n"
    ) in out
    development = out.split("\nblind ")[0]
    assert "  pregnancy      sensitivity 100%" in development
    # the development emergencies still missed (test_red_flags: ACCEPTED_MISSES), one per set
    assert sorted(line.strip() for line in development.splitlines() if "missed:" in line) == [
        "missed: electric_shock, febrile_seizure, urinary_retention",
        "missed: head_injury",
        "missed: neutropenic_sepsis",
        "missed: sudden_confusion",
        "missed: thunderclap_headache",
    ]
    assert all(f"blind {path.name}: sensitivity" in out for path in BLIND_SETS)
    assert "in use redflags_blind_r.yaml: sensitivity 89% (403/451), specificity 98% (213/218)" in out


def test_the_committed_coverage_table_is_up_to_date() -> None:
    from loadtests.evaluate_red_flags import BLIND_SETS, DEVELOPMENT_SETS, coverage_table

    committed = (Path(__file__).parents[2] / "orchestrator" / "safety" / "coverage.md").read_text()
    assert committed == coverage_table(DEVELOPMENT_SETS, BLIND_SETS)
    rows = [line for line in committed.splitlines() if line.startswith("| ") and not line.startswith("| condition")]
    assert len(rows) >= 60
    assert all(int(row.split("|")[5]) >= 3 for row in rows)  # every condition: 3+ development cases


def test_leave_one_condition_out_scores_each_condition_without_its_own_rule(tmp_path: Path) -> None:
    cases = tmp_path / "cases.yaml"
    cases.write_text(
        "- {id: a, condition: heart_attack, red_flags: true, symptoms: 'crushing chest pain and sweating'}\n"
        "- {id: b, condition: cardiac_arrest, red_flags: true, symptoms: 'he collapsed and is not breathing'}\n"
        "- {id: c, condition: choking, red_flags: true, symptoms: 'choking and cannot cough or breathe'}\n"
        "- {id: d, red_flags: false, symptoms: 'a sore throat'}\n"
    )
    lines = leave_one_condition_out((cases,))
    assert lines[0].startswith("leave one condition out (cases.yaml): 3/3 (100.0%) with each condition's own rule")
    rows = {line.split()[0]: line for line in lines[1:]}
    assert set(rows) == {"heart_attack", "cardiac_arrest", "choking"}
    # A heart attack has no other rule built on chest pain; a collapse that stops breathing is
    # also `unconscious`; a choking that stops breathing is also a breathing emergency.
    assert rows["heart_attack"].endswith("100% with its rule,   0% without")
    assert rows["cardiac_arrest"].endswith("100% with its rule, 100% without")


def test_the_leave_one_out_report_runs_on_the_development_sets(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--leave-one-out"]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert "with each condition's own rule" in first and "with it left out" in first


def test_the_context_engine_is_a_parameter_of_the_rules() -> None:
    class CountsEverything:
        def __init__(self, words: list[str]) -> None:
            pass

        def negated(self, mention: object) -> bool:
            return False

        def counts(self, mention: object) -> bool:
            return True

    question = "how would I know if I was having crushing chest pain?"
    assert not default_rules().assess(question).emergency
    assert replace(default_rules(), context=CountsEverything).assess(question).emergency


MEDSPACY_PYTHON = Path(__file__).parents[2] / ".venv-medspacy" / "bin" / "python"


@pytest.mark.medspacy
def test_medspacys_context_reads_the_rules_mentions() -> None:
    """The adapter in medspaCy's own virtualenv (make medspacy): ConText's negation, history and
    family on the concept layer's mentions, with contractions split as spaCy splits them."""
    script = (
        "from loadtests.evaluate_red_flags import context_engine\n"
        "for name in ('medspacy', 'medspacy-persons'):\n"
        "    rules = context_engine(name)\n"
        "    for text in ('crushing chest pain and sweating', 'I do not have crushing chest pain',\n"
        "                 \"I don't have crushing chest pain\", 'my dad has crushing chest pain and sweating',\n"
        "                 'he is not breathing'):\n"
        "        print(name, text, rules.assess(text).emergency)\n"
    )
    env = {"PYTHONPATH": str(Path(__file__).parents[2]), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([MEDSPACY_PYTHON, "-c", script], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    answers = {line.rsplit(" ", 1)[0]: line.rsplit(" ", 1)[1] == "True" for line in out.stdout.splitlines()}
    assert answers == {
        "medspacy crushing chest pain and sweating": True,
        "medspacy I do not have crushing chest pain": False,
        "medspacy I don't have crushing chest pain": False,
        "medspacy my dad has crushing chest pain and sweating": False,  # ConText: family
        "medspacy he is not breathing": True,  # an absence the concept names: never negated
        "medspacy-persons crushing chest pain and sweating": True,
        "medspacy-persons I do not have crushing chest pain": False,
        "medspacy-persons I don't have crushing chest pain": False,
        "medspacy-persons my dad has crushing chest pain and sweating": True,
        "medspacy-persons he is not breathing": True,
    }
