"""The collaborators one app instance owns, built once by the app factory."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from redis.asyncio import Redis

from serving.backends.registry import BackendRegistry
from serving.errors import ModelNotFound
from serving.keys import KeyRecord, KeyStore
from serving.metrics import Metrics
from serving.proxy import ProxyService
from serving.ratelimit import AccessControl, Grant
from serving.settings import ServingConfig

log = logging.getLogger(__name__)


def connect_store(config: ServingConfig) -> Redis:
    if config.store.redis_url:
        return Redis.from_url(config.store.redis_url, socket_timeout=1.0, socket_connect_timeout=1.0)
    import fakeredis  # the same Lua scripts, run in-process

    log.warning("no store.redis_url: keys, limits and usage are in-process (one instance only, lost on restart)")
    return fakeredis.FakeAsyncRedis()


@dataclass(slots=True)
class Services:
    config: ServingConfig
    registry: BackendRegistry
    proxy: ProxyService
    redis: Redis
    keys: KeyStore
    access: AccessControl
    metrics: Metrics

    @classmethod
    def build(cls, config: ServingConfig, metrics: Metrics | None = None) -> Services:
        metrics = metrics or Metrics()
        registry = BackendRegistry(config)
        redis = connect_store(config)
        return cls(
            config=config,
            registry=registry,
            proxy=ProxyService(registry=registry, metrics=metrics),
            redis=redis,
            keys=KeyStore(redis),
            access=AccessControl(redis, failure_policy=config.store.failure_policy),
            metrics=metrics,
        )

    async def install_static_keys(self) -> None:
        """Keys from the config file become ordinary records (id static-NAME)."""
        for key in self.config.keys:
            record = KeyRecord(id=f"static-{key.name}", name=key.name, models=key.models, rpm=key.rpm,
                               tpm=key.tpm, daily_tokens=key.daily_tokens)  # fmt: skip
            await self.keys.create(record, secret=key.key)

    def resolve_alias(self, grant: Grant, model: str) -> str:
        """The alias a caller asked for; unknown and forbidden look the same (no leak)."""
        if model not in self.registry.aliases or not grant.may_use(model):
            raise ModelNotFound(model)
        return model

    def visible_aliases(self, grant: Grant) -> list[str]:
        return [alias for alias in self.registry.aliases if grant.may_use(alias)]
