"""The `keys:` section (static keys), and the one check of a model grant the config file, the admin
API, the CLI and the key store share."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


def check_models(models: list[str]) -> list[str]:
    """A key's model grant: one or more aliases, or ["*"] for all. An empty list or an empty
    name is a mistake, never "all models"."""
    if not models:
        raise ValueError("models must name at least one model alias, or * for all")
    for model in models:
        if not model or model != model.strip() or "," in model:
            raise ValueError(f"models: {model!r} is not a model alias")
    if "*" in models and len(models) > 1:
        raise ValueError("models: * (all models) cannot be combined with named aliases")
    return models


class StaticKey(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: str = Field(min_length=20)
    name: str = "static"
    models: list[str] = Field(default_factory=lambda: ["*"])
    rpm: int = Field(0, ge=0, description="requests per minute, 0 = unlimited")
    tpm: int = Field(0, ge=0, description="tokens per minute, 0 = unlimited")
    daily_tokens: int = Field(0, ge=0)
    max_in_flight: int = Field(0, ge=0, description="requests at once, 0 = unlimited")
    allow_phi: list[str] = Field(
        default_factory=list,
        description="backends this key may send patient identifiers to unredacted (the tenant's own BAA covers them)",
    )
    allow_images: list[str] = Field(default_factory=list, description="backends this key may send images to")
    priority: Literal["interactive", "consultation", "batch"] = Field(
        "interactive", description="its requests' place in a backend's queue when replicas are at capacity"
    )
    allow_store: list[str] = Field(
        default_factory=list,
        description="backends that may keep this key's responses (Responses API `store`, previous_response_id, "
        "background); elsewhere `store: false` is forced",
    )
    response_cache: bool = Field(False, description="deterministic requests may be answered from the response cache")

    @field_validator("models")
    @classmethod
    def _models(cls, value: list[str]) -> list[str]:
        return check_models(value)
