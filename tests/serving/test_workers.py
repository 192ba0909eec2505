"""Running for real: several workers share one /metrics; SIGTERM lets running streams finish."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import yaml

from serving.devstack.processes import stop, wait_http
from serving.devstack.vllm_cpu import free_port
from tests.support.stack import TEST_KEY, facade_config, simulator, vllm_backend

HELLO = [{"role": "user", "content": "Hello"}]


def start_facade(tmp_path: Path, sim_url: str, *, workers: int) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    config = facade_config(backends={"sim": vllm_backend(sim_url, "sim-model")}, models={"medgemma": ["sim"]})
    config["server"]["workers"] = workers
    path = tmp_path / f"serving-{port}.yaml"
    path.write_text(yaml.safe_dump(config))
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / f"metrics-{port}")}
    env.pop("PEARCARE_CONFIG_PATH", None)
    with open(tmp_path / f"facade-{port}.log", "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "serving", "--config", str(path), "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    wait_http(f"http://127.0.0.1:{port}/health", process)
    return process, f"http://127.0.0.1:{port}"


def test_metrics_add_up_across_workers(tmp_path: Path) -> None:
    with simulator(tmp_path, "--ttft-ms", "1", "--itl-ms", "1", "--tokens", "2") as sim:
        process, root = start_facade(tmp_path, sim.base_url, workers=2)
        try:
            with httpx.Client(timeout=10) as client:
                for _ in range(30):
                    response = client.post(
                        root + "/v1/chat/completions",
                        headers={"authorization": f"Bearer {TEST_KEY}"},
                        json={"model": "medgemma", "messages": HELLO, "max_tokens": 1},
                    )
                    assert response.status_code == 200
            text = httpx.get(root + "/metrics").text
            line = re.search(
                r'^pearcare_requests_total\{alias="medgemma",route="/v1/chat/completions",status_class="2xx"\} (\S+)$',
                text,
                re.MULTILINE,
            )
            assert line and float(line.group(1)) == 30.0
            files = {p.name for p in tmp_path.glob("metrics-*/counter_*.db")}
            assert len(files) >= 2, "both workers served and wrote metrics"
        finally:
            stop(process)


def test_sigterm_lets_running_streams_finish(tmp_path: Path) -> None:
    with simulator(tmp_path, "--ttft-ms", "1", "--itl-ms", "50", "--tokens", "30") as sim:
        process, root = start_facade(tmp_path, sim.base_url, workers=1)
        try:
            body = {"model": "medgemma", "messages": HELLO, "max_tokens": 30, "stream": True}
            with httpx.stream(
                "POST",
                root + "/v1/chat/completions",
                json=body,
                timeout=30,
                headers={"authorization": f"Bearer {TEST_KEY}"},
            ) as response:
                lines = response.iter_lines()
                assert next(lines).startswith("data: ")
                os.killpg(process.pid, signal.SIGTERM)
                rest = [line for line in lines if line.startswith("data: ")]
            assert rest[-1] == "data: [DONE]" and len(rest) >= 28, "the stream ran to its end"
            process.wait(timeout=10)
            assert process.returncode in (0, -signal.SIGTERM)  # uvicorn re-raises the signal it handled
        finally:
            stop(process)
