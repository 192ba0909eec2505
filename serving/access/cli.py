"""`python -m serving keys create|list|show|revoke|update`: manage API keys in the Redis store."""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel, ValidationError

from serving.access.keys import KeyNotFound, KeyRecord, KeyStore, new_key_id
from serving.access.tenants import TenantNotFound, TenantStore
from serving.audit.records import cli_record
from serving.audit.trail import AuditTrail, ChainContended
from serving.errors import APIError
from serving.settings import KeySettings, ServingConfig, choices_of, kind_of, load_for_command
from serving.store.clients import connect_store
from serving.store.connection import Store
from serving.store.errors import STORE_ERRORS


def setting_flags(parser: argparse.ArgumentParser, model: type[BaseModel] = KeySettings) -> None:
    """One flag per setting (serving/settings/keys.py, tenants.py): --rpm, --allow-phi, --priority, ..."""
    for name, info in model.model_fields.items():
        flag, kind = "--" + name.replace("_", "-"), kind_of(info)
        if kind == "count":
            parser.add_argument(flag, type=int, help=info.description)
        elif kind == "amount":
            parser.add_argument(flag, type=float, help=info.description)
        elif kind == "flag":
            parser.add_argument(flag, choices=("on", "off"), help=info.description)
        elif kind == "choice":
            parser.add_argument(flag, choices=choices_of(info), help=info.description)
        else:
            parser.add_argument(flag, help=f"{info.description} (comma-separated)")
    if model is KeySettings:
        parser.add_argument("--expires-in-days", type=float, help="expire after this many days")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m serving keys", description=__doc__)
    parser.add_argument("--config", help="config file naming store.redis_url (default: configs/serving.yaml)")
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create", help="create a key; prints its secret once")
    create.add_argument("--name", required=True)
    setting_flags(create)
    commands.add_parser("list", help="list keys (never secrets)")
    commands.add_parser("show", help="show one key").add_argument("key_id")
    commands.add_parser("revoke", help="disable a key").add_argument("key_id")
    update = commands.add_parser("update", help="change a key's name, models or limits")
    update.add_argument("key_id")
    update.add_argument("--name")
    update.add_argument("--enable", action="store_true", help="re-enable a revoked key")
    setting_flags(update)
    return parser


def settings_given(args: argparse.Namespace, model: type[BaseModel] = KeySettings) -> dict[str, Any]:
    """The settings given on the command line, checked as the admin API and the config file
    check them."""
    changes: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        value = getattr(args, name)
        if value is None:
            continue
        kind = kind_of(info)
        if kind == "list":  # "" is none; an empty item ("a,,b") is the validators' error
            value = [item.strip() for item in value.split(",")] if value.strip() else []
        elif kind == "flag":
            value = value == "on"
        changes[name] = value
    try:
        model.model_validate(changes)
    except ValidationError as exc:
        problems = (f"--{str(error['loc'][0]).replace('_', '-')}: {error['msg']}" for error in exc.errors())
        raise ValueError("; ".join(problems)) from None
    if getattr(args, "expires_in_days", None) is not None:
        changes["expires_at"] = int(time.time() + args.expires_in_days * 86400)
    return changes


async def run(args: argparse.Namespace, store: KeyStore, tenants: TenantStore) -> dict[str, Any] | list[dict[str, Any]]:
    if args.command == "create":
        settings = await tenants.settings_of_new_key(settings_given(args))  # under a tenant: within its grants
        record, secret = await store.create(KeyRecord(id=new_key_id(), name=args.name, **settings))
        return {**record.public(), "key": secret}
    if args.command == "list":
        return [record.public() for record in await store.list()]
    if args.command == "show":
        return (await store.get(args.key_id)).public()
    if args.command == "revoke":
        return (await store.revoke(args.key_id)).public()
    changes = settings_given(args)
    if args.name:
        changes["name"] = args.name
    if args.enable:
        changes["disabled"] = False
    return (await store.update(args.key_id, **changes)).public()


_NOT_RECORDED: tuple[type[Exception], ...] = (*STORE_ERRORS, ChainContended)
_FAILED: tuple[type[Exception], ...] = (ValueError, *STORE_ERRORS)

_ACTIONS = {
    "create": "key.created",
    "list": "keys.listed",
    "show": "key.read",
    "revoke": "key.revoked",
    "update": "key.updated",
}


Work = Callable[[Store], Awaitable[dict[str, Any] | list[dict[str, Any]]]]


def run_recorded(config: ServingConfig, action: str, work: Work, render: Callable[[Any], str] | None = None) -> int:
    """Run one admin command against the store and add it to the audit trail (the CLI is an
    administrator too); print its result (as JSON unless `render` says otherwise). 0 done, 1
    refused or failed."""

    async def execute() -> dict[str, Any] | list[dict[str, Any]]:
        redis = connect_store(config.store, socket_timeout=5)
        try:
            result = await work(redis)
            if config.audit.enabled:
                target = result.get("id") if isinstance(result, dict) else None
                record = cli_record(action, target, instance=socket.gethostname(), at=time.time())
                try:
                    await AuditTrail(redis, key=config.audit.chain_key).append([record])
                except _NOT_RECORDED as exc:  # done is done: say so, don't fail it
                    print(f"warning: the action was not added to the audit trail: {exc}", file=sys.stderr)
            return result
        finally:
            await redis.aclose()

    try:
        result = asyncio.run(execute())
    except KeyNotFound as exc:
        print(f"error: no key with id {exc}", file=sys.stderr)
        return 1
    except TenantNotFound as exc:
        print(f"error: no tenant with id {exc}", file=sys.stderr)
        return 1
    except _FAILED as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except APIError as exc:  # a bad argument the API would answer with a 400
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    print(render(result) if render is not None else json.dumps(result, indent=2), end="" if render else "\n")
    return 0


def store_config(config_path: str | None) -> ServingConfig | None:
    """The config of a command that needs the shared store, or None (said why) without one."""
    config = load_for_command(config_path)
    if config is not None and not config.store.redis_url:
        print("error: store.redis_url is not set (REDIS_URL): this needs the shared store", file=sys.stderr)
        return None
    return config


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    config = store_config(args.config)
    if config is None:
        return 2
    return run_recorded(config, _ACTIONS[args.command], lambda redis: run(args, KeyStore(redis), TenantStore(redis)))
