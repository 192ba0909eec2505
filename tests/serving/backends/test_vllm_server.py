"""vLLM as our subprocess: a start that cannot run is a clear VllmStartError (the worker prints
it and exits 1), and a vLLM that exits names where its output went. (Started for real: the
devstack and e2e tests, tests/e2e/test_serverless_vllm.py.)"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from serving.backends.vllm_server import VllmServer, VllmStartError


def test_an_interpreter_that_does_not_exist_is_a_start_error() -> None:
    server = VllmServer(python="/nonexistent/python3", model="m", served_model_name="m")
    with pytest.raises(VllmStartError, match="cannot run vLLM with /nonexistent/python3"):
        server.start()
    server.stop()


def test_a_vllm_that_exits_at_once_says_where_its_output_is(tmp_path: Path) -> None:
    log_path = tmp_path / "vllm.log"
    # This interpreter has no vLLM: `-m vllm.entrypoints...` exits 1 with ModuleNotFoundError.
    server = VllmServer(python=sys.executable, model="m", served_model_name="m", log_path=log_path)
    server.start()
    try:
        with pytest.raises(VllmStartError, match=f"exited with code 1; see {log_path}"):
            server.wait_ready(timeout=60)
    finally:
        server.stop()
    assert "vllm" in log_path.read_text()
