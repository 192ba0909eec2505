"""The Locust file runs headless against a real façade (upstream simulator behind it) and
reports TTFT, ITL, tokens and consultation stages. Bounded: a few users for a few seconds."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

from loadtests.devstack.redis_server import RedisServer
from serving.settings import REPO_ROOT
from tests.support.stack import TEST_KEY, consultation_config, facade, simulator


def test_locust_headless_run_records_streaming_metrics(tmp_path: Path) -> None:
    redis = RedisServer(tmp_path)
    redis.start()
    try:
        with (
            simulator(tmp_path, "--ttft-ms", "20", "--itl-ms", "10", "--tokens", "16") as sim,
            facade(tmp_path, consultation_config(sim.base_url, redis.url)) as running,
        ):
            locust = Path(sys.executable).parent / "locust"
            command = [
                str(locust),
                "-f",
                str(REPO_ROOT / "loadtests" / "locustfile.py"),
                "--headless",
                "-u",
                "6",
                "-r",
                "6",
                "-t",
                "8s",
                "--host",
                running.root_url,
                "--api-key",
                TEST_KEY,
                "--max-tokens",
                "16",
                "--csv",
                str(tmp_path / "run"),
                "--only-summary",
            ]
            result = subprocess.run(command, capture_output=True, text=True, timeout=60)
            assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    finally:
        redis.stop()
    rows = {(row["Type"], row["Name"]): row for row in csv.DictReader((tmp_path / "run_stats.csv").open())}
    assert int(rows[("POST", "chat (stream)")]["Request Count"]) > 0
    assert int(rows[("POST", "chat")]["Request Count"]) > 0
    assert int(rows[("POST", "responses (stream)")]["Request Count"]) > 0
    assert float(rows[("TTFT", "responses (stream)")]["Median Response Time"]) >= 15
    assert float(rows[("TOKENS", "responses (stream) output")]["Average Response Time"]) == 16
    assert int(rows[("POST", "consultation")]["Request Count"]) > 0
    assert int(rows[("", "Aggregated")]["Failure Count"]) == 0
    ttft = float(rows[("TTFT", "chat (stream)")]["Median Response Time"])
    assert ttft >= 15  # at least the simulator's 20 ms (rounded): recorded from the stream, not the request
    assert float(rows[("ITL", "chat (stream)")]["Average Response Time"]) >= 5
    assert float(rows[("TOKENS", "chat (stream) output")]["Average Response Time"]) == 16
    assert {"intake", "icd", "cpt", "providers", "summary"} <= {name for kind, name in rows if kind == "STAGE"}
