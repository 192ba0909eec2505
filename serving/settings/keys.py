"""A key's settings, declared once (#27): `KeySettings` is the one declaration the config file's
`keys:` entries (StaticKey), the admin API's bodies, the CLI's flags, the store's record
(access/keys.py), admit.lua's reply and the grant each admitted request carries are derived from.
A new setting is one field here; one a request carries is also marked `GRANT` and gets its
request-time form in `KeyGrants` (serving/access/limits.py; a test keeps the two in step)."""

from __future__ import annotations

import re
from typing import Annotated, Literal, get_args, get_origin

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic.config import JsonDict
from pydantic.fields import FieldInfo

PRIORITIES = ("interactive", "consultation", "batch")  # a backend's queue serves them in this order
Priority = Literal["interactive", "consultation", "batch"]
GRANT: JsonDict = {"grant": True}  # json_schema_extra of a setting every admitted request carries


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


def check_backend_names(names: list[str]) -> list[str]:
    """A list of backend names: none empty, none with a comma (the store keeps the list comma-joined)."""
    for name in names:
        if not name or name != name.strip() or "," in name:
            raise ValueError(f"{name!r} is not a backend name")
    return names


BackendNames = Annotated[list[str], AfterValidator(check_backend_names)]

TENANT_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


def check_tenant_id(tenant_id: str) -> str:
    if not TENANT_ID.match(tenant_id):
        raise ValueError(f"{tenant_id!r} is not a tenant id: lower-case letters, digits, - and _, at most 63")
    return tenant_id


def check_tenant_of_key(tenant_id: str) -> str:
    return tenant_id and check_tenant_id(tenant_id)


class Budgets(BaseModel):
    """Dollar budgets per day and per calendar month (UTC, or the tenant's time zone); 0 = none.
    What a request may cost comes from the backends' prices (serving/settings/pricing.py)."""

    daily_budget_usd: float = Field(0, ge=0, description="USD per day, 0 = none")
    monthly_budget_usd: float = Field(0, ge=0, description="USD per calendar month, 0 = none")


class KeySettings(Budgets):
    """What a key may do and how much. Every field has a default: an update names only what changes."""

    model_config = ConfigDict(extra="forbid")
    tenant: Annotated[str, AfterValidator(check_tenant_of_key)] = Field(
        "", description="the tenant (clinic) the key belongs to: its grants narrow the key's, its budgets hold too"
    )
    models: Annotated[list[str], AfterValidator(check_models)] = Field(
        default_factory=lambda: ["*"], description="model aliases the key may use, or * for all"
    )
    rpm: int = Field(0, ge=0, description="requests per minute, 0 = unlimited")
    tpm: int = Field(0, ge=0, description="tokens per minute, 0 = unlimited")
    daily_tokens: int = Field(0, ge=0, description="daily token budget, 0 = none")
    max_in_flight: int = Field(0, ge=0, description="requests at once, 0 = unlimited")
    allow_phi: BackendNames = Field(
        default_factory=list,
        description="backends this key may send patient identifiers to unredacted (the tenant's own BAA covers them)",
        json_schema_extra=GRANT,
    )
    allow_images: BackendNames = Field(
        default_factory=list, description="backends this key may send images to", json_schema_extra=GRANT
    )
    priority: Priority = Field(
        "interactive",
        description="its requests' place in a backend's queue when replicas are at capacity",
        json_schema_extra=GRANT,
    )
    allow_store: BackendNames = Field(
        default_factory=list,
        description="backends that may keep this key's responses (Responses API `store`, previous_response_id, "
        "background); elsewhere `store: false` is forced",
        json_schema_extra=GRANT,
    )
    response_cache: bool = Field(
        False, description="deterministic requests may be answered from the response cache", json_schema_extra=GRANT
    )


def is_grant(info: FieldInfo) -> bool:
    return isinstance(info.json_schema_extra, dict) and info.json_schema_extra.get("grant") is True


GRANT_FIELDS: tuple[str, ...] = tuple(name for name, info in KeySettings.model_fields.items() if is_grant(info))
"""The settings admit.lua returns, in this order, after its own reply (store/admit.lua)."""

BACKEND_LISTS: tuple[str, ...] = tuple(
    name for name, info in KeySettings.model_fields.items() if info.annotation == list[str] and name != "models"
)
"""The settings that name backends: each must name configured ones (the admin API checks)."""


def kind_of(info: FieldInfo) -> Literal["list", "flag", "count", "amount", "choice", "text"]:
    """How a setting is written in the store and on the command line."""
    annotation = info.annotation
    if get_origin(annotation) is list:
        return "list"
    if annotation is bool:
        return "flag"
    if annotation is int:
        return "count"
    if annotation is float:
        return "amount"
    if get_origin(annotation) is Literal:
        return "choice"
    return "text"


def choices_of(info: FieldInfo) -> tuple[str, ...]:
    return tuple(get_args(info.annotation))


class StaticKey(KeySettings):
    """A key of the config file's `keys:` section: its secret, its name and its settings."""

    key: str = Field(min_length=20)
    name: str = "static"
