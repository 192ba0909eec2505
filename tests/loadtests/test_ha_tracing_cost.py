"""The tracing and cluster cost measurement, run small: every side (one Redis, traced, sampled
out, a cluster) serves without errors, and the report has each side's figures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from loadtests import ha_tracing_cost

pytestmark = pytest.mark.ha


def test_every_side_is_measured_and_written(tmp_path: Path) -> None:
    out = tmp_path / "cost.json"
    argv = ["--streams", "4", "--rounds", "1", "--per-worker", "1", "--non-streaming-seconds", "0.5", "--out", str(out)]
    assert ha_tracing_cost.main(argv) == 0
    result = json.loads(out.read_text())
    assert set(result["streaming"]) == set(ha_tracing_cost.SIDES) == set(result["non_streaming"])
    for side in ha_tracing_cost.SIDES:
        assert result["streaming"][side]["facade"]["errors"] == 0, side
        assert result["non_streaming"][side]["requests_per_s"] > 0, side
