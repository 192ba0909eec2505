"""The RunPod job handler over the real app in-process, in front of the upstream simulator on a
real socket: what each kind of job yields, errors as the OpenAI envelope, the endpoint key, a
job stopped mid-stream, and a slow reader."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import aclosing, asynccontextmanager
from typing import Any

import orjson
import pytest
from starlette.applications import Starlette

from loadtests.simulator import Behaviour
from serving.app import create_app
from serving.observability.metrics import Metrics
from serving.serverless.handler import ColdStart, JobHandler
from serving.serverless.in_process import InProcessApp
from serving.settings import REPO_ROOT, ServingConfig
from tests.support.inprocess import HELLO, QUICK, RunningSimulator, simulator_server
from tests.support.stack import LIMITED_KEY, TEST_KEY, facade_config, refused_url, vllm_backend
from tests.support.wait import eventually_async

PATIENT = {"age": 34, "gender": "female", "location": "02139"}
SYMPTOMS = "Throbbing headache with flashing lights since yesterday"


STAGES = {"intake": "gpt-5", "icd": "medgemma", "cpt": "medgemma", "summary": "gpt-5"}


@asynccontextmanager
async def worker(
    behaviour: Behaviour = QUICK, *, endpoint_key: str | None = None, stages: dict[str, str] | None = None
) -> AsyncIterator[tuple[JobHandler, RunningSimulator]]:
    async with simulator_server(behaviour) as sim:
        backends = {"sim": vllm_backend(sim.base_url, "m"), "dead": vllm_backend(refused_url(), "x")}
        config = facade_config(backends, {"medgemma": ["sim"], "gpt-5": ["sim"], "broken": ["dead"]})
        if stages:
            config["consultation"] = {
                "stages": stages,
                "providers_file": str(REPO_ROOT / "configs" / "providers.json"),
            }
        app = InProcessApp(create_app(ServingConfig.model_validate(config), metrics=Metrics()))
        try:
            yield JobHandler(app, endpoint_key=endpoint_key), sim
        finally:
            await app.stop()


def chat_job(*, stream: bool = True, key: str | None = TEST_KEY, **body: Any) -> dict[str, Any]:
    job_input: dict[str, Any] = {
        "openai_route": "/v1/chat/completions",
        "openai_input": {"model": "medgemma", "messages": HELLO, "stream": stream, "max_tokens": 4, **body},
    }
    if key is not None:
        job_input["api_key"] = key
    return {"id": "job-1", "input": job_input}


async def outputs(handler: JobHandler, job: dict[str, Any]) -> list[Any]:
    return [output async for output in handler.handle(job)]


def sse_events(text: str) -> list[str]:
    return [line.removeprefix("data: ") for line in text.split("\n") if line.startswith("data: ")]


def failure_of(answer: list[Any]) -> dict[str, Any]:
    assert len(answer) == 1 and set(answer[0]) == {"error"} and isinstance(answer[0]["error"], str), answer
    detail: dict[str, Any] = orjson.loads(answer[0]["error"])
    assert set(detail["error"]) == {"message", "type", "param", "code"}
    return detail


async def test_an_openai_route_stream_is_the_sse_text_an_openai_client_reads() -> None:
    async with worker() as (handler, _):
        answer = await outputs(handler, chat_job())
    assert answer and all(isinstance(piece, str) for piece in answer)
    events = sse_events("".join(answer))
    assert events[-1] == "[DONE]"
    chunks = [orjson.loads(event) for event in events[:-1]]
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"]) == " tok" * 4
    assert chunks[0]["id"] == "chatcmpl-job-1"  # the job id is the request id: logs and audit name the job


async def test_a_responses_api_stream_is_relayed_as_its_sse_text() -> None:
    job = {
        "id": "r",
        "input": {
            "openai_route": "/v1/responses",
            "api_key": TEST_KEY,
            "openai_input": {"model": "medgemma", "input": "Hello", "stream": True, "max_output_tokens": 4},
        },
    }
    async with worker() as (handler, _):
        answer = await outputs(handler, job)
    kinds = [orjson.loads(event)["type"] for event in sse_events("".join(answer)) if event != "[DONE]"]
    assert kinds[0] == "response.created" and kinds[-1] == "response.completed"
    assert "response.output_text.delta" in kinds


async def test_documents_and_the_model_list_come_back_as_json() -> None:
    async with worker() as (handler, _):
        [completion] = await outputs(handler, chat_job(stream=False))
        [models] = await outputs(handler, {"id": "m", "input": {"openai_route": "/v1/models", "api_key": TEST_KEY}})
    assert completion["object"] == "chat.completion" and completion["choices"][0]["message"]["content"]
    assert completion["usage"]["completion_tokens"] == 4
    assert {model["id"] for model in models["data"]} >= {"medgemma", "gpt-5"}


async def test_a_plain_job_stream_yields_each_event_as_an_object() -> None:
    job = {
        "id": "plain",
        "input": {
            "route": "/v1/chat/completions",
            "api_key": TEST_KEY,
            "body": {"model": "medgemma", "messages": HELLO, "stream": True, "max_tokens": 4},
        },
    }
    async with worker() as (handler, _):
        answer = await outputs(handler, job)
    chunks = [output["data"] for output in answer]
    assert all(chunk["object"] == "chat.completion.chunk" for chunk in chunks)
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"]) == " tok" * 4


async def test_a_mid_stream_error_event_ends_a_plain_job_as_a_failure() -> None:
    job = {
        "id": "stalls",
        "input": {
            "route": "/v1/chat/completions",
            "api_key": TEST_KEY,
            "body": {"model": "medgemma", "messages": HELLO, "stream": True, "simulate": {"break_after": 2}},
        },
    }
    async with worker() as (handler, _):
        answer = await outputs(handler, job)
    assert answer[:-1] and all(output["data"]["object"] == "chat.completion.chunk" for output in answer[:-1])
    detail = failure_of(answer[-1:])
    assert "status" not in detail  # a stream that already started has no status of its own


@pytest.mark.parametrize(
    ("job", "status", "param", "code"),
    [
        (chat_job(key="sk-wrong-0123456789abcdefghijkl"), 401, None, "invalid_api_key"),
        (chat_job(key=None), 401, None, "invalid_api_key"),
        (chat_job(messages="nope"), 400, "messages", "invalid_value"),
        (chat_job(model="no-such-model"), 404, "model", "model_not_found"),
        ({"id": "x"}, 400, "input", "invalid_job"),
        ({"id": "x", "input": ["not", "an", "object"]}, 400, "input", "invalid_job"),
        ({"id": "x", "input": {"prompt": "hi"}}, 400, "input", "invalid_job"),
        ({"id": "x", "input": {"route": "http://evil.example/v1/x", "body": {}}}, 400, "route", "invalid_job"),
        ({"id": "x", "input": {"route": "/admin/keys", "method": "GET"}}, 400, "route", "invalid_job"),
        ({"id": "x", "input": {"route": "/v1/../admin/keys"}}, 400, "route", "invalid_job"),
        ({"id": "x", "input": {"openai_route": 7}}, 400, "openai_route", "invalid_job"),
        (
            {"id": "x", "input": {"openai_route": "/v1/chat/completions", "openai_input": "hi"}},
            400,
            "openai_input",
            "invalid_job",
        ),
        ({"id": "x", "input": {"openai_route": "/v1/chat/completions"}}, 400, "openai_input", "invalid_job"),
        ({"id": "x", "input": {"route": "/v1/models", "method": "DELETE"}}, 400, "method", "invalid_job"),
        (
            {"id": "x", "input": {"route": "/v1/models", "headers": {"authorization": "Bearer x"}}},
            400,
            "headers",
            "invalid_job",
        ),
        ({"id": "x", "input": {"route": "/v1/models", "headers": {"x-session-id": 5}}}, 400, "headers", "invalid_job"),
        ({"id": "x", "input": {"route": "/v1/models", "api_key": 12345}}, 400, "api_key", "invalid_job"),
    ],
)
async def test_errors_come_back_as_the_openai_envelope_with_their_status(
    job: dict[str, Any], status: int, param: str | None, code: str
) -> None:
    async with worker() as (handler, sim):
        detail = failure_of(await outputs(handler, job))
    assert detail["status"] == status
    assert (detail["error"]["param"], detail["error"]["code"]) == (param, code)
    assert "Traceback" not in detail["error"]["message"]
    assert sim.requests == 0  # refused before any upstream work


async def test_an_unknown_route_is_the_apps_404_envelope() -> None:
    async with worker() as (handler, _):
        detail = failure_of(
            await outputs(handler, {"id": "x", "input": {"route": "/v1/nothing-here", "body": {"a": 1}}})
        )
    assert detail["status"] == 404 and detail["error"]["type"] == "invalid_request_error"


async def test_jobs_without_a_key_use_the_endpoint_key_and_a_jobs_own_key_wins() -> None:
    async with worker(endpoint_key=TEST_KEY) as (handler, _):
        served = await outputs(handler, chat_job(stream=False, key=None))
        # LIMITED_KEY may use model `only-this` alone: the job's key, not the endpoint's, decided.
        refused = failure_of(await outputs(handler, chat_job(stream=False, key=LIMITED_KEY)))
    assert served[0]["object"] == "chat.completion"
    assert refused["status"] == 404 and refused["error"]["code"] == "model_not_found"


async def test_a_job_stopped_mid_stream_cancels_the_upstream_request_and_counts_its_usage() -> None:
    slow = Behaviour(ttft_ms=1, itl_ms=50, tokens=200)
    async with worker(slow) as (handler, sim):
        async with aclosing(handler.handle(chat_job(max_tokens=200))) as answer:
            first = await anext(answer)
            assert first.startswith("data: ")
        # RunPod stopped the job (cancel, timeout): the app saw the client leave.
        await eventually_async(lambda: asyncio.sleep(0, sim.simulator.cancelled), lambda n: n == 1)
        usage = {"id": "u", "input": {"route": "/v1/usage", "api_key": TEST_KEY}}
        rows = await eventually_async(lambda: outputs(handler, usage), lambda answer: bool(answer[0]["data"]))
    [row] = rows[0]["data"]
    assert row["requests"] == 1 and 0 < row["completion_tokens"] < 200


async def test_a_job_cancelled_outside_the_generator_still_reaches_the_app() -> None:
    """RunPod's SDK awaits each output's post between yields; a job stopped there is cancelled in
    the SDK's code, and nothing closes the generator (here it is even kept referenced)."""
    slow = Behaviour(ttft_ms=1, itl_ms=50, tokens=200)
    kept: list[Any] = []
    async with worker(slow) as (handler, sim):

        async def sdk_job() -> None:
            answer = handler.handle(chat_job(max_tokens=200))
            kept.append(answer)
            await anext(answer)
            await asyncio.sleep(3600)  # posting the output to RunPod

        job = asyncio.create_task(sdk_job())
        await eventually_async(lambda: asyncio.sleep(0, sim.simulator.requests), lambda n: n == 1)
        await asyncio.sleep(0.2)
        job.cancel()
        await eventually_async(lambda: asyncio.sleep(0, sim.simulator.cancelled), lambda n: n == 1)
        usage = {"id": "u", "input": {"route": "/v1/usage", "api_key": TEST_KEY}}
        rows = await eventually_async(lambda: outputs(handler, usage), lambda answer: bool(answer[0]["data"]))
        await kept[0].aclose()
    [row] = rows[0]["data"]
    assert row["requests"] == 1 and 0 < row["completion_tokens"] < 200


