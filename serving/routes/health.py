"""Liveness, readiness (from the background probes) and Prometheus metrics."""

from fastapi import APIRouter, Depends
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.responses import JSONResponse, Response

from serving.deps import ServicesDep, require_metrics_access

router = APIRouter()


@router.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/health/ready")
async def ready(services: ServicesDep) -> JSONResponse:
    is_ready, report = services.readiness.check()
    return JSONResponse(report, status_code=200 if is_ready else 503)


@router.get("/metrics", dependencies=[Depends(require_metrics_access)])
async def metrics(services: ServicesDep) -> Response:
    return Response(services.metrics.render(), media_type=CONTENT_TYPE_LATEST)
