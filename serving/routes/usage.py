"""GET /v1/usage: the caller's own usage per model alias and day."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter

from serving.deps import CallerDep, ServicesDep
from serving.routes.admin import date_range
from serving.usage import UsageReader

router = APIRouter()


@router.get("/v1/usage")
async def my_usage(
    services: ServicesDep, caller: CallerDep, start: date | None = None, end: date | None = None
) -> dict[str, Any]:
    first, last = date_range(start, end)
    rows = await UsageReader(services.redis, services.keys).for_key(caller.key_id, caller.key_hash, first, last)
    return {"object": "list", "data": rows}