async def test_a_worker_failure_is_a_500_envelope(caplog: pytest.LogCaptureFixture) -> None:
    @asynccontextmanager
    async def broken_lifespan(app: Starlette) -> AsyncIterator[None]:
        raise RuntimeError("the store is unreachable")
        yield

    handler = JobHandler(InProcessApp(Starlette(lifespan=broken_lifespan)), endpoint_key=None)
    detail = failure_of(await outputs(handler, chat_job()))
    assert detail["status"] == 500 and detail["error"]["type"] == "server_error"
    assert "unreachable" not in detail["error"]["message"] and "Traceback" not in detail["error"]["message"]
    assert any(getattr(r, "error_type", None) == "RuntimeError" for r in caplog.records)


async def test_a_slow_reader_gets_fewer_larger_pieces_and_every_byte() -> None:
    async with worker(Behaviour(ttft_ms=1, itl_ms=2, tokens=40)) as (handler, _):
        pieces = []
        async for piece in handler.handle(chat_job(max_tokens=40)):
            pieces.append(piece)
            await asyncio.sleep(0.05)  # RunPod posts each output before it takes the next
    events = sse_events("".join(pieces))
    assert events[-1] == "[DONE]" and len(events) >= 41
    assert len(pieces) < len(events) / 2


async def test_a_consultation_job_returns_the_document_and_streams_its_stages() -> None:
    body = {"symptoms": SYMPTOMS, "patient_data": PATIENT}
    async with worker(stages=STAGES) as (handler, _):
        [document] = await outputs(
            handler, {"id": "c", "input": {"route": "/v1/consultations", "api_key": TEST_KEY, "body": body}}
        )
        streamed = await outputs(
            handler,
            {"id": "s", "input": {"route": "/v1/consultations", "api_key": TEST_KEY, "body": {**body, "stream": True}}},
        )
    assert document["object"] == "consultation" and document["status"] == "completed", document.get("errors")
    assert set(document["stages"]) == {"intake", "icd", "cpt", "providers", "summary"}
    assert document["usage"]["total_tokens"] > 0
    order = [(output["data"]["stage"], output["data"]["status"]) for output in streamed]
    assert order[0] == ("safety", "completed") and order[-1] == ("consultation", "completed")


