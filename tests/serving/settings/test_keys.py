"""The one key spec (serving/settings/keys.py): every surface that names a key's settings is
derived from KeySettings, and every setting travels from the store through admit.lua to the
grant a request carries, on a real redis-server and the embedded store."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from pydantic import ValidationError

from serving.access.admission import Admission
from serving.access.cli import build_parser, settings_given
from serving.access.keys import UPDATABLE, KeyRecord, KeyStore
from serving.access.limits import KeyGrants
from serving.access.tenants import TenantRecord, TenantStore
from serving.observability.metrics import Metrics
from serving.routes.admin import KeyCreate, KeyUpdate
from serving.settings import GRANT_FIELDS, PRIORITIES, KeySettings, StaticKey, kind_of
from serving.store.connection import LuaScript
from tests.support.keys import Connect, make_key

SETTINGS = set(KeySettings.model_fields)

# A value other than the default for every setting, by kind (a new setting needs no test change)
NOT_DEFAULT: dict[str, Any] = {
    "list": ["b1", "b2"],
    "flag": True,
    "count": 7,
    "amount": 2.5,
    "choice": PRIORITIES[-1],
    "text": "clinic-x",  # the tenant: it must exist (every_tenant_grant creates it)
}


def unusual_settings() -> dict[str, Any]:
    values = {name: NOT_DEFAULT[kind_of(info)] for name, info in KeySettings.model_fields.items()}
    values["models"] = ["medgemma", "gpt-5"]
    return values


def test_every_surface_is_the_one_declaration() -> None:
    for surface in (StaticKey, KeyCreate, KeyUpdate, KeyRecord):
        assert issubclass(surface, KeySettings) and set(surface.model_fields) >= SETTINGS, surface
    assert SETTINGS - {"tenant"} <= UPDATABLE  # a key stays in its tenant


def test_the_cli_has_a_flag_per_setting() -> None:
    as_typed = {"list": "b1,b2", "flag": "on", "count": "7", "amount": "2.5", "choice": PRIORITIES[-1]}
    as_typed["text"] = "clinic-x"
    argv = ["create", "--name", "n"]
    for name, info in KeySettings.model_fields.items():
        argv += ["--" + name.replace("_", "-"), as_typed[kind_of(info)]]
    argv[argv.index("--models") + 1] = "medgemma,gpt-5"
    assert settings_given(build_parser().parse_args(argv)) == unusual_settings()


def test_the_grant_mirrors_the_grant_settings_and_admit_lua_reads_them() -> None:
    assert tuple(field.name for field in dataclasses.fields(KeyGrants)) == GRANT_FIELDS
    assert set(GRANT_FIELDS) == {"allow_phi", "allow_images", "priority", "allow_store", "response_cache"}
    raw = LuaScript.named("admit.lua").source
    assert "{{GRANT_FIELDS}}" in raw and not any(f"'{name}'" in raw for name in GRANT_FIELDS)
    filled = LuaScript.named("admit.lua", GRANT_FIELDS=GRANT_FIELDS).source
    grants = ", ".join(f"'{name}'" for name in GRANT_FIELDS)
    assert "'monthly_budget_usd',\n                     " + grants + ")" in filled  # one HMGET


async def every_tenant_grant(redis: Any) -> None:
    """The tenant of unusual_settings(), allowing all the key asks for (it narrows nothing)."""
    grants = {"allow_phi": ["b1", "b2"], "allow_images": ["b1", "b2"], "allow_store": ["b1", "b2"]}
    await TenantStore(redis).create(TenantRecord(id="clinic-x", response_cache=True, **grants))


async def test_every_setting_travels_from_the_store_to_the_grant(connect: Connect) -> None:
    redis = connect()
    await every_tenant_grant(redis)
    key_hash, record = await make_key(redis, **unusual_settings())
    stored = await KeyStore(redis).get(record.id)
    assert stored.model_dump(include=SETTINGS) == unusual_settings()
    grant = await Admission(redis, metrics=Metrics()).admit(key_hash, "medgemma", 1)
    assert grant.refusal is None
    assert grant.grants == KeyGrants(
        allow_phi=frozenset({"b1", "b2"}),
        allow_images=frozenset({"b1", "b2"}),
        priority=len(PRIORITIES) - 1,
        allow_store=frozenset({"b1", "b2"}),
        response_cache=True,
    )
    looked_up = await Admission(redis, metrics=Metrics()).authenticate(key_hash)
    assert looked_up.grants == grant.grants  # the look-up's reply carries them too


async def test_a_key_without_grant_settings_grants_nothing(connect: Connect) -> None:
    redis = connect()
    key_hash, _ = await make_key(redis)
    grant = await Admission(redis, metrics=Metrics()).admit(key_hash, "medgemma", 1)
    assert grant.grants == KeyGrants() and grant.grants.priority == PRIORITIES.index("interactive")


def test_an_update_changes_only_what_it_names() -> None:
    assert KeyUpdate.model_validate({"rpm": 5, "tpm": None}).changes() == {"rpm": 5}
    assert KeyUpdate.model_validate({}).changes() == {}


def test_the_cli_checks_settings_as_the_api_does() -> None:
    args = build_parser().parse_args(["create", "--name", "n", "--rpm", "-1"])
    try:
        settings_given(args)
    except ValueError as exc:
        assert "--rpm" in str(exc) and "greater than or equal to 0" in str(exc)
    else:
        raise AssertionError("a negative limit was accepted")
    args = build_parser().parse_args(["create", "--name", "n", "--priority", "batch", "--response-cache", "on"])
    assert settings_given(args) == {"priority": "batch", "response_cache": True}


def test_a_backend_list_with_an_empty_or_comma_name_is_refused_everywhere() -> None:
    """The store keeps the list comma-joined: "a,b" as one name would read back as two."""
    for bad in ([""], ["a,b"], [" a"]):
        for surface in (KeySettings, KeyCreate):
            with pytest.raises(ValidationError):
                surface.model_validate({"name": "n", "allow_phi": bad} if surface is KeyCreate else {"allow_phi": bad})
    with pytest.raises(ValueError, match="--allow-store"):
        settings_given(build_parser().parse_args(["update", "key_x", "--allow-store", "b1,,b2"]))
    assert settings_given(build_parser().parse_args(["update", "key_x", "--allow-images", ""])) == {"allow_images": []}
