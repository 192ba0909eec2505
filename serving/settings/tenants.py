"""A tenant (a clinic) declared once: `TenantSettings` is what the config file's `tenants:`
entries, the admin API's bodies, the CLI's flags and the store's record are derived from, as
KeySettings is for keys. Its keys may narrow its grants, never widen them; its budgets hold for
all its keys together."""

from __future__ import annotations

from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, ConfigDict, Field

from serving.settings.keys import GRANT, BackendNames, Budgets, check_models, check_tenant_id, is_grant


def check_time_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"time_zone: {name!r} is not an IANA time zone (e.g. UTC, America/Chicago)") from None
    return name


class TenantSettings(Budgets):
    """What a tenant's keys may do at most, and its budgets. Every field has a default: an update
    names only what changes."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field("", max_length=200, description="the clinic's name, as the console shows it")
    models: Annotated[list[str], AfterValidator(check_models)] = Field(
        default_factory=lambda: ["*"], description="model aliases its keys may use, or * for all"
    )
    allow_phi: BackendNames = Field(
        default_factory=list, description="backends its keys may send identifiers to", json_schema_extra=GRANT
    )
    allow_images: BackendNames = Field(
        default_factory=list, description="backends its keys may send images to", json_schema_extra=GRANT
    )
    allow_store: BackendNames = Field(
        default_factory=list, description="backends that may keep its keys' responses", json_schema_extra=GRANT
    )
    response_cache: bool = Field(
        False, description="its keys' deterministic requests may be answered from the cache", json_schema_extra=GRANT
    )
    time_zone: Annotated[str, AfterValidator(check_time_zone)] = Field(
        "UTC", description="where its budgets' days and months begin"
    )
    disabled: bool = Field(False, description="a disabled tenant's keys are refused")


class StaticTenant(TenantSettings):
    """A tenant of the config file's `tenants:` section."""

    id: Annotated[str, AfterValidator(check_tenant_id)]


TENANT_GRANT_FIELDS: tuple[str, ...] = tuple(
    name for name, info in TenantSettings.model_fields.items() if is_grant(info)
)
"""The grants a tenant's keys are narrowed to, in this order, after the key's in admit.lua's reply."""


class WidensTenant(ValueError):
    """A key asked for more than its tenant allows."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


_GRANTS = ("models", *TENANT_GRANT_FIELDS)


def key_settings_under(tenant: TenantSettings, given: dict[str, Any]) -> dict[str, Any]:
    """A new key's settings under `tenant`: what the key names, within the tenant's grants, and the
    tenant's grants where it names none. Raises WidensTenant for a key that asks for more."""
    settings = dict(given)
    for field in _GRANTS:
        theirs = getattr(tenant, field)
        if field not in given:
            settings[field] = theirs
            continue
        mine = given[field]
        if field == "models":
            if theirs != ["*"] and (mine == ["*"] or set(mine) - set(theirs)):
                raise WidensTenant(field, f"models: the tenant allows only {theirs}")
        elif isinstance(theirs, bool):
            if mine and not theirs:
                raise WidensTenant(field, f"{field}: the tenant does not allow it")
        elif set(mine) - set(theirs):
            raise WidensTenant(field, f"{field}: the tenant allows only {theirs}")
    return settings
