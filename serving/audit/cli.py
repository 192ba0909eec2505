"""`python -m serving audit verify|export`: check the audit trail's hash chain, write records
as JSON Lines.

    python -m serving audit verify                  # the trail in the store
    python -m serving audit verify --file out.jsonl # an export
    python -m serving audit export --since 2026-11-01 --until 2026-12-01 --output nov.jsonl
"""

from __future__ import annotations

import argparse
import asyncio
import hmac
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from serving.audit.chain import ChainWalk, Verdict, anchor_mac, verify
from serving.audit.reader import AuditQuery, export
from serving.audit.trail import AuditTrail
from serving.settings import load_for_command
from serving.store.clients import connect_store
from serving.store.errors import STORE_ERRORS


def _moment(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m serving audit", description=__doc__)
    parser.add_argument("--config", help="config file naming store.redis_url (default: configs/serving.yaml)")
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("verify", help="check the hash chain; exit 1 where it breaks")
    check.add_argument("--file", type=Path, help="an export (JSON Lines) instead of the store")
    out = commands.add_parser("export", help="write records as JSON Lines")
    out.add_argument("--since", type=_moment, help="ISO date or time (UTC unless it says otherwise)")
    out.add_argument("--until", type=_moment)
    out.add_argument("--output", type=Path, help="file to write (default: standard output)")
    return parser


def verify_file(path: Path, key: bytes | None = None) -> Verdict:
    """An export starts wherever its range started: its first record's link is the anchor."""
    lines = path.read_bytes().splitlines()
    entries: list[tuple[str, dict[str, Any] | None]] = []
    for number, line in enumerate(lines, 1):
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError:
            record = None
        entries.append((f"line {number}", record if isinstance(record, dict) else None))
    first = entries[0][1] if entries else None
    if first is None or not isinstance(first.get("seq"), int):
        return verify(entries, key=key)
    return verify(entries, anchor=(first["seq"] - 1, str(first.get("prev"))), key=key)


async def verify_store(trail: AuditTrail, retention_days: float | None = None) -> Verdict:
    head, anchor = await trail.head(), await trail.anchor()  # the head first: records written meanwhile pass
    problem = anchor_problem(await trail.anchor_details(), trail.key, retention_days)
    if problem is not None:
        return Verdict(False, 0, None, None, anchor[1], problem, "the retention anchor")
    walk = ChainWalk(anchor, trail.key)
    async for where, record in trail.entries():
        if not walk.feed(f"stream id {where}", record) or (record is not None and record.get("seq") == head[0]):
            break
    return walk.verdict(head)


ANCHOR_CLOCK_SLACK_SECONDS = 300


def anchor_problem(details: dict[str, str], key: bytes | None, retention_days: float | None) -> str | None:
    """Why the retention anchor can't be trusted, if it can't: with the chain key, its
    signature must match; with a retention, the record it stands for must be older than the
    retention (a trim never removes newer records)."""
    if not details or int(details.get("seq", "0")) == 0:
        return None
    seq, hash_, removed_at = int(details["seq"]), details.get("hash", ""), details.get("ts", "")
    if key and not hmac.compare_digest(details.get("mac", ""), anchor_mac(seq, hash_, removed_at, key)):
        return f"the anchor (seq {seq}) is not signed by the chain key: moved or edited"
    if retention_days and removed_at:
        try:
            age = (datetime.now(UTC) - datetime.fromisoformat(removed_at)).total_seconds()
        except ValueError:
            return f"the anchor's time {removed_at!r} is not a time: edited"
        if age < retention_days * 86400 - ANCHOR_CLOCK_SLACK_SECONDS:
            return (
                f"the anchor stands for a record from {removed_at}, newer than the {retention_days:g}-day "
                "retention: records removed early"
            )
    return None


async def write_export(trail: AuditTrail, query: AuditQuery, output: Path | None) -> int:
    handle = output.open("wb") if output else sys.stdout.buffer
    count = 0
    try:
        async for record in export(trail, query):
            if record is not None:
                handle.write(orjson.dumps(record) + b"\n")
                count += 1
    finally:
        if output:
            handle.close()
        else:
            handle.flush()
    return count


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    config = load_for_command(args.config)
    if config is None:
        return 2
    key = config.audit.chain_key.encode() if config.audit.chain_key else None
    if args.command == "verify" and args.file:
        verdict = verify_file(args.file, key)
        print(verdict.describe())
        return 0 if verdict.ok else 1
    if not config.store.redis_url:
        print("error: store.redis_url is not set (REDIS_URL): the audit trail lives in the store", file=sys.stderr)
        return 2

    async def execute() -> int:
        redis = connect_store(config.store, socket_timeout=10)
        trail = AuditTrail(redis, key=config.audit.chain_key)
        try:
            if args.command == "verify":
                verdict = await verify_store(trail, config.audit.retention_days)
                print(verdict.describe())
                return 0 if verdict.ok else 1
            count = await write_export(trail, AuditQuery(since=args.since, until=args.until), args.output)
            print(f"exported {count} records", file=sys.stderr)
            return 0
        finally:
            await redis.aclose()

    try:
        return asyncio.run(execute())
    except STORE_ERRORS as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
