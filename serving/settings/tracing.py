"""The `tracing:` section: OpenTelemetry spans exported over OTLP (README: Tracing)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class TracingConfig(BaseModel):
    """Off unless an OTLP endpoint is set: a span per request, its steps and each consultation
    stage, following the GenAI semantic conventions; never a prompt, completion or identifier."""

    model_config = ConfigDict(extra="forbid")
    otlp_endpoint: str | None = Field(
        None,
        description="OTLP/HTTP traces endpoint, e.g. http://otel-collector:4318/v1/traces; unset: no tracing",
    )
    sample_ratio: float = Field(
        1.0,
        ge=0,
        le=1,
        description="share of new traces kept (a request carrying a sampled traceparent is always kept)",
    )
    service_name: str = "pearcare-serving"
    headers: dict[str, str] = Field(default_factory=dict, description="sent with each export (a collector's token)")

    @property
    def enabled(self) -> bool:
        return bool(self.otlp_endpoint)
