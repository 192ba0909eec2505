"""A store that cannot be reached answers 503 + Retry-After on every route that needs it,
whatever its shape: redis-py's cluster client raises errors that are not RedisError (no seed
node answers), and an admin read has no admission in front of it to catch them."""

from __future__ import annotations

import pytest

from tests.support.inprocess import AUTH, HELLO, running_app, simulator_server
from tests.support.stack import facade_config, refused_url, vllm_backend

ADMIN = {"authorization": "Bearer admin-0123456789abcdefghijklmnop"}


@pytest.mark.parametrize("shape", ["redis+cluster", "redis+sentinel"])
async def test_every_route_answers_503_while_no_store_node_answers(shape: str) -> None:
    port = refused_url().removeprefix("http://127.0.0.1:").removesuffix("/v1")
    url = f"{shape}://:pw@127.0.0.1:{port}" + ("/pearcare" if shape == "redis+sentinel" else "")
    async with simulator_server() as sim:
        config = facade_config(
            {"sim": vllm_backend(sim.base_url, "m")},
            {"medgemma": ["sim"]},
            store={"redis_url": url, "admin_key": ADMIN["authorization"].removeprefix("Bearer ")},
        )
        async with running_app(config) as app:
            answers = [
                await app.client.post(
                    "/v1/chat/completions", json={"model": "medgemma", "messages": HELLO}, headers=AUTH
                ),
                await app.client.get("/admin/keys", headers=ADMIN),
                await app.client.get("/admin/usage", headers=ADMIN),
                await app.client.get("/admin/audit", headers=ADMIN),
                await app.client.get("/v1/usage", headers=AUTH),
            ]
            ready = await app.client.get("/health/ready")
    for response in answers:
        assert response.status_code == 503, (response.request.url, response.text)
        assert response.headers["retry-after"] == "1"
        assert response.json()["error"]["code"] == "service_unavailable"
    assert ready.status_code == 503 and ready.json()["store"]["state"] == "down"
    assert ready.json()["store"]["kind"] == shape.removeprefix("redis+")
