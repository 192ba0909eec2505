"""`python -m serving.serverless.runpod_worker` under the runpod SDK's two offline test modes,
in front of the upstream simulator (a real HTTP server): `--test_input` (one job, then exit) and
the local API server (`--rp_serve_api`: /runsync, /run + /stream)."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
import yaml

from loadtests.devstack.processes import running
from loadtests.devstack.vllm_cpu import free_port
from loadtests.serverless_cold_start import JOB, PHASES, log_records, report, run_worker
from serving.settings import DEFAULT_CONFIG, REPO_ROOT
from tests.support.stack import TEST_KEY, facade_config, simulator, vllm_backend

PATIENT = {"age": 34, "gender": "female", "location": "02139"}
SYMPTOMS = "Throbbing headache with flashing lights since yesterday"
ENDPOINT_KEY = "sk-endpoint-0123456789abcdefghijk"
PROMPT = "my-private-words-7f3a"


def stream_job(**input_fields: Any) -> dict[str, Any]:
    body = {"model": "medgemma", "messages": [{"role": "user", "content": PROMPT}], "stream": True, "max_tokens": 4}
    return {"input": {"openai_route": "/v1/chat/completions", "openai_input": body, **input_fields}}


@pytest.fixture(scope="module")
def worker_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    tmp = tmp_path_factory.mktemp("runpod")
    with ExitStack() as stack:
        sim = stack.enter_context(simulator(tmp, "--ttft-ms", "1", "--itl-ms", "1", "--tokens", "4"))
        config = facade_config({"sim": vllm_backend(sim.base_url, "m")}, {"medgemma": ["sim"], "gpt-5": ["sim"]})
        config["consultation"] = {
            "stages": {"intake": "gpt-5", "icd": "medgemma", "cpt": "medgemma", "summary": "gpt-5"},
            "providers_file": str(REPO_ROOT / "configs" / "providers.json"),
        }
        config_path = tmp / "serving.yaml"
        config_path.write_text(yaml.safe_dump(config))
        yield {"PEARCARE_CONFIG_PATH": str(config_path), "PEARCARE_RUNPOD_ENDPOINT_KEY": ENDPOINT_KEY}


def run_test_input(env: dict[str, str], job: dict[str, Any]) -> tuple[int, str]:
    command = [sys.executable, "-m", "serving.serverless.runpod_worker", "--test_input", json.dumps(job)]
    done = subprocess.run(
        command, env={**os.environ, **env}, capture_output=True, text=True, timeout=120, cwd=REPO_ROOT
    )
    return done.returncode, done.stdout + done.stderr


def job_result(output: str) -> Any:
    """What the SDK prints: `Job result: {'output': [...]}` (a Python repr)."""
    [line] = [line for line in output.splitlines() if "Job result: " in line]
    return ast.literal_eval(line.split("Job result: ", 1)[1])["output"]


def job_error(output: str) -> dict[str, Any]:
    [line] = [line for line in output.splitlines() if "failed with error: " in line]
    error: dict[str, Any] = json.loads(line.split("failed with error: ", 1)[1])
    return error


def sse_text_content(pieces: list[str]) -> tuple[str, str]:
    events = [line.removeprefix("data: ") for line in "".join(pieces).split("\n") if line.startswith("data: ")]
    chunks = [json.loads(event) for event in events[:-1]]
    return "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"]), events[-1]


# The `--test_input` jobs, each run by its own worker process; run side by side (each process
# mostly starts up), then checked one test each.
TEST_INPUT_JOBS = {
    "stream": stream_job(api_key=TEST_KEY),
    "consultation": {"input": {"route": "/v1/consultations", "body": {"symptoms": SYMPTOMS, "patient_data": PATIENT}}},
    "bad-key": stream_job(api_key="sk-wrong-0123456789abcdefghijkl"),
    "bad-body": {
        "input": {"openai_route": "/v1/chat/completions", "openai_input": {"model": "medgemma", "messages": "hi"}}
    },
}


@pytest.fixture(scope="module")
def test_input_runs(worker_env: dict[str, str]) -> dict[str, tuple[int, str]]:
    with ThreadPoolExecutor(max_workers=len(TEST_INPUT_JOBS)) as pool:
        runs = {name: pool.submit(run_test_input, worker_env, job) for name, job in TEST_INPUT_JOBS.items()}
        return {name: run.result() for name, run in runs.items()}


def test_test_input_answers_a_streamed_chat_job_with_the_sse_text(test_input_runs: dict[str, tuple[int, str]]) -> None:
    code, output = test_input_runs["stream"]
    assert code == 0, output
    assert sse_text_content(job_result(output)) == (" tok" * 4, "[DONE]")


def test_test_input_answers_a_consultation_job_with_the_document(test_input_runs: dict[str, tuple[int, str]]) -> None:
    code, output = test_input_runs["consultation"]  # no api_key: the endpoint's key
    assert code == 0, output
    [document] = job_result(output)
    assert document["object"] == "consultation" and document["status"] == "completed"
    assert set(document["stages"]) == {"intake", "icd", "cpt", "providers", "summary"}


@pytest.mark.parametrize(
    ("name", "status", "param", "code"),
    [("bad-key", 401, None, "invalid_api_key"), ("bad-body", 400, "messages", "invalid_value")],
)
def test_test_input_fails_a_bad_job_with_the_openai_envelope(
    test_input_runs: dict[str, tuple[int, str]], name: str, status: int, param: str | None, code: str
) -> None:
    exit_code, output = test_input_runs[name]
    assert exit_code == 1  # the SDK's verdict on a failed job
    error = job_error(output)
    assert error["status"] == status and (error["error"]["param"], error["error"]["code"]) == (param, code)
    assert "Traceback" not in output


def test_the_local_api_server_runs_jobs_and_keeps_prompts_out_of_the_log(
    worker_env: dict[str, str], tmp_path: Path
) -> None:
    port = free_port()
    command = [sys.executable, "-m", "serving.serverless.runpod_worker", "--rp_serve_api", "--rp_api_port", str(port)]
    log_path = tmp_path / "worker.log"
    with running(command, f"http://localhost:{port}/", log_path, env=worker_env, timeout=60):
        base = f"http://localhost:{port}"
        synced = httpx.post(f"{base}/runsync", json=stream_job(), timeout=60).json()  # the endpoint key
        assert synced["status"] == "COMPLETED"
        assert sse_text_content(synced["output"]) == (" tok" * 4, "[DONE]")

        plain = {"route": "/v1/chat/completions", "body": {**stream_job()["input"]["openai_input"]}}
        job_id = httpx.post(f"{base}/run", json={"input": plain}, timeout=10).json()["id"]
        streamed = httpx.post(f"{base}/stream/{job_id}", timeout=60).json()
        assert streamed["status"] == "COMPLETED"
        chunks = [part["output"]["data"] for part in streamed["stream"]]
        assert all(chunk["object"] == "chat.completion.chunk" for chunk in chunks)

        refused = httpx.post(f"{base}/runsync", json=stream_job(api_key="sk-wrong-0123456789abcdefghijkl"), timeout=60)
        # RunPod marks such a job FAILED; the SDK's local server lists the failure as an output.
        [failure] = refused.json()["output"]
        assert json.loads(failure["error"])["status"] == 401
    log = log_path.read_text()
    assert "request" in log and PROMPT not in log  # the SDK's DEBUG logs of inputs stay off


# Stands in for vLLM's interpreter: `-m vllm.entrypoints.openai.api_server --port P
# --served-model-name M …` runs the upstream simulator (a real OpenAI-protocol server) on that port.
ENGINE_PYTHON = """
import argparse, os, sys
parser = argparse.ArgumentParser()
parser.add_argument("-m", dest="module", required=True)
parser.add_argument("--port", required=True)
parser.add_argument("--served-model-name", required=True)
args, _ = parser.parse_known_args()
if args.module != "vllm.entrypoints.openai.api_server":
    sys.exit(f"not vLLM's server: {args.module}")
