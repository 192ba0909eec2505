"""The uvicorn / granian comparison, run small: the same façade app answers through both
servers (auth and limits on, a real redis-server), and the report has a row for each."""

from __future__ import annotations

import json
from pathlib import Path

from loadtests import asgi_servers


def test_both_servers_answer_every_request_and_the_report_is_written(tmp_path: Path) -> None:
    argv = ["--levels", "5", "--per-worker", "1", "--rounds", "1", "--non-streaming-seconds", "0.5"]
    assert asgi_servers.main([*argv, "--out-dir", str(tmp_path)]) == 0
    result = json.loads((tmp_path / "asgi-servers.json").read_text())
    [level] = result["streaming"]
    for rows in (level["servers"], result["non_streaming"]):
        assert set(rows) == {"uvicorn", "granian"}
        for row in rows.values():
            assert row["facade"]["errors"] == 0 and row["facade"]["requests"] > 0
            assert row["facade"]["cpu_ms_per_request"] > 0  # the server's process tree was measured
    assert level["servers"]["granian"]["facade"]["requests"] == 5  # every stream through granian
    report = (tmp_path / "asgi-servers.md").read_text()
    assert report.count("| granian |") == report.count("| uvicorn |") == 2
