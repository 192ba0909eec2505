"""/admin/*: only the admin credential opens it, and every refusal is OpenAI-shaped."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.support.inprocess import AUTH, RunningApp, running_app
from tests.support.stack import TEST_KEY, facade_config, refused_url, vllm_backend

ADMIN_KEY = "admin-0123456789abcdefghijklmnop"


def config(admin_key: str | None = ADMIN_KEY) -> dict[str, object]:
    return facade_config({"b": vllm_backend(refused_url(), "m")}, {"medgemma": ["b"]}, store={"admin_key": admin_key})


@pytest.fixture
async def facade() -> AsyncIterator[RunningApp]:
    async with running_app(config()) as running:
        yield running


ADMIN = {"authorization": f"Bearer {ADMIN_KEY}"}


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"authorization": ADMIN_KEY},  # no scheme
        {"authorization": f"Basic {ADMIN_KEY}"},
        {"authorization": "Bearer admin-wrong-0123456789abcdefgh"},
        AUTH,  # an API key is not the admin credential
    ],
)
async def test_admin_routes_need_the_admin_credential(facade: RunningApp, headers: dict[str, str]) -> None:
    response = await facade.client.get("/admin/keys", headers=headers)
    assert response.status_code == 401
    assert response.json()["error"] == {
        "message": "Incorrect admin credential.",
        "type": "authentication_error",
        "param": None,
        "code": "invalid_api_key",
    }


async def test_the_admin_credential_is_not_an_api_key(facade: RunningApp) -> None:
    response = await facade.client.get("/v1/models", headers=ADMIN)
    assert response.status_code == 401 and response.json()["error"]["code"] == "invalid_api_key"


async def test_admin_disabled_without_admin_key() -> None:
    async with running_app(config(admin_key=None)) as running:
        response = await running.client.get("/admin/keys", headers=ADMIN)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "admin_disabled"


@pytest.mark.parametrize(("method", "body"), [("GET", None), ("PATCH", {"rpm": 1}), ("DELETE", None)])
async def test_unknown_key_ids_get_404(facade: RunningApp, method: str, body: dict[str, int] | None) -> None:
    response = await facade.client.request(method, "/admin/keys/key_missing", headers=ADMIN, json=body)
    assert response.status_code == 404
    assert response.json()["error"] == {
        "message": "No key with id `key_missing`.",
        "type": "invalid_request_error",
        "param": "key_id",
        "code": "key_not_found",
    }


async def test_key_lifecycle(facade: RunningApp) -> None:
    created = await facade.client.post("/admin/keys", headers=ADMIN, json={"name": "clinic", "rpm": 5})
    assert created.status_code == 201
    record = created.json()
    secret, key_id = record.pop("key"), record["id"]
    assert record["rpm"] == 5 and record["models"] == ["*"] and not record["disabled"]
    listed = (await facade.client.get("/admin/keys", headers=ADMIN)).json()["data"]
    assert {row["id"] for row in listed} >= {key_id, "static-test"} and secret not in str(listed)
    models = await facade.client.get("/v1/models", headers={"authorization": f"Bearer {secret}"})
    assert [m["id"] for m in models.json()["data"]] == ["medgemma"]
    patched = await facade.client.patch(f"/admin/keys/{key_id}", headers=ADMIN, json={"models": ["nothing"]})
    assert patched.json()["models"] == ["nothing"]
    revoked = await facade.client.delete(f"/admin/keys/{key_id}", headers=ADMIN)
    assert revoked.json()["disabled"] is True
    refused = await facade.client.get("/v1/models", headers={"authorization": f"Bearer {secret}"})
    assert refused.status_code == 401 and refused.json()["error"]["message"] == "This API key is disabled."


@pytest.mark.parametrize(
    "body",
    [
        {"name": ""},
        {"name": "x", "rpm": -1},
        {"name": "x", "models": []},
        {"name": "x", "models": [""]},
        {"name": "x", "models": ["a,b"]},
        {"name": "x", "max_in_flight": -1},
        {"name": "x", "surprise": 1},
        {},
    ],
)
async def test_bad_key_definitions_get_400(facade: RunningApp, body: dict[str, object]) -> None:
    response = await facade.client.post("/admin/keys", headers=ADMIN, json=body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and error["param"]


async def test_usage_ranges_are_checked(facade: RunningApp) -> None:
    backwards = await facade.client.get(
        "/admin/usage", headers=ADMIN, params={"start": "2026-01-02", "end": "2026-01-01"}
    )
    assert backwards.status_code == 400 and backwards.json()["error"]["param"] == "end"
    too_long = await facade.client.get(
        "/admin/usage", headers=ADMIN, params={"start": "2024-01-01", "end": "2026-01-01"}
    )
    assert too_long.status_code == 400 and too_long.json()["error"]["param"] == "start"
    mine = await facade.client.get("/v1/usage", headers={"authorization": f"Bearer {TEST_KEY}"})
    assert mine.status_code == 200 and mine.json() == {"object": "list", "data": []}


async def test_a_key_cannot_be_widened_by_an_empty_model_list(facade: RunningApp) -> None:
    key_id = (
        await facade.client.post("/admin/keys", headers=ADMIN, json={"name": "n", "models": ["medgemma"]})
    ).json()["id"]
    for models in ([], [""]):
        response = await facade.client.patch(f"/admin/keys/{key_id}", headers=ADMIN, json={"models": models})
        assert response.status_code == 400 and response.json()["error"]["param"] == "models"
    shown = await facade.client.get(f"/admin/keys/{key_id}", headers=ADMIN)
    assert shown.json()["models"] == ["medgemma"]


async def test_usage_reports_count_against_the_callers_request_rate(facade: RunningApp) -> None:
    created = await facade.client.post(
        "/admin/keys", headers=ADMIN, json={"name": "r", "models": ["medgemma"], "rpm": 2}
    )
    caller = {"authorization": f"Bearer {created.json()['key']}"}
    for remaining in ("1", "0"):
        response = await facade.client.get("/v1/usage", headers=caller)
        assert response.status_code == 200 and response.headers["x-ratelimit-remaining-requests"] == remaining
    refused = await facade.client.get("/v1/usage", headers=caller)
    assert refused.status_code == 429 and refused.json()["error"]["type"] == "requests"
    assert 58 <= int(refused.headers["retry-after"]) <= 60
