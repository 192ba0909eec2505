"""What a backend's tokens cost (`pricing:` in a backend's section), for budgets and spend reports.

Either the provider's published prices per million input, cached input and output tokens
(reasoning tokens are output: OpenAI bills them so), or, for a self-hosted GPU, what a replica
costs per hour and the tokens per second it sustains at full batch, turned into the same
per-token prices: hourly cost / 3600 / tokens per second."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

NANOS_PER_DOLLAR = 1_000_000_000


class Pricing(BaseModel):
    model_config = ConfigDict(extra="forbid")
    input_per_million: float | None = Field(None, ge=0, description="USD per million input tokens")
    cached_input_per_million: float | None = Field(
        None, ge=0, description="USD per million cached input tokens (default: the input price)"
    )
    output_per_million: float | None = Field(None, ge=0, description="USD per million output tokens")
    gpu_hour: float | None = Field(None, ge=0, description="USD per hour of one self-hosted replica")
    input_tokens_per_second: float | None = Field(None, gt=0, description="a replica's prefill at full batch")
    output_tokens_per_second: float | None = Field(None, gt=0, description="a replica's decode at full batch")

    @model_validator(mode="after")
    def _one_way(self) -> Pricing:
        published = self.input_per_million is not None or self.output_per_million is not None
        hourly = self.gpu_hour is not None
        if published == hourly:
            raise ValueError(
                "pricing: give either input_per_million and output_per_million (a provider's prices) or "
                "gpu_hour with input_tokens_per_second and output_tokens_per_second (a self-hosted GPU)"
            )
        if published and (self.input_per_million is None or self.output_per_million is None):
            raise ValueError("pricing: input_per_million and output_per_million go together")
        if hourly and (self.input_tokens_per_second is None or self.output_tokens_per_second is None):
            raise ValueError("pricing: gpu_hour needs input_tokens_per_second and output_tokens_per_second")
        return self

    def per_token(self) -> tuple[float, float, float]:
        """Nano-dollars per input, cached input and output token."""
        if self.gpu_hour is not None:
            assert self.input_tokens_per_second is not None and self.output_tokens_per_second is not None
            per_second = self.gpu_hour * NANOS_PER_DOLLAR / 3600
            prefill = per_second / self.input_tokens_per_second
            return prefill, prefill, per_second / self.output_tokens_per_second
        assert self.input_per_million is not None and self.output_per_million is not None
        per_million = NANOS_PER_DOLLAR / 1_000_000
        cached = self.input_per_million if self.cached_input_per_million is None else self.cached_input_per_million
        return self.input_per_million * per_million, cached * per_million, self.output_per_million * per_million
