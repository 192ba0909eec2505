"""Observability against the real stack: the dashboard's metrics exist, Prometheus scrapes both.

The Compose CPU profile's services as plain processes: vLLM CPU, the façade (with Redis), and
Prometheus from Debian, with configs/prometheus.yml pointed at their local ports.
"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from loadtests.devstack.processes import running
from loadtests.devstack.redis_server import RedisServer
from loadtests.devstack.vllm_cpu import VllmCpuServer, free_port
from serving.settings import REPO_ROOT
from tests.support.dashboard import dashboard_metric_names
from tests.support.stack import TEST_KEY, Facade, facade, facade_config, vllm_backend

pytestmark = pytest.mark.vllm

_EXPOSED = re.compile(r"^(?:# TYPE )?([a-zA-Z_:][a-zA-Z0-9_:]*)", re.MULTILINE)
_SUFFIXES = ("_bucket", "_sum", "_count", "_total", "_created")


def exposed_names(text: str) -> set[str]:
    names = set(_EXPOSED.findall(text)) - {"#"}
    # A labelled metric with no samples yet shows only its TYPE line, under the base name.
    return names | {name + suffix for name in names for suffix in _SUFFIXES}


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="module")
def stack_facade(
    vllm_server: VllmCpuServer, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Facade]:
    config = facade_config(
        backends={
            "local-vllm": vllm_backend(
                vllm_server.base_url,
                vllm_server.served_model_name,
                message_format="gemma3",
                api_key=vllm_server.api_key,
            )
        },
        models={"medgemma": ["local-vllm"]},
        store={"redis_url": redis_url},
        metrics_port=free_port(),  # as deployed: /metrics on a port of its own
    )
    with facade(tmp_path_factory.mktemp("obs"), config) as running_facade:
        # Traffic, so that every labelled series has samples.
        body = {"model": "medgemma", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 4, "stream": True}
        with httpx.stream(
            "POST",
            running_facade.base_url + "/chat/completions",
            json=body,
            timeout=60,
            headers={"authorization": f"Bearer {TEST_KEY}"},
        ) as response:
            assert response.status_code == 200
            list(response.iter_lines())
        yield running_facade


def metrics_url(running: Facade) -> str:
    port = yaml.safe_load(running.config_path.read_text())["server"]["metrics_port"]
    return f"http://127.0.0.1:{port}/metrics"


def test_every_dashboard_metric_is_exported(stack_facade: Facade, vllm_server: VllmCpuServer) -> None:
    assert httpx.get(stack_facade.root_url + "/metrics").status_code == 404  # not beside the API
    exported = exposed_names(httpx.get(metrics_url(stack_facade)).text)
    exported |= exposed_names(httpx.get(vllm_server.root_url + "/metrics").text)
    missing = dashboard_metric_names() - exported
    assert not missing, f"the dashboard queries metrics nobody exports: {sorted(missing)}"


def test_prometheus_scrapes_the_facade_and_vllm(
    stack_facade: Facade, vllm_server: VllmCpuServer, tmp_path: Path
) -> None:
    binary = shutil.which("prometheus")
    assert binary, "prometheus is not installed (.ci/run installs Debian's package)"
    config = yaml.safe_load((REPO_ROOT / "configs" / "prometheus.yml").read_text())
    metrics_port = yaml.safe_load(stack_facade.config_path.read_text())["server"]["metrics_port"]
    local = {"api:9100": f"127.0.0.1:{metrics_port}", "vllm:8000": f"127.0.0.1:{vllm_server.port}"}
    config["global"]["scrape_interval"] = "1s"
    for job in config["scrape_configs"]:
        for static in job["static_configs"]:
            static["targets"] = [local[target] for target in static["targets"]]
    config_path = tmp_path / "prometheus.yml"
    config_path.write_text(yaml.safe_dump(config))
    port = free_port()
    command = [
        binary,
        f"--config.file={config_path}",
        f"--storage.tsdb.path={tmp_path / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
    ]
    api = f"http://127.0.0.1:{port}/api/v1"
    with running(command, f"http://127.0.0.1:{port}/-/ready", tmp_path / "prometheus.log"):
        deadline = time.monotonic() + 30
        health: dict[str, str] = {}
        while time.monotonic() < deadline:
            targets = httpx.get(api + "/targets").json()["data"]["activeTargets"]
            health = {t["labels"]["job"]: t["health"] for t in targets}
            if health == {"pearcare-api": "up", "vllm": "up"}:
                break
            time.sleep(0.5)
        assert health == {"pearcare-api": "up", "vllm": "up"}
        deadline = time.monotonic() + 15
        result: list[object] = []
        while not result and time.monotonic() < deadline:
            result = httpx.get(api + "/query", params={"query": "pearcare_requests_total"}).json()["data"]["result"]
            time.sleep(0.5)
        assert result, "the façade's series are in Prometheus"
