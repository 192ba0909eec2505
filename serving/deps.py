"""Annotated dependencies the routes declare."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from serving.auth import Principal, presented_key
from serving.context import RequestContext
from serving.services import Services


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def get_context(request: Request) -> RequestContext:
    ctx: RequestContext = request.scope["state"]["ctx"]
    return ctx


async def get_principal(request: Request) -> Principal:
    services = get_services(request)
    principal = await services.authenticator.authenticate(presented_key(request.headers))
    get_context(request).key_name = principal.name
    return principal


ServicesDep = Annotated[Services, Depends(get_services)]
ContextDep = Annotated[RequestContext, Depends(get_context)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]
