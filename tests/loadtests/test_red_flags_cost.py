"""The red-flag cost benchmark's comparison of two checkouts, run for real on a tiny budget:
this checkout against itself, and a path with no rules of its own refused."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from loadtests.red_flags_cost import _HERE, compare


def test_compare_measures_both_checkouts_in_subprocesses(capsys: pytest.CaptureFixture[str]) -> None:
    compare(_HERE, "chest pain and sweating, my dad had a stroke in 2019. " * 200, rounds=5, runs=1)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines] == ["baseline"] * 2 + ["this checkout"] * 2
    assert all(" KB p50 " in line and " ms, p99 " in line for line in lines)


def test_a_baseline_without_its_own_rules_is_refused(tmp_path: Path) -> None:
    # without the check, the editable install would measure this checkout and call it the baseline
    with pytest.raises(subprocess.CalledProcessError) as refused:
        compare(tmp_path, "chest pain " * 300, rounds=2, runs=1)
    assert "no orchestrator package" in refused.value.stderr
