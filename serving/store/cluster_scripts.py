"""The two scripts every request calls (admission, settlement), on a Redis Cluster: one
pipelined connection per primary (serving/store/pipelined.py), each call sent to the primary
of its keys' slot as redis-py's cluster client last saw the topology.

Hand-written around redis-py rather than its cluster client alone, for the same reason as
the single-server path: a call through that client costs ~100 µs of the façade's CPU against
~20 through a pipelined connection (loadtests/redis_client_cost.py), and at two calls a
request it halved the non-streaming requests/s one process passes (loadtests/ha_tracing_cost.py).
Everything that is not the plain case goes to redis-py's client, which knows how: a MOVED or
ASK redirection (a slot being moved), a cluster that is down or busy (a failover), a node that
cannot be reached. It follows the redirection, re-reads the topology, and the next call routes
by the new one."""

from __future__ import annotations

import asyncio
from typing import Any

from redis.asyncio.cluster import RedisCluster
from redis.exceptions import ResponseError

from serving.settings.store_address import StoreAddress
from serving.store.errors import STORE_ERRORS
from serving.store.pipelined import PipelinedRedis

# Replies that mean "ask the cluster client": the slot is elsewhere, or the cluster is changing.
_REROUTED = frozenset({"MOVED", "ASK", "TRYAGAIN", "CLUSTERDOWN", "MASTERDOWN"})


class ClusterScripts:
    """execute_command("EVALSHA"/"EVAL", script, numkeys, key, …) as the scripts call it; every
    key of one call shares a hash tag, so its first key names the slot."""

    def __init__(self, cluster: RedisCluster, address: StoreAddress, *, socket_timeout: float = 1.0) -> None:
        self._cluster = cluster
        self._address = address
        self._socket_timeout = socket_timeout
        self._nodes: dict[tuple[str, int], PipelinedRedis] = {}
        self._started = False

    async def execute_command(self, *command: Any) -> Any:
        if not self._started:
            await self._cluster.initialize()  # the topology, read once; redis-py keeps it current
            self._started = True
        if len(command) < 4 or not command[2]:  # not a script call with keys: the cluster client routes it
            return await self._cluster.execute_command(*command)
        try:
            node = self._cluster.get_node_from_key(command[3])  # EVALSHA sha numkeys key…
        except STORE_ERRORS:
            return await self._cluster.execute_command(*command)  # no owner known for the slot now
        if node is None:
            return await self._cluster.execute_command(*command)
        where = (node.host, int(node.port))
        connection = self._nodes.get(where)
        if connection is None:
            connection = self._nodes[where] = PipelinedRedis(
                self._address.node_url(*where),
                socket_timeout=self._socket_timeout,
                connect_timeout=self._socket_timeout,
            )
        try:
            return await connection.execute_command(*command)
        except ResponseError as reply:
            if getattr(reply, "status_code", None) not in _REROUTED:
                raise  # the script's own answer (NOSCRIPT: the caller sends EVAL)
        except STORE_ERRORS:
            pass  # the node is gone or silent: the cluster client finds out what happened
        return await self._cluster.execute_command(*command)

    async def aclose(self) -> None:
        """The per-node connections (the cluster client is the store's: closed with it)."""
        await asyncio.gather(*(node.aclose() for node in self._nodes.values()), return_exceptions=True)
