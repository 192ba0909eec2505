"""The RunPod worker end to end: a streamed chat job through `--test_input`, served by the real
vLLM CPU server (the session's, as the worker's configured upstream). The worker starting its
engine itself, as in its GPU image, is tested in tests/serving/serverless/test_runpod_worker.py;
loadtests/serverless_cold_start.py measures it with vLLM CPU."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from loadtests.devstack.vllm_cpu import VllmCpuServer
from loadtests.serverless_cold_start import JOB, log_records, run_worker
from tests.support.stack import facade_config, vllm_backend

pytestmark = pytest.mark.vllm


def test_a_streamed_chat_job_is_answered_by_vllm(vllm_server: VllmCpuServer, tmp_path: Path) -> None:
    backend = vllm_backend(
        vllm_server.base_url, vllm_server.served_model_name, message_format="gemma3", api_key=vllm_server.api_key
    )
    config = tmp_path / "serving.yaml"
    config.write_text(yaml.safe_dump(facade_config({"local-vllm": backend}, {"medgemma": ["local-vllm"]})))
    env = {
        "PEARCARE_CONFIG_PATH": str(config),
        "PEARCARE_AUDIT_SPOOL_DIR": str(tmp_path / "audit"),
        "PEARCARE_RUNPOD_ENDPOINT_KEY": "sk-endpoint-e2e-0123456789abcdefgh",
    }
    done = run_worker(env, JOB, timeout=180)
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]

    [result] = [line for line in done.stdout.splitlines() if "Job result: " in line]
    assert '"finish_reason":' in result and "data: [DONE]" in result
    assert '"content":' in result  # vLLM's tokens, relayed as SSE text
    [cold] = [r for r in log_records(done.stderr) if r["message"] == "cold start"]
    assert 0 < cold["app_built_s"] <= cold["worker_ready_s"] <= cold["first_output_s"]
