"""The performance report's generator, run for real in its quick mode (every part, real façade,
Redis and simulator processes; the "engine" is a simulator given by URL, so no vLLM is needed),
and its verdicts and profile summary on known inputs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from loadtests import report, servers
from loadtests.bench import PARTS
from loadtests.profile import summarise
from serving.settings import REPO_ROOT
from tests.support.stack import simulator

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


# The parts in three processes at once (~45-60 s each alone): the quick run mostly waits on
# simulated streams, and CI's time is bounded. Each writes its own results.json; the report is
# rendered from them all.
PART_GROUPS = ("overhead,compare", "engine,soak,replicas", "responses,workers")


def test_quick_run_writes_the_report_with_every_part(tmp_path: Path) -> None:
    out = tmp_path / "results"
    with simulator(tmp_path, "--ttft-ms", "20", "--itl-ms", "10", "--tokens", "16") as engine:
        command = [sys.executable, "-m", "loadtests.bench", "--quick"]
        command += ["--engine-url", engine.base_url, "--engine-model", "sim-model", "--engine-description", "sim"]
        runs = [
            subprocess.Popen(
                [
                    *command,
                    *(["--baseline", str(REPO_ROOT)] if "overhead" in parts else []),  # itself, beside itself
                    "--parts",
                    parts,
                    "--out-dir",
                    str(tmp_path / f"group-{index}"),
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for index, parts in enumerate(PART_GROUPS)
        ]
        try:
            for run in runs:
                stdout, stderr = run.communicate(timeout=300)
                assert run.returncode == 0, stdout[-2000:] + stderr[-2000:]
        finally:
            for run in runs:  # the others too, when one failed or ran out of time
                if run.poll() is None:
                    run.send_signal(signal.SIGINT)  # KeyboardInterrupt: it stops the servers it started
                    try:
                        run.wait(timeout=30)
                    except subprocess.TimeoutExpired:
                        run.kill()
                        run.wait()
    merged: dict[str, Any] = {}
    for index in range(len(PART_GROUPS)):
        merged.update(json.loads((tmp_path / f"group-{index}" / "results.json").read_text()))
    assert sorted(part for group in PART_GROUPS for part in group.split(",")) == sorted(PARTS)
    assert set(PARTS) <= set(merged)
    (out / "results.json").parent.mkdir(parents=True)
    (out / "results.json").write_text(json.dumps(merged))
    report.render(merged, out)
    by_workers = json.loads((out / "results.json").read_text())["workers"]["workers"]
    assert set(by_workers) == {"1", "2"} and all(row["facade"]["errors"] == 0 for row in by_workers.values())
    compared = json.loads((out / "results.json").read_text())["compare"]["levels"][0]["gateways"]
    assert set(compared) == {"bare proxy", "this façade"}  # LiteLLM only with --reference litellm
    assert all(row["facade"]["errors"] == 0 and row["facade"]["tokens_per_s"] > 0 for row in compared.values())
    responses = json.loads((out / "results.json").read_text())["responses"]
    for api in ("chat", "responses"):
        assert responses[api]["facade"]["errors"] == responses[api]["direct"]["errors"] == 0
        assert responses[api]["facade"]["tokens_per_s"] > 0 and responses[api]["added_ttft_p50_ms"] is not None

    results = json.loads((out / "results.json").read_text())
    streaming = results["overhead"]["streaming"]
    assert [row["concurrency"] for row in streaming] == [1, 10]
    for row in streaming:
        assert row["direct"]["errors"] == row["facade"]["errors"] == 0
        assert row["facade"]["requests"] > 0 and row["facade"]["tokens_per_s"] > 0
        assert row["facade"]["cpu_us_per_token"] > 0
        assert row["baseline"]["facade"]["errors"] == 0 and row["baseline"]["facade"]["tokens_per_s"] > 0
    assert results["overhead"]["non_streaming"]["facade"]["requests_per_s"] > 0
    assert results["overhead"]["non_streaming"]["baseline"]["facade"]["requests_per_s"] > 0
    assert results["engine"]["streams"][0]["facade"]["tokens_per_s"] > 0
    consultation = results["engine"]["consultations"][0]
    assert consultation["status"] == "completed"
    assert set(consultation["stages"]) == {"intake", "icd", "cpt", "providers", "summary"}

    soak = results["soak"]
    assert soak["other_errors"] == 0, soak["kinds"]
    assert soak["limit_refusals"] > 0  # the limited key ran into its limit
    assert all(kind in soak["kinds"] for kind in ("stream", "chat", "abandon", "consultation", "limited"))
    usage = soak["usage"]  # every finished request is in the façade's usage, hung-up ones too
    assert usage["counted_requests"] == usage["client_requests"] > 0
    assert usage["counted_completion_tokens"] >= usage["client_tokens_received"] > 0
    soak_verdicts = [v for v in report.targets(results) if v.target.startswith("soak")]
    assert len(soak_verdicts) == 4 and all(v.met for v in soak_verdicts), soak_verdicts  # errors, usage, RSS, fds

    balanced = results["replicas"]["strategies"]
    assert set(balanced) == {"round robin", "least outstanding", "least outstanding + prefix affinity"}
    assert all(
        row["errors"] == 0 and row["tokens_per_s"] > 0 and sum(row["per_replica"]) > 0 for row in balanced.values()
    )

    text = (out / "REPORT.md").read_text()
    headings = (
        "## Targets",
        "## 1. Façade",
        "## 2. Real engine",
        "## 3. Soak",
        "## 4. Replicas",
        "## 5.",
        "## 6.",
        "## 7.",
    )
    for heading in headings:
        assert heading in text
    for plot in ("overhead_ttft", "overhead_throughput", "engine", "consultation", "soak"):
        assert (out / f"{plot}.png").read_bytes().startswith(PNG_MAGIC)
        assert f"({plot}.png)" in text


def _row(concurrency: int, added_p50: float, added_p99: float, ratio: float = 1.0) -> dict[str, Any]:
    return {
        "concurrency": concurrency,
        "added_ttft_p50_ms": added_p50,
        "added_ttft_p99_ms": added_p99,
        "throughput_ratio": ratio,
    }


def test_verdicts_say_which_targets_are_missed_and_by_how_much() -> None:
    results = {
        "overhead": {"streaming": [_row(10, 0.4, 1.0), {**_row(100, 1.8, 4.0), "bare": {"added_ttft_p50_ms": 0.8}}]},
        "engine": {"streams": [_row(1, 0, 0, ratio=0.96), _row(8, 0, 0, ratio=1.0)]},
    }
    verdicts = {v.target: v for v in report.targets(results)}
    p50 = verdicts["added TTFT p50 ≤ 1 ms at 100 streams"]
    assert p50.met is False and p50.miss.startswith("0.80 ms over")
    assert verdicts["added TTFT p99 ≤ 5 ms at 100 streams"].met is True
    engine = next(v for target, v in verdicts.items() if "real engine" in target)
    assert engine.met is False and "1.0 points under at 1 stream" in engine.miss
    soak = next(v for target, v in verdicts.items() if target.startswith("soak"))
    assert soak.met is None  # not run is not a pass
    gap = verdicts["added TTFT p50 within 0.5 ms of the bare proxy's at 100 streams"]
    assert gap.met is False and gap.miss.startswith("0.50 ms over")  # 1.8 against the floor's 0.8
    assert not any(target.startswith("one worker per core") for target in verdicts)  # part 7 not run

    workers = {"streams": 500, "cores": 2, "workers": {"1": _row(500, 0, 0, ratio=0.7), "2": _row(500, 0, 0, 0.9)}}
    [per_core] = [v for v in report.targets({"workers": workers}) if v.target.startswith("one worker per core")]
    assert per_core.met is False and per_core.miss.startswith("8.0 points under")
    assert "1: 0.700×, 2: 0.900× (2 cores)" in per_core.measured


def test_profile_summary_counts_self_and_inclusive_shares() -> None:
    collapsed = "\n".join(
        [
            "run (asyncio/runners.py);relay (/srv/app/serving/backends/relay.py);write (uvloop/x.py) 6",
            "run (asyncio/runners.py);admit (/srv/app/serving/access/admission.py) 3",
            "run (asyncio/runners.py) 1",
        ]
    )
    summary = summarise(collapsed)
    assert summary["samples"] == 10
    assert summary["self"][0] == {"function": "write (uvloop/x.py)", "percent": 60.0}
    assert {"function": "relay (serving/backends/relay.py)", "percent": 60.0} in summary["inclusive_serving"]
    assert {"function": "admit (serving/access/admission.py)", "percent": 30.0} in summary["inclusive_serving"]


def _soak(idle_after_fds: int, idle_after_peers: dict[str, int]) -> dict[str, Any]:
    sample = {"rss_mb": 300.0, "open_fds": 150, "tcp_connections": 140, "threads": 8, "redis_connections": 20}
    return {
        "seconds": 600,
        "requests": 1000,
        "other_errors": 0,
        "limit_refusals": 10,
        "kinds": {},
        "usage": {
            "client_requests": 990,
            "counted_requests": 990,
            "client_tokens_received": 100,
            "counted_completion_tokens": 100,
        },
        "loaded_early": sample,
        "loaded_late": sample,
        "idle_before": {"open_fds": 30, "tcp_connections": 16},
        "idle_after": {"open_fds": idle_after_fds, "tcp_connections": idle_after_fds - 14},
        "idle_tcp_by_peer": {"before": {"listening": 1, "redis": 15}, "after": idle_after_peers},
        "redis_pool_max": 64,
    }


def test_leak_verdict_sets_bounded_pools_apart_but_catches_what_stays_open() -> None:
    def descriptors(soak: dict[str, Any]) -> report.Verdict:
        return next(v for v in report.targets({"soak": soak}) if "open files" in v.target)

    # The Redis pool grew (bounded) and upstream keep-alives linger: not a leak.
    assert descriptors(_soak(60, {"listening": 1, "redis": 26, "upstream": 19})).met is True
    # Ten client sockets still open once everyone left: a leak.
    assert descriptors(_soak(50, {"listening": 1, "redis": 15, "clients": 10})).met is False
    # A Redis pool past its bound is not a pool behaving.
    assert descriptors(_soak(100, {"listening": 1, "redis": 85})).met is False


def test_a_baseline_facade_runs_the_other_checkouts_code(tmp_path: Path) -> None:
    """--baseline: `python -m serving` started from this checkout imports the other one."""
    (tmp_path / "serving").mkdir()
    (tmp_path / "serving" / "__init__.py").write_text("")
    found = subprocess.run(
        [sys.executable, "-c", "import serving; print(serving.__file__)"],
        cwd=REPO_ROOT,
        env={**os.environ, **servers.code_from(tmp_path)},
        capture_output=True,
        text=True,
        check=True,
    )
    assert found.stdout.strip() == str(tmp_path / "serving" / "__init__.py")
