"""GET /v1/models and /v1/models/{model}: the aliases the caller may use."""

from fastapi import APIRouter

from serving.deps import PrincipalDep, ServicesDep
from serving.protocol import ModelCard, ModelList

router = APIRouter()

OWNER = "pearcare"


@router.get("/v1/models")
async def list_models(services: ServicesDep, principal: PrincipalDep) -> ModelList:
    created = services.registry.created
    return ModelList(
        data=[ModelCard(id=alias, created=created, owned_by=OWNER) for alias in services.visible_aliases(principal)]
    )


@router.get("/v1/models/{model:path}")
async def retrieve_model(model: str, services: ServicesDep, principal: PrincipalDep) -> ModelCard:
    alias = services.resolve_alias(principal, model)
    return ModelCard(id=alias, created=services.registry.created, owned_by=OWNER)
