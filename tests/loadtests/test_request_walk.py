"""The request walk: it traces a real streaming request, and counts a call back into a room
already left only when neither the gateway nor the room itself makes it."""

from __future__ import annotations

from loadtests import request_walk


async def test_a_streaming_chat_request_is_walked_through_the_gateway() -> None:
    calls = await request_walk.walk()
    rooms = {request_walk.room_of(module) for call in calls for module in call}
    assert {"serving.gateway", "serving.access", "serving.backends", "serving.sse"} <= rooms
    assert ("serving.gateway.pipeline", "serving.backends.proxy") in calls
    assert not any(caller.startswith("serving.routes") for caller, _ in calls)  # FastAPI's routing is skipped
    assert request_walk.returns(calls) == []  # #27's target: no room re-entered but by the gateway


def test_returns_skip_the_owner_and_calls_within_a_room() -> None:
    calls = [
        ("serving.gateway.pipeline", "serving.access.admission"),
        ("serving.access.admission", "serving.access.limits"),  # within a room
        ("serving.gateway.pipeline", "serving.backends.proxy"),
        ("serving.gateway.pipeline", "serving.access.settlement"),  # the owner's next step
        ("serving.backends.relay", "serving.access.settlement"),  # a lower room reaching back
        ("serving.backends.relay", "serving.access.settlement"),  # the same run: once
    ]
    assert request_walk.returns(calls) == [("serving.backends.relay", "serving.access.settlement")]
