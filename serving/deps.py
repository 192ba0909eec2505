"""Annotated dependencies the routes declare. All async: FastAPI runs a sync dependency
in a worker thread, a thread hop per request on the hot path."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from serving.auth import presented_key_hash
from serving.context import RequestContext
from serving.ratelimit import Grant
from serving.services import Services


async def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


async def get_context(request: Request) -> RequestContext:
    ctx: RequestContext = request.scope["state"]["ctx"]
    return ctx


async def get_caller(request: Request) -> Grant:
    """The caller's key, checked without charging any limit (routes that generate nothing)."""
    services: Services = request.app.state.services
    grant = await services.access.admit(presented_key_hash(request.headers), "", 0, charge=False)
    request.scope["state"]["ctx"].key_name = grant.name
    return grant


ServicesDep = Annotated[Services, Depends(get_services)]
ContextDep = Annotated[RequestContext, Depends(get_context)]
CallerDep = Annotated[Grant, Depends(get_caller)]
