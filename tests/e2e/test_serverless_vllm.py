"""The RunPod worker end to end: it starts the real vLLM CPU server itself (as in its GPU image),
serves a streamed chat job under the shipped config through `--test_input`, reports its cold
start, and leaves no vLLM behind."""

from __future__ import annotations

from pathlib import Path

import psutil
import pytest

from loadtests.serverless_cold_start import JOB, PHASES, cpu_worker_env, log_records, report, run_worker

pytestmark = pytest.mark.vllm


def test_the_worker_starts_vllm_and_answers_a_streamed_chat_job(tmp_path: Path) -> None:
    done = run_worker(cpu_worker_env(tmp_path, "sk-endpoint-e2e-0123456789abcdefgh"), JOB, timeout=400)
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]

    [result] = [line for line in done.stdout.splitlines() if "Job result: " in line]
    assert '"finish_reason":' in result and "data: [DONE]" in result
    records = log_records(done.stderr)
    [ready] = [r for r in records if r["message"] == "vllm ready"]
    [cold] = [r for r in records if r["message"] == "cold start"]
    assert 0 < cold["app_built_s"] <= cold["vllm_ready_s"] <= cold["worker_ready_s"] <= cold["first_output_s"] < 400
    assert not psutil.pid_exists(ready["pid"])  # the worker stopped its vLLM on the way out
    run = {**{phase: cold[phase] for phase in PHASES}, "exit_s": cold["first_output_s"]}
    assert "| median |" in report([run])
