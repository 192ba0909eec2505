"""Redis with failover, for tests and benchmarks, on free ports with a password of their own:
- RedisClusterGroup: a Redis Cluster of N primaries, each with a replica (redis-cli --cluster create).
- SentinelGroup: a primary, its replica and three Sentinels watching them (quorum 2).

Short timeouts (a node or primary is called down after 2 s), so a failover takes a few seconds
(and a busy 2-core CI machine does not call one down by mistake).
Each node's process can be killed on its own to make one happen. Both are context managers
(started on entry, stopped on exit)."""

from __future__ import annotations

import functools
import secrets
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import redis
from redis.crc import key_slot

from loadtests.devstack.redis_server import redis_command
from loadtests.devstack.vllm_cpu import free_port
from serving.lifetime import end_with_parent, stop

NODE_TIMEOUT_MS = 2000


def _binary(name: str) -> str:
    binary = shutil.which(name)
    if binary is None:
        raise RuntimeError(f"{name} is not installed (apt-get install redis-server redis-tools)")
    return binary


def _start(command: list[str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as output:
        return subprocess.Popen(
            command, stdout=output, stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=end_with_parent
        )


def _until(check: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if check():
                return
        except (redis.RedisError, OSError):
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what}: not reached within {timeout:g} s")
        time.sleep(0.1)


class _Node:
    def __init__(self, workdir: Path, password: str, *extra: str) -> None:
        self.port = free_port()
        self.dir = workdir / f"node-{self.port}"
        self.dir.mkdir(parents=True)
        self.password = password
        self._extra = extra
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = redis_command(self.port, self.dir, self.password, "--masterauth", self.password, *self._extra)
        self.process = _start(command, self.dir / "redis.log")

    def client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, password=self.password, socket_timeout=2)

    def kill(self) -> None:
        """SIGKILL: no goodbye to the cluster or the Sentinels."""
        if self.process is not None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=5)

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process, grace=5)
            self.process = None


def _answers(node: _Node) -> bool:
    return bool(node.client().ping())


class RedisClusterGroup:
    def __init__(self, workdir: Path, primaries: int = 3) -> None:
        self.password = secrets.token_urlsafe(18)
        self.nodes: list[_Node] = []
        for _ in range(primaries * 2):
            bus_port = free_port()
            self.nodes.append(
                _Node(
                    workdir,
                    self.password,
                    "--cluster-enabled",
                    "yes",
                    "--cluster-config-file",
                    "nodes.conf",
                    "--cluster-node-timeout",
                    str(NODE_TIMEOUT_MS),
                    "--cluster-port",
                    str(bus_port),
                )
            )
        self._primaries = primaries

    @property
    def url(self) -> str:
        seeds = ",".join(f"127.0.0.1:{node.port}" for node in self.nodes[: self._primaries])
        return f"redis+cluster://:{self.password}@{seeds}"

    def start(self) -> None:
        try:
            for node in self.nodes:
                node.start()
            for node in self.nodes:
                _until(functools.partial(_answers, node), f"redis node {node.port} answers")
            subprocess.run(
                [
                    _binary("redis-cli"),
                    "-a",
                    self.password,
                    "--no-auth-warning",
                    "--cluster",
                    "create",
                    *(f"127.0.0.1:{node.port}" for node in self.nodes),
                    "--cluster-replicas",
                    "1",
                    "--cluster-yes",
                ],
                check=True,
                capture_output=True,
                timeout=60,
            )
            self.wait_healthy()
        except BaseException:
            self.stop()
            raise

    def wait_healthy(self, timeout: float = 30.0, *, replicated: bool = True) -> None:
        """Every live node says the cluster is ok (and, if `replicated`, every primary has a replica)."""

        def healthy() -> bool:
            for node in self.live_nodes():
                info = node.client().cluster("info")
                if info["cluster_state"] != "ok":
                    return False
            return not replicated or all(len(shard) >= 2 for shard in self.shards())

        _until(healthy, "the cluster is ok", timeout)

    def live_nodes(self) -> list[_Node]:
        return [node for node in self.nodes if node.process is not None and node.process.poll() is None]

    def shards(self) -> list[list[str]]:
        """Each primary with its replicas that are up ("host:port"), as a live node sees them."""
        nodes = self.live_nodes()[0].client().cluster("nodes")
        healthy = {
            address: node
            for address, node in nodes.items()
            if node["connected"] and "fail" not in node["flags"] and "noaddr" not in node["flags"]
        }
        primaries = {node["node_id"]: [address] for address, node in healthy.items() if "master" in node["flags"]}
        for address, node in healthy.items():
            if "slave" in node["flags"] and node["master_id"] in primaries:
                primaries[node["master_id"]].append(address)
        return list(primaries.values())

    def primary_for(self, key: str) -> _Node:
        """The node that holds `key`'s slot now."""
        slot = key_slot(key.encode())
        client = self.live_nodes()[0].client()
        slots: list[Any] = client.execute_command("CLUSTER", "SLOTS")  # type: ignore[no-untyped-call]
        for start, end, primary, *_ in slots:
            if start <= slot <= end:
                port = int(primary[1])
                return next(node for node in self.nodes if node.port == port)
        raise RuntimeError(f"no node holds slot {slot}")

    def __enter__(self) -> RedisClusterGroup:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()


