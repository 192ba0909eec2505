"""create_app(config): the FastAPI app; its lifespan owns the backends' connection pools."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.types import Receive, Scope, Send

from orchestrator.safety import compiled
from orchestrator.safety.screen import default_screen
from serving import openapi
from serving.consultation.chat import ConsultationChatModel
from serving.consultation.service import ALIAS as CONSULTATION_ALIAS
from serving.errors import install_handlers
from serving.gateway.endpoints import ChatModel, GenerationEndpoints
from serving.gateway.entry import RequestEntry
from serving.observability.logs import configure_logging
from serving.observability.metrics import Metrics
from serving.observability.tracing import Tracing
from serving.privacy.policy import shared_detector
from serving.routes import admin, consultations, health, models, tenants, usage
from serving.services import Services
from serving.settings import ServingConfig, Settings

log = logging.getLogger(__name__)


class ServingApp(FastAPI):
    """FastAPI with the gateway's entry in front (serving/gateway/entry.py): every HTTP request
    passes it; the generation endpoints are served there, the other routes by FastAPI."""

    entry: RequestEntry | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.entry is None or scope["type"] != "http":
            await super().__call__(scope, receive, send)
        else:
            await self.entry(scope, receive, send)

    async def fastapi_app(self, scope: Scope, receive: Receive, send: Send) -> None:
        await super().__call__(scope, receive, send)


def create_app(config: ServingConfig, *, metrics: Metrics | None = None, tracing: Tracing | None = None) -> FastAPI:
    """`tracing`: the spans' destination, where not tracing.otlp_endpoint (the tests' in-memory one)."""
    services = Services.build(config, metrics, tracing)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await services.registry.start()
        services.readiness.start()
        await services.static_keys.start()  # reconciles now, or retries in the background while the store is down
        if services.audit is not None:
            services.audit.start()
        if services.consultations is not None:
            # The red-flag rules' tables (wordfreq's among them, ~0.4 s) and the learned reading
            # (trained on the case sets, ~4 s): made before serving, not by the first
            # consultation on the event loop.
            await asyncio.to_thread(lambda: default_screen().assess("warm-up"))
        if services.screens_requests:
            # Presidio's import and the name lists take ~2 s, before serving: done while
            # requests stream, the import would hold the GIL and stall the event loop.
            await asyncio.to_thread(shared_detector)
        log.info(
            "serving",
            extra={
                "models": list(services.registry.aliases),
                "backends": list(services.registry.backends),
                "red_flag_rules": compiled.active(),  # compiled (make compiled) or python
            },
        )
        # Long-lived start-up objects leave the GC's generations: fewer, shorter full
        # collections under load (a known source of tail latency in Python gateways).
        gc.collect()
        gc.freeze()
        if services.consultations is not None:
            services.consultations.connect(app)
        try:
            yield
        finally:
            if services.consultations is not None:
                await services.consultations.close()
            await services.readiness.stop()
            await services.static_keys.stop()
            await services.settlements.drain()
            if services.audit is not None:
                await services.audit.stop()  # after every request has ended: their records are queued
            await services.registry.close()
            services.guard.close()
            if services.scripts is not services.redis:
                await services.scripts.aclose()
            await services.redis.aclose()
            await asyncio.to_thread(services.tracing.shutdown)  # exports what is left; the loop runs on
            services.metrics.process_exited(os.getpid())

    docs = config.server.api_docs  # off by default: the schema lists every route, admin included
    app = ServingApp(
        title="Pear Care serving",
        version="0.1.0",
        lifespan=lifespan,
        docs_url="/docs" if docs else None,
        redoc_url=None,
        openapi_url="/openapi.json" if docs else None,
    )
    app.state.services = services
    install_handlers(app)
    openapi.install(app)
    for router in (
        models.router,
        consultations.router,
        usage.router,
        admin.router,
        tenants.router,
        health.router,
    ):
        app.include_router(router)
    chat_models: dict[str, ChatModel] = {}
    if services.consultations is not None:
        chat_models[CONSULTATION_ALIAS] = ConsultationChatModel(services.consultations, services.admission)
    generation = GenerationEndpoints(
        pipeline=services.generation,
        admission=services.admission,
        metrics=services.metrics,
        max_request_bytes=config.server.max_request_bytes,
        chat_models=chat_models,
    )
    app.entry = RequestEntry(
        app.fastapi_app,
        generation=generation,
        metrics=services.metrics,
        settlements=services.settlements,
        audit=services.audit,
        tracing=services.tracing if services.tracing.enabled else None,
    )
    return app


def app_from_environment() -> FastAPI:
    """The app for each of several uvicorn workers (python -m serving with workers > 1)."""
    settings = Settings()
    config = settings.load()
    configure_logging(config.server.log_level, settings.log_format)
    return create_app(config, metrics=Metrics(multiprocess=settings.metrics_multiprocess_dir is not None))
