"""The Redis client cost measurement, run small: every client runs every call it was given
(against a real redis-server, and a real 3-primary cluster), and the report says so."""

from __future__ import annotations

import json
from pathlib import Path

from loadtests import redis_client_cost


def test_both_clients_run_every_call_and_the_result_is_written(tmp_path: Path) -> None:
    assert redis_client_cost.main(["--calls", "200", "--concurrency", "10", "--out-dir", str(tmp_path)]) == 0
    result = json.loads((tmp_path / "redis-client-cost.json").read_text())
    assert result["counted"] == {"redis_py": 200, "pipelined": 200, "cluster": 200, "cluster_pipelined": 200}
    for client in ("redis_py", "pipelined", "cluster_client", "cluster_pipelined"):
        assert result[f"{client}_us_per_call"] > 0
