"""The RunPod worker's cold start on vLLM CPU: process start to the first output of a streamed
chat job, the worker starting vLLM itself as its GPU image does (`--test_input`, so no network).

    .venv/bin/python -m loadtests.serverless_cold_start [--runs 3]

Writes loadtests/results/serverless-cold-start.{json,md}: per run, the phases the worker logs
(vLLM healthy, worker ready, first output; seconds after the process was created) and the
wall time to the process's exit.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from loadtests.devstack.vllm_cpu import CPU_ENGINE_ARGS, VllmCpuServer
from serving.settings import DEFAULT_CONFIG, REPO_ROOT

PHASES = ("app_built_s", "vllm_ready_s", "worker_ready_s", "first_output_s")
JOB = {
    "input": {
        "openai_route": "/v1/chat/completions",
        "openai_input": {
            "model": "medgemma",
            "messages": [{"role": "user", "content": "Name one symptom of the flu."}],
            "stream": True,
            "max_tokens": 16,
        },
    }
}


def cpu_worker_env(workdir: Path, endpoint_key: str) -> dict[str, str]:
    """The worker's variables for vLLM CPU with the small Gemma 3 (the GPU image sets its own)."""
    cpu = VllmCpuServer()
    cpu.check_installed()
    return {
        "PEARCARE_CONFIG_PATH": str(DEFAULT_CONFIG),
        "PEARCARE_AUDIT_SPOOL_DIR": str(workdir / "audit"),
        "PEARCARE_RUNPOD_ENDPOINT_KEY": endpoint_key,
        "PEARCARE_RUNPOD_VLLM_MODEL": str(cpu.model_dir),
        "PEARCARE_RUNPOD_VLLM_PYTHON": str(cpu.python),
        "PEARCARE_RUNPOD_VLLM_SERVED_MODEL_NAME": cpu.served_model_name,
        "PEARCARE_RUNPOD_VLLM_ARGS": shlex.join(CPU_ENGINE_ARGS),
        "PEARCARE_RUNPOD_VLLM_LOG": str(workdir / "vllm.log"),
        "VLLM_CPU_KVCACHE_SPACE": os.environ.get("VLLM_CPU_KVCACHE_SPACE", "1"),
    }


def run_worker(env: dict[str, str], job: dict[str, Any], timeout: float = 600) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "serving.serverless.runpod_worker", "--test_input", json.dumps(job)]
    return subprocess.run(
        command, env={**os.environ, **env}, capture_output=True, text=True, timeout=timeout, cwd=REPO_ROOT
    )


def log_records(stderr: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]


def one_run(workdir: Path) -> dict[str, Any]:
    started = time.monotonic()
    done = run_worker(cpu_worker_env(workdir, "sk-cold-start-0123456789abcdefgh"), JOB)
    wall = time.monotonic() - started
    if done.returncode != 0:
        raise RuntimeError(f"the worker failed ({done.returncode}): {done.stderr[-2000:]}")
    [cold] = [record for record in log_records(done.stderr) if record["message"] == "cold start"]
    return {**{phase: cold[phase] for phase in PHASES}, "exit_s": round(wall, 3)}


def report(runs: list[dict[str, Any]]) -> str:
    rows = [
        "| run | app built | vLLM healthy | worker ready | first output | process exit |",
        "|---|---|---|---|---|---|",
    ]
    for index, run in enumerate(runs, 1):
        rows.append(f"| {index} | " + " | ".join(f"{run[k]:.1f} s" for k in (*PHASES, "exit_s")) + " |")
    median = {k: statistics.median(run[k] for run in runs) for k in (*PHASES, "exit_s")}
    rows.append("| median | " + " | ".join(f"{median[k]:.1f} s" for k in (*PHASES, "exit_s")) + " |")
    facade = median["first_output_s"] - median["vllm_ready_s"]
    return (
        "# RunPod worker cold start, vLLM CPU (gemma-3-270m)\n\n"
        f"{os.cpu_count()} cores. Seconds after the worker process was created: the worker starts vLLM, "
        "builds the façade's app while vLLM loads, waits for vLLM's health, then serves one streamed chat "
        "job (`--test_input`).\n\n"
        + "\n".join(rows)
        + f"\n\nWhat the façade adds after vLLM is healthy (median): {facade:.1f} s.\n"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out-dir", type=Path, default=REPO_ROOT / "loadtests" / "results")
    args = parser.parse_args(argv)
    runs = []
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="cold-start-") as workdir:
            runs.append(one_run(Path(workdir)))
            print(json.dumps(runs[-1]), flush=True)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    (args.out_dir / "serverless-cold-start.json").write_text(json.dumps({"runs": runs}, indent=2))
    (args.out_dir / "serverless-cold-start.md").write_text(report(runs))
    print(report(runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
