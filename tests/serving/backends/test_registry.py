"""Aliases resolved to backends: configured order, backends cooling down last, readiness."""

from __future__ import annotations

import time

from serving.backends.registry import BackendRegistry
from serving.errors import BackendUnavailable
from serving.settings import ServingConfig
from tests.support.inprocess import simulator_server
from tests.support.stack import facade_config, refused_url, vllm_backend


def registry(**backends: str) -> BackendRegistry:
    config = facade_config(
        {name: vllm_backend(url, "m") for name, url in backends.items()},
        {"all": list(backends), "first": [next(iter(backends))]},
    )
    return BackendRegistry(ServingConfig.model_validate(config))


def test_candidates_keep_the_configured_order_until_one_cools_down() -> None:
    reg = registry(a=refused_url(), b=refused_url(), c=refused_url())
    assert [b.name for b in reg.candidates("all")] == ["a", "b", "c"]
    reg.backends["a"].failed(BackendUnavailable("down"))
    assert [b.name for b in reg.candidates("all")] == ["b", "c", "a"]
    reg.backends["a"].health.down_until = time.monotonic() - 1  # the cooldown is over
    assert [b.name for b in reg.candidates("all")] == ["a", "b", "c"]


async def test_readiness_needs_a_reachable_backend_for_every_alias() -> None:
    async with simulator_server() as sim:
        reg = registry(up=sim.base_url, down=refused_url())
        await reg.start()
        try:
            ready, report = await reg.readiness(timeout=1.0)
            assert ready and report["status"] == "ready"
            assert report["models"]["all"] == {"ready": True, "backends": ["up", "down"]}
            assert report["backends"]["down"]["state"] == "down"
            up = report["backends"]["up"]
            assert {k: up[k] for k in ("kind", "state", "error", "in_flight", "queued")} == {
                "kind": "vllm",
                "state": "healthy",
                "error": None,
                "in_flight": 0,
                "queued": 0,
            }
            assert [(e["breaker"], e["in_flight"], e["draining"]) for e in up["endpoints"]] == [("closed", 0, False)]
        finally:
            await reg.close()
        reg = registry(down=refused_url(), up=sim.base_url)  # alias "first" now has only the dead one
        await reg.start()
        try:
            ready, report = await reg.readiness(timeout=1.0)
            assert not ready and report["models"]["first"]["ready"] is False
            assert report["backends"]["down"]["error"].startswith("unreachable")
        finally:
            await reg.close()
