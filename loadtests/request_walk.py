"""A walk of one streaming chat request through the façade's rooms (serving/'s packages):
every call from one room into another, in order, traced in-process (sys.setprofile, which also
sees a coroutine or generator resumed as a call) against the simulator. It reports the rooms
entered, and the calls that go back into a room the request had already left, made from any
room but the gateway (the request's own pipeline, which calls each step in turn): a lower room
reaching back up (a callback), or two rooms passing the request between them.

    python -m loadtests.request_walk [--calls]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from types import FrameType
from typing import Any

import httpx
from aiohttp import web

from loadtests.simulator import Behaviour, Simulator
from serving.app import create_app
from serving.observability.metrics import Metrics
from serving.settings import ServingConfig

SERVING = Path(__file__).resolve().parents[1] / "serving"
KEY = "sk-walk-0123456789abcdefghijklmn"
OWNER = "serving.gateway"  # the request's own pipeline (--owner for an older tree's)


def module_of(frame: FrameType) -> str | None:
    path = Path(frame.f_code.co_filename)
    try:
        relative = path.relative_to(SERVING).with_suffix("")
    except ValueError:
        return None
    return ".".join(("serving", *relative.parts)).removesuffix(".__init__")


def room_of(module: str) -> str:
    return ".".join(module.split(".")[:2])


async def walk() -> list[tuple[str, str]]:
    """(caller module, callee module) for each call that crosses modules, in order."""
    simulator = Simulator(Behaviour(ttft_ms=0, itl_ms=0, tokens=3), "sim-model")
    runner = web.AppRunner(simulator.app(), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/v1"
    config = {
        "backends": {"local": {"kind": "vllm", "base_url": url, "model": "sim-model"}},
        "models": {"medgemma": ["local"]},
        "keys": [{"key": KEY, "name": "walk", "models": ["*"]}],
    }
    calls: list[tuple[str, str]] = []
    frames: list[FrameType] = []  # held, so no id is reused while the trace runs
    seen: set[int] = set()

    def trace(frame: FrameType, event: str, _: Any) -> None:
        # A coroutine or generator resumed is reported as a call of the same frame: only a
        # frame's first call counts.
        if event != "call" or frame.f_back is None or id(frame) in seen:
            return
        seen.add(id(frame))
        frames.append(frame)
        callee, caller = module_of(frame), module_of(frame.f_back)
        if callee and caller and callee != caller:
            calls.append((caller, callee))

    app = create_app(ServingConfig.model_validate(config), metrics=Metrics())
    body = {"model": "medgemma", "messages": [{"role": "user", "content": "hello"}], "stream": True}
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://walk.test") as client:
                headers = {"authorization": f"Bearer {KEY}"}
                await client.post("/v1/chat/completions", json=body, headers=headers)  # warm: imports, caches
                sys.setprofile(trace)
                try:
                    response = await client.post("/v1/chat/completions", json=body, headers=headers)
                finally:
                    sys.setprofile(None)
                response.raise_for_status()
    finally:
        await runner.cleanup()
    return calls


def returns(calls: list[tuple[str, str]], owner: str = OWNER) -> list[tuple[str, str]]:
    """Calls into a room the request had left before, made from a room other than the gateway
    (calls within a room are its own business; a run of calls into the same room counts once)."""
    entered: set[str] = set()
    found = []
    previous = None
    for caller, callee in calls:
        source, target = room_of(caller), room_of(callee)
        if source == target:
            continue
        if target in entered and source != owner and (source, target) != previous:
            found.append((caller, callee))
        entered.add(target)
        previous = (source, target)
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", action="store_true", help="print every cross-module call")
    parser.add_argument("--owner", default=OWNER, help="the room that owns the request (its calls are its steps)")
    args = parser.parse_args()
    calls = asyncio.run(walk())
    if args.calls:
        for caller, callee in calls:
            print(f"{caller} -> {callee}")
    rooms = sorted({room_of(module) for call in calls for module in call})
    back = returns(calls, owner=args.owner)
    print(f"{len(calls)} cross-module calls, {len(rooms)} rooms: {', '.join(rooms)}")
    print(f"{len(back)} calls back into a room already left, from outside {args.owner}:")
    for caller, callee in sorted(set(back)):
        print(f"  {caller} -> {callee} ({back.count((caller, callee))}x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
