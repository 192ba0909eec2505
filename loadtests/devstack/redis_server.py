"""A private redis-server on a free port (tests, benchmarks): a password of its own (as every
deployment has), no persistence, stopped with its owner."""

from __future__ import annotations

import secrets
import shutil
import subprocess
import time
from pathlib import Path

import redis

from loadtests.devstack.vllm_cpu import free_port
from serving.lifetime import end_with_parent, stop


def redis_command(port: int, workdir: Path, password: str, *extra: str) -> list[str]:
    """redis-server on 127.0.0.1:port, no persistence, its files in workdir, a password."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
    where = ("--port", str(port), "--bind", "127.0.0.1", "--dir", str(workdir))
    return [binary, *where, "--save", "", "--appendonly", "no", "--requirepass", password, *extra]


class RedisServer:
    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.password = secrets.token_urlsafe(18)
        self.url = f"redis://:{self.password}@127.0.0.1:{self.port}/0"
        self._workdir = workdir
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = redis_command(self.port, self._workdir, self.password)
        self._process = subprocess.Popen(
            command,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=end_with_parent,
        )
        client = redis.Redis.from_url(self.url)
        deadline = time.monotonic() + 10
        try:
            while True:
                try:
                    client.ping()
                    return
                except redis.ConnectionError:
                    if self._process.poll() is not None:
                        raise RuntimeError(f"redis-server exited with {self._process.returncode}") from None
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
        except BaseException:
            self.stop()  # never leave a half-started server behind
            raise
        finally:
            client.close()

    def stop(self) -> None:
        if self._process is not None:
            stop(self._process, grace=5)
            self._process = None

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url)
