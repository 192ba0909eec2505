"""The façade and the backend simulator in the test's own event loop: the app through httpx's
ASGI transport (lifespan run, no socket), the simulator as a real HTTP server on a free port.
Fast, and coverage sees every line."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from aiohttp import web
from fastapi import FastAPI

from loadtests.simulator import Behaviour, Simulator
from serving.app import create_app
from serving.observability.metrics import Metrics
from serving.settings import ServingConfig
from tests.support.stack import TEST_KEY, facade_config, vllm_backend

AUTH = {"authorization": f"Bearer {TEST_KEY}"}
QUICK = Behaviour(ttft_ms=1, itl_ms=1, tokens=4)
HELLO = [{"role": "user", "content": "hello"}]


@dataclass
class RunningSimulator:
    simulator: Simulator
    base_url: str

    @property
    def requests(self) -> int:
        return self.simulator.requests


@asynccontextmanager
async def simulator_server(
    behaviour: Behaviour = QUICK, model: str = "sim-model", port: int = 0
) -> AsyncIterator[RunningSimulator]:
    simulator = Simulator(behaviour, model)
    runner = web.AppRunner(simulator.app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port, reuse_address=True)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield RunningSimulator(simulator, f"http://127.0.0.1:{port}/v1")
    finally:
        await runner.cleanup()


@dataclass
class RunningApp:
    app: FastAPI
    client: httpx.AsyncClient
    metrics: Metrics

    def metric(self, name: str, **labels: str) -> float:
        value = self.metrics.registry.get_sample_value(name, labels)
        return 0.0 if value is None else value


@asynccontextmanager
async def running_app(config: dict[str, Any] | ServingConfig) -> AsyncIterator[RunningApp]:
    """create_app with its lifespan, and a client that calls it in-process."""
    parsed = config if isinstance(config, ServingConfig) else ServingConfig.model_validate(config)
    metrics = Metrics()
    app = create_app(parsed, metrics=metrics)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://facade.test", timeout=30) as client:
            yield RunningApp(app, client, metrics)


@asynccontextmanager
async def facade_with_simulator(
    behaviour: Behaviour = QUICK, *, extra_keys: tuple[dict[str, Any], ...] = (), **backend: Any
) -> AsyncIterator[tuple[RunningApp, RunningSimulator]]:
    """The façade in-process with one backend, the simulator, serving alias `medgemma`."""
    async with simulator_server(behaviour) as sim:
        config = facade_config({"sim": vllm_backend(sim.base_url, "m", **backend)}, {"medgemma": ["sim"]})
        config["keys"].extend(extra_keys)
        async with running_app(config) as app:
            yield app, sim


def access_log_lines(caplog: Any) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name == "serving.access_log"]
