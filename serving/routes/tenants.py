"""/admin/tenants and /admin/spend, behind the admin credential like /admin/keys."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import PlainTextResponse
from pydantic import model_validator

from serving.access.prices import dollars
from serving.access.spend import GroupBy, as_csv
from serving.access.tenants import TenantExists, TenantNotFound, TenantRecord
from serving.access.usage import UsageRange
from serving.deps import RecordDep, ServicesDep, require_admin
from serving.errors import APIError, InvalidRequest
from serving.gateway.record import RequestRecord
from serving.services import Services
from serving.settings.tenants import StaticTenant, TenantSettings

router = APIRouter(prefix="/admin", dependencies=[Depends(require_admin)])


class TenantUpdate(TenantSettings):
    """What changes: only the fields given (a null leaves a field as it is)."""

    @model_validator(mode="before")
    @classmethod
    def _nulls_change_nothing(cls, data: Any) -> Any:
        return {k: v for k, v in data.items() if v is not None} if isinstance(data, dict) else data

    def changes(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True)


def _audit(request_record: RequestRecord, action: str, target: str | None = None) -> None:
    request_record.audit_action, request_record.audit_target = action, target


def _not_found(tenant_id: str) -> APIError:
    return APIError(f"No tenant with id `{tenant_id}`.", status=404, param="tenant_id", code="tenant_not_found")


def _check_backends(services: Services, body: TenantSettings) -> None:
    for grant in ("allow_phi", "allow_images", "allow_store"):
        unknown = sorted(set(getattr(body, grant)) - set(services.registry.backends))
        if grant in body.model_fields_set and unknown:
            raise InvalidRequest(f"Unknown backend(s) {unknown} in {grant}.", param=grant, code="invalid_value")


@router.post("/tenants", status_code=201)
async def create_tenant(body: StaticTenant, services: ServicesDep, request_record: RecordDep) -> dict[str, Any]:
    _check_backends(services, body)
    _audit(request_record, "tenant.created", body.id)
    try:
        return (await services.tenants.create(TenantRecord(**body.model_dump()))).public()
    except TenantExists as exc:
        raise APIError(str(exc), status=409, param="id", code="tenant_exists") from None


@router.get("/tenants")
async def list_tenants(services: ServicesDep, request_record: RecordDep) -> dict[str, Any]:
    _audit(request_record, "tenants.listed")
    return {"object": "list", "data": [record.public() for record in await services.tenants.list()]}


@router.get("/tenants/{tenant_id}")
async def show_tenant(tenant_id: str, services: ServicesDep, request_record: RecordDep) -> dict[str, Any]:
    _audit(request_record, "tenant.read", tenant_id)
    try:
        return (await services.tenants.get(tenant_id)).public()
    except TenantNotFound:
        raise _not_found(tenant_id) from None


@router.patch("/tenants/{tenant_id}")
async def update_tenant(
    tenant_id: str, body: TenantUpdate, services: ServicesDep, request_record: RecordDep
) -> dict[str, Any]:
    _check_backends(services, body)
    _audit(request_record, "tenant.updated", tenant_id)
    try:
        return (await services.tenants.update(tenant_id, **body.changes())).public()
    except TenantNotFound:
        raise _not_found(tenant_id) from None


@router.delete("/tenants/{tenant_id}")
async def disable_tenant(tenant_id: str, services: ServicesDep, request_record: RecordDep) -> dict[str, Any]:
    """Its keys are refused from the next request on; its records and spend stay."""
    _audit(request_record, "tenant.disabled", tenant_id)
    try:
        return (await services.tenants.update(tenant_id, disabled=True)).public()
    except TenantNotFound:
        raise _not_found(tenant_id) from None


@router.get("/spend", response_model=None)
async def spend(
    services: ServicesDep,
    request_record: RecordDep,
    tenant: str | None = None,
    start: Annotated[date | None, Query(alias="from")] = None,
    end: Annotated[date | None, Query(alias="to")] = None,
    group_by: GroupBy = "day",
    format: Literal["json", "csv"] = "json",
) -> dict[str, Any] | PlainTextResponse:
    """Spend per UTC day, key or model alias over [from, to] (today by default), for one tenant or
    every key; cost_usd from the prices of the backends that answered."""
    _audit(request_record, "spend.read", tenant)
    if tenant is not None:
        try:
            await services.tenants.get(tenant)
        except TenantNotFound:
            raise _not_found(tenant) from None
    rows = await services.spend.rows(UsageRange.of(start, end), group_by=group_by, tenant=tenant)
    if format == "csv":
        return PlainTextResponse(as_csv(rows), media_type="text/csv")
    return {"object": "list", "data": rows, "total_cost_usd": dollars(sum(row["cost_nanos"] for row in rows))}
