"""The collaborators one app instance owns, wired once by the app factory. Each is built from
the config here and nowhere else; routes reach them through serving/deps.py."""

from __future__ import annotations

from dataclasses import dataclass

from serving.access.admission import Admission
from serving.access.keys import KeyStore
from serving.access.prices import PriceList
from serving.access.settlement import Settlements
from serving.access.spend import SpendReport
from serving.access.static_keys import StaticKeys
from serving.access.tenants import TenantStore
from serving.access.usage import UsageReader
from serving.access.verified import VerifiedKeys
from serving.audit.trail import AuditTrail
from serving.audit.writer import AuditWriter
from serving.backends.proxy import Proxy
from serving.backends.registry import BackendRegistry
from serving.cache import ResponseCache
from serving.catalog import ModelCatalog
from serving.consultation.service import ALIAS as CONSULTATION_ALIAS
from serving.consultation.service import ConsultationService
from serving.gateway.pipeline import GenerationPipeline
from serving.images import ImageGuard
from serving.observability.metrics import Metrics
from serving.observability.tracing import Tracing
from serving.privacy.policy import DataGuard, shared_detector
from serving.readiness import Readiness
from serving.settings import ServingConfig
from serving.store.clients import connect_script_runner, connect_store
from serving.store.connection import CommandRunner, Store


@dataclass(slots=True)
class Services:
    config: ServingConfig
    registry: BackendRegistry
    redis: Store
    scripts: CommandRunner  # admission's and settlement's: the pipelined connection, or `redis` without one
    keys: KeyStore
    static_keys: StaticKeys
    admission: Admission
    settlements: Settlements
    usage: UsageReader
    tenants: TenantStore
    spend: SpendReport
    catalog: ModelCatalog
    generation: GenerationPipeline
    readiness: Readiness
    metrics: Metrics
    audit_trail: AuditTrail
    guard: DataGuard
    tracing: Tracing
    audit: AuditWriter | None = None  # None: audit.enabled is false
    consultations: ConsultationService | None = None

    @classmethod
    def build(cls, config: ServingConfig, metrics: Metrics | None = None, tracing: Tracing | None = None) -> Services:
        metrics = metrics or Metrics()
        tracing = tracing or Tracing(config.tracing)
        spans = tracing if tracing.enabled else None  # None: the request path skips every tracing call
        registry = BackendRegistry(config)
        redis = connect_store(config.store)
        scripts = connect_script_runner(config.store, redis)
        keys = KeyStore(redis)
        tenants = TenantStore(redis)
        usage = UsageReader(redis, keys)
        static_keys = StaticKeys(keys, config.keys, tenants, config.tenants)
        prices = PriceList(config.backends, config.models)
        settlements = Settlements(scripts, metrics=metrics, prices=prices)
        admission = Admission(
            scripts,
            metrics=metrics,
            failure_policy=config.store.failure_policy,
            verified=VerifiedKeys(ttl_seconds=config.store.verified_key_seconds),
            reinstall=static_keys.reinstall,
            on_store_recovered=settlements.store_recovered,
        )
        consultations = ConsultationService.from_config(config.consultation, metrics, spans)
        secret = config.server.request_id_secret
        guard = DataGuard(
            detector=shared_detector,
            metrics=metrics,
            timeout_seconds=config.server.screening_timeout_seconds,
            pseudonym_key=secret.encode() if secret else None,
        )
        catalog = ModelCatalog(
            registry.aliases, consultation_alias=CONSULTATION_ALIAS if consultations is not None else None
        )
        return cls(
            config=config,
            registry=registry,
            redis=redis,
            scripts=scripts,
            keys=keys,
            static_keys=static_keys,
            admission=admission,
            settlements=settlements,
            usage=usage,
            tenants=tenants,
            spend=SpendReport(usage, keys),
            catalog=catalog,
            generation=GenerationPipeline(
                admission=admission,
                proxy=Proxy(registry=registry, metrics=metrics, guard=guard, tracing=spans),
                catalog=catalog,
                default_max_tokens=config.store.default_max_tokens,
                images=ImageGuard(config.images),
                cache=ResponseCache(redis, config.cache, metrics),
                overlap_admission=config.store.overlap_admission,
                tracing=spans,
                prices=prices,
            ),
            readiness=Readiness(
                registry=registry,
                redis=redis,
                store=config.store,
                interval_seconds=config.server.probe_interval_seconds,
                metrics=metrics,
            ),
            metrics=metrics,
            audit_trail=AuditTrail(redis, key=config.audit.chain_key),
            guard=guard,
            tracing=tracing,
            audit=AuditWriter(AuditTrail(redis, key=config.audit.chain_key), config.audit, metrics)
            if config.audit.enabled
            else None,
            consultations=consultations,
        )

    @property
    def screens_requests(self) -> bool:
        """Whether any backend's data policy needs the PHI detector."""
        return any(backend.policy != "allow" for backend in self.config.backends.values())
