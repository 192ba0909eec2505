"""vLLM as our subprocess: a start that cannot run is a clear VllmStartError (the worker prints
it and exits 1), and a vLLM that exits names where its output went. (Started for real: the
devstack and e2e tests, tests/e2e/test_serverless_vllm.py.)"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
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


STAND_IN = """#!/bin/sh
# Stands in for vLLM's interpreter: records what vLLM would see, then waits to be stopped.
printf '%s\\n' "$@" > "{out}/argv"
env > "{out}/env"
echo $$ > "{out}/pid"
exec sleep 120
"""

PARENT = """
import sys, time
from serving.backends.vllm_server import VllmServer
server = VllmServer(python=sys.argv[1], model="m", served_model_name="m", api_key="sk-vllm-secret-0123456789")
server.start()
print("started", flush=True)
time.sleep(120)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet reaped by init) counts as gone.
    return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


def _wait_for(check: Callable[[], bool], seconds: float = 20.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return check()


@pytest.mark.skipif(sys.platform != "linux", reason="the parent-death signal is Linux's")
def test_vllm_ends_with_a_parent_killed_outright_and_its_key_is_never_on_the_command_line(tmp_path: Path) -> None:
    stand_in = tmp_path / "python"
    stand_in.write_text(STAND_IN.format(out=tmp_path))
    stand_in.chmod(0o755)
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, str(stand_in)], stdout=subprocess.PIPE, cwd=Path(__file__).parents[3]
    )
    try:
        assert parent.stdout is not None and parent.stdout.readline().strip() == b"started"
        assert _wait_for(lambda: (tmp_path / "pid").exists() and (tmp_path / "pid").read_text().strip() != "")
        child = int((tmp_path / "pid").read_text())
        assert _alive(child)
        parent.kill()  # SIGKILL: no finaliser, no stop() runs
        parent.wait()
        assert _wait_for(lambda: not _alive(child)), "vLLM outlived the process that started it"
    finally:
        if parent.poll() is None:
            parent.kill()
    argv = (tmp_path / "argv").read_text()
    assert "sk-vllm-secret-0123456789" not in argv and "--api-key" not in argv
    assert "VLLM_API_KEY=sk-vllm-secret-0123456789" in (tmp_path / "env").read_text().splitlines()


def test_a_collector_switches_vllms_tracing_on_over_otlp_http(tmp_path: Path) -> None:
    """What vLLM is started with when traces go to a collector: its flag, and the protocol the
    façade's collector speaks (vLLM defaults to gRPC). Without a collector, neither."""
    stand_in = tmp_path / "python"
    stand_in.write_text(STAND_IN.format(out=tmp_path))
    stand_in.chmod(0o755)
    endpoint = "http://127.0.0.1:4318/v1/traces"
    server = VllmServer(python=str(stand_in), model="m", served_model_name="m", otlp_traces_endpoint=endpoint)
    server.start()
    try:
        assert _wait_for(lambda: (tmp_path / "pid").exists())  # written after argv and env
        argv = (tmp_path / "argv").read_text().splitlines()
        assert argv[argv.index("--otlp-traces-endpoint") + 1] == endpoint
        assert "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=http/protobuf" in (tmp_path / "env").read_text().splitlines()
    finally:
        server.stop()
    assert "--otlp-traces-endpoint" not in VllmServer(python="p", model="m", served_model_name="m").command()
