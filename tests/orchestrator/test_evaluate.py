"""The evaluation script's arithmetic and its offline mode (the rule layer, as CI runs it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.evaluate import BLIND_SETS, Tally, main, score


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
    assert "development redflags_dev.yaml: sensitivity 100% (236/236), specificity 100% (150/150)" in out
    development = out.split("\nblind ")[0]
    assert "  pregnancy      sensitivity 100%" in development and "missed:" not in development
    assert all(f"blind {path.name}: sensitivity" in out for path in BLIND_SETS)


def test_the_committed_coverage_table_is_up_to_date() -> None:
    from orchestrator.evaluate import BLIND_SETS, DEVELOPMENT_SETS, coverage_table

    committed = (Path(__file__).parents[2] / "orchestrator" / "safety" / "coverage.md").read_text()
    assert committed == coverage_table(DEVELOPMENT_SETS, BLIND_SETS)
    rows = [line for line in committed.splitlines() if line.startswith("| ") and not line.startswith("| condition")]
    assert len(rows) >= 60
    assert all(int(row.split("|")[5]) >= 3 for row in rows)  # every condition: 3+ development cases
