"""Endpoints from DNS: a Kubernetes headless Service answers with one A record per ready pod.
Resolved again every `interval_seconds`: an address that appears joins; one that disappears
drains (no new requests; those in flight finish) and leaves once idle."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from collections.abc import Awaitable, Callable

from serving.background import Periodic

log = logging.getLogger(__name__)

Resolver = Callable[[str, int], Awaitable[list[str]]]


async def resolve(host: str, port: int) -> list[str]:
    """The addresses a name resolves to (the system resolver: /etc/hosts, cluster DNS)."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


def url_of(scheme: str, address: str, port: int, path: str) -> str:
    host = f"[{address}]" if ipaddress.ip_address(address).version == 6 else address
    return f"{scheme}://{host}:{port}{path}"


class Discovery:
    def __init__(
        self,
        *,
        host: str,
        port: int,
        scheme: str,
        path: str,
        interval: float,
        apply: Callable[[list[str]], None],
        resolver: Resolver = resolve,
    ) -> None:
        self._host, self._port, self._scheme, self._path = host, port, scheme, path
        self._apply = apply
        self._resolver = resolver
        self._every = Periodic(self.refresh, interval=interval, name=f"discovery-{host}")

    async def refresh(self) -> None:
        try:
            addresses = await self._resolver(self._host, self._port)
        except OSError as exc:  # keep what we have: a DNS hiccup must not empty the group
            log.warning("discovery failed", extra={"host": self._host, "error_type": type(exc).__name__})
            return
        if addresses:
            self._apply([url_of(self._scheme, address, self._port, self._path) for address in addresses])

    def start(self) -> None:
        """Re-resolve every interval (the first answer is the caller's `refresh()`)."""
        self._every.start()

    async def stop(self) -> None:
        await self._every.stop()
