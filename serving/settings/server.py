"""The `server:`, `images:`, `cache:` and `consultation:` sections."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class ServerConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    max_request_bytes: int = Field(4 * 1024 * 1024, ge=1024)
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    graceful_shutdown_seconds: float = Field(30.0, ge=0, description="how long running streams may finish")
    workers: int = Field(1, ge=1, le=64, description="worker processes; >1 uses Prometheus multiprocess mode")
    probe_interval_seconds: float = Field(5.0, gt=0, description="how often readiness probes backends and store")
    request_id_secret: str | None = Field(
        None,
        min_length=16,
        description="keys the request-id pseudonyms sent to redact/block backends (HMAC); default: per process",
    )
    screening_timeout_seconds: float = Field(
        10.0, gt=0, le=120, description="the longest a request waits to be screened for identifiers (then 503)"
    )
    api_docs: bool = Field(False, description="serve /docs and /openapi.json (they list every route, admin too)")
    metrics_token: str | None = Field(
        None, min_length=16, description="if set, /metrics needs `Authorization: Bearer <token>`"
    )
    metrics_port: int | None = Field(
        None, ge=1, le=65535, description="if set, /metrics is served on this port only, not beside the API"
    )


class ImagesConfig(BaseModel):
    """Images in requests (serving/images.py): inline data: URLs within limits; remote URLs only
    from allowed hosts (vLLM fetches what it is given: an SSRF hole otherwise)."""

    model_config = ConfigDict(extra="forbid")
    max_image_bytes: int = Field(5 * 1024 * 1024, ge=1024, description="one decoded data: image")
    max_images_per_request: int = Field(4, ge=0, le=64, description="keep <= vLLM's --limit-mm-per-prompt")
    max_request_image_bytes: int = Field(
        8 * 1024 * 1024,
        ge=1024,
        description="all decoded data: images of one request (server.max_request_bytes bounds it too)",
    )
    allowed_url_hosts: list[str] = Field(
        default_factory=list,
        description="hosts whose http(s) image URLs may be passed on (`*.example.org` for a domain); "
        "empty: inline images only",
    )
    tokens_per_image: int = Field(
        256, ge=0, description="charged up front per image (MedGemma/Gemma 3 encode an image as 256 tokens)"
    )


class CacheConfig(BaseModel):
    """The response cache (serving/cache.py), in the store. Opt-in per key and per request."""

    model_config = ConfigDict(extra="forbid")
    enabled: bool = True
    ttl_seconds: int = Field(3600, ge=1, description="how long an answer is kept")
    max_entry_bytes: int = Field(1024 * 1024, ge=1024, description="larger answers are not kept")


class ConsultationConfig(BaseModel):
    """The consultation pipeline: which model alias serves each stage, and the provider directory."""

    model_config = ConfigDict(extra="forbid")
    stages: dict[str, str] = Field(
        default_factory=lambda: {"intake": "gpt-5", "icd": "medgemma", "cpt": "medgemma", "summary": "gpt-5"}
    )
    providers_file: Path = Path("providers.json")  # relative to the config file's folder

    @model_validator(mode="after")
    def _every_stage(self) -> ConsultationConfig:
        wanted = {"intake", "icd", "cpt", "summary"}
        if set(self.stages) != wanted:
            raise ValueError(f"consultation.stages: name exactly the stages {sorted(wanted)}")
        return self
