"""GET /v1/usage: the caller's own usage per model alias and day."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter

from serving.access.usage import UsageRange
from serving.deps import CountedCallerDep, ServicesDep

router = APIRouter()


@router.get("/v1/usage")
async def my_usage(
    services: ServicesDep, caller: CountedCallerDep, start: date | None = None, end: date | None = None
) -> dict[str, Any]:
    rows = await services.usage.for_key(caller.key_id, caller.key_hash, UsageRange.of(start, end))
    return {"object": "list", "data": rows}
