"""`make run`'s launcher: the whole stack comes up on its defaults, and stopping it stops vLLM too."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest

from loadtests.devstack.vllm_cpu import free_port

pytestmark = pytest.mark.vllm


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_devstack_serves_and_sigterm_stops_vllm_with_it(tmp_path: Path) -> None:
    port, vllm_port = free_port(), free_port()
    key = "sk-dev-test-0123456789abcdefghijklmn"
    log = tmp_path / "devstack.log"
    command = [sys.executable, "-m", "loadtests.devstack", "--port", str(port), "--vllm-port", str(vllm_port)]
    with open(log, "wb") as out:
        process = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, "DEV_API_KEY": key}
        )
    try:
        deadline = time.monotonic() + 300
        while "is up" not in log.read_text() or not _listening(port):
            assert process.poll() is None, log.read_text()[-2000:]
            assert time.monotonic() < deadline, log.read_text()[-2000:]
            time.sleep(1)
        reply = httpx.post(
            f"http://127.0.0.1:{port}/v1/chat/completions",
            headers={"authorization": f"Bearer {key}"},
            json={"model": "medgemma", "messages": [{"role": "user", "content": "Hello"}], "max_tokens": 4},
            timeout=60,
        )
        assert reply.status_code == 200 and reply.json()["usage"]["completion_tokens"] > 0
        assert _listening(vllm_port)
        # Keys and limits in a private redis-server (installed here, as in CI), not in-process.
        store_port = int(re.search(r"private redis-server on port (\d+)", log.read_text()).group(1))  # type: ignore[union-attr]
        assert _listening(store_port)

        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
        assert not _listening(port)
        assert not _listening(vllm_port), "vLLM outlived the launcher"
        assert not _listening(store_port), "redis-server outlived the launcher"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        _stop_whatever_listens_on(vllm_port)  # an orphaned vLLM, when the test failed


def _stop_whatever_listens_on(port: int) -> None:
    """The vLLM this test's launcher started (its own process group), found by its port."""
    for connection in psutil.net_connections(kind="tcp"):
        listening = connection.status == psutil.CONN_LISTEN and connection.laddr and connection.laddr.port == port
        if listening and connection.pid:
            os.killpg(os.getpgid(connection.pid), signal.SIGKILL)
