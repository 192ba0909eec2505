"""The collaborators one app instance owns, built once by the app factory."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from serving.backends.registry import BackendRegistry
from serving.context import RequestContext
from serving.errors import ModelNotFound
from serving.keys import KeyRecord, KeyStore, hash_key
from serving.metrics import Metrics
from serving.protocol import ChatCompletionRequest, CompletionRequest, EmbeddingRequest
from serving.proxy import ProxyService
from serving.ratelimit import AccessControl, Grant
from serving.settings import ServingConfig, StoreConfig

if TYPE_CHECKING:
    from serving.consultations import ConsultationService

log = logging.getLogger(__name__)

CONSULTATION_ALIAS = "consultation"


def connect_store(store: StoreConfig) -> Redis:
    if store.redis_url:
        # A blocking pool: a burst of more concurrent requests than connections waits a moment
        # for one (each command holds it ~0.1 ms) instead of failing; redis-py's default pool
        # raises MaxConnectionsError past 100. One immediate retry on a dropped connection:
        # after a Redis restart the pool's old sockets are dead, and the first command on each
        # would otherwise fail a request.
        pool = BlockingConnectionPool.from_url(
            store.redis_url,
            max_connections=store.max_connections,
            timeout=store.pool_timeout,
            socket_timeout=1.0,
            socket_connect_timeout=1.0,
            retry=Retry(NoBackoff(), 1),
            retry_on_error=[RedisConnectionError],
        )
        return Redis.from_pool(pool)  # closing the client closes the pool
    import fakeredis  # the same Lua scripts, run in-process

    log.warning("no store.redis_url: keys, limits and usage are in-process (one instance only, lost on restart)")
    return fakeredis.FakeAsyncRedis()


class StaticKeys:
    """Keys from the config file, kept as ordinary records (id static-NAME)."""

    def __init__(self, config: ServingConfig, keys: KeyStore) -> None:
        self._keys = keys
        self._by_hash = {
            hash_key(key.key): (
                KeyRecord(
                    id=f"static-{key.name}",
                    name=key.name,
                    models=key.models,
                    rpm=key.rpm,
                    tpm=key.tpm,
                    daily_tokens=key.daily_tokens,
                ),
                key.key,
            )
            for key in config.keys
        }

    async def install(self) -> None:
        for record, secret in self._by_hash.values():
            await self._keys.create(record, secret=secret)

    async def reinstall(self, key_hash: str) -> bool:
        entry = self._by_hash.get(key_hash)
        if entry is None:
            return False
        await self._keys.create(entry[0], secret=entry[1])
        return True


def build_consultations(config: ServingConfig, metrics: Metrics) -> ConsultationService | None:
    """The consultation graph, its code set (~2 s, ~200 MB) and directory, loaded and validated at
    start; None when the config has no consultation section."""
    if config.consultation is None:
        return None
    from orchestrator.codes import IcdCodeSet
    from orchestrator.directory import ProviderDirectory
    from orchestrator.graph import build_graph
    from serving.consultations import ConsultationService

    graph = build_graph(code_set=IcdCodeSet(), directory=ProviderDirectory.load(config.consultation.providers_file))
    return ConsultationService(graph=graph, config=config.consultation, metrics=metrics)


GenerationRequest = ChatCompletionRequest | CompletionRequest | EmbeddingRequest


def token_allowance(parsed: GenerationRequest, default: int) -> int:
    if isinstance(parsed, EmbeddingRequest):
        return 0
    most = getattr(parsed, "max_completion_tokens", None) or parsed.max_tokens or default
    return most * (parsed.n or 1)


@dataclass(slots=True)
class Services:
    config: ServingConfig
    registry: BackendRegistry
    proxy: ProxyService
    redis: Redis
    keys: KeyStore
    access: AccessControl
    metrics: Metrics
    static_keys: StaticKeys
    consultations: ConsultationService | None = None

    @classmethod
    def build(cls, config: ServingConfig, metrics: Metrics | None = None) -> Services:
        metrics = metrics or Metrics()
        registry = BackendRegistry(config)
        redis = connect_store(config.store)
        keys = KeyStore(redis)
        static = StaticKeys(config, keys)
        return cls(
            config=config,
            registry=registry,
            proxy=ProxyService(registry=registry, metrics=metrics),
            redis=redis,
            keys=keys,
            access=AccessControl(
                redis, metrics=metrics, failure_policy=config.store.failure_policy, reinstall=static.reinstall
            ),
            metrics=metrics,
            static_keys=static,
            consultations=build_consultations(config, metrics),
        )

    async def readiness(self) -> tuple[bool, dict[str, Any]]:
        """Backends probed, and the store pinged. A down store makes us unready only when it
        would fail requests (failure_policy closed)."""
        ready, report = await self.registry.readiness()
        kind = "redis" if self.config.store.redis_url else "in-process"
        try:
            async with asyncio.timeout(1.0):
                await self.redis.ping()
            store_up, error = True, None
        except (RedisError, TimeoutError) as exc:
            store_up, error = False, type(exc).__name__
        report["store"] = {
            "kind": kind,
            "state": "up" if store_up else "down",
            "error": error,
            "failure_policy": self.config.store.failure_policy,
        }
        if not store_up and self.config.store.failure_policy == "closed":
            ready = False
            report["status"] = "unavailable"
        return ready, report

    async def admit(self, key_hash: str, request: GenerationRequest, *, body_bytes: int, ctx: RequestContext) -> str:
        """Auth and limits for one generation request, in one store round trip; fills in ctx
        and returns the model alias to serve.

        Tokens are charged up front by an estimate and settled when the response ends. An
        unknown model charges nothing, but a bad key still gets its 401 first."""
        ctx.prompt_estimate = body_bytes // 4  # ~4 bytes a token
        estimate = ctx.prompt_estimate + token_allowance(request, self.config.store.default_max_tokens)
        known = request.model in self.registry.aliases
        grant = await self.access.admit(key_hash, request.model, estimate, charge=known)
        ctx.key_name = grant.name
        grant.raise_if_refused()  # a 429 carries the limit headers itself
        ctx.response_headers.update(grant.headers)
        alias = ctx.alias = self.resolve_alias(grant, request.model)
        ctx.grant = grant
        return alias

    def resolve_alias(self, grant: Grant, model: str) -> str:
        """The alias a caller asked for; unknown and forbidden look the same (no leak)."""
        if model not in self.registry.aliases or not grant.may_use(model):
            raise ModelNotFound(model)
        return model

    def visible_aliases(self, grant: Grant) -> list[str]:
        aliases = [alias for alias in self.registry.aliases if grant.may_use(alias)]
        if self.consultations is not None and grant.may_use(CONSULTATION_ALIAS):
            aliases.append(CONSULTATION_ALIAS)
        return aliases
