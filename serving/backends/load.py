"""Each vLLM endpoint's own load, scraped in the background from its /metrics: requests
running and waiting, and KV-cache use (vLLM renamed gpu_cache_usage_perc to
kv_cache_usage_perc; both are read). Only a hint for the balancer: what other façade
instances have sent there; our own requests in flight are counted exactly."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from serving.backends.endpoint import Endpoint
from serving.background import Periodic

log = logging.getLogger(__name__)

_RUNNING = "vllm:num_requests_running"
_WAITING = "vllm:num_requests_waiting"
_KV_CACHE = ("vllm:kv_cache_usage_perc", "vllm:gpu_cache_usage_perc")


def parse_engine_load(text: str) -> tuple[float, float, float] | None:
    """(running, waiting, kv_cache) summed over the engine's labels; None if it has none."""
    running = waiting = kv_cache = 0.0
    seen = False
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == _RUNNING:
                running += sample.value
                seen = True
            elif sample.name == _WAITING:
                waiting += sample.value
                seen = True
            elif sample.name in _KV_CACHE:
                kv_cache = max(kv_cache, sample.value)
    return (running, waiting, kv_cache) if seen else None


class LoadScraper:
    def __init__(
        self,
        endpoints: Callable[[], list[Endpoint]],
        session: Callable[[], aiohttp.ClientSession],
        *,
        interval: float,
        headers: dict[str, str],
    ) -> None:
        self._endpoints = endpoints
        self._session = session
        self._interval = interval
        self._headers = headers
        self._every = Periodic(self.scrape_all, interval=interval, name="engine-load")

    def start(self) -> None:
        self._every.start()

    async def stop(self) -> None:
        await self._every.stop()

    async def scrape_all(self) -> None:
        await asyncio.gather(*(self.scrape(endpoint) for endpoint in self._endpoints()), return_exceptions=True)

    async def scrape(self, endpoint: Endpoint) -> None:
        timeout = aiohttp.ClientTimeout(total=min(2.0, self._interval))
        try:
            async with self._session().get(
                endpoint.root_url + "/metrics", headers=self._headers, timeout=timeout
            ) as response:
                if response.status != 200:
                    return
                text = await response.text()
        except (aiohttp.ClientError, TimeoutError, UnicodeDecodeError):
            return  # the breaker hears about an endpoint that is down from real requests
        try:
            load = parse_engine_load(text)
        except (ValueError, UnicodeDecodeError):  # not Prometheus text (a proxy's error page)
            return
        if load is not None:
            endpoint.scraped(*load, time.monotonic())
