"""The one naming scheme of the store's keys, and the Lua scripts run in it (on any client:
redis-py's, its cluster client, fakeredis or the pipelined connection)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Protocol

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import NoScriptError

Store = Redis | RedisCluster  # what the services call the store (fakeredis is a Redis)

KEY_INDEX = "pc:keys"  # hash: key id -> secret hash


def key_for(key_hash: str, suffix: str) -> str:
    """pc:{hash}:suffix. Every key of one API key shares the hash tag: cluster-safe scripts."""
    return f"pc:{{{key_hash}}}:{suffix}"


TENANT_INDEX = "pc:tenants"  # set: tenant ids


def tenant_key(tenant_id: str, suffix: str) -> str:
    """pc:{t:id}:suffix. A tenant's keys are minted into this tag's slot (access/keys.py)."""
    return f"pc:{{t:{tenant_id}}}:{suffix}"


class CommandRunner(Protocol):
    """What runs a script: redis-py's client, fakeredis, or the pipelined connection."""

    async def execute_command(self, *args: Any) -> Any: ...

    async def aclose(self) -> None: ...


def decode(raw: dict[Any, Any]) -> dict[str, str]:
    return {
        (k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v) for k, v in raw.items()
    }


class LuaScript:
    """EVALSHA, falling back to EVAL when Redis lost its script cache (a restart).

    Hand-written rather than redis-py's Script: on the hot path its wrapper cost ~15% of the
    CPU of each call, and this is the one Redis call every request makes."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.sha = hashlib.sha1(source.encode()).hexdigest()

    @classmethod
    def named(cls, name: str, **fields: tuple[str, ...]) -> LuaScript:
        """A script shipped beside this module (package data). `fields`: each `{{NAME}}` in the
        source becomes those field names as a Lua list's items ('a', 'b'), fixed at load."""
        source = (Path(__file__).parent / name).read_text()
        for placeholder, names in fields.items():
            source = source.replace("{{" + placeholder + "}}", ", ".join(f"'{field}'" for field in names))
        return cls(source)

    async def run(self, redis: CommandRunner, keys: list[str], args: list[str | int]) -> Any:
        try:
            return await redis.execute_command("EVALSHA", self.sha, len(keys), *keys, *args)
        except NoScriptError:
            return await redis.execute_command("EVAL", self.source, len(keys), *keys, *args)
