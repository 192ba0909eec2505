"""The collaborators one app instance owns, built once by the app factory."""

from __future__ import annotations

from dataclasses import dataclass

from serving.auth import Principal, StaticKeyAuthenticator
from serving.backends.registry import BackendRegistry
from serving.errors import ModelNotFound
from serving.metrics import Metrics
from serving.proxy import ProxyService
from serving.settings import ServingConfig


@dataclass(slots=True)
class Services:
    config: ServingConfig
    registry: BackendRegistry
    proxy: ProxyService
    authenticator: StaticKeyAuthenticator
    metrics: Metrics

    @classmethod
    def build(cls, config: ServingConfig, metrics: Metrics | None = None) -> Services:
        metrics = metrics or Metrics()
        registry = BackendRegistry(config)
        return cls(
            config=config,
            registry=registry,
            proxy=ProxyService(registry=registry, metrics=metrics),
            authenticator=StaticKeyAuthenticator(config.keys),
            metrics=metrics,
        )

    def resolve_alias(self, principal: Principal, model: str) -> str:
        """The alias a caller asked for; unknown and forbidden look the same (no leak)."""
        if model not in self.registry.aliases or not principal.may_use(model):
            raise ModelNotFound(model)
        return model

    def visible_aliases(self, principal: Principal) -> list[str]:
        return [alias for alias in self.registry.aliases if principal.may_use(alias)]
