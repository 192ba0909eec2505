"""GET /v1/models and /v1/models/{model}: the aliases the caller may use."""

from fastapi import APIRouter

from serving.deps import CallerDep, ServicesDep
from serving.errors import ModelNotFound
from serving.protocol import ModelCard, ModelList

router = APIRouter()

OWNER = "pearcare"


@router.get("/v1/models")
async def list_models(services: ServicesDep, caller: CallerDep) -> ModelList:
    created = services.registry.created
    return ModelList(
        data=[ModelCard(id=alias, created=created, owned_by=OWNER) for alias in services.catalog.visible(caller)]
    )


@router.get("/v1/models/{model:path}")
async def retrieve_model(model: str, services: ServicesDep, caller: CallerDep) -> ModelCard:
    if model not in services.catalog.visible(caller):
        raise ModelNotFound(model)
    return ModelCard(id=model, created=services.registry.created, owned_by=OWNER)
