"""The before/after behaviour comparison: its 100 requests reach every outcome it claims to
cover, and a difference in any part of what it records is reported."""

from __future__ import annotations

import copy
from collections import Counter
from pathlib import Path

from loadtests import behaviour


async def test_the_requests_cover_each_api_and_outcome_and_a_difference_is_found(tmp_path: Path) -> None:
    seen = await behaviour.run(tmp_path)
    assert len(seen["requests"]) == 100 and len(seen["audit"]) >= 100
    statuses = Counter(request["status"] for request in seen["requests"])
    assert {200, 400, 401, 404, 413, 429} <= set(statuses)
    policies = {line["data_policy"] for line in seen["access_log"]}
    assert {"allow", "redact", "block"} <= policies
    assert any(line["phi"] for line in seen["access_log"])  # identifiers were found and counted
    assert {r["headers"].get("x-cache") for r in seen["requests"]} >= {"hit", "miss"}
    assert "behaviour-005" in str(seen["requests"][5]["headers"])  # ids are fixed, not blanked
    assert behaviour.compare(seen, seen) == []
    changed = copy.deepcopy(seen)
    changed["audit"][7]["completion_tokens"] = 999
    changed["requests"][3]["body"] = "other"
    assert [d.split(":")[0] for d in behaviour.compare(seen, changed)] == ["requests[3]", "audit[7]"]
