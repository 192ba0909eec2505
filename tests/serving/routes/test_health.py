"""Liveness, readiness from background probes (no fan-out per request), and who may read
/metrics and the API schema."""

from __future__ import annotations

from tests.support.inprocess import QUICK, facade_with_simulator, running_app
from tests.support.stack import facade_config, refused_url, vllm_backend
from tests.support.wait import eventually_async

TOKEN = "metrics-0123456789abcdef"


async def test_readiness_answers_from_probes_and_never_fans_out() -> None:
    async with facade_with_simulator(QUICK, cooldown_seconds=1) as (app, sim):

        async def report() -> dict[str, object]:
            response = await app.client.get("/health/ready")
            return {**response.json(), "http": response.status_code}

        ready = await eventually_async(report, lambda r: r["http"] == 200)
        assert ready["backends"]["sim"]["state"] == "healthy"  # type: ignore[index]
        probes = sim.simulator.model_lists
        for _ in range(20):
            assert (await app.client.get("/health/ready")).status_code == 200
        assert sim.simulator.model_lists == probes, "a readiness request must not call the backend"


async def test_readiness_is_not_ready_until_it_has_probed_and_when_a_model_has_no_backend() -> None:
    config = facade_config({"dead": vllm_backend(refused_url(), "m")}, {"medgemma": ["dead"]})
    config["server"]["probe_interval_seconds"] = 0.05
    async with running_app(config) as app:
        first = await app.client.get("/health/ready")
        assert first.status_code == 503 and first.json()["status"] in ("starting", "unavailable")
        probed = await eventually_async(
            lambda: app.client.get("/health/ready"), lambda r: r.json().get("status") == "unavailable"
        )
        assert probed.status_code == 503 and probed.json()["models"]["medgemma"]["ready"] is False
        assert (await app.client.get("/health")).json() == {"status": "ok"}


async def test_metrics_behind_a_token() -> None:
    config = facade_config({"b": vllm_backend(refused_url(), "m")}, {"medgemma": ["b"]}, metrics_token=TOKEN)
    async with running_app(config) as app:
        for headers in ({}, {"authorization": "Bearer wrong-token-0123456789"}, {"authorization": TOKEN}):
            refused = await app.client.get("/metrics", headers=headers)
            assert refused.status_code == 401 and refused.json()["error"]["type"] == "authentication_error"
        allowed = await app.client.get("/metrics", headers={"authorization": f"Bearer {TOKEN}"})
        assert allowed.status_code == 200 and "pearcare_requests_total" in allowed.text


async def test_metrics_on_their_own_port_are_not_beside_the_api() -> None:
    config = facade_config({"b": vllm_backend(refused_url(), "m")}, {"medgemma": ["b"]}, metrics_port=9)
    async with running_app(config) as app:
        response = await app.client.get("/metrics")
        assert response.status_code == 404 and response.json()["error"]["type"] == "invalid_request_error"


async def test_the_api_schema_is_served_only_when_configured() -> None:
    base = facade_config({"b": vllm_backend(refused_url(), "m")}, {"medgemma": ["b"]})
    async with running_app(base) as app:
        for path in ("/openapi.json", "/docs"):
            assert (await app.client.get(path)).status_code == 404
    async with running_app({**base, "server": {**base["server"], "api_docs": True}}) as app:
        schema = (await app.client.get("/openapi.json")).json()
        assert "/v1/chat/completions" in schema["paths"]
        assert (await app.client.get("/docs")).status_code == 200
