"""`python -m serving tenants create|list|show|update|disable`: manage tenants (clinics) in the store.
`python -m serving spend [--tenant T] [--from D] [--to D] [--group-by day|key|model] [--format json|csv]`:
the spend report, as GET /admin/spend gives it."""

from __future__ import annotations

import argparse
from datetime import date
from typing import Any

from serving.access.cli import run_recorded, setting_flags, settings_given, store_config
from serving.access.keys import KeyStore
from serving.access.spend import SpendReport, as_csv
from serving.access.tenants import TenantRecord, TenantStore
from serving.access.usage import UsageRange, UsageReader
from serving.settings.keys import check_tenant_id
from serving.settings.tenants import TenantSettings
from serving.store.connection import Store

_ACTIONS = {
    "create": "tenant.created",
    "list": "tenants.listed",
    "show": "tenant.read",
    "update": "tenant.updated",
    "disable": "tenant.disabled",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m serving tenants", description=__doc__)
    parser.add_argument("--config", help="config file naming store.redis_url (default: configs/serving.yaml)")
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create", help="create a tenant")
    create.add_argument("tenant_id", type=_tenant_id)
    setting_flags(create, TenantSettings)
    commands.add_parser("list", help="list tenants")
    commands.add_parser("show", help="show one tenant").add_argument("tenant_id")
    update = commands.add_parser("update", help="change a tenant's grants, budgets or time zone")
    update.add_argument("tenant_id")
    setting_flags(update, TenantSettings)
    commands.add_parser("disable", help="refuse every key of a tenant").add_argument("tenant_id")
    return parser


def _tenant_id(text: str) -> str:
    try:
        return check_tenant_id(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


async def run(args: argparse.Namespace, tenants: TenantStore) -> dict[str, Any] | list[dict[str, Any]]:
    if args.command == "create":
        settings = settings_given(args, TenantSettings)
        return (await tenants.create(TenantRecord(id=args.tenant_id, **settings))).public()
    if args.command == "list":
        return [record.public() for record in await tenants.list()]
    if args.command == "show":
        return (await tenants.get(args.tenant_id)).public()
    if args.command == "disable":
        return (await tenants.update(args.tenant_id, disabled=True)).public()
    return (await tenants.update(args.tenant_id, **settings_given(args, TenantSettings))).public()


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    config = store_config(args.config)
    if config is None:
        return 2
    return run_recorded(config, _ACTIONS[args.command], lambda redis: run(args, TenantStore(redis)))


def spend_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m serving spend", description=__doc__)
    parser.add_argument("--config", help="config file naming store.redis_url (default: configs/serving.yaml)")
    parser.add_argument("--tenant", help="one tenant's keys (default: every key)")
    parser.add_argument("--from", dest="start", type=date.fromisoformat, help="first UTC day (default: today)")
    parser.add_argument("--to", dest="end", type=date.fromisoformat, help="last UTC day (default: --from)")
    parser.add_argument("--group-by", choices=("day", "key", "model"), default="day")
    parser.add_argument("--format", choices=("json", "csv"), default="csv")
    args = parser.parse_args(argv)
    config = store_config(args.config)
    if config is None:
        return 2
    render = as_csv if args.format == "csv" else None
    return run_recorded(config, "spend.read", lambda redis: _rows(redis, args), render)


async def _rows(redis: Store, args: argparse.Namespace) -> list[dict[str, Any]]:
    keys = KeyStore(redis)
    report = SpendReport(UsageReader(redis, keys), keys)
    if args.tenant is not None:
        await TenantStore(redis).get(args.tenant)  # TenantNotFound: said, exit 1
    return await report.rows(UsageRange.of(args.start, args.end), group_by=args.group_by, tenant=args.tenant)
