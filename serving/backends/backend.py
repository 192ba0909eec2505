"""One OpenAI-protocol backend (vLLM or OpenAI): its connection pool, translator and health."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Literal

import aiohttp
import orjson

from serving.backends.translate import RequestTranslator
from serving.errors import APIError, BackendTimeout, BackendUnavailable
from serving.settings import BackendConfig

# aiohttp, not httpx: one shared httpx.AsyncClient's pool collapsed at ~200 concurrent
# streams on this hardware (see DOMAIN.md); aiohttp kept 1.00x of direct throughput.


@dataclass
class BackendHealth:
    state: Literal["unknown", "healthy", "down"] = "unknown"
    last_error: str | None = None
    down_until: float = 0.0
    consecutive_failures: int = 0

    def is_skippable(self, now: float) -> bool:
        return self.state == "down" and now < self.down_until


class Backend:
    def __init__(self, name: str, config: BackendConfig) -> None:
        self.name = name
        self.config = config
        self.translator = RequestTranslator(config)
        self.health = BackendHealth()
        self.in_flight = 0
        self._session: aiohttp.ClientSession | None = None
        self._headers = {"content-type": "application/json", "accept-encoding": "identity"}
        if config.api_key:
            self._headers["authorization"] = f"Bearer {config.api_key}"
        self._timeout = aiohttp.ClientTimeout(
            total=None,
            connect=config.timeouts.connect,
            sock_connect=config.timeouts.connect,
            sock_read=config.timeouts.read,
        )

    async def start(self) -> None:
        connector = aiohttp.TCPConnector(limit=self.config.max_connections, ttl_dns_cache=300, keepalive_timeout=30)
        self._session = aiohttp.ClientSession(
            connector=connector, timeout=self._timeout, json_serialize=lambda o: orjson.dumps(o).decode()
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise RuntimeError(f"backend {self.name} is not started")
        return self._session

    async def post(self, path: str, data: bytes, request_id: str) -> aiohttp.ClientResponse:
        """Send a JSON body; return once the status line and headers arrived (body unread)."""
        headers = {**self._headers, "x-request-id": request_id}
        try:
            return await self.session.post(self.config.base_url + path, data=data, headers=headers)
        except TimeoutError as exc:
            raise self.failed(BackendTimeout(f"Backend `{self.name}` timed out.")) from exc
        except aiohttp.ClientError as exc:
            raise self.failed(
                BackendUnavailable(f"Backend `{self.name}` is unreachable ({type(exc).__name__}).")
            ) from exc

    def failed(self, error: APIError) -> APIError:
        """Record a failure that happened before the first byte; skip the backend for a while."""
        self.health.state = "down"
        self.health.last_error = error.message
        self.health.consecutive_failures += 1
        self.health.down_until = time.monotonic() + self.config.cooldown_seconds
        return error

    def succeeded(self) -> None:
        if self.health.state != "healthy":
            self.health.state = "healthy"
            self.health.last_error = None
        self.health.consecutive_failures = 0

    async def probe(self, timeout: float) -> bool:
        """Readiness: can we list the backend's models right now?"""
        headers = {k: v for k, v in self._headers.items() if k == "authorization"}
        try:
            async with self.session.get(
                self.config.base_url + "/models",
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=timeout),
            ) as response:
                ok = response.status == 200
                error = None if ok else f"GET /models returned HTTP {response.status}"
        except (aiohttp.ClientError, TimeoutError) as exc:
            ok, error = False, f"unreachable ({type(exc).__name__})"
        if ok:
            self.succeeded()
        else:
            self.health.state = "down"
            self.health.last_error = error
        return ok
