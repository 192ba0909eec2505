"""The `store:` and `audit:` sections: where keys, limits and usage are kept, and the audit trail."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from serving.settings.store_address import StoreAddress, parse_store_url


class StoreConfig(BaseModel):
    """Keys, limits and usage live in Redis; without redis_url, in-process (single instance only)."""

    model_config = ConfigDict(extra="forbid")
    redis_url: str | None = Field(
        None,
        description="redis://, rediss:// or unix:// for one server; redis+sentinel://host:26379[,host:port…]/service "
        "for the primary Sentinel names; redis+cluster://host:port[,host:port…] for a Redis Cluster (README: High "
        "availability)",
    )
    failure_policy: Literal["open", "closed"] = "closed"
    max_connections: int = Field(
        64,
        ge=1,
        description="Redis connections per process for key look-ups, usage, audit and the cache (admission and "
        "settlement share one pipelined connection); more concurrent calls wait for one (pool_timeout)",
    )
    pool_timeout: float = Field(1.0, gt=0, description="longest wait for a free Redis connection, seconds")
    default_max_tokens: int = Field(
        1024,
        ge=1,
        le=1_000_000,
        description="charged up front and sent to the backend when a request names no cap; it must fit the "
        "smallest context of the backends (prompt included), and a reasoning model (GPT-5) thinks within it",
    )
    admin_key: str | None = Field(None, min_length=20)
    overlap_admission: bool = Field(
        True,
        description="streams to self-hosted backends (vllm, data policy allow, no concurrency cap) leave before "
        "admission returns; a refusal cancels them before any byte reaches the client",
    )
    allow_unauthenticated_store: bool = Field(
        False, description="accept a redis_url without credentials (a development Redis on this machine)"
    )
    verified_key_seconds: float = Field(
        300.0,
        gt=0,
        description="how long a key the store accepted is remembered: it skips the look-up that refuses unknown "
        "keys before their body is read, and failure_policy open serves only such keys during an outage",
    )

    @property
    def address(self) -> StoreAddress | None:
        """Where the store is (None: in-process), read from redis_url (checked at load)."""
        return parse_store_url(self.redis_url) if self.redis_url else None

    @model_validator(mode="after")
    def _store_needs_credentials(self) -> StoreConfig:
        # Any pod or container that can reach an unauthenticated Redis can read usage, rewrite
        # limits or insert a key record: the façade's own auth would be only as strong as that.
        if self.redis_url:
            address = parse_store_url(self.redis_url)  # a malformed URL fails here, at load
            if not address.authenticated and not self.allow_unauthenticated_store:
                raise ValueError(
                    "store.redis_url has no credentials: use redis://:PASSWORD@host:port/0 (or user:password for "
                    "an ACL user; rediss:// for TLS; the same for redis+sentinel:// and redis+cluster://), or set "
                    "store.allow_unauthenticated_store: true for a development Redis"
                )
        return self


class AuditConfig(BaseModel):
    """The audit trail (serving/audit/): one record per API and admin request, hash-chained."""

    model_config = ConfigDict(extra="forbid")
    enabled: bool = True
    retention_days: float = Field(
        90,
        ge=0,
        description="records older than this leave the store (0 = never); export them first for the "
        "six years HIPAA asks of documentation",
    )
    spool_dir: Path = Field(
        Path(tempfile.gettempdir()) / f"pearcare-audit-spool-{os.getuid()}",
        description="where records wait while the store is down: a persistent volume in production",
    )
    spool_max_bytes: int = Field(
        64 * 1024 * 1024, ge=4096, description="past this, with the store down, API requests are refused (503)"
    )
    batch_size: int = Field(500, ge=1, le=10_000)
    flush_interval_seconds: float = Field(0.2, gt=0, le=10)
    chain_key: str | None = Field(
        None, min_length=16, description="keys the hash chain (HMAC-SHA256); kept out of Redis, needed by verify"
    )
