"""One OpenAI-protocol backend (vLLM or OpenAI): a tier of one or more interchangeable
endpoints (replicas serving the same model), their shared connection pool, translator,
breakers, balancer and admission queue.

A request asks the backend for an endpoint (`acquire`): the balancer picks among those
whose breaker lets requests through and that are under their in-flight cap; when every
endpoint is at its cap the request waits in a bounded queue, by priority, for at most
`max_wait_seconds`. When every breaker is open the tier is tried anyway, as a last resort,
after the other tiers (Envoy's panic mode): one endpoint is better than none."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import orjson

from serving.backends.balancer import Balancer
from serving.backends.breaker import BreakerPolicy
from serving.backends.discovery import Discovery, Resolver, resolve
from serving.backends.endpoint import Endpoint
from serving.backends.health import BackendHealth, endpoint_report
from serving.backends.load import LoadScraper
from serving.backends.translate import RequestTranslator
from serving.backends.waiting import WaitQueue
from serving.errors import APIError, BackendOverloaded, BackendTimeout, BackendUnavailable
from serving.settings import BackendConfig

# aiohttp, not httpx: one shared httpx.AsyncClient's pool collapsed at ~200 concurrent
# streams on this hardware (see DOMAIN.md); aiohttp kept 1.00x of direct throughput.


class Backend:
    def __init__(self, name: str, config: BackendConfig, *, resolver: Resolver = resolve) -> None:
        self.name = name
        self.config = config
        self.translator = RequestTranslator(config)
        self.health = BackendHealth()
        self.in_flight = 0
        self._policy = BreakerPolicy(
            consecutive_failures=config.breaker.consecutive_failures,
            error_rate=config.breaker.error_rate,
            min_requests=config.breaker.min_requests,
            window_seconds=config.breaker.window_seconds,
            open_seconds=config.cooldown_seconds,
            half_open_probes=config.breaker.half_open_probes,
        )
        self.endpoints = [Endpoint(url, self._policy) for url in config.base_urls]
        self.balancer = Balancer(
            config.balancing,
            prefix_affinity=config.prefix_affinity,
            bound=config.affinity_bound,
            load_max_age=max(3 * config.scrape_load_seconds, 1.0),
        )
        self._cap = config.concurrency.max_in_flight_per_endpoint
        self._queue = WaitQueue()
        self.policy = config.policy  # the data policy (allow, redact, block): read on every request
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
        # A stream's silence is watched by its relay (one timer a stream, serving/backends/relay.py),
        # not by aiohttp's sock_read, which re-arms a timer on every chunk: every token.
        self._stream_timeout = aiohttp.ClientTimeout(
            total=None, connect=config.timeouts.connect, sock_connect=config.timeouts.connect
        )
        self._first_byte = config.timeouts.first_byte or config.timeouts.read
        self._scraper: LoadScraper | None = None
        if config.kind == "vllm" and config.scrape_load_seconds > 0:
            self._scraper = LoadScraper(
                lambda: list(self.endpoints),
                lambda: self.session,
                interval=config.scrape_load_seconds,
                headers={k: v for k, v in self._headers.items() if k == "authorization"},
            )
        self._discovery: Discovery | None = None
        if config.discovery is not None:
            found = config.discovery
            self._discovery = Discovery(
                host=found.host,
                port=found.port,
                scheme=found.scheme,
                path=found.path,
                interval=found.interval_seconds,
                apply=self.set_endpoints,
                resolver=resolver,
            )

    @property
    def queued(self) -> int:
        return len(self._queue)

    async def start(self) -> None:
        # Per replica: one replica's full pool must not make the others wait (a pool wait past the
        # connect timeout would read as that replica failing).
        connector = aiohttp.TCPConnector(
            limit=0, limit_per_host=self.config.max_connections, ttl_dns_cache=300, keepalive_timeout=30
        )
        self._session = aiohttp.ClientSession(
            connector=connector, timeout=self._timeout, json_serialize=lambda o: orjson.dumps(o).decode()
        )
        if self._discovery is not None:
            await self._discovery.refresh()
            self._discovery.start()
        if self._scraper is not None:
            self._scraper.start()

    async def close(self) -> None:
        for task in (self._discovery, self._scraper):
            if task is not None:
                await task.stop()
        if self._session is not None:
            await self._session.close()
            self._session = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise RuntimeError(f"backend {self.name} is not started")
        return self._session

    def set_endpoints(self, urls: list[str]) -> None:
        """Discovery's answer: new URLs join, missing ones drain (and leave once idle)."""
        wanted = {url.rstrip("/") for url in urls}
        kept = []
        for endpoint in self.endpoints:
            endpoint.draining = endpoint.base_url not in wanted
            if not endpoint.draining or endpoint.in_flight:
                kept.append(endpoint)
        known = {endpoint.base_url for endpoint in kept}
        kept += [Endpoint(url, self._policy) for url in sorted(wanted - known)]
        self.endpoints = kept
        self._queue.wake()

    # -- choosing an endpoint -------------------------------------------------------------

    async def acquire(
        self, *, key: str | None, priority: int, exclude: set[Endpoint], deadline: float | None = None
    ) -> Endpoint:
        """An endpoint for one request (release it when the request ends). Raises
        BackendUnavailable when no endpoint may take it (every one tried, or its breaker open),
        BackendOverloaded when all are at their cap and the queue is full or the wait too long.
        `deadline` (monotonic): one bound for all of a request's attempts at this backend."""
        if not self._queue.ahead_of(priority):
            endpoint = self._choose(key, exclude, panic=not exclude)
            if endpoint is not None:
                return self._take(endpoint)
        if not self._capped_only(exclude):
            raise BackendUnavailable(f"Backend `{self.name}` has no endpoint that can take the request now.")
        if self.config.concurrency.queue_size <= len(self._queue):
            raise BackendOverloaded(f"Backend `{self.name}` is at capacity and its queue is full.", reason="queue_full")
        if deadline is None:
            deadline = time.monotonic() + self.config.concurrency.max_wait_seconds
        place = self._queue.place()
        newcomer = True
        while True:
            try:
                # A newcomer makes all look again (an endpoint the waiters ahead excluded may be idle).
                await self._queue.wait(priority, place, deadline, look_again=newcomer)
            except TimeoutError:
                raise BackendOverloaded(
                    f"Backend `{self.name}` is at capacity: no endpoint freed up within "
                    f"{self.config.concurrency.max_wait_seconds:g} s.",
                    reason="wait_exceeded",
                ) from None
            newcomer = False
            endpoint = self._choose(key, exclude, panic=False)
            if endpoint is not None:
                return self._take(endpoint)
            if not self._capped_only(exclude):
                raise BackendUnavailable(f"Backend `{self.name}` has no endpoint that can take the request now.")

    def release(self, endpoint: Endpoint) -> None:
        endpoint.breaker.released()
        endpoint.in_flight -= 1
        self.in_flight -= 1
        if endpoint.draining and not endpoint.in_flight and endpoint in self.endpoints:
            self.endpoints = [e for e in self.endpoints if e is not endpoint]
        self._queue.wake()

    def _take(self, endpoint: Endpoint) -> Endpoint:
        endpoint.in_flight += 1
        endpoint.breaker.sent()
        self.in_flight += 1
        return endpoint

    def _choose(self, key: str | None, exclude: set[Endpoint], *, panic: bool) -> Endpoint | None:
        now = time.monotonic()
        live = [e for e in self.endpoints if not e.draining and e not in exclude]
        if not live:
            return None
        open_ = [e for e in live if e.breaker.available(now)]
        if not open_ and panic:
            # Panic: every breaker is open (none half-open with its probes out). The least
            # recently failed gets one try; the registry already put this tier after the others.
            tripped = [e for e in live if e.breaker.state == "open"]
            if len(tripped) == len(live):
                open_ = [min(tripped, key=lambda e: e.breaker.opened_at)]
        candidates = [e for e in open_ if not self._cap or e.in_flight < self._cap]
        if not candidates:
            return None
        everyone = [e for e in self.endpoints if not e.draining]
        return self.balancer.pick(candidates, everyone, key, now)

    def _capped_only(self, exclude: set[Endpoint]) -> bool:
        """Whether waiting could help: an endpoint not yet tried whose breaker lets requests
        through, held back only by its in-flight cap."""
        now = time.monotonic()
        return bool(self._cap) and any(
            not e.draining and e not in exclude and e.breaker.available(now) for e in self.endpoints
        )

    # -- talking to an endpoint -----------------------------------------------------------

    async def post(
        self,
        endpoint: Endpoint,
        path: str,
        data: bytes,
        request_id: str,
        *,
        stream: bool = True,
        extra: dict[str, str] | None = None,
    ) -> aiohttp.ClientResponse:
        """Send a JSON body (`extra`: more headers, a traceparent); return at the headers."""
        headers = {**self._headers, "x-request-id": request_id}
        if extra:
            headers.update(extra)
        try:
            if not stream:
                return await self.session.post(endpoint.base_url + path, data=data, headers=headers)
            sending = self.session.post(
                endpoint.base_url + path, data=data, headers=headers, timeout=self._stream_timeout
            )
            return await asyncio.wait_for(sending, self._first_byte)
        except TimeoutError as exc:
            raise self.failed(BackendTimeout(f"Backend `{self.name}` timed out."), endpoint) from exc
        except aiohttp.ClientError as exc:
            raise self.failed(
                BackendUnavailable(f"Backend `{self.name}` is unreachable ({type(exc).__name__})."), endpoint
            ) from exc

    def failed(self, error: APIError, endpoint: Endpoint | None = None) -> APIError:
        """Record a failure of `endpoint` (all of them when None); the tier is down when no
        endpoint's breaker lets requests through."""
        now = time.monotonic()
        for each in [endpoint] if endpoint is not None else self.endpoints:
            each.breaker.failed(now, error.message)
        self.health.consecutive_failures += 1
        self.health.last_error = error.message
        if not any(e.breaker.available(now) for e in self.endpoints if not e.draining):
            self.health.state = "down"
            opened = [e.breaker.opened_at for e in self.endpoints if e.breaker.state != "closed"]
            self.health.down_until = min(opened, default=now) + self.config.cooldown_seconds
        return error

    def succeeded(self, endpoint: Endpoint | None = None) -> None:
        now = time.monotonic()
        for each in [endpoint] if endpoint is not None else self.endpoints:
            each.breaker.succeeded(now)
        if self.health.state != "healthy":
            self.health.state = "healthy"
            self.health.last_error = None
        self.health.consecutive_failures = 0

    async def probe(self, timeout: float) -> bool:
        """Readiness: can any endpoint list its models right now?"""
        results = await asyncio.gather(*(self._probe(endpoint, timeout) for endpoint in list(self.endpoints)))
        ok = any(results)
        if ok:
            if self.health.state != "healthy":
                self.health.state, self.health.last_error = "healthy", None
        else:
            self.health.state = "down"
        return ok

    async def _probe(self, endpoint: Endpoint, timeout: float) -> bool:
        headers = {k: v for k, v in self._headers.items() if k == "authorization"}
        try:
            async with self.session.get(
                endpoint.base_url + "/models", headers=headers, timeout=aiohttp.ClientTimeout(total=timeout)
            ) as response:
                ok = response.status == 200
                error = None if ok else f"GET /models returned HTTP {response.status}"
        except (aiohttp.ClientError, TimeoutError) as exc:
            ok, error = False, f"unreachable ({type(exc).__name__})"
        if not ok:
            self.health.last_error = error
        return ok

    def report(self) -> list[dict[str, object]]:
        """Per endpoint, for /health/ready."""
        return endpoint_report(self.endpoints)