simulator = ["-m", "loadtests.simulator", "--port", args.port, "--model", args.served_model_name]
os.execv(sys.executable, [sys.executable, *simulator, "--ttft-ms", "1", "--itl-ms", "1", "--tokens", "4"])
"""


def test_the_worker_starts_its_engine_serves_through_it_and_stops_it(tmp_path: Path) -> None:
    """PEARCARE_RUNPOD_VLLM_MODEL set, as in the GPU image: the worker starts the engine, the
    shipped config routes `medgemma` to it, and the engine is stopped on the way out. (The real
    vLLM CPU answers a job in tests/e2e/test_serverless_vllm.py; serverless_cold_start starts it.)"""
    engine = tmp_path / "engine-python"
    engine.write_text(f"#!{sys.executable}\n{ENGINE_PYTHON}")
    engine.chmod(0o755)
    env = {
        "PEARCARE_CONFIG_PATH": str(DEFAULT_CONFIG),
        "PEARCARE_AUDIT_SPOOL_DIR": str(tmp_path / "audit"),
        "PEARCARE_RUNPOD_ENDPOINT_KEY": ENDPOINT_KEY,
        "PEARCARE_RUNPOD_VLLM_MODEL": "/models/medgemma-27b-it",
        "PEARCARE_RUNPOD_VLLM_PYTHON": str(engine),
        "PEARCARE_RUNPOD_VLLM_LOG": str(tmp_path / "engine.log"),
    }
    done = run_worker(env, JOB, timeout=120)
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]

    assert sse_text_content(job_result(done.stdout)) == (" tok" * 4, "[DONE]")
    records = log_records(done.stderr)
    [ready] = [r for r in records if r["message"] == "vllm ready"]
    [cold] = [r for r in records if r["message"] == "cold start"]
    assert cold["app_built_s"] > 0 and 0 < cold["vllm_ready_s"] <= cold["worker_ready_s"] <= cold["first_output_s"]
    assert not psutil.pid_exists(ready["pid"])  # the worker stopped its engine on the way out
    run = {**{phase: cold[phase] for phase in PHASES}, "exit_s": cold["first_output_s"]}
    assert "| median |" in report([run])
