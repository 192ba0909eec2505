"""The real vLLM CPU server (one per test session: it takes ~60 s to start) and a façade in front."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest

from loadtests.devstack.otlp_receiver import OtlpReceiver
from loadtests.devstack.vllm_cpu import VllmCpuServer
from tests.support.stack import Facade, facade, facade_config, refused_url, vllm_backend


@pytest.fixture(scope="session")
def otlp_receiver() -> Iterator[OtlpReceiver]:
    """Where the session's vLLM sends its spans (tests/e2e/test_tracing_vllm.py reads them)."""
    with OtlpReceiver() as receiver:
        yield receiver


@pytest.fixture(scope="session")
def vllm_server(tmp_path_factory: pytest.TempPathFactory, otlp_receiver: OtlpReceiver) -> Iterator[VllmCpuServer]:
    log_path = tmp_path_factory.mktemp("vllm") / "vllm.log"
    server = VllmCpuServer(
        log_path=log_path,
        api_key="vllm-e2e-" + secrets.token_hex(12),
        otlp_traces_endpoint=otlp_receiver.endpoint,  # as Compose and Kubernetes run it with a collector
    )
    server.check_installed()  # a clear failure (not a skip) when `make test` was bypassed
    with server:
        yield server


@pytest.fixture(scope="module")
def vllm_facade(vllm_server: VllmCpuServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Facade]:
    dead = refused_url()
    config = facade_config(
        backends={
            "local-vllm": vllm_backend(
                vllm_server.base_url,
                vllm_server.served_model_name,
                message_format="gemma3",
                api_key=vllm_server.api_key,
            ),
            "dead": vllm_backend(dead, "x", timeouts={"connect": 1, "read": 5}),
        },
        models={"medgemma": ["local-vllm"], "fallback": ["dead", "local-vllm"]},
    )
    with facade(tmp_path_factory.mktemp("facade"), config) as running:
        yield running