class SentinelGroup:
    SERVICE = "pearcare"

    def __init__(self, workdir: Path, sentinels: int = 3) -> None:
        self.password = secrets.token_urlsafe(18)
        self.primary = _Node(workdir, self.password)
        self.replica = _Node(workdir, self.password, "--replicaof", "127.0.0.1", str(self.primary.port))
        self._workdir = workdir
        self.sentinel_ports = [free_port() for _ in range(sentinels)]
        self._sentinels: list[subprocess.Popen[bytes]] = []

    @property
    def url(self) -> str:
        nodes = ",".join(f"127.0.0.1:{port}" for port in self.sentinel_ports)
        return f"redis+sentinel://:{self.password}@{nodes}/{self.SERVICE}/0"

    def start(self) -> None:
        try:
            self.primary.start()
            self.replica.start()
            for port in self.sentinel_ports:
                config = self._workdir / f"sentinel-{port}.conf"
                config.write_text(
                    f"port {port}\nbind 127.0.0.1\ndir {self._workdir}\n"
                    f"sentinel monitor {self.SERVICE} 127.0.0.1 {self.primary.port} 2\n"
                    f"sentinel auth-pass {self.SERVICE} {self.password}\n"
                    f"sentinel down-after-milliseconds {self.SERVICE} {NODE_TIMEOUT_MS}\n"
                    f"sentinel failover-timeout {self.SERVICE} 5000\n"
                )
                command = [_binary("redis-server"), str(config), "--sentinel"]
                self._sentinels.append(_start(command, self._workdir / f"sentinel-{port}.log"))
            self.wait_healthy()
        except BaseException:
            self.stop()
            raise

    def sentinel(self, port: int) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=port, socket_timeout=2)

    def primary_port(self) -> int:
        address: Any = self.sentinel(self.sentinel_ports[0]).sentinel_get_master_addr_by_name(self.SERVICE)
        return int(address[1])

    def wait_healthy(self, timeout: float = 30.0) -> None:
        """Every Sentinel knows the primary, a replica in sync and the other Sentinels."""

        def healthy() -> bool:
            for port in self.sentinel_ports:
                sentinel = self.sentinel(port)
                primary: Any = sentinel.sentinel_master(self.SERVICE)
                if primary["num-other-sentinels"] < len(self.sentinel_ports) - 1 or primary["num-slaves"] < 1:
                    return False
                replicas = sentinel.sentinel_slaves(self.SERVICE)
                if not any(r["master-link-status"] == "ok" and not r["is_sdown"] for r in replicas):
                    return False
            return True

        _until(healthy, "the Sentinels see a primary, a replica and each other", timeout)

    def node_at(self, port: int) -> _Node:
        return self.primary if self.primary.port == port else self.replica

    def __enter__(self) -> SentinelGroup:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        for process in self._sentinels:
            stop(process, grace=5)
        self._sentinels = []
        self.primary.stop()
        self.replica.stop()
