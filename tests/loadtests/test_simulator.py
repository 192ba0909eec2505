"""The backend simulator every fault test relies on: it must speak the OpenAI protocol and
produce each fault it promises."""

from __future__ import annotations

import aiohttp
import orjson
import pytest
from multidict import CIMultiDict

from loadtests import simulator
from loadtests.simulator import Behaviour, main, minimal_instance
from tests.support.inprocess import QUICK, simulator_server

HELLO = [{"role": "user", "content": "hi"}]


def events(text: str) -> list[str]:
    return [block.removeprefix("data: ") for block in text.split("\n\n") if block.startswith("data: ")]


async def post(base_url: str, body: dict[str, object]) -> tuple[int, str, CIMultiDict[str]]:

    async with aiohttp.ClientSession() as session, session.post(base_url + "/chat/completions", json=body) as r:
        text = await r.text()
        return r.status, text, CIMultiDict(r.headers)


async def test_a_chat_completion_with_usage() -> None:
    async with simulator_server(QUICK) as sim:
        status, text, _ = await post(sim.base_url, {"model": "x", "messages": HELLO, "max_tokens": 3})
    body = orjson.loads(text)
    assert status == 200 and body["object"] == "chat.completion" and body["model"] == "sim-model"
    assert body["choices"][0]["message"]["content"] == " tok tok tok"
    assert body["usage"]["completion_tokens"] == 3
    assert body["usage"]["total_tokens"] == body["usage"]["prompt_tokens"] + 3


async def test_a_stream_with_role_tokens_usage_and_done() -> None:
    async with simulator_server(QUICK) as sim:
        body = {"model": "x", "messages": HELLO, "stream": True, "stream_options": {"include_usage": True}}
        _, text, headers = await post(sim.base_url, body)
    got = events(text)
    assert headers["Content-Type"] == "text/event-stream"
    assert orjson.loads(got[0])["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert [orjson.loads(e)["choices"][0]["delta"]["content"] for e in got[1:5]] == [" tok"] * 4
    assert orjson.loads(got[5])["usage"]["completion_tokens"] == 4 and got[6] == "[DONE]"


async def test_faults_on_request() -> None:
    async with simulator_server(QUICK) as sim:
        status, text, headers = await post(
            sim.base_url, {"messages": HELLO, "simulate": {"error_status": 429, "retry_after_ms": 1500}}
        )
        assert status == 429 and orjson.loads(text)["error"]["message"] == "simulated failure"
        assert (headers["retry-after"], headers["retry-after-ms"]) == ("2", "1500")
        _, text, _ = await post(sim.base_url, {"messages": HELLO, "stream": True, "simulate": {"omit_done": True}})
        assert "[DONE]" not in text and len(events(text)) == 5
        with pytest.raises(aiohttp.ClientPayloadError):
            await post(sim.base_url, {"messages": HELLO, "stream": True, "simulate": {"break_after": 2}})
        assert sim.requests == 3


def test_a_structured_output_gets_the_smallest_valid_instance() -> None:
    schema = {
        "type": "object",
        "properties": {"codes": {"type": "array", "items": {"$ref": "#/$defs/code"}, "minItems": 1}},
        "required": ["codes"],
        "$defs": {
            "code": {"type": "object", "properties": {"n": {"type": "integer", "minimum": 2}}, "required": ["n"]}
        },
    }
    assert minimal_instance(schema, schema) == {"codes": [{"n": 2}]}


def test_command_line_flags_set_every_behaviour(monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[Behaviour] = []
    real = simulator.Simulator

    def recording(behaviour: Behaviour, model: str) -> simulator.Simulator:
        built.append(behaviour)
        return real(behaviour, model)

    monkeypatch.setattr(simulator, "Simulator", recording)
    monkeypatch.setattr(simulator.web, "run_app", lambda app, **kwargs: None)
    main(["--omit-done", "--tokens", "3", "--error-status", "503"])
    main([])
    assert built == [Behaviour(tokens=3, error_status=503, omit_done=True), Behaviour()]
