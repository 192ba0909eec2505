"""Shutdown is bounded and loses nothing: a background task whose library call swallows a
cancel (redis-py 8.2's ping returned normally to a cancelled task) no longer holds the
lifespan, which goes on to drain settlements and flush the audit trail."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import pytest
import redis

from loadtests.devstack.redis_server import RedisServer
from serving.audit.trail import STREAM
from serving.background import Periodic, stop_task
from serving.store.connection import key_for
from tests.support.inprocess import AUTH, HELLO, running_app, simulator_server
from tests.support.stack import facade_config, vllm_backend


class CancelSwallower:
    """A ping that takes long and, when cancelled, returns normally as if nothing happened."""

    def __init__(self) -> None:
        self.swallowed = 0
        self.entered = asyncio.Event()

    async def ping(self, *args: Any, **kwargs: Any) -> bool:
        self.entered.set()
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            self.swallowed += 1
        return True


async def test_shutdown_during_a_probe_that_swallows_its_cancel_drains_usage_and_flushes_audit(
    redis_server: RedisServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    swallower = CancelSwallower()
    async with simulator_server() as sim:
        config = facade_config(
            {"sim": vllm_backend(sim.base_url, "m")},
            {"medgemma": ["sim"]},
            store={"redis_url": redis_server.url},
            probe_interval_seconds=0.05,
        )
        # A long flush interval: the request's audit record is still queued at shutdown.
        config["audit"] = {"spool_dir": str(tmp_path / "spool"), "flush_interval_seconds": 10}
        started = asyncio.get_running_loop().time()
        async with running_app(config) as app:
            body = {"model": "medgemma", "messages": HELLO, "max_tokens": 4}
            response = await app.client.post("/v1/chat/completions", headers=AUTH, json=body)
            assert response.status_code == 200
            readiness = app.app.state.services.readiness
            monkeypatch.setattr(readiness._redis, "ping", swallower.ping)
            # The next probe (within 50 ms) hangs in ping; shutdown lands during it.
            async with asyncio.timeout(5):
                await swallower.entered.wait()
        # The lifespan ended (within the test's timeout), after a cancel was swallowed.
        assert swallower.swallowed >= 1
        assert asyncio.get_running_loop().time() - started < 60
    sync = redis.Redis.from_url(redis_server.url)
    usage = {k.decode(): int(v) for k, v in sync.hgetall(usage_key(sync)).items()}
    assert usage.get("medgemma:requests") == 1, usage  # settled at drain
    assert sync.xlen(STREAM) == 1  # the queued audit record flushed


def usage_key(sync: redis.Redis) -> str:
    (key,) = [k.decode() for k in sync.scan_iter(match=key_for("*", "usage:*"))]
    return key


async def test_a_periodic_loop_stops_though_its_step_swallows_the_cancel() -> None:
    swallower = CancelSwallower()

    async def step() -> None:
        await swallower.ping()

    loop = Periodic(step, interval=0.01, name="swallowing", immediately=True)
    loop.start()
    await swallower.entered.wait()
    assert await loop.stop(timeout=5)
    assert swallower.swallowed == 1


async def test_a_task_that_never_ends_is_given_up_on_with_a_log_line(caplog: pytest.LogCaptureFixture) -> None:
    release = asyncio.Event()

    async def stubborn() -> None:
        while not release.is_set():
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                continue  # swallows every cancel

    task = asyncio.create_task(stubborn())
    await asyncio.sleep(0)
    with caplog.at_level(logging.ERROR):
        assert not await stop_task(task, name="stubborn", timeout=0.2)
    assert any(getattr(r, "task", None) == "stubborn" for r in caplog.records)
    release.set()
    task.cancel()
    await asyncio.wait({task}, timeout=5)
    assert task.done()


async def test_the_start_up_log_says_how_the_red_flag_rules_run(caplog: pytest.LogCaptureFixture) -> None:
    """An operator sees whether the rules run compiled (make compiled) or as Python (the tests: off)."""
    async with simulator_server() as sim:
        config = facade_config({"sim": vllm_backend(sim.base_url, "m")}, {"medgemma": ["sim"]})
        with caplog.at_level(logging.INFO):
            async with running_app(config):
                pass
    [started] = [r for r in caplog.records if r.getMessage() == "serving"]
    assert getattr(started, "red_flag_rules", None) == "python"