async def test_a_failed_stage_does_not_fail_a_streamed_consultation_job() -> None:
    """The stage's event has an `error` key, on which RunPod would fail the job: it is wrapped,
    and the run's last event (escalation, disclaimers) still comes."""
    body = {"symptoms": SYMPTOMS, "patient_data": PATIENT, "stream": True}
    async with worker(stages={**STAGES, "icd": "broken"}) as (handler, _):
        streamed = await outputs(
            handler, {"id": "s", "input": {"route": "/v1/consultations", "api_key": TEST_KEY, "body": body}}
        )
    events = [output["data"] for output in streamed]
    assert all(set(output) == {"data"} for output in streamed)
    assert any(e["stage"] == "icd" and e["status"] == "failed" and e["error"] for e in events)
    assert events[-1]["stage"] == "consultation" and events[-1]["result"]["disclaimers"]


async def test_handle_once_returns_the_outputs_and_shuts_the_app_down() -> None:
    async with worker() as (handler, _):
        answer = await handler.handle_once(chat_job())
        assert isinstance(answer, list) and sse_events("".join(answer))[-1] == "[DONE]"
        assert handler._app._lifespan is None  # stopped: usage settled, audit written
    async with worker() as (handler, _):
        failed = await handler.handle_once(chat_job(key="sk-wrong-0123456789abcdefghijkl"))
    assert orjson.loads(failed["error"])["status"] == 401


async def test_the_cold_start_is_logged_once_with_its_phases(caplog: pytest.LogCaptureFixture) -> None:
    cold_start = ColdStart(process_started=0.0)
    cold_start.mark("worker_ready")
    async with simulator_server() as sim:
        config = facade_config({"sim": vllm_backend(sim.base_url, "m")}, {"medgemma": ["sim"]})
        app = InProcessApp(create_app(ServingConfig.model_validate(config), metrics=Metrics()))
        handler = JobHandler(app, endpoint_key=None, cold_start=cold_start)
        with caplog.at_level(logging.INFO, logger="serving.serverless.handler"):
            await outputs(handler, chat_job())
            await outputs(handler, chat_job())
        await app.stop()
    records = [r for r in caplog.records if r.getMessage() == "cold start"]
    assert len(records) == 1
    assert set(cold_start.phases) == {"worker_ready", "first_output"}
    assert records[0].first_output_s >= records[0].worker_ready_s > 0  # type: ignore[attr-defined]
