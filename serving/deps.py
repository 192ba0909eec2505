"""Annotated dependencies the routes declare. All async: FastAPI runs a sync dependency
in a worker thread, a thread hop per request on the hot path."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from serving.auth import Principal, presented_key
from serving.context import RequestContext
from serving.services import Services


async def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


async def get_context(request: Request) -> RequestContext:
    ctx: RequestContext = request.scope["state"]["ctx"]
    return ctx


async def get_principal(request: Request) -> Principal:
    services: Services = request.app.state.services
    principal = await services.authenticator.authenticate(presented_key(request.headers))
    request.scope["state"]["ctx"].key_name = principal.name
    return principal


ServicesDep = Annotated[Services, Depends(get_services)]
ContextDep = Annotated[RequestContext, Depends(get_context)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]
